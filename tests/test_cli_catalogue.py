"""`flask catalogue check [FILE]` and `flask catalogue add ENTRY_FILE`: the operator checks a
catalogue file (counts per category, or the problem and exit code 1) and adds one entry to
CATALOGUE_FILE, refused unless the entry, its slug and the merged file are all right."""

from __future__ import annotations

import shutil

import pytest

from domain import catalogue
from domain.catalogue import CATEGORIES
from tests.domain.test_catalogue import entry

SHIPPED = catalogue.load(catalogue.DEFAULT_FILE)


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["catalogue", *args])


@pytest.fixture
def configured(app, tmp_path, monkeypatch):
    """CATALOGUE_FILE is a copy of the shipped file, which the tests may change."""
    copy = tmp_path / "catalogue.toml"
    shutil.copyfile(catalogue.DEFAULT_FILE, copy)
    monkeypatch.setitem(app.config, "CATALOGUE_FILE", str(copy))
    return copy


def test_check_counts_the_configured_files_services_per_category(app):
    result = _run(app, "check")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (f"{catalogue.DEFAULT_FILE}: OK, {len(SHIPPED)} service(s), "
                        f"{len(SHIPPED)} of them fictional (demo).")
    assert lines[1:] == [f"  {code}: {len(SHIPPED.in_category(code))}" for code in CATEGORIES]
    assert "  grossesse: 1" in lines and "  medicaments: 0" in lines


def test_check_reads_another_file(app, tmp_path):
    other = tmp_path / "autre.toml"
    other.write_text(entry("un", "Un", "sommeil") + entry("deux", "Deux", "sommeil"),
                     encoding="utf-8")
    result = _run(app, "check", str(other))
    assert result.exit_code == 0, result.output
    assert f"{other}: OK, 2 service(s), 0 of them fictional (demo)." in result.output
    assert "  sommeil: 2" in result.output and "  prevention: 0" in result.output


@pytest.mark.parametrize(("text", "problem"), [
    (entry("assureur", sector='"assurance"'),
     'entry 1 ("assureur"), field sector: \'assurance\' is an excluded sector'),
    (entry("a") + entry("a"), 'entry 2 ("a"), field slug: another entry has this slug'),
    (entry(privacy_url='"http://x.example"'), "field privacy_url"),
    ("[[apps]\n", "not valid TOML"),
])
def test_check_refuses_a_faulty_file_with_exit_code_1(app, tmp_path, text, problem):
    faulty = tmp_path / "faulty.toml"
    faulty.write_text(text, encoding="utf-8")
    result = _run(app, "check", str(faulty))
    assert result.exit_code == 1
    assert f"Error: {faulty}: " in result.output and problem in result.output
    assert "OK" not in result.output


def test_check_names_a_missing_file(app, tmp_path):
    result = _run(app, "check", str(tmp_path / "absent.toml"))
    assert result.exit_code == 1 and "absent.toml: no such file" in result.output


def test_add_appends_one_entry_to_the_configured_file(app, configured, tmp_path):
    before = configured.read_text(encoding="utf-8")
    new = tmp_path / "entry.toml"
    new.write_text(entry("carnet-tension", "Carnet Tension", "maladie_chronique"),
                   encoding="utf-8")
    result = _run(app, "add", str(new))
    assert result.exit_code == 0, result.output
    assert result.output == (f'"carnet-tension" (Carnet Tension) added to {configured}; '
                             "restart the site to show it.\n")
    after = configured.read_text(encoding="utf-8")
    assert after.startswith(before)  # the operator's file, comments included, is kept
    loaded = catalogue.load(configured)
    assert len(loaded) == len(SHIPPED) + 1
    assert loaded.get("carnet-tension").category == "maladie_chronique"
    assert all(loaded.get(app.slug) == app for app in SHIPPED.apps)
    assert catalogue.load(catalogue.DEFAULT_FILE).apps == SHIPPED.apps  # shipped: untouched
    again = _run(app, "check")
    assert again.exit_code == 0 and "  maladie_chronique: 2" in again.output


def test_the_example_client_is_added_by_the_command(app, configured, tmp_path):
    """The operator's way of adding the loopback example client to a catalogue without it."""
    scale = SHIPPED.get("exemple-balance")
    text = catalogue.DEFAULT_FILE.read_text(encoding="utf-8")
    start = text.index("[[apps]]")
    end = text.index("[[apps]]", text.index('slug = "exemple-balance"'))
    configured.write_text(text[:start] + text[end:], encoding="utf-8")
    new = tmp_path / "exemple-balance.toml"
    new.write_text(text[start:end], encoding="utf-8")
    assert catalogue.load(configured).get("exemple-balance") is None
    result = _run(app, "add", str(new))
    assert result.exit_code == 0, result.output
    assert catalogue.load(configured).get("exemple-balance") == scale


@pytest.mark.parametrize(("text", "problem"), [
    (entry("exemple-balance", "Doublon"), 'slug "exemple-balance" is there already'),
    (entry("mutuelle-plus", sector='"mutuelle"'), "is an excluded sector"),
    (entry("employeur-sante", sector='"employeur"'), "is an excluded sector"),
    (entry("un") + entry("deux"), "must hold exactly one [[apps]] entry, not 2"),
    (entry("x", redirect_uris='["http://x.example/retour"]'), "field redirect_uris"),
])
def test_add_refuses_and_leaves_the_file_as_it_was(app, configured, tmp_path, text, problem):
    before = configured.read_bytes()
    new = tmp_path / "entry.toml"
    new.write_text(text, encoding="utf-8")
    result = _run(app, "add", str(new))
    assert result.exit_code == 1
    assert problem in result.output and result.output.startswith("Error: ")
    assert configured.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["catalogue.toml",
                                                                "entry.toml"]
