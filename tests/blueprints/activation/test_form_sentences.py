"""The activation, opposition and provisional-code forms, read by the one form reader:
each problem keeps its sentence (how to fix it, with an example), what was typed comes
back, every step saved is audited, and boosted forms are answered like plain ones."""

from __future__ import annotations

import json

from sqlalchemy import select

from domain.models import AuditEvent
from extensions import db
from tests.audit_trail import AUDIT_ORDER
from tests.blueprints.activation.test_activate_flow import (
    JEANNE,
    post,
    start,
    walk_to_credentials,
)
from tests.conftest import csrf_from
from tests.html_checks import check_page

NIR_MISSING = ("Saisissez votre numéro de sécurité sociale (15 caractères), par exemple "
               "2 88 03 75 108 021 50.")
BIRTH_MISSING = "Saisissez votre date de naissance, par exemple 14 3 1988."
NIR_KEY = ("Ce numéro de sécurité sociale n’est pas valide : vérifiez les 15 caractères, y "
           "compris la clé (les 2 derniers chiffres).")
DATE_INVALID = ("Saisissez une date réelle, par exemple 14 3 1988 (jour, mois, année sur 4 "
                "chiffres).")
NOT_PAST = "Vérifiez l’année : la date doit être passée, par exemple 1988."


def _page(response) -> str:
    html = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 422 and "<title>Erreur :" in html
    assert check_page(html) == [], check_page(html)
    return html


def test_the_code_step_says_an_empty_code_is_unknown(client, demo_users):
    html = _page(post(client, "/activation", {"code": "  "}))
    assert "Ce code n’est pas reconnu." in html


def test_identity_sentences_and_what_was_typed(client, demo_users):
    start(client)
    html = _page(post(client, "/activation/identite", {}))
    assert NIR_MISSING in html and BIRTH_MISSING in html
    html = _page(post(client, "/activation/identite", {
        "nir": " 2 88 03 75 108 021 51 ", "birth_day": "31", "birth_month": "2",
        "birth_year": "1988"}))
    assert NIR_KEY in html and DATE_INVALID in html
    assert 'value="2 88 03 75 108 021 51"' in html and 'value="31"' in html
    html = _page(post(client, "/activation/identite", {**JEANNE, "birth_year": "2999"}))
    assert NOT_PAST in html


def test_provisional_code_sentences(client, demo_users):
    html = _page(post(client, "/activation/code-provisoire", {
        "nir": "2 88 03 75 108 021 50", "vitale": "2880375108021", "birth_day": "14",
        "birth_month": "3", "birth_year": "1888"}))
    assert ("Ce numéro est votre numéro de sécurité sociale. Le numéro de série est un autre "
            "numéro, au dos de la carte.") in html
    assert NOT_PAST in html
    html = _page(post(client, "/activation/code-provisoire", {"vitale": "14031988"}))
    assert NIR_MISSING in html and BIRTH_MISSING in html
    assert ("Ce numéro ressemble à une date. Le numéro de série est au dos de la carte, par "
            "exemple 12345678901.") in html
    html = _page(post(client, "/activation/opposition/sans-code", {"nir": "2880375108021"}))
    assert ("Le numéro de sécurité sociale a 15 caractères : 13 chiffres (2A ou 2B pour la "
            "Corse) et une clé de 2 chiffres.") in html
    assert ("Saisissez le numéro de série de votre carte Vitale, par exemple 12345678901 (au "
            "dos de la carte).") in html


def test_terms_and_contacts_sentences(client, demo_users):
    start(client)
    post(client, "/activation/identite", JEANNE)
    html = _page(post(client, "/activation/conditions", {"accept": "non"}))
    assert ("Cochez la case pour accepter les conditions d’utilisation, ou refusez la "
            "création de votre espace.") in html
    post(client, "/activation/conditions", {"accept": "oui"})
    html = _page(post(client, "/activation/coordonnees", {"email": " ", "phone": ""}))
    assert "Saisissez au moins une adresse e-mail ou un numéro de téléphone." in html
    html = _page(post(client, "/activation/coordonnees", {"email": "jeanne@",
                                                          "phone": "+32 470 12 34 56"}))
    assert "Saisissez une adresse e-mail complète, par exemple prenom.nom@exemple.fr." in html
    assert ("Saisissez un numéro de téléphone français à 10 chiffres, par exemple "
            "06 12 34 56 78.") in html
    assert 'value="jeanne@"' in html and 'value="+32 470 12 34 56"' in html


def test_contact_codes_and_credentials_sentences(client, app, demo_users):
    start(client)
    post(client, "/activation/identite", JEANNE)
    post(client, "/activation/conditions", {"accept": "oui"})
    post(client, "/activation/coordonnees", {"email": "jeanne.dupont@example.org"})
    html = _page(post(client, "/activation/coordonnees/verification", {"email_code": ""}))
    assert "Saisissez le code à 6 chiffres reçu, par exemple 123456." in html
    html = _page(post(client, "/activation/coordonnees/verification",
                      {"email_code": "12 34 5"}))
    assert "Le code contient 6 chiffres, par exemple 123456." in html


def test_credentials_sentences(client, app, demo_users):
    walk_to_credentials(client, app)
    html = _page(post(client, "/activation/identifiants", {
        "login": " J ", "password": "Le chat dort sur le toit",
        "password_confirm": "Le chat dort sur le toit bleu"}))
    assert ("Choisissez un identifiant de 3 à 64 caractères : lettres sans accents, chiffres, "
            "point, tiret, par exemple jeanne.dupont.") in html
    assert ("Les deux mots de passe sont différents. Saisissez le même mot de passe deux "
            "fois.") in html
    assert 'value="j"' in html  # the login as it will be read: trimmed, lower case


def test_every_step_saved_is_audited(client, app, demo_users):
    walk_to_credentials(client, app)
    with app.app_context():
        steps = [json.loads(event.details)["step"] for event in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "activation.step_saved")
            .order_by(*AUDIT_ORDER)).scalars()]
    assert steps[0] == "identity" and steps[-1] == "contacts"
    assert set(steps) == {"identity", "terms", "contacts"}


def test_a_boosted_step_is_redirected_like_a_plain_form_and_told_its_address(client,
                                                                              demo_users):
    start(client)
    post(client, "/activation/identite", JEANNE)
    token = csrf_from(client.get("/activation/conditions").get_data(as_text=True))
    boosted = {"HX-Request": "true", "HX-Boosted": "true"}
    response = client.post("/activation/conditions", data={"csrf_token": token,
                                                            "accept": "oui"}, headers=boosted)
    assert response.status_code == 303 and "HX-Location" not in response.headers
    assert response.headers["Location"] == "/activation/coordonnees"
    response = client.get("/activation/coordonnees", headers=boosted)
    assert response.headers["HX-Push-Url"] == "/activation/coordonnees"
    assert "HX-Push-Url" not in client.get("/activation/coordonnees").headers
