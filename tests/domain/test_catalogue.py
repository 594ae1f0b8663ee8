"""The catalogue file: the shipped demonstration loads, is fictional and marked so; each
problem refuses the whole file with a message naming the entry and the field; an excluded
sector can never come in, whatever else the entry says; adding an entry is checked and
atomic."""

from __future__ import annotations

import os
import re
import stat
from datetime import date
from pathlib import Path

import pytest

from domain import catalogue, catalogue_file
from domain.catalogue import (
    CATEGORIES,
    EXCLUDED_SECTORS,
    SECTORS,
    SUPPORTED_SCOPES,
    App,
    CatalogueError,
    DataUse,
)

GOOD = '''
[[apps]]
slug = "{slug}"
name = "{name}"
publisher = "Éditeur de test"
sector = "editeur"
category = "{category}"
description = {{ fr = "Un service de test.", en = "A test service." }}
referenced_on = 2026-01-15
privacy_url = "https://test.example/confidentialite"
accessibility_url = "https://test.example/accessibilite"
accessibility_status = "partiellement"
redirect_uris = ["https://test.example/retour"]

[[apps.data]]
scope = "patient/Observation.rs"
purpose = {{ fr = "Lire vos mesures.", en = "Read your measures." }}
'''


PLAIN = ("service-test", "Service test", "prevention")


def entry(*plain: str, **changes) -> str:
    """One valid [[apps]] entry: `plain` gives its slug, name and category as texts;
    `changes` replace fields with TOML values written as they are (None removes one)."""
    slug, name, category = (*plain, *PLAIN[len(plain):])
    text = GOOD.format(slug=slug, name=name, category=category)
    for field, value in changes.items():
        line = re.compile(rf"^{field} = .*$", re.MULTILINE)
        if value is None:
            text = line.sub("", text, count=1)
        elif line.search(text):
            text = line.sub(lambda _match, field=field, value=value: f"{field} = {value}",
                            text, count=1)
        else:
            text = text.replace("\n[[apps.data]]", f"{field} = {value}\n\n[[apps.data]]", 1)
    return text


def refused(text: str) -> str:
    with pytest.raises(CatalogueError) as caught:
        catalogue.parse(text)
    return str(caught.value)


# --- the shipped file -------------------------------------------------------------------------

def test_the_shipped_file_loads_and_every_entry_is_a_marked_fiction():
    shipped = catalogue.load(catalogue.DEFAULT_FILE)
    assert 6 <= len(shipped) <= 8
    assert len(shipped.categories_in_use()) >= 4
    for app in shipped.apps:
        assert app.demo, app.slug
        assert "fictif" in app.description["fr"].lower(), app.slug
        assert "fictional" in app.description["en"].lower(), app.slug
        assert all(url.split("/")[2].endswith(".example") for url in (
            app.privacy_url, app.accessibility_url)), app.slug
        assert app.sector not in EXCLUDED_SECTORS
        assert all(set(use.purpose) == {"fr", "en"} for use in app.data)
    names = [app.name for app in shipped.apps]
    assert names == sorted(names, key=catalogue._fold)


def test_the_example_clients_entry_is_shipped():
    scale = catalogue.load(catalogue.DEFAULT_FILE).get("exemple-balance")
    assert scale is not None and scale.demo
    assert scale.scopes == ("patient/Observation.c", "patient/Observation.rs")
    assert scale.redirect_uris == ("http://127.0.0.1:8765/retour",)
    assert scale.requests_per_minute == 60
    assert scale.data[0].creates and scale.data[0].resource == "Observation"


def test_an_entry_reads_into_frozen_records():
    loaded = catalogue.parse(entry(requests_per_minute=30, demo="true"))
    app = loaded.get("service-test")
    assert app == App(
        slug="service-test", name="Service test", publisher="Éditeur de test",
        sector="editeur", category="prevention",
        description={"fr": "Un service de test.", "en": "A test service."},
        data=(DataUse("patient/Observation.rs", {"fr": "Lire vos mesures.",
                                                 "en": "Read your measures."}),),
        referenced_on=date(2026, 1, 15), privacy_url="https://test.example/confidentialite",
        accessibility_url="https://test.example/accessibilite",
        accessibility_status="partiellement", demo=True,
        redirect_uris=("https://test.example/retour",), requests_per_minute=30)
    with pytest.raises(AttributeError):
        app.slug = "autre"  # type: ignore[misc]
    assert loaded.get("inconnu") is None
    defaults = catalogue.parse(entry()).get("service-test")
    assert (defaults.demo, defaults.requests_per_minute) == (False, 60)


