"""The dashboard's sections and security links are the same for every patient: they are
made once per language and space and kept (templates/space/dashboard.html, through
web/links.py's layout_part). The unread count on the messages card is the person's own:
it is put in the kept text's hole on each view, never written into it."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.blueprints.messages.test_conversation_flow import start
from tests.blueprints.pro.test_patients import DOCTOR, PATIENT, declare
from web import links

PARTS = ("dashboard-sections", "dashboard-security")


def _kept(app) -> dict:
    return {key: text for key, text in app.extensions[links.PARTS].items()
            if key[0] in PARTS}


def _messages_card(html: str) -> str:
    card = BeautifulSoup(html, "html.parser").select_one('li.card:has(a[href="/messagerie"])')
    return card.get_text(" ", strip=True)


def test_the_sections_are_kept_without_the_unread_count(app, signed_in):
    patient = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    html = patient.get("/mon-espace").get_data(as_text=True)
    kept = _kept(app)
    assert sorted(key[0] for key in kept) == sorted(PARTS)
    assert "non lu" not in _messages_card(html)
    assert "carnet-hole-unread" in kept[next(key for key in kept if key[0] == PARTS[0])]

    doctor = signed_in(DOCTOR)
    assert start(doctor, app, declare(doctor, app)).status_code == 303
    html = signed_in(PATIENT).get("/mon-espace").get_data(as_text=True)
    assert _messages_card(html).endswith("1 message non lu")
    assert _kept(app) == kept  # the count went in the hole; the kept text is the same
    assert all("non lu" not in text for text in kept.values())
    security = BeautifulSoup(html, "html.parser").find("h2", string="Ma sécurité")
    assert [a["href"] for a in security.find_next("ul").find_all("a")] == [
        "/mon-compte/sessions", "/mon-compte/mot-de-passe", "/mon-compte/export.zip",
        "/mon-compte/fermer"]


def test_each_language_has_its_own(app, signed_in):
    patient = signed_in(PATIENT)
    app.extensions[links.PARTS].clear()
    french = patient.get("/mon-espace").get_data(as_text=True)
    patient.get("/langue/en?suivant=/mon-espace")
    english = patient.get("/mon-espace").get_data(as_text=True)
    assert "Rubriques" in french and "Ma sécurité" in french
    assert "Rubriques" not in english and "Ma sécurité" not in english
    assert len(_kept(app)) == 4
