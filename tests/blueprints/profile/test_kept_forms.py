"""The empty add forms of the profile's sections and measures are made once and kept
(templates/components/declared_form.html, through web/links.py's layout_part): what a
person typed or has stored never goes into the kept text, and the kept form is the one
the page would make."""

from __future__ import annotations

import pytest

from blueprints.profile import measures as measure_views
from tests.conftest import csrf_from
from tests.kept_parts import form_in, kept, nothing_kept_holds, says_another_day
from web import links

PATIENT = "camille.martin"
ACTION, PART = "/profil/", "declared-fields"  # the form's address, its kept part's name




@pytest.mark.parametrize("path", ["/profil/traitements", "/profil/mesures/poids"])
def test_the_empty_form_is_kept_and_shown_as_made(app, signed_in, path):
    client = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    made = client.get(path).get_data(as_text=True)
    assert len(kept(app, PART)) == 1
    again = client.get(path).get_data(as_text=True)
    assert len(kept(app, PART)) == 1
    assert form_in(again, ACTION) == form_in(made, ACTION)
    assert 'name="csrf_token"' in form_in(made, ACTION)  # the token stays outside the part


@pytest.mark.parametrize(("path", "form", "typed"), [
    ("/profil/traitements", {"name": "Zorglub-4521", "since_year": "3000"}, "Zorglub-4521"),
    ("/profil/mesures/poids", {"value": "Zorglub-4521", "measured_on_day": "1",
                               "measured_on_month": "1", "measured_on_year": "2024"},
     "Zorglub-4521"),
])
def test_what_a_person_typed_is_never_kept(app, signed_in, path, form, typed):
    client = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    page = client.get(path).get_data(as_text=True)
    refused = client.post(path, data={**form, "csrf_token": csrf_from(page)})
    assert refused.status_code == 422
    assert typed in refused.get_data(as_text=True)  # shown back to her, to correct it
    assert nothing_kept_holds(app, typed)
    # The next empty form is the empty one, not hers.
    assert typed not in client.get(path).get_data(as_text=True)


def test_a_stored_entry_is_never_kept(app, signed_in):
    """An entry's change form holds what is stored: made for each request."""
    client = signed_in(PATIENT)
    page = client.get("/profil/traitements").get_data(as_text=True)
    added = client.post("/profil/traitements", data={
        "name": "Quibbleium-77", "csrf_token": csrf_from(page)})
    assert added.status_code == 303
    entry = added.headers["Location"].rsplit("#entry-", 1)[1]
    edit = client.get(f"/profil/traitements/{entry}/modifier")
    assert edit.status_code == 200 and "Quibbleium-77" in edit.get_data(as_text=True)
    assert nothing_kept_holds(app, "Quibbleium-77")


def test_the_kept_measure_form_follows_the_day(app, signed_in, monkeypatch):
    """The measure form says today's date: the next day's form is another one."""
    assert says_another_day(signed_in(PATIENT), monkeypatch, measure_views,
                            "/profil/mesures/poids", "/profil/")
