"""An accompaniment at an adviser's desk on a shared tablet (issue 16), in Chromium with a
persistent profile (`--user-data-dir`) set up as the README's "The desk" says (password
manager and autofill off; history saving left on, see TABLET_PREFERENCES), tablet viewport
768×1024, JavaScript on and off, with the keyboard wherever a person would use it.

1. The adviser signs in and hands the tablet over; the person signs in herself, opens her
   documents and one of them inline (never downloaded), then ends the accompaniment. Every
   page of the assisted session shows the banner (and not the idle panel); private titles
   are generic; axe at 768 px (and 320 px for the welcome page, the documents and the end
   page). After the end, Back shows nothing of her and /documents asks for a sign-in.
2. The browser closed, the profile's History, Web Data, Login Data, Cache/ and Local
   Storage/ are read as bytes: none holds her canary strings (UTF-8 and UTF-16-LE).
3. The browser reopened on the same profile, the desk resumes only with the adviser's
   secret: a wrong desk PIN is refused, the right one gives the desk back, where the
   outcome is recorded.
4. The idle end: a new accompaniment left alone on its welcome page; the server clock
   (domain.sessions.utcnow) moves 6 minutes on. With JavaScript, the browser's clock
   (Playwright) passes 5 minutes: a warning, then the end page. Without it, the page's
   <noscript> idle stylesheet runs (its 300 s animation delay played 1000 times faster
   through the DevTools Animation domain): everything but the idle panel is hidden, the
   panel's « Terminer et effacer la tablette », reached with Tab, leads to the end page.
   The end page says so, the person's session is gone, the desk resumes with the
   adviser's password.

Each run prints what the profile check read (files, bytes, canaries), for the closing note.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select

from domain import audit, vault
from domain import sessions as domain_sessions
from domain.models import Accompaniment, Category, Document, User
from extensions import blobs, db, keys
from tests.browser import support
from tests.browser import test_activation as activating
from tests.browser.flows import Findings
from tests.browser.support import JS_MODES
from tests.conftest import DEMO
from web.labels import desk as desk_labels

pytestmark = pytest.mark.browser

ADVISER = "conseil.durand"
PERSON = "camille.martin"
DESK_PIN = "402817"
WRONG_PIN = "902613"
TABLET = {"width": 768, "height": 1024}
NARROW = {"width": 320, "height": 640}
BANNER = ("Accompagnement par Nadia Durand (France Services Lyon 8e). Ce conseiller ne voit "
          "jamais votre mot de passe ni vos codes.")
END_BUTTON = "Terminer l’accompagnement"
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'
NIR = "288037510802150"
# The end page; ?raison=inactivite is the idle end's request (it ends the accompaniment),
# ?raison=inactivite-terminee the page it redirects to.
END_URL = re.compile(r"/accompagnement/fin/([0-9a-f]{32})(\?raison=inactivite(-terminee)?)?$")
TAB_LIMIT = 80

# Camille's document for this module: its title, file name and content are canaries too.
DOCUMENT_TITLE = "Bilan sanguin décembre"
DOCUMENT_FILE = "bilan-sanguin-decembre.png"
DOCUMENT_TEXT = "Ferritine basse, à recontrôler"
# Where the issue says nothing of the person may stay (under <profile>/Default).
PROFILE_PLACES = ("History", "Web Data", "Login Data", "Cache", "Local Storage")
# Their tables also read row by row: the visited pages; what the password manager and
# autofill keep (empty with the desk's settings).
PROFILE_TABLES = {"History": ("urls",), "Login Data": ("logins", "stats"),
                  "Web Data": ("autofill",)}
# The tablet's browser as the README's "The desk" says to run it, under
# deploy/desk/chromium-policy.json. Managed policies need root-owned files under /etc, so the
# preferences those policies set are written in the profile before its first launch:
# PasswordManagerEnabled=false is credentials_enable_service (without it, Login Data's
# "stats" keeps the login of the save-password prompt; the older
# profile.password_manager_enabled changes nothing), AutofillAddressEnabled=false is
# autofill.profile_enabled (without it, Web Data's "autofill" keeps what was typed in the
# login fields), AutofillCreditCardEnabled=false is autofill.credit_card_enabled.
# SavingBrowserHistoryDisabled is left out on purpose: History is read with history saving
# on, which shows that the titles recorded there are generic.
TABLET_PREFERENCES = {
    "credentials_enable_service": False,
    "autofill": {"profile_enabled": False, "credit_card_enabled": False},
}
# Without JavaScript, the idle end: a stylesheet in <noscript> shows this panel after 300 s.
IDLE_CSS = "/accompagnement/inactivite.css?seconds=300"
IDLE_PANEL = "#fin-inactivite"
IDLE_LINK = f"{IDLE_PANEL} a.button"
IDLE_SPEED = 1000  # the DevTools Animation domain's playback rate: 300 s in 0.3 s


# --------------------------------------------------------------------------- data

def _user(login: str) -> User:
    return db.session.execute(select(User).where(User.login == login)).scalar_one()


def _png() -> bytes:
    """A small PNG whose text chunks hold health content and the NIR."""
    info = PngInfo()
    info.add_text("Title", DOCUMENT_TITLE)
    info.add_text("Comment", f"{DOCUMENT_TEXT} — NIR {NIR}")
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 30, 30)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


@pytest.fixture
def camille_document(app, tmp_path):
    """A PNG in Camille's vault (previewable inline); deleted afterwards. Yields the titles
    of all her documents (they are canaries)."""
    content = _png()
    path = tmp_path / "document.png"
    path.write_bytes(content)
    with app.app_context():
        patient = _user(PERSON)
        added = vault.add_document(
            db.session, keys.ring, blobs.store, patient=patient, author=patient, path=path,
            size=len(content), kind="png", mimetype="image/png", file_name=DOCUMENT_FILE,
            title=DOCUMENT_TITLE, category=Category.LAB_RESULTS,
            document_date=date.today() - timedelta(days=3), hidden=False, source="test",
            actor=audit.Actor())
        document_id = added.id
        db.session.commit()
        titles = [vault.view(keys.ring, patient, document).title
                  for document in db.session.execute(select(Document).where(
                      Document.patient_id == patient.id)).scalars()]
    yield titles
    with app.app_context():
        document = db.session.get(Document, document_id)
        if document is not None:
            vault.delete_document(db.session, keys.ring, blobs.store, document,
                                  audit.Actor())


def accompaniment(app, accompaniment_id: str) -> Accompaniment:
    with app.app_context():
        found = db.session.get(Accompaniment, accompaniment_id)
        db.session.expunge(found)
        return found


def generic_titles(app) -> set[str]:
    """Every title a private page may have in an assisted session."""
    site = app.config["SITE_NAME"]
    with app.test_request_context():
        names = [str(title) for title in desk_labels.ASSISTED_TITLES.values()]
        names.append(str(desk_labels.ASSISTED_DEFAULT_TITLE))
    return {f"{name} – {site}" for name in names}


# --------------------------------------------------------------------------- the tablet

@dataclass
class Tablet:
    """The desk's tablet: Chromium on one persistent profile, opened and closed at will."""

    playwright: object
    server: object
    profile: Path
    js: bool
    context: object = None
    page: object = None

    def open(self):
        preferences = self.profile / "Default" / "Preferences"
        if not preferences.exists():  # the desk's settings, before the first launch
            preferences.parent.mkdir(parents=True)
            preferences.write_text(json.dumps(TABLET_PREFERENCES))
        self.context = self.playwright.chromium.launch_persistent_context(
            user_data_dir=str(self.profile), executable_path=support.CHROMIUM,
            args=support.CHROMIUM_ARGS, viewport=TABLET, locale="fr-FR",
            java_script_enabled=self.js, base_url=self.server.url, color_scheme="light")
        self.context.set_default_timeout(support.TIMEOUT_MS)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.page.js_errors = []
        self.page.on("pageerror", lambda error: self.page.js_errors.append(str(error)))
        return self.page

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
        self.context = self.page = None


