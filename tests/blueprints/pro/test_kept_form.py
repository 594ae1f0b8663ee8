"""The empty patient search form is made once and kept (templates/pro/search.html, through
web/links.py's layout_part): a number or a date a professional typed never goes into the
kept text, and the kept form is the one the page would make."""

from __future__ import annotations

import re

from tests.conftest import csrf_from
from web import links

FORM_RE = re.compile(r'<form method="post" action="/pro/patients".*?</form>', re.S)
TOKEN_RE = re.compile(r'(name="csrf_token" value=")[^"]+')
TYPED_NIR = "1 99 12 99 999 999 99"


def _form(html: str) -> str:
    return TOKEN_RE.sub(r"\1-", FORM_RE.search(html)[0])


def _kept(app) -> list[str]:
    return [text for key, text in app.extensions[links.PARTS].items()
            if key[0] == "search-fields"]


def test_the_empty_search_form_is_kept_and_shown_as_made(app, signed_in):
    doctor = signed_in("dr.bernard")
    app.extensions[links.PARTS].clear()
    made = _form(doctor.get("/pro/patients").get_data(as_text=True))
    again = _form(doctor.get("/pro/patients").get_data(as_text=True))
    assert len(_kept(app)) == 1 and again == made
    assert 'name="csrf_token"' in made and 'id="nir"' in made


def test_what_a_professional_typed_is_never_kept(app, signed_in):
    doctor = signed_in("dr.bernard")
    app.extensions[links.PARTS].clear()
    page = doctor.get("/pro/patients").get_data(as_text=True)
    refused = doctor.post("/pro/patients", data={
        "csrf_token": csrf_from(page), "nir": TYPED_NIR, "born_day": "31",
        "born_month": "2", "born_year": "1988"})
    assert refused.status_code == 422
    assert TYPED_NIR in refused.get_data(as_text=True)  # shown back, to correct it
    assert all(TYPED_NIR not in text for text in app.extensions[links.PARTS].values())
    assert TYPED_NIR not in doctor.get("/pro/patients").get_data(as_text=True)
