"""The empty form to add a document is made once per day and choice of who sees new
documents, and kept (templates/documents/add.html, through web/links.py's layout_part):
what a person typed never goes into the kept text, and the kept form is the one the page
would make."""

from __future__ import annotations

import re
from datetime import date

from blueprints.documents import views
from tests.blueprints.documents.test_vault_pages import upload
from tests.conftest import csrf_from
from web import links

PATIENT = "camille.martin"
FORM_RE = re.compile(r'<form method="post" action="/documents/ajouter".*?</form>', re.S)
TOKEN_RE = re.compile(r'(name="csrf_token" value=")[^"]+')
TYPED = "Zorglub-4521"


def _form(html: str) -> str:
    return TOKEN_RE.sub(r"\1-", FORM_RE.search(html)[0])


def _kept(app) -> list[str]:
    return [text for key, text in app.extensions[links.PARTS].items()
            if key[0] == "document-fields"]


def _checked(form: str) -> list[str]:
    return re.findall(r'<input[^>]*name="visibility"[^>]*value="(\w+)"[^>]*checked', form)


def test_the_empty_form_is_kept_and_follows_the_choice_of_who_sees_new_ones(app, signed_in):
    client = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    made = _form(client.get("/documents/ajouter").get_data(as_text=True))
    again = _form(client.get("/documents/ajouter").get_data(as_text=True))
    assert len(_kept(app)) == 1 and again == made and _checked(made) == ["visible"]
    assert 'name="csrf_token"' in made  # the form's own token stays outside the part
    page = client.get("/documents/parametres").get_data(as_text=True)
    client.post("/documents/parametres", data={"csrf_token": csrf_from(page), "hide_new": "oui"})
    hidden = _form(client.get("/documents/ajouter").get_data(as_text=True))
    assert len(_kept(app)) == 2 and _checked(hidden) == ["hidden"]


def test_the_kept_form_follows_the_day(app, signed_in, monkeypatch):
    """The form says today's date: the next day's form is another one."""
    client = signed_in(PATIENT)
    client.get("/documents/ajouter")
    monkeypatch.setattr(views, "today_in_france", lambda: date(2031, 2, 17))
    form = _form(client.get("/documents/ajouter").get_data(as_text=True))
    assert 'value="2031"' in form and 'value="17"' in form


def test_what_a_person_typed_is_never_kept(app, signed_in):
    client = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    client.get("/documents/ajouter")
    refused = upload(client, b"", "vide.pdf", title=TYPED)  # an empty file: refused
    assert refused.status_code == 422
    assert TYPED in refused.get_data(as_text=True)  # shown back to her, to correct it
    assert all(TYPED not in text for text in app.extensions[links.PARTS].values())
    assert TYPED not in client.get("/documents/ajouter").get_data(as_text=True)