def test_apps_are_sorted_by_name_and_found_by_category():
    loaded = catalogue.parse(entry("b", "Élan", "grossesse") + entry("a", "zèbre", "sommeil")
                             + entry("c", "Amande", "grossesse"))
    assert [app.name for app in loaded.apps] == ["Amande", "Élan", "zèbre"]
    assert [app.slug for app in loaded.in_category("grossesse")] == ["c", "b"]
    assert loaded.in_category("inconnue") == ()
    assert loaded.categories_in_use() == ("grossesse", "sommeil")  # CATEGORIES' order
    assert CATEGORIES.index("grossesse") < CATEGORIES.index("sommeil")
    assert catalogue.parse("").apps == ()


# --- sectors ---------------------------------------------------------------------------------

def test_the_excluded_sectors_are_insurers_mutuelles_occupational_health_and_employers():
    assert {"assurance", "mutuelle", "sante_travail", "employeur"} == EXCLUDED_SECTORS
    assert not EXCLUDED_SECTORS & set(SECTORS)


@pytest.mark.parametrize("sector", sorted(EXCLUDED_SECTORS))
def test_every_excluded_sector_is_refused_at_load(sector, tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text(entry("demo-ok") + entry("assureur", sector=f'"{sector}"'),
                    encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        catalogue.load(path)
    message = str(caught.value)
    assert str(path) in message and 'entry 2 ("assureur")' in message
    assert "field sector" in message and "excluded" in message


def test_an_excluded_sector_is_named_first_whatever_else_is_wrong():
    message = refused(entry("assureur", sector='"employeur"', privacy_url=None,
                            oops='"x"'))
    assert "field sector" in message and "excluded" in message


@pytest.mark.parametrize("sector", ["Assurance", "assureur", "mutuelle_sante",
                                    "medecine_du_travail", "entreprise", "", "1"])
def test_an_unknown_sector_is_refused_so_no_other_spelling_slips_in(sector):
    message = refused(entry(sector=f'"{sector}"'))
    assert "field sector" in message and "is not one of" in message


def test_every_allowed_sector_loads():
    for sector in SECTORS:
        assert catalogue.parse(entry(sector=f'"{sector}"')).apps[0].sector == sector


# --- each refusal ----------------------------------------------------------------------------

@pytest.mark.parametrize("field", sorted(catalogue.REQUIRED_FIELDS - {"data"}))
def test_a_missing_field_is_named(field):
    message = refused(entry(**{field: None}))
    assert f"field {field}: is missing" in message


def test_a_missing_or_empty_data_list_is_refused():
    without = entry().split("\n[[apps.data]]")[0]
    assert "field data: is missing" in refused(without)
    assert "field data: must list at least one" in refused(without + "data = []\n")


def test_a_duplicate_slug_is_refused():
    message = refused(entry("meme") + entry("meme", "Autre nom"))
    assert 'entry 2 ("meme"), field slug' in message and "another entry" in message


@pytest.mark.parametrize("slug", ['"Majuscule"', '"avec espace"', '"fin-"', '"a--b"',
                                  '"é"', '"a/b"', '""', "12", '"' + "a" * 65 + '"'])
def test_a_slug_that_is_not_url_safe_is_refused(slug):
    assert "field slug" in refused(entry(slug=slug))


@pytest.mark.parametrize(("field", "value"), [
    ("privacy_url", '"http://test.example/vie-privee"'),
    ("privacy_url", '"javascript:alert(1)"'),
    ("privacy_url", '"https:///sans-hote"'),
    ("privacy_url", '"https://moi:secret@test.example/"'),
    ("privacy_url", '"https://test.example/a b"'),
    ("privacy_url", '"https://test.example/\\"><script>alert(1)</script>"'),
    ("privacy_url", '"https://test.example/é"'),
    ("accessibility_url", '"ftp://test.example/"'),
    ("accessibility_url", '"//test.example/"'),
    ("accessibility_url", "42"),
])
def test_a_bad_policy_address_is_refused(field, value):
    message = refused(entry(**{field: value}))
    assert f"field {field}" in message


@pytest.mark.parametrize("uri", [
    "http://test.example/retour",            # plain http elsewhere than the loopback
    "http://localhost:8765/retour",          # a name, which may resolve elsewhere
    "http://127.0.0.1/retour",               # loopback without a port
    "http://127.0.0.2:8765/retour",
    "http://[::2]:8765/retour",
    "https://test.example/retour#fragment",
    "http://127.0.0.1:8765/retour#x",
    "https://moi@test.example/retour",
    "http://127.0.0.1:port/retour",
    "custom.scheme:/retour",
    "https:///retour",
    "",
])
def test_a_bad_redirect_uri_is_refused(uri):
    assert "field redirect_uris" in refused(entry(redirect_uris=f'["{uri}"]'))


def test_redirect_uris_allowed_and_listed_once():
    uris = ["https://test.example/retour", "http://127.0.0.1:8765/retour",
            "http://[::1]:9000/cb?x=1", "http://127.0.0.1:1"]
    app = catalogue.parse(entry(redirect_uris=str(uris).replace("'", '"'))).apps[0]
    assert app.redirect_uris == tuple(uris)
    assert "listed twice" in refused(entry(
        redirect_uris='["https://test.example/a", "https://test.example/a"]'))
    assert "at least one" in refused(entry(redirect_uris="[]"))


@pytest.mark.parametrize("value", ['"2026-01-15"', "2026-01-15T10:00:00", "20260115",
                                   '"15/01/2026"'])
def test_a_bad_date_is_refused(value):
    assert "field referenced_on" in refused(entry(referenced_on=value))


def test_an_unknown_category_or_accessibility_status_is_refused():
    assert "field category" in refused(entry(category='"inconnue"'))
    assert "field category" in refused(entry(category='"Grossesse"'))
    assert "field accessibility_status" in refused(entry(accessibility_status='"conforme"'))
    for status in catalogue.ACCESSIBILITY_STATUSES:
        assert catalogue.parse(entry(accessibility_status=f'"{status}"')).apps


def _with_data(*uses: str) -> str:
    data = "".join(f'\n[[apps.data]]\nscope = "{scope}"\n'
                   f'purpose = {{ fr = "Pour {scope}.", en = "For {scope}." }}\n'
                   for scope in uses)
    return entry().split("\n[[apps.data]]")[0] + data


@pytest.mark.parametrize("scope", [
    "patient/Observation.u", "patient/Observation.d", "patient/Observation.cruds",
    "patient/Observation.crs", "patient/Observation.read", "patient/Observation.*",
    "user/Observation.rs", "system/Observation.rs", "patient/*.rs", "patient/Patient.c",
    "patient/Patient.rs", "patient/Immunization.c", "patient/Practitioner.rs",
    "patient/Observation.sr", "openid", "launch/patient", "offline_access",
])
def test_an_unsupported_scope_is_refused(scope):
    message = refused(_with_data(scope))
    assert "field data 1.scope" in message and "not a supported scope" in message


def test_the_supported_scopes_read_everything_the_api_serves_and_create_measures_and_docs():
    assert {"patient/Observation.rs", "patient/Observation.c", "patient/DocumentReference.rs",
            "patient/DocumentReference.c", "patient/Immunization.rs",
            "patient/AllergyIntolerance.rs", "patient/Condition.rs",
            "patient/MedicationStatement.rs", "patient/Appointment.rs",
            "patient/Patient.r"} <= SUPPORTED_SCOPES
    assert not any(scope.endswith((".u", ".d")) or "u" in scope.split(".")[1]
                   or "d" in scope.split(".")[1] for scope in SUPPORTED_SCOPES)
    assert catalogue.parse(_with_data(*sorted(
        scope for scope in SUPPORTED_SCOPES if scope.endswith((".rs", ".c", "Patient.r"))))
    ).apps[0].scopes


def test_a_scope_listed_twice_or_overlapping_is_refused():
    message = refused(_with_data("patient/Observation.rs", "patient/Observation.rs"))
    assert "field data 2.scope" in message and "already listed" in message
    assert "already listed" in refused(_with_data("patient/Observation.rs",
                                                  "patient/Observation.r"))
    both = catalogue.parse(_with_data("patient/Observation.r", "patient/Observation.s",
                                      "patient/Observation.c")).apps[0]
    assert both.scopes == ("patient/Observation.r", "patient/Observation.s",
                           "patient/Observation.c")


def test_a_purpose_or_description_needs_french_and_english():
    only_french = entry(description='{ fr = "Seulement en français." }')
    assert "field description.en" in refused(only_french)
    assert "unknown language 'de'" in refused(entry(
        description='{ fr = "a", en = "b", de = "c" }'))
    assert "field description" in refused(entry(description='"Un texte"'))
    no_purpose = entry().replace('purpose = { fr = "Lire vos mesures.", en = "Read your '
                                 'measures." }', 'purpose = { fr = "", en = "x" }')
    assert "field data 1.purpose.fr" in refused(no_purpose)


@pytest.mark.parametrize(("field", "value"), [
    ("name", '""'), ("name", '"   "'), ("name", '"Deux\\nlignes"'),
    ("name", '"Sens \u202e inversé"'), ("publisher", '"Nul\\u0000"'),
    ("name", '"' + "n" * 101 + '"'), ("publisher", "3"),
])
def test_bad_texts_are_refused(field, value):
    assert f"field {field}" in refused(entry(**{field: value}))


@pytest.mark.parametrize("value", ["0", "-1", "6001", "true", '"60"', "1.5"])
def test_a_bad_request_limit_is_refused(value):
    assert "field requests_per_minute" in refused(entry(requests_per_minute=value))


def test_demo_must_be_true_or_false():
    assert "field demo" in refused(entry(demo='"oui"'))


def test_unknown_fields_and_keys_are_refused():
    assert "field privacy_ulr: unknown field" in refused(entry(privacy_ulr='"x"'))
    assert "unknown top-level key 'version'" in refused('version = 1\n' + entry())
    assert "data 1.why" in refused(entry().replace('scope = "patient/Observation.rs"',
                                                   'scope = "patient/Observation.rs"\n'
                                                   'why = "x"'))
    assert "apps must be a list" in refused('apps = "x"\n')
    assert "entry 1: must be an [[apps]] table" in refused('apps = ["x"]\n')


def test_bad_files_are_refused_with_their_name(tmp_path):
    assert "not valid TOML" in refused("[[apps]\n")
    with pytest.raises(CatalogueError, match="no such file"):
        catalogue.load(tmp_path / "absent.toml")
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('# é\n'.encode("latin-1"))
    with pytest.raises(CatalogueError, match="latin1.toml: not UTF-8"):
        catalogue.load(latin)


# --- adding an entry -------------------------------------------------------------------------

def _files(tmp_path: Path, existing: str, added: str) -> tuple[Path, Path]:
    target, new = tmp_path / "catalogue.toml", tmp_path / "entry.toml"
    target.write_text(existing, encoding="utf-8")
    os.chmod(target, 0o640)
    new.write_text(added, encoding="utf-8")
    return target, new


def test_an_entry_is_added_and_the_file_replaced_whole(tmp_path):
    target, new = _files(tmp_path, entry("premier").rstrip("\n"), entry("second", "Second"))
    before = target.stat().st_ino
    app = catalogue_file.add_entry(target, new)
    assert app.slug == "second"
    assert [app.slug for app in catalogue.load(target).apps] == ["second", "premier"]
    assert target.stat().st_ino != before  # a new file renamed over the old one
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(path.name for path in tmp_path.iterdir()) == ["catalogue.toml",
                                                                "entry.toml"]  # no leftover
    assert target.read_text(encoding="utf-8").startswith(entry("premier").rstrip("\n"))


@pytest.mark.parametrize(("added", "problem"), [
    (entry("premier", "Autre"), 'slug "premier" is there already'),
    (entry("un") + entry("deux"), "exactly one [[apps]] entry, not 2"),
    ("", "exactly one [[apps]] entry, not 0"),
    (entry("assureur", sector='"assurance"'), "excluded"),
    (entry("x", privacy_url='"http://x.example"'), "field privacy_url"),
])
def test_a_refused_entry_leaves_the_catalogue_untouched(tmp_path, added, problem):
    target, new = _files(tmp_path, entry("premier"), added)
    before = target.read_bytes()
    with pytest.raises(CatalogueError, match=re.escape(problem)):
        catalogue_file.add_entry(target, new)
    assert target.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["catalogue.toml",
                                                                "entry.toml"]


INLINE = (
    'apps = [{ slug = "premier", name = "Premier", publisher = "P", sector = "editeur", '
    'category = "prevention", description = { fr = "a", en = "b" }, '
    'referenced_on = 2026-01-15, privacy_url = "https://p.example/", '
    'accessibility_url = "https://p.example/a", accessibility_status = "non", '
    'redirect_uris = ["https://p.example/r"], '
    'data = [{ scope = "patient/Patient.r", purpose = { fr = "a", en = "b" } }] }]\n')


def test_the_merged_file_is_checked_too(tmp_path):
    """Each valid alone, the two files make no catalogue together: an array written inline
    cannot be extended by an [[apps]] table."""
    assert catalogue.parse(INLINE).get("premier") is not None
    target, new = _files(tmp_path, INLINE, entry("second"))
    with pytest.raises(CatalogueError, match="catalogue.toml with .*entry.toml: not valid"):
        catalogue_file.add_entry(target, new)
    assert target.read_text(encoding="utf-8") == INLINE


def test_a_broken_catalogue_or_a_missing_one_is_not_added_to(tmp_path):
    target, new = _files(tmp_path, entry("premier", sector='"mutuelle"'), entry("second"))
    with pytest.raises(CatalogueError, match="excluded"):
        catalogue_file.add_entry(target, new)
    with pytest.raises(CatalogueError, match="no such file"):
        catalogue_file.add_entry(tmp_path / "absent.toml", new)


def test_the_readmes_example_entry_loads():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The catalogue\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    app = catalogue.parse(example).get("exemple-balance")
    assert app is not None and app.scopes == ("patient/Observation.c", "patient/Observation.rs")
    for code in (*SECTORS, *CATEGORIES, *EXCLUDED_SECTORS):
        assert f"{code}" in section, code
