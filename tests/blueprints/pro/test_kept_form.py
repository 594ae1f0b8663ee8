"""The empty patient search form is made once and kept (templates/pro/search.html, through
web/links.py's layout_part): a number or a date a professional typed never goes into the
kept text, and the kept form is the one the page would make."""

from __future__ import annotations

from tests.conftest import csrf_from
from tests.kept_parts import form_in, kept, nothing_kept_holds
from web import links

ACTION, PART = "/pro/patients", "search-fields"  # the form's address, its kept part's name
TYPED_NIR = "1 99 12 99 999 999 99"




def test_the_empty_search_form_is_kept_and_shown_as_made(app, signed_in):
    doctor = signed_in("dr.bernard")
    app.extensions[links.PARTS].clear()
    made = form_in(doctor.get("/pro/patients").get_data(as_text=True), ACTION)
    again = form_in(doctor.get("/pro/patients").get_data(as_text=True), ACTION)
    assert len(kept(app, PART)) == 1 and again == made
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
    assert nothing_kept_holds(app, TYPED_NIR)
    assert TYPED_NIR not in doctor.get("/pro/patients").get_data(as_text=True)
