"""The empty form to add a document is made once per day and choice of who sees new
documents, and kept (templates/documents/add.html, through web/links.py's layout_part):
what a person typed never goes into the kept text, and the kept form is the one the page
would make."""

from __future__ import annotations

import re

from blueprints.documents import views
from tests.blueprints.documents.test_vault_pages import upload
from tests.conftest import csrf_from
from tests.kept_parts import form_in, kept, nothing_kept_holds, says_another_day
from web import links

PATIENT = "camille.martin"
ACTION, PART = "/documents/ajouter", "document-fields"  # its address, its kept part
TYPED = "Zorglub-4521"




def _checked(form: str) -> list[str]:
    return re.findall(r'<input[^>]*name="visibility"[^>]*value="(\w+)"[^>]*checked', form)


def test_the_empty_form_is_kept_and_follows_the_choice_of_who_sees_new_ones(app, signed_in):
    client = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    made = form_in(client.get("/documents/ajouter").get_data(as_text=True), ACTION)
    again = form_in(client.get("/documents/ajouter").get_data(as_text=True), ACTION)
    assert len(kept(app, PART)) == 1 and again == made and _checked(made) == ["visible"]
    assert 'name="csrf_token"' in made  # the form's own token stays outside the part
    page = client.get("/documents/parametres").get_data(as_text=True)
    client.post("/documents/parametres", data={"csrf_token": csrf_from(page), "hide_new": "oui"})
    hidden = form_in(client.get("/documents/ajouter").get_data(as_text=True), ACTION)
    assert len(kept(app, PART)) == 2 and _checked(hidden) == ["hidden"]


def test_the_kept_form_follows_the_day(app, signed_in, monkeypatch):
    """The form says today's date: the next day's form is another one."""
    assert says_another_day(signed_in(PATIENT), monkeypatch, views, "/documents/ajouter",
                            "/documents/ajouter")


def test_what_a_person_typed_is_never_kept(app, signed_in):
    client = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    client.get("/documents/ajouter")
    refused = upload(client, b"", "vide.pdf", title=TYPED)  # an empty file: refused
    assert refused.status_code == 422
    assert TYPED in refused.get_data(as_text=True)  # shown back to her, to correct it
    assert nothing_kept_holds(app, TYPED)
    assert TYPED not in client.get("/documents/ajouter").get_data(as_text=True)