@pytest.fixture
def tablet(playwright_instance, live_server, tmp_path):
    """Factory: the tablet for JavaScript on or off; closed at the end if still open."""
    made = []

    def make(js: bool) -> Tablet:
        made.append(Tablet(playwright_instance, live_server, tmp_path / "profile", js))
        return made[-1]

    with support.limits_off():
        yield make
    for one in made:
        one.close()


# --------------------------------------------------------------------------- keyboard

def tab_to(page, selector: str) -> None:
    activating.tab_to(page, selector, limit=TAB_LIMIT)


def type_into(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def press_enter(page):
    """Enter on the focused control; the response of the page it loads."""
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    return navigation.value


def path_of(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def sign_in(page, app, login: str, password: str | None = None) -> str:
    """Both steps of the sign-in form with the keyboard; the TOTP code used."""
    type_into(page, "#login", login)
    type_into(page, "#password", password or DEMO[login].password)
    press_enter(page)
    assert path_of(page).startswith("/connexion/code"), page.url
    code = support.totp_code(app, login)
    type_into(page, "#code", code)
    press_enter(page)
    assert not path_of(page).startswith("/connexion"), f"sign-in of {login}: {page.url}"
    return code


def choose_radio(page, name: str, value: str, within: str = "") -> None:
    """Tab into a radio group, the arrow keys to `value`, Space to check it."""
    tab_to(page, f"{within} input[name={name}]".strip())
    for _ in range(10):
        if page.evaluate("() => document.activeElement.value") == value:
            break
        page.keyboard.press("ArrowDown")
    radio = page.locator(f"{within} input[name={name}][value={value}]:focus".strip())
    if not radio.is_checked():
        page.keyboard.press("Space")
    assert radio.is_checked(), value


def start_accompaniment(page, purpose: str) -> str:
    """From the desk home: the purpose, then « Commencer et donner la tablette »."""
    form = "form[action$='/conseiller/accompagnement']"
    choose_radio(page, "purpose", purpose)
    tab_to(page, f"{form} button[type=submit]")
    assert page.locator(f"{form} button[type=submit]").inner_text().strip() == (
        "Commencer et donner la tablette")
    press_enter(page)
    assert path_of(page) == "/accompagnement", page.url
    return page.url


# --------------------------------------------------------------------------- checks

def visible_text(page) -> str:
    return page.title() + "\n" + page.locator("body").inner_text()


def check_no_canary(findings: Findings, page, canaries: list[str], where: str) -> None:
    shown = visible_text(page)
    found = [canary for canary in canaries if canary in shown]
    findings.check(not found, f"{where} ({page.url}) shows {found}")


IDLE_STYLESHEETS = """() => Array.from(document.styleSheets, sheet => sheet.href || "")
  .filter(href => href.includes("/accompagnement/inactivite.css"))
  .map(href => href.replace(/^https?:\\/\\/[^/]+/, ""))"""


def check_assisted(findings: Findings, page, js: bool, where: str,
                   canaries: list[str]) -> None:
    """The banner with its end button, on a page of the assisted session; a title that
    names nothing of the person; the idle panel in the page but not shown, the page shown
    (the idle stylesheet is loaded only without JavaScript, and its delay has not passed
    yet)."""
    named = [canary for canary in canaries if canary in page.title()]
    findings.check(not named, f"{where}: title {page.title()!r} names {named}")
    panel = page.locator(IDLE_PANEL)
    findings.check(panel.count() == 1 and not panel.is_visible(),
                   f"{where}: {panel.count()} {IDLE_PANEL}, "
                   f"{'shown' if panel.count() and panel.is_visible() else 'hidden'}")
    findings.check(page.locator("main").is_visible(), f"{where}: <main> is hidden")
    sheets = page.evaluate(IDLE_STYLESHEETS)
    findings.check(sheets == ([] if js else [IDLE_CSS]),
                   f"{where}: idle stylesheets {sheets} ({JS_MODES[js]})")
    bar = page.locator(".assist-bar")
    findings.check(bar.count() == 1, f"{where}: {bar.count()} .assist-bar")
    if bar.count() != 1:
        return
    findings.check(BANNER in " ".join(bar.inner_text().split()),
                   f"{where}: banner says {bar.inner_text()!r}")
    button = bar.get_by_role("button", name=END_BUTTON)
    findings.check(button.count() == 1, f"{where}: no « {END_BUTTON} » button in the banner")


def check_axe(findings: Findings, page, js: bool, where: str, narrow: bool = False) -> None:
    """axe at 768 px (and at 320 px with reflow and target sizes, if `narrow`)."""
    findings.axe(page, js, where, 768)
    if narrow:
        page.set_viewport_size(NARROW)
        try:
            findings.axe(page, js, where, 320)
            findings.reflow(page, f"{where} (320 px)")
        finally:
            page.set_viewport_size(TABLET)


def check_generic_title(findings: Findings, page, titles: set[str], where: str) -> None:
    title_tag = page.locator("title")
    findings.check(title_tag.get_attribute("data-generic") is not None,
                   f"{where}: <title> without data-generic")
    findings.check(page.title() in titles, f"{where}: title {page.title()!r} is not one of "
                                          f"the generic titles {sorted(titles)}")


def check_not_remembered(findings: Findings, page, fields: tuple[str, ...],
                         where: str) -> None:
    for selector in fields:
        value = page.locator(selector).get_attribute("autocomplete")
        findings.check(value == "off", f"{where}: {selector} autocomplete={value!r}")


def check_cleared(findings: Findings, landed, where: str) -> None:
    """The end page was reached through a 303 that sends Clear-Site-Data."""
    redirect = landed.request.redirected_from if landed is not None else None
    answer = redirect.response() if redirect is not None else None
    cleared = answer.all_headers().get("clear-site-data") if answer is not None else None
    findings.check(answer is not None and answer.status == 303 and cleared == CLEAR_SITE_DATA,
                   f"{where}: {landed and landed.url} reached "
                   f"{'through a ' + str(answer.status) if answer else 'directly'}, "
                   f"Clear-Site-Data {cleared!r}")


# --------------------------------------------------------------------------- profile

@dataclass
class PlaceReport:
    name: str
    files: int
    size: int
    hits: list[str]

    def line(self) -> str:
        if self.files == 0:
            return f"{self.name}: absent (holds nothing)"
        found = "; ".join(self.hits) if self.hits else "no canary"
        return f"{self.name}: {self.files} file(s), {self.size} bytes, {found}"


def encodings(canary: str) -> dict[str, bytes]:
    forms = {"utf-8": canary.encode("utf-8"), "utf-16-le": canary.encode("utf-16-le")}
    escaped = quote(canary, safe="")
    if escaped != canary:
        forms["url"] = escaped.encode()
    return forms


def place_files(default: Path, name: str) -> list[Path]:
    target = default / name
    if target.is_dir():
        return sorted(path for path in target.rglob("*") if path.is_file())
    # A SQLite database and its journals.
    return [path for path in (target, default / f"{name}-journal", default / f"{name}-wal")
            if path.is_file()]


def sqlite_tables(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of a SQLite file, read from a copy ({} if unreadable)."""
    copy = path.with_name(path.name + ".copy-for-test")
    try:
        shutil.copyfile(path, copy)
        with contextlib.closing(sqlite3.connect(copy)) as connection:
            tables = [row[0] for row in connection.execute(
                "select name from sqlite_master where type = 'table'")]
            # The table names come from the file itself.
            query = 'select * from "{}"'.format
            return {table: list(connection.execute(query(table))) for table in tables}
    except sqlite3.DatabaseError:
        return {}
    finally:
        copy.unlink(missing_ok=True)


def sqlite_rows(path: Path, needle: str) -> list[str]:
    """Where a canary sits in a SQLite file: table and row."""
    return [f"{table} {row}" for table, rows in sqlite_tables(path).items()
            for row in rows if needle in repr(row)]


def found_in(data: bytes, canary: str, encoding: str, needle: bytes) -> int | None:
    """Where the canary is in the bytes, or None. A code (digits only) counts only standing
    alone: typed into a field it is a value of its own, while the browser's files are full
    of longer numbers (times, ids) that hold any 6 digits now and then."""
    if not canary.isdigit():
        found = data.find(needle)
        return None if found < 0 else found
    digit = rb"[0-9]\x00" if encoding == "utf-16-le" else rb"[0-9]"
    match = re.search(rb"(?<!" + digit + rb")" + re.escape(needle) + rb"(?!" + digit + rb")",
                      data)
    return match.start() if match else None


def scan(files: list[Path], canaries: list[str]) -> list[str]:
    hits = []
    for path in files:
        data = path.read_bytes()
        for canary in canaries:
            for encoding, needle in encodings(canary).items():
                at = found_in(data, canary, encoding, needle)
                if at is not None:
                    where = sqlite_rows(path, canary) if data.startswith(b"SQLite") else []
                    around = data[max(0, at - 24):at + len(needle) + 24]
                    hits.append(f"{canary!r} ({encoding}) in {path.name}"
                                + (f" {where}" if where else "") + f" (around: {around!r})")
    return hits


def read_profile(profile: Path,
                 canaries: list[str]) -> tuple[list[PlaceReport], list[str], int, int]:
    """The five places; the hits elsewhere in the profile, its other files and bytes."""
    default = profile / "Default"
    reports, seen = [], set()
    for name in PROFILE_PLACES:
        files = place_files(default, name)
        seen.update(files)
        reports.append(PlaceReport(name, len(files), sum(path.stat().st_size for path in files),
                                   scan(files, canaries)))
    others = sorted(path for path in profile.rglob("*") if path.is_file() and path not in seen)
    elsewhere = [f"{hit} ({path.relative_to(profile)})" for path in others
                 for hit in scan([path], canaries)]
    size = sum(path.stat().st_size for path in others)
    return reports, elsewhere, len(others), size


def check_tables(findings: Findings, path: Path, tables: tuple[str, ...],
                 canaries: list[str], mode: str) -> None:
    """The tables where Chromium keeps what was typed or visited, read row by row too; the
    password manager's and autofill's are empty with the desk's settings in effect."""
    content = sqlite_tables(path) if path.is_file() else {}
    for table in tables:
        rows = content.get(table)
        found = sorted({canary for canary in canaries for row in rows or ()
                        if canary in repr(row)})
        print(f"[{mode}]     table {table}: "
              + ("absent" if rows is None else f"{len(rows)} row(s), "
                 + (f"holds {found}" if found else "no canary")))
        findings.check(not found, f"profile {path.name}, table {table}: holds {found}")
        if path.name != "History":
            findings.check(not rows, f"profile {path.name}, table {table}: {rows} (the "
                                     f"desk's settings, TABLET_PREFERENCES, not in effect?)")


def check_profile(findings: Findings, profile: Path, canaries: list[str], mode: str) -> None:
    """Read the closed profile's files; print what was read, for the closing note."""
    reports, elsewhere, other_files, other_size = read_profile(profile, canaries)
    default = profile / "Default"
    print(f"\n[{mode}] profile {profile}\n[{mode}]   canaries: {canaries} "
          f"(each as UTF-8, UTF-16-LE and, if different, percent-encoded)")
    for report in reports:
        print(f"[{mode}]   {report.line()}")
        findings.check(not report.hits, f"profile {report.name}: {report.hits}")
        if report.name in PROFILE_TABLES:
            check_tables(findings, default / report.name, PROFILE_TABLES[report.name],
                         canaries, mode)
    print(f"[{mode}]   the rest of the profile: {other_files} file(s), {other_size} bytes, "
          f"{'; '.join(elsewhere) or 'no canary'}")
    findings.check(not elsewhere, f"profile, other files: {elsewhere}")
    # The check means something only if Chromium did record: the pages visited in History
    # (history saving is on), under their titles.
    history = sqlite_tables(default / "History").get("urls", []) if (
        default / "History").is_file() else []
    findings.check(any("/accompagnement" in repr(row) for row in history),
                   "History does not hold /accompagnement: the check above proves nothing")


# --------------------------------------------------------------------------- desk steps

def resume(page, secret_field: str, secret: str) -> None:
    """On the end page: the adviser's desk PIN or password, then Enter; lands on the desk."""
    type_into(page, secret_field, secret)
    press_enter(page)
    assert path_of(page) == "/conseiller", page.url


def record_outcome(app, page, accompaniment_id: str, value: str = "help_only") -> None:
    form = f"form[action$='/conseiller/accompagnement/{accompaniment_id}/resultat']"
    assert page.locator(form).count() == 1, "no outcome form on the desk"
    choose_radio(page, "outcome", value, within=form)
    tab_to(page, f"{form} button[type=submit]")
    press_enter(page)
    assert path_of(page) == "/conseiller", page.url
    assert accompaniment(app, accompaniment_id).outcome == value


# Which children of <body> are still shown (rendered and not visibility:hidden).
SHOWN_CHILDREN = """() => Array.from(document.body.children).filter(element => {
    const style = getComputedStyle(element);
    return style.display !== "none" && style.visibility !== "hidden"; })
  .map(element => element.tagName.toLowerCase() + (element.id ? "#" + element.id : ""))"""
MAIN_HIDDEN = """() => getComputedStyle(document.querySelector("main")).visibility === "hidden"
"""
IDLE_STATE = """() => { const panel = getComputedStyle(document.querySelector("#fin-inactivite"));
  return "#fin-inactivite display=" + panel.display + " visibility=" + panel.visibility +
    " animation=" + panel.animationName + "; <main> visibility=" +
    getComputedStyle(document.querySelector("main")).visibility; }"""
TARGET_SIZE = """selector => { const box = document.querySelector(selector).getBoundingClientRect();
  return [Math.round(box.width), Math.round(box.height)]; }"""


def check_idle_panel(findings: Findings, page, expired_url: str) -> None:
    """Without JavaScript, once the idle stylesheet's delay has passed (animations sped up):
    only the idle panel is shown; axe, reflow and its button's size at 320 px; Tab reaches
    its « Terminer et effacer la tablette » first (the hidden page cannot take the focus),
    which is left focused."""
    panel = page.locator(IDLE_PANEL)
    try:
        panel.wait_for(state="visible", timeout=5_000)
        support.wait_until(page, MAIN_HIDDEN)
        appeared = True
    except (AssertionError, PlaywrightTimeoutError):
        appeared = False
    if not appeared:  # nothing more to reach: the problems so far, and this one
        findings.problems.append(f"idle panel never shown, 300 s after the page (sped "
                                 f"up): {page.evaluate(IDLE_STATE)}")
        findings.done()
    findings.check(not page.locator("main").is_visible(), "idle panel: <main> still shown")
    shown = page.evaluate(SHOWN_CHILDREN)
    findings.check(shown == [IDLE_PANEL.replace("#", "div#")],
                   f"idle panel: the children of <body> shown are {shown}")
    text = " ".join(panel.inner_text().split())
    for expected in ("L’accompagnement va se terminer",
                     "Après 5 minutes sans action, cette page n’est plus affichée"):
        findings.check(expected in text, f"idle panel: no « {expected} » in {text!r}")
    link = page.locator(IDLE_LINK)
    assert link.count() == 1, f"idle panel: {link.count()} {IDLE_LINK}"
    findings.check(link.inner_text().strip() == "Terminer et effacer la tablette"
                   and link.get_attribute("href") == expired_url,
                   f"idle panel: link {link.inner_text()!r} to {link.get_attribute('href')}")
    check_axe(findings, page, False, "idle panel", narrow=True)
    page.set_viewport_size(NARROW)
    try:
        size = page.evaluate(TARGET_SIZE, IDLE_LINK)
        findings.check(min(size) >= 44, f"idle panel at 320 px: its button is {size}")
        wide = page.evaluate("selector => { const e = document.querySelector(selector); "
                             "return e.scrollWidth > e.clientWidth; }", IDLE_PANEL)
        findings.check(not wide, "idle panel at 320 px: scrolls sideways")
    finally:
        page.set_viewport_size(TABLET)
    page.keyboard.press("Tab")
    first = support.focused(page)
    findings.check(first is not None and first["text"] == "Terminer et effacer la tablette",
                   f"idle panel: the first Tab goes to {first}, not to its button")
    tab_to(page, IDLE_LINK)


# --------------------------------------------------------------------------- the test

@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_an_accompaniment_leaves_nothing_of_the_person_on_the_tablet(
        app, tablet, camille_document, monkeypatch, js):
    findings = Findings()
    titles = generic_titles(app)
    # Her canaries (and, once she has typed it, her TOTP code).
    canaries = [PERSON, "Camille", "Martin", "Léo", DEMO[PERSON].password, NIR, DOCUMENT_FILE,
                DOCUMENT_TEXT, *camille_document]
    device = tablet(js)
    page = device.open()
    mode = JS_MODES[js]

    # 1. The adviser signs in on the desk's tablet and hands it over.
    page.goto("/connexion")
    sign_in(page, app, ADVISER)
    assert path_of(page) == "/conseiller", page.url
    start_accompaniment(page, "documents")

    # The welcome page: whom the person is with, where to start.
    assert page.locator("h1").inner_text().strip() == "Bienvenue"
    check_assisted(findings, page, js, "welcome", canaries)
    check_axe(findings, page, js, "welcome", narrow=True)

    # She signs in herself, with the keyboard.
    tab_to(page, "main a[href$='/connexion']")
    press_enter(page)
    check_assisted(findings, page, js, "sign-in", canaries)
    check_not_remembered(findings, page, ("#login", "#password"), "sign-in")
    check_axe(findings, page, js, "assisted sign-in")
    type_into(page, "#login", PERSON)
    type_into(page, "#password", DEMO[PERSON].password)
    press_enter(page)
    assert path_of(page).startswith("/connexion/code"), page.url
    check_assisted(findings, page, js, "code", canaries)
    check_not_remembered(findings, page, ("#code",), "code")
    check_axe(findings, page, js, "assisted code")
    code = support.totp_code(app, PERSON)
    canaries.append(code)
    type_into(page, "#code", code)
    press_enter(page)
    home = path_of(page)
    assert not home.startswith("/connexion"), page.url
    check_assisted(findings, page, js, f"her home {home}", canaries)
    check_generic_title(findings, page, titles, f"her home {home}")
    check_axe(findings, page, js, f"her home {home}")

    # Her documents: the previewable one is shown, never downloaded.
    tab_to(page, "nav.main-nav a[href$='/documents']")
    press_enter(page)
    assert path_of(page) == "/documents", page.url
    check_assisted(findings, page, js, "documents", canaries)
    check_generic_title(findings, page, titles, "documents")
    findings.check(page.title() == f"Documents – {app.config['SITE_NAME']}",
                   f"documents: title {page.title()!r}")
    check_axe(findings, page, js, "documents", narrow=True)
    preview = page.locator("main a[href$='/apercu']", has_text=f"Afficher « {DOCUMENT_TITLE} »")
    assert preview.count() == 1, "documents: no « Afficher » link for the PNG"
    findings.check(page.locator("main a[download]", has_text=DOCUMENT_TITLE).count() == 0,
                   "documents: a download link for a previewable document")
    downloads = []
    page.on("download", lambda download: downloads.append(download.suggested_filename))
    tab_to(page, f"main a[href='{preview.get_attribute('href')}']")
    shown = press_enter(page)
    assert re.search(r"/documents/[0-9a-f]{32}/apercu$", page.url), page.url
    findings.check(shown.status == 200 and shown.headers["content-type"] == "image/png",
                   f"preview: {shown.status} {shown.headers.get('content-type')}")
    findings.check(shown.headers.get("content-disposition", "").startswith("inline"),
                   f"preview: {shown.headers.get('content-disposition')}")
    findings.check("sandbox" in shown.headers.get("content-security-policy", ""),
                   "preview: not under the sandbox CSP")
    findings.check(page.locator("img").count() == 1, "preview: the image is not shown")
    findings.check(not downloads, f"preview: downloaded {downloads}")
    page.go_back()
    assert path_of(page) == "/documents", page.url
    check_assisted(findings, page, js, "documents (Back from the preview)", canaries)

    # She ends the accompaniment: the end page, the device told to clear everything.
    tab_to(page, ".assist-bar button[type=submit]")
    ended = press_enter(page)
    match = END_URL.search(page.url)
    assert match, page.url
    running_id, end_url = match.group(1), path_of(page)
    findings.check(ended.status == 200, f"end page: {ended.status}")
    check_cleared(findings, ended, f"« {END_BUTTON} »")
    assert page.locator("h1").inner_text().strip() == "Accompagnement terminé"
    findings.check(page.locator(".assist-bar").count() == 0, "end page: the banner is left")
    check_axe(findings, page, js, "end page", narrow=True)
    check_no_canary(findings, page, canaries, "end page")
    findings.check(accompaniment(app, running_id).ended_reason == "button",
                   f"ended as {accompaniment(app, running_id).ended_reason!r}")

    # Back shows nothing of her; her pages ask for a sign-in.
    page.go_back()
    back = path_of(page)
    print(f"\n[{mode}] Back after the end shows {back} ({page.title()!r})")
    findings.check(back == end_url or back.startswith("/connexion")
                   or page.locator(".assist-bar").count() == 0, f"Back after the end: {back}")
    check_no_canary(findings, page, canaries, "Back after the end")
    page.goto("/documents")
    findings.check(path_of(page).startswith("/connexion"),
                   f"/documents after the end: {page.url}")
    check_no_canary(findings, page, canaries, "/documents after the end")

    # 2. The profile, browser closed (Chromium writes its databases on the way out).
    device.close()
    check_profile(findings, device.profile, canaries, mode)

    # 3. Reopened: the desk resumes only with the adviser's secret.
    page = device.open()
    page.goto("/conseiller")
    findings.check(path_of(page).startswith("/connexion"),
                   f"/conseiller before the desk resumes: {page.url}")
    page.goto(end_url)
    assert page.locator("h1").inner_text().strip() == "Accompagnement terminé"
    type_into(page, "#pin", WRONG_PIN)
    refused = press_enter(page)
    findings.check(refused.status == 422, f"wrong PIN: {refused.status}")
    findings.check(path_of(page).startswith("/accompagnement/fin/"), f"wrong PIN: {page.url}")
    error = page.locator("#pin-error")
    findings.check(error.count() == 1 and "Encore 4 essais" in error.inner_text(),
                   f"wrong PIN: {error.all_inner_texts()}")
    check_axe(findings, page, js, "end page, wrong PIN")
    resume(page, "#pin", DESK_PIN)
    record_outcome(app, page, running_id)

    # 4. The idle end: the next person leaves the tablet on the welcome page.
    if js:
        page.clock.install()  # the browser's clock, from this page on
    else:  # CSS animations (the idle stylesheet's delay) 1000 times faster, from this page on
        cdp = device.context.new_cdp_session(page)
        cdp.send("Animation.enable")
        cdp.send("Animation.setPlaybackRate", {"playbackRate": IDLE_SPEED})
    start_accompaniment(page, "activate")
    expired_url = page.locator("body").get_attribute("data-session-expired-url")
    match = END_URL.search(expired_url or "")
    assert match and match.group(2) and not match.group(3), (
        f"data-session-expired-url={expired_url!r}")
    idle_id = match.group(1)
    later = domain_sessions.utcnow() + timedelta(minutes=6)
    if js:
        page.clock.fast_forward(181_000)  # the warning comes 2 minutes before the end
        warning = page.locator("#session-warning")
        findings.check(warning.is_visible(), "idle: no warning after 3 minutes")
        findings.check("l’accompagnement se terminera dans 2 minutes" in warning.inner_text(),
                       f"idle warning: {warning.inner_text()!r}")
        findings.check(page.evaluate("() => document.activeElement.hasAttribute("
                                     "'data-session-extend')"),
                       "idle warning: « Continuer » does not have the focus")
        findings.check(not page.locator(IDLE_PANEL).is_visible(),
                       "idle warning: the no-JavaScript idle panel is shown")
        monkeypatch.setattr(domain_sessions, "utcnow", lambda: later)  # the server's too
        with page.expect_navigation() as navigation:
            page.clock.fast_forward(120_000)
        idle_end = navigation.value
    else:
        check_idle_panel(findings, page, expired_url)
        monkeypatch.setattr(domain_sessions, "utcnow", lambda: later)  # the server's clock
        idle_end = press_enter(page)
        cdp.send("Animation.setPlaybackRate", {"playbackRate": 1})
        cdp.detach()
    assert END_URL.search(page.url) and END_URL.search(page.url).group(1) == idle_id, page.url
    assert page.locator("h1").inner_text().strip() == "Accompagnement terminé"
    findings.check("Après 5 minutes sans action" in page.locator("main").inner_text(),
                   "idle end page: no « Après 5 minutes sans action »")
    # The person's session no longer opens the welcome page (404, or the home page).
    gone = page.request.get("/accompagnement")  # with this browser's cookies
    findings.check((gone.status == 404 or not gone.url.endswith("/accompagnement"))
                   and "assist-bar" not in gone.text(),
                   f"/accompagnement after the idle end: {gone.status} {gone.url}")
    monkeypatch.undo()
    check_axe(findings, page, js, "idle end page")
    check_cleared(findings, idle_end, "idle end")
    row = accompaniment(app, idle_id)
    findings.check(row.ended_at is not None and row.ended_reason == "idle",
                   f"idle end: the accompaniment has ended_at={row.ended_at}, "
                   f"ended_reason={row.ended_reason!r}")
    resume(page, "#password", DEMO[ADVISER].password)
    record_outcome(app, page, idle_id)
    findings.done()

