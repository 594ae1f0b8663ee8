"""The catalogue of referenced health services and apps: an operator-managed TOML file
(domain/data/catalogue.toml by default, the CATALOGUE_FILE setting; README "The catalogue"
gives its format), read once into frozen records, and refused whole at the first problem,
named with its entry and field.

An app exists only here: its slug is also its OAuth client_id, and its data uses (SMART App
Launch v2 patient scopes, each with its purpose in plain words) are all it may ever ask
for. Publishers from excluded sectors (insurers, mutuelles, occupational health,
employers) can never be referenced; sectors are an allow-list, so an excluded one cannot
come in under another spelling.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from domain.forms import CONTROL

DEFAULT_FILE = Path(__file__).parent / "data" / "catalogue.toml"

# Publishers that can never be referenced (DESIGN.md "Catalogue"): the health data of a
# space must never reach those who insure, employ or assess fitness for work.
EXCLUDED_SECTORS = frozenset({"assurance", "mutuelle", "sante_travail", "employeur"})
# Every sector a publisher may have: anything else is refused, excluded or not.
SECTORS = ("editeur", "public", "etablissement_sante", "association", "professionnel_sante")
# The categories of the catalogue, in the order the filter shows them.
CATEGORIES = ("prevention", "maladie_chronique", "grossesse", "sante_mentale",
              "activite_physique", "nutrition", "sommeil", "medicaments")
# The RGAA statement's three levels: totalement, partiellement or non conforme.
ACCESSIBILITY_STATUSES = ("totalement", "partiellement", "non")
LANGUAGES = ("fr", "en")

# What the FHIR API serves, and how (SMART App Launch v2 permission letters): reading
# ("r" one resource, "s" searching, or both) for every resource; creating ("c") only a
# measure or a document. Nothing is ever updated or deleted through the API.
READS = ("rs", "r", "s")
RESOURCE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "Patient": ("r",),
    "Observation": (*READS, "c"),
    "DocumentReference": (*READS, "c"),
    "Immunization": READS,
    "AllergyIntolerance": READS,
    "Condition": READS,
    "MedicationStatement": READS,
    "Appointment": READS,
}
SUPPORTED_SCOPES = frozenset(f"patient/{resource}.{letters}"
                             for resource, letters_list in RESOURCE_PERMISSIONS.items()
                             for letters in letters_list)

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
MAX_SLUG = 64
MAX_NAME = 100
MAX_PURPOSE = 400
MAX_DESCRIPTION = 1500
MAX_URL = 2000
MAX_REQUESTS_PER_MINUTE = 6000
APP_FIELDS = {"slug", "name", "publisher", "sector", "category", "description", "data",
              "referenced_on", "privacy_url", "accessibility_url", "accessibility_status",
              "demo", "redirect_uris", "requests_per_minute"}
REQUIRED_FIELDS = APP_FIELDS - {"demo", "requests_per_minute"}
DATA_FIELDS = {"scope", "purpose"}


class CatalogueError(ValueError):
    """The catalogue file cannot be used; the message names the entry and the field."""


@dataclass(frozen=True)
class DataUse:
    """One kind of data an app asks for (a SMART v2 patient scope) and why, per language."""

    scope: str
    purpose: dict[str, str]

    @property
    def resource(self) -> str:
        """The FHIR resource type of the scope ("Observation")."""
        return self.scope.removeprefix("patient/").split(".")[0]

    @property
    def creates(self) -> bool:
        """Whether the scope lets the app add data (rather than read it)."""
        return self.scope.endswith(".c")


@dataclass(frozen=True)
class App:
    """A referenced service: who publishes it, what it does, what it asks for and why,
    where its policies are, how it connects (redirect URIs) and how often it may call."""

    slug: str
    name: str
    publisher: str
    sector: str
    category: str
    description: dict[str, str]
    data: tuple[DataUse, ...]
    referenced_on: date
    privacy_url: str
    accessibility_url: str
    accessibility_status: str
    demo: bool
    redirect_uris: tuple[str, ...]
    requests_per_minute: int = 60

    @property
    def scopes(self) -> tuple[str, ...]:
        """Every scope the app may ask for, in the order of its data uses."""
        return tuple(use.scope for use in self.data)


def _fold(text: str) -> str:
    """A sort key that ignores case and accents ("Élan" sorts with "elan")."""
    return "".join(char for char in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(char)).casefold()


class Catalogue:
    """The referenced apps, sorted by name, looked up by slug or by category."""

    def __init__(self, apps: tuple[App, ...] | list[App]):
        self.apps: tuple[App, ...] = tuple(sorted(apps, key=lambda app: (_fold(app.name),
                                                                          app.slug)))
        self._by_slug = {app.slug: app for app in self.apps}

    def __len__(self) -> int:
        return len(self.apps)

    def __iter__(self) -> Iterator[App]:
        return iter(self.apps)

    def get(self, slug: str) -> App | None:
        """The app with this slug (OAuth client_id), or None."""
        return self._by_slug.get(slug)

    def in_category(self, code: str) -> tuple[App, ...]:
        """The apps of one category, by name; none for an unknown code."""
        return tuple(app for app in self.apps if app.category == code)

    def categories_in_use(self) -> tuple[str, ...]:
        """The categories that have at least one app, in the order of CATEGORIES."""
        used = {app.category for app in self.apps}
        return tuple(code for code in CATEGORIES if code in used)


# --- reading one entry -----------------------------------------------------------------------

class _Entry:
    """The fields of one [[apps]] table, read with errors that name the entry."""

    def __init__(self, number: int, table: Mapping):
        self.table = table
        slug = table.get("slug")
        self.where = (f'entry {number} ("{slug}")' if isinstance(slug, str) and slug
                      else f"entry {number}")

    def fail(self, field: str, problem: str) -> CatalogueError:
        return CatalogueError(f"{self.where}, field {field}: {problem}")

    def text(self, field: str, limit: int = MAX_NAME, table: Mapping | None = None,
             label: str | None = None, lines: bool = False) -> str:
        value = (self.table if table is None else table).get(field)
        name = label or field
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "must be a text that is not empty")
        if CONTROL.search(value) or (not lines and ("\n" in value or "\t" in value)):
            raise self.fail(name, "contains a line break, a control or a text-direction "
                                  "character")
        if len(value) > limit:
            raise self.fail(name, f"must be at most {limit} characters long")
        return value.strip()

    def choice(self, field: str, allowed: tuple[str, ...]) -> str:
        value = self.table.get(field)
        if not isinstance(value, str) or value not in allowed:
            raise self.fail(field, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def languages(self, field: str, limit: int, table: Mapping | None = None,
                  label: str | None = None) -> dict[str, str]:
        name = label or field
        value = (self.table if table is None else table).get(field)
        if not isinstance(value, Mapping):
            raise self.fail(name, "must give the text in each language: { fr = \"…\", "
                                  "en = \"…\" }")
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            raise self.fail(name, f"unknown language {unknown[0]!r} (use fr and en)")
        return {lang: self.text(lang, limit, table=value, label=f"{name}.{lang}", lines=True)
                for lang in LANGUAGES}

    def url(self, field: str) -> str:
        value = self.text(field, MAX_URL)
        parts = _split(value)
        if (parts is None or parts.scheme != "https" or not parts.hostname
                or parts.username is not None or parts.password is not None):
            raise self.fail(field, f"{value!r} must be an https:// address with a host")
        return value

    def redirect_uris(self) -> tuple[str, ...]:
        value = self.table.get("redirect_uris")
        if not isinstance(value, list) or not value:
            raise self.fail("redirect_uris", "must be a list of at least one address")
        uris = []
        for uri in value:
            if not isinstance(uri, str) or not _redirect_allowed(uri):
                raise self.fail("redirect_uris", f"{uri!r} must be an https:// address, or "
                                "http://127.0.0.1:<port>/… or http://[::1]:<port>/… on "
                                "this machine, without a #fragment")
            if uri in uris:
                raise self.fail("redirect_uris", f"{uri!r} is listed twice")
            uris.append(uri)
        return tuple(uris)

    def data(self) -> tuple[DataUse, ...]:
        value = self.table.get("data")
        if not isinstance(value, list) or not value:
            raise self.fail("data", "must list at least one [[apps.data]] with its scope "
                                    "and purpose")
        uses: list[DataUse] = []
        granted: dict[str, set[str]] = {}
        for index, table in enumerate(value, start=1):
            label = f"data {index}"
            if not isinstance(table, Mapping):
                raise self.fail(label, "must be a table with scope and purpose")
            unknown = sorted(set(table) - DATA_FIELDS)
            if unknown:
                raise self.fail(f"{label}.{unknown[0]}", "unknown field")
            scope = table.get("scope")
            if not isinstance(scope, str) or scope not in SUPPORTED_SCOPES:
                raise self.fail(f"{label}.scope", f"{scope!r} is not a supported scope "
                                "(patient/<resource>.rs, .r or .s to read; .c to add a "
                                "measure or a document)")
            resource, letters = scope.removeprefix("patient/").split(".")
            if set(letters) & granted.setdefault(resource, set()):
                raise self.fail(f"{label}.scope", f"{scope!r} asks again for an access "
                                "already listed for this resource")
            granted[resource] |= set(letters)
            uses.append(DataUse(scope, self.languages("purpose", MAX_PURPOSE, table=table,
                                                      label=f"{label}.purpose")))
        return tuple(uses)

    def referenced_on(self) -> date:
        value = self.table.get("referenced_on")
        # A TOML local date (referenced_on = 2026-01-15), not a text nor a date-time.
        if not isinstance(value, date) or isinstance(value, datetime):
            raise self.fail("referenced_on", "must be a date written 2026-01-15 (no quotes, "
                                             "no time)")
        return value

    def requests_per_minute(self) -> int:
        value = self.table.get("requests_per_minute", 60)
        if (not isinstance(value, int) or isinstance(value, bool)
                or not 1 <= value <= MAX_REQUESTS_PER_MINUTE):
            raise self.fail("requests_per_minute",
                            f"must be a whole number from 1 to {MAX_REQUESTS_PER_MINUTE}")
        return value

    def demo(self) -> bool:
        value = self.table.get("demo", False)
        if not isinstance(value, bool):
            raise self.fail("demo", "must be true or false")
        return value


def _split(value: str):
    """The parts of an address written with the characters RFC 3986 allows (no space, no
    quote, no angle bracket, nothing outside ASCII: percent-encode those), or None."""
    if not URL_CHARACTERS.fullmatch(value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return None
    return parts


def _redirect_allowed(uri: str) -> bool:
    """https with a host; or plain http to this machine's loopback address with a port
    (native and example apps, RFC 8252 §7.3). Never a fragment, never credentials."""
    if len(uri) > MAX_URL or "#" in uri:
        return False
    parts = _split(uri)
    if parts is None or not parts.hostname or parts.username is not None \
            or parts.password is not None:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or parts.port is None:
        return False
    # Written as the literal address: "localhost" may resolve elsewhere (RFC 8252 §8.3).
    return parts.netloc.rsplit(":", 1)[0] in ("127.0.0.1", "[::1]")


def _app(number: int, table: object) -> App:
    if not isinstance(table, Mapping):
        raise CatalogueError(f"entry {number}: must be an [[apps]] table")
    entry = _Entry(number, table)
    # Said first, whatever else is wrong: this entry can never be fixed into the catalogue.
    sector = table.get("sector")
    if isinstance(sector, str) and sector in EXCLUDED_SECTORS:
        raise entry.fail("sector", f"{sector!r} is an excluded sector: insurers, mutuelles, "
                                   "occupational health and employers can never be "
                                   "referenced")
    unknown = sorted(set(table) - APP_FIELDS)
    if unknown:
        raise entry.fail(unknown[0], "unknown field")
    missing = sorted(REQUIRED_FIELDS - set(table))
    if missing:
        raise entry.fail(missing[0], "is missing")
    slug = entry.text("slug", MAX_SLUG)
    if not SLUG.fullmatch(slug):
        raise entry.fail("slug", f"{slug!r} must be lower-case letters and digits, joined "
                                 "by single hyphens (it appears in addresses)")
    return App(
        slug=slug,
        name=entry.text("name"),
        publisher=entry.text("publisher", MAX_NAME * 2),
        sector=entry.choice("sector", SECTORS),
        category=entry.choice("category", CATEGORIES),
        description=entry.languages("description", MAX_DESCRIPTION),
        data=entry.data(),
        referenced_on=entry.referenced_on(),
        privacy_url=entry.url("privacy_url"),
        accessibility_url=entry.url("accessibility_url"),
        accessibility_status=entry.choice("accessibility_status", ACCESSIBILITY_STATUSES),
        demo=entry.demo(),
        redirect_uris=entry.redirect_uris(),
        requests_per_minute=entry.requests_per_minute(),
    )


# --- reading a file --------------------------------------------------------------------------

def parse(text: str) -> Catalogue:
    """The catalogue written in `text` (TOML); CatalogueError at the first problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise CatalogueError(f"not valid TOML: {problem}") from problem
    unknown = sorted(set(document) - {"apps"})
    if unknown:
        raise CatalogueError(f"unknown top-level key {unknown[0]!r} (entries are [[apps]] "
                             "tables)")
    tables = document.get("apps", [])
    if not isinstance(tables, list):
        raise CatalogueError("apps must be a list of [[apps]] tables")
    apps: list[App] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        app = _app(number, table)
        if app.slug in seen:
            raise CatalogueError(f'entry {number} ("{app.slug}"), field slug: another entry '
                                 "has this slug already")
        seen.add(app.slug)
        apps.append(app)
    return Catalogue(apps)


def read_file(path: Path) -> str:
    """The text of a catalogue file; CatalogueError, naming it, if it cannot be read."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError as problem:
        raise CatalogueError(f"{path}: no such file") from problem
    except UnicodeDecodeError as problem:
        raise CatalogueError(f"{path}: not UTF-8 text") from problem
    except OSError as problem:
        raise CatalogueError(f"{path}: cannot be read ({problem.strerror})") from problem


def load(path: Path | str) -> Catalogue:
    """Read and check the catalogue file at `path`. Raises CatalogueError, naming the file,
    the entry and the field, on any problem: nothing of a faulty file is ever used."""
    text = read_file(Path(path))
    try:
        return parse(text)
    except CatalogueError as problem:
        raise CatalogueError(f"{path}: {problem}") from problem
