"""French and English catalogues are complete, current, and no template text escapes _()."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from web import links

ROOT = Path(__file__).parent.parent
LANGUAGES = ("fr", "en")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def _catalog(lang: str):
    with (ROOT / f"translations/{lang}/LC_MESSAGES/messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def _extracted() -> set[str]:
    method_map = [("**/.venv/**", "ignore"), ("**/node_modules/**", "ignore"),
                  ("**.py", "python"), ("templates/**.html", "jinja2"),
                  ("templates/**.txt", "jinja2")]
    options = {"templates/**.html": {"trimmed": "true"}, "templates/**.txt": {"trimmed": "true"}}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(lang):
    catalog = _catalog(lang)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            problems.append(f"untranslated: {message.id!r}")
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
    assert problems == []
    assert len(catalog) > 100


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_string_in_the_code_is_in_the_catalogue(lang):
    ids = {message.id[0] if isinstance(message.id, tuple) else message.id
           for message in _catalog(lang) if message.id}
    missing = sorted(_extracted() - ids)
    assert missing == [], "run `make update-translations` and translate"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match(lang):
    placeholder = re.compile(r"%\((\w+)\)s")
    for message in _catalog(lang):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, tuple) else (message.id,)
        target = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(placeholder.findall(" ".join(source)))
        for translated in target:
            assert set(placeholder.findall(translated)) == expected, message.id


JINJA = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)
TAG = re.compile(r"<[^>]*>", re.S)
TRANS_BLOCK = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
TEXT_ATTRIBUTE = re.compile(r'\s(?:alt|title|aria-label|placeholder)="([^"{]*[A-Za-zÀ-ÿ][^"{]*)"')
ALLOWED_LITERALS = {"—", "·", "–", ":"}


def _visible_literals(source: str) -> list[str]:
    # A layout part's marks (web/links.py) are never shown: each is replaced by its value.
    without_trans = links.HOLE.sub(" ", TRANS_BLOCK.sub(" ", source))
    without_script = re.sub(r"<script.*?</script>", " ", without_trans, flags=re.S)
    text = TAG.sub(" ", JINJA.sub(" ", without_script))
    return [chunk for chunk in re.split(r"\s{2,}|\n", text)
            if re.search(r"[A-Za-zÀ-ÿ]", chunk) and chunk.strip() not in ALLOWED_LITERALS]


@pytest.mark.parametrize("template", sorted(
    str(path.relative_to(ROOT / "templates")) for path in (ROOT / "templates").rglob("*.html")))
def test_no_template_text_outside_gettext(template):
    source = (ROOT / "templates" / template).read_text(encoding="utf-8")
    assert _visible_literals(source) == []
    assert TEXT_ATTRIBUTE.findall(source) == []


def test_the_english_pages_are_english(client):
    client.get("/langue/en")
    html = client.get("/connexion").get_data(as_text=True)
    assert "Sign in" in html and "Se connecter" not in html
