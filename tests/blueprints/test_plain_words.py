"""Issue 17, item 13: plain words first, the technical term only in brackets after them.

"Second facteur", "application d’authentification", "RPPS" and "bris de glace" mean nothing
to most patients. Each page a newcomer or a professional meets says what it is in everyday
words; the term follows in brackets (or quoted) where someone may need it. On a phone the
authenticator step offers the link and the key before the QR code, which the phone showing it
cannot scan.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from tests.blueprints.activation.test_activate_flow import post, walk_to_credentials
from tests.conftest import DEMO, csrf_from

JARGON = {
    "fr": ("second facteur", "deuxième facteur", "application d’authentification", "rpps",
           "bris de glace"),
    "en": ("second factor", "authenticator app", "rpps", "break the glass", "break-glass"),
}
BRACKETED = re.compile(r"\([^()]*\)|«[^»]*»|“[^”]*”")


def jargon_outside_brackets(html: str, language: str) -> list[str]:
    """Each jargon term found in the page's visible text outside brackets or quotes."""
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "title", "template"]):
        hidden.decompose()
    text = " ".join(soup.get_text(" ").split())
    bare = BRACKETED.sub(" ", text).lower()
    return [term for term in JARGON[language] if term in bare]


def test_the_check_finds_a_bare_term_and_lets_a_bracketed_one_pass():
    assert jargon_outside_brackets("<p>Numéro RPPS : 1</p>", "fr") == ["rpps"]
    assert jargon_outside_brackets("<p>Protéger avec un second facteur</p>", "fr") == [
        "second facteur"]
    assert jargon_outside_brackets(
        "<p>Numéro de professionnel (RPPS) · accès en urgence (bris de glace)</p>", "fr") == []


def _factor_step(client, app) -> str:
    walk_to_credentials(client, app)
    post(client, "/activation/identifiants", {
        "login": "jeanne.dupont", "password": "Le chat dort sur le toit",
        "password_confirm": "Le chat dort sur le toit"})
    response = client.get("/activation/second-facteur")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _code_step(client) -> str:
    page = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={
        "csrf_token": csrf_from(page), "login": "camille.martin",
        "password": DEMO["camille.martin"].password})
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_patients_sign_in_and_activation_pages_speak_plainly(client, app, demo_users,
                                                                 language):
    if language == "en":
        client.get("/langue/en")
    pages = {"help": client.get("/aide").get_data(as_text=True),
             "sign-in code": _code_step(client)}
    factor = _factor_step(app.test_client(), app) if language == "fr" else None
    if factor is not None:
        pages["authenticator step"] = factor
        # On the phone showing it a QR code cannot be scanned: the app link and the key to
        # copy come first, and the QR code last, for a computer.
        link = factor.index('href="otpauth://')
        key = factor.index('class="code-display"')
        assert link < key < factor.index('class="qr"')
    for name, html in pages.items():
        assert jargon_outside_brackets(html, language) == [], name


@pytest.mark.parametrize("language", ["fr", "en"])
def test_professional_numbers_and_emergency_access_are_named_in_plain_words(
        app, signed_in, language):
    doctor = signed_in("dr.bernard")
    patient = signed_in("camille.martin")
    if language == "en":
        doctor.get("/langue/en")
        patient.get("/langue/en")
    pages = {"pro home": doctor.get("/pro"),
             "who has access": patient.get("/acces"),
             "search by number": patient.get("/acces?q=10001234565")}
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.get_data(as_text=True)
        assert jargon_outside_brackets(html, language) == [], name
    # The term stays, in brackets, where a professional needs it.
    assert "(RPPS" in pages["search by number"].get_data(as_text=True)
