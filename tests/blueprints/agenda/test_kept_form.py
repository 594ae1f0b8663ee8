"""The empty add form of the agenda is made once per kind asked for and kept
(templates/agenda/form.html, through web/links.py's layout_part): what a person typed or
has stored never goes into the kept text, and the kept form is the one the page would
make."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_from
from tests.kept_parts import form_in, kept, nothing_kept_holds
from web import links

PATIENT = "camille.martin"
ACTION, PART = "/agenda/", "agenda-fields"  # the form's address, its kept part's name
TYPED = "Zorglub-4521"




@pytest.mark.parametrize(("query", "checked"), [
    ("", None), ("?type=appointment", "appointment"), ("?type=reminder", "reminder")])
def test_the_empty_form_is_kept_per_kind_and_shown_as_made(app, signed_in, query, checked):
    client = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    made = form_in(client.get("/agenda/ajouter" + query).get_data(as_text=True), ACTION)
    assert len(kept(app, PART)) == 1
    again = form_in(client.get("/agenda/ajouter" + query).get_data(as_text=True), ACTION)
    assert len(kept(app, PART)) == 1 and again == made
    assert 'name="csrf_token"' in made  # the form's own token stays outside the part
    ticked = re.findall(r'<input[^>]*value="(\w+)"[^>]*checked', made)
    assert ticked == ([checked] if checked else [])


def test_another_kind_is_another_form_and_an_unknown_one_is_not_kept(app, signed_in):
    client = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    client.get("/agenda/ajouter?type=appointment")
    client.get("/agenda/ajouter?type=reminder")
    assert len(kept(app, PART)) == 2
    assert client.get("/agenda/ajouter?type=zorglub").status_code == 200
    assert len(kept(app, PART)) == 2


def test_what_a_person_typed_or_stored_is_never_kept(app, signed_in):
    client = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    page = client.get("/agenda/ajouter").get_data(as_text=True)
    refused = client.post("/agenda/ajouter", data={
        "csrf_token": csrf_from(page), "kind": "appointment", "title": TYPED,
        "date_day": "31", "date_month": "2", "date_year": "2027"})
    assert refused.status_code == 422
    assert TYPED in refused.get_data(as_text=True)  # shown back to her, to correct it
    added = client.post("/agenda/ajouter", data={
        "csrf_token": csrf_from(page), "kind": "reminder", "title": TYPED,
        "date_day": "3", "date_month": "3", "date_year": "2027"})
    assert added.status_code == 303
    edit = client.get(added.headers["Location"] + "/modifier")
    assert edit.status_code == 200 and TYPED in edit.get_data(as_text=True)
    assert nothing_kept_holds(app, TYPED)
    assert TYPED not in client.get("/agenda/ajouter").get_data(as_text=True)
