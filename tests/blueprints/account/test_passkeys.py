"""Passkeys (issue 18): added from "Mon compte" after the password and a code, never at a
desk; signing in with one replaces the password and the code; a look-alike site's answer, a
removed passkey and a replayed challenge are refused. A software authenticator answers."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from domain.models import AuditEvent, Passkey, User
from extensions import db
from tests.conftest import DEMO, csrf_from, next_totp
from tests.html_checks import check_page
from tests.soft_authenticator import SoftAuthenticator

ORIGIN = "https://carnet.example.org"
PAGE = "/mon-compte/cles-d-acces"


@pytest.fixture
def site(app):
    """The site as passkeys know it: a domain (WebAuthn refuses an IP address)."""
    before = app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = ORIGIN
    yield
    app.config["PUBLIC_URL"] = before


def _forget_used_steps(app) -> None:
    """Sign-ins used TOTP steps; let the next code be any of the window's."""
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        user.last_totp_step = 0
        db.session.commit()


def _ready(client, app, name="Mon téléphone"):
    _forget_used_steps(app)
    page = client.get(PAGE).get_data(as_text=True)
    assert check_page(page) == []
    response = client.post(PAGE, data={"csrf_token": csrf_from(page), "name": name,
                                       "password": DEMO["camille.martin"].password,
                                       "code": next_totp(app, "camille.martin")})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert check_page(body) == []
    options = json.loads(html.unescape(re.search(r'data-options="([^"]+)"', body).group(1)))
    return options, csrf_from(body)


def _register(client, app, authenticator, origin=ORIGIN):
    options, token = _ready(client, app)
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    return client.post(f"{PAGE}/enregistrer", data=authenticator.create(options, origin),
                       headers={"X-CSRFToken": token, "Content-Type": "application/json"})


def _sign_in(client, authenticator, origin=ORIGIN):
    page = client.get("/connexion").get_data(as_text=True)
    assert "data-passkey-sign-in" in page
    token = csrf_from(page)
    headers = {"X-CSRFToken": token, "Content-Type": "application/json"}
    options = client.post("/connexion/cle/options", data="{}", headers=headers).get_json()
    return client.post("/connexion/cle", data=authenticator.get(options["options"], origin),
                       headers=headers)


def test_a_passkey_is_added_then_signs_in_alone(app, signed_in, site):
    client = signed_in("camille.martin")
    authenticator = SoftAuthenticator()
    response = _register(client, app, authenticator)
    assert response.status_code == 200 and response.get_json() == {"redirect": PAGE}
    listed = client.get(PAGE).get_data(as_text=True)
    assert "Mon téléphone" in listed and check_page(listed) == []
    fresh = app.test_client()
    answer = _sign_in(fresh, authenticator)
    assert answer.status_code == 200 and answer.get_json()["redirect"] == "/mon-espace"
    assert fresh.get("/mon-espace").status_code == 200
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"account.passkey_added", "auth.passkey_used", "auth.login"} <= actions


def test_a_look_alike_sites_answer_is_refused(app, signed_in, site):
    client = signed_in("camille.martin")
    authenticator = SoftAuthenticator()
    forged = _register(client, app, authenticator, origin="https://carnet-sante.example.net")
    assert forged.status_code == 400
    with app.app_context():
        assert not db.session.scalars(select(Passkey)).all()
    assert _register(client, app, authenticator).status_code == 200
    # Signing in: the phishing page relays our options, the browser writes its own origin.
    fresh = app.test_client()
    refused = _sign_in(fresh, authenticator, origin="https://carnet-sante.example.net")
    assert refused.status_code == 400 and "error" in refused.get_json()
    assert fresh.get("/mon-espace").status_code in (302, 303)
    # Another site's id in the signed data is refused as well.
    page = fresh.get("/connexion").get_data(as_text=True)
    headers = {"X-CSRFToken": csrf_from(page), "Content-Type": "application/json"}
    options = fresh.post("/connexion/cle/options", data="{}", headers=headers).get_json()
    other = fresh.post("/connexion/cle", headers=headers, data=authenticator.get(
        options["options"], ORIGIN, rp_id="carnet-sante.example.net"))
    assert other.status_code == 400


def test_a_removed_passkey_and_a_replayed_answer_are_refused(app, signed_in, site):
    client = signed_in("camille.martin")
    authenticator = SoftAuthenticator()
    _register(client, app, authenticator)
    fresh = app.test_client()
    page = fresh.get("/connexion").get_data(as_text=True)
    headers = {"X-CSRFToken": csrf_from(page), "Content-Type": "application/json"}
    options = fresh.post("/connexion/cle/options", data="{}", headers=headers).get_json()
    answer = authenticator.get(options["options"], ORIGIN)
    assert fresh.post("/connexion/cle", data=answer, headers=headers).status_code == 200
    # The same answer again (its challenge was used): refused.
    replay = app.test_client()
    page = replay.get("/connexion").get_data(as_text=True)
    replay_headers = {"X-CSRFToken": csrf_from(page), "Content-Type": "application/json"}
    replay.post("/connexion/cle/options", data="{}", headers=replay_headers)
    assert replay.post("/connexion/cle", data=answer,
                       headers=replay_headers).status_code == 400
    with app.app_context():
        passkey_id = db.session.scalars(select(Passkey.id)).one()
    listed = client.get(PAGE).get_data(as_text=True)
    assert client.post(f"{PAGE}/{passkey_id}/supprimer",
                       data={"csrf_token": csrf_from(listed)}).status_code == 303
    assert _sign_in(app.test_client(), authenticator).status_code == 400


def test_another_persons_passkey_cannot_be_removed(app, signed_in, site):
    owner = signed_in("camille.martin")
    _register(owner, app, SoftAuthenticator())
    with app.app_context():
        passkey_id = db.session.scalars(select(Passkey.id)).one()
    doctor = signed_in("dr.bernard")
    page = doctor.get(PAGE).get_data(as_text=True)
    assert doctor.post(f"{PAGE}/{passkey_id}/supprimer",
                       data={"csrf_token": csrf_from(page)}).status_code == 404
    with app.app_context():
        assert db.session.scalars(select(Passkey.id)).one() == passkey_id


def test_adding_needs_the_password_and_a_code(app, signed_in, site):
    client = signed_in("camille.martin")
    page = client.get(PAGE).get_data(as_text=True)
    wrong = client.post(PAGE, data={"csrf_token": csrf_from(page), "name": "Clé",
                                    "password": "Pas-le-bon-2026", "code": "123456"})
    assert wrong.status_code == 422 and "data-options" not in wrong.get_data(as_text=True)


def test_without_the_form_token_nothing_is_kept(app, signed_in, site):
    client = signed_in("camille.martin")
    options, _token = _ready(client, app)
    response = client.post(f"{PAGE}/enregistrer", data=SoftAuthenticator().create(
        options, ORIGIN), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    with app.app_context():
        assert not db.session.scalars(select(Passkey)).all()


def test_on_an_ip_address_no_passkey_is_offered(app, signed_in, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "http://127.0.0.1:5000")
    assert "data-passkey-sign-in" not in app.test_client().get("/connexion").get_data(
        as_text=True)
    page = signed_in("camille.martin").get(PAGE).get_data(as_text=True)
    assert "pas disponibles à cette adresse" in page


def test_a_passkey_sign_in_lands_where_the_sign_in_page_was_asked_to_go(app, signed_in,
                                                                       site):
    authenticator = SoftAuthenticator()
    _register(signed_in("camille.martin"), app, authenticator)
    fresh = app.test_client()
    page = fresh.get("/connexion?suivant=/agenda").get_data(as_text=True)
    assert 'data-suivant="/agenda"' in page
    headers = {"X-CSRFToken": csrf_from(page), "Content-Type": "application/json"}
    options = fresh.post("/connexion/cle/options", headers=headers,
                         data=json.dumps({"suivant": "/agenda"})).get_json()
    answer = fresh.post("/connexion/cle", headers=headers,
                        data=authenticator.get(options["options"], ORIGIN))
    assert answer.get_json() == {"redirect": "/agenda"}
    # Elsewhere is refused: an address outside the site lands at home.
    other = app.test_client()
    page = other.get("/connexion").get_data(as_text=True)
    headers = {"X-CSRFToken": csrf_from(page), "Content-Type": "application/json"}
    options = other.post("/connexion/cle/options", headers=headers,
                         data=json.dumps({"suivant": "https://evil.example/"})).get_json()
    answer = other.post("/connexion/cle", headers=headers,
                        data=authenticator.get(options["options"], ORIGIN))
    assert answer.get_json() == {"redirect": "/mon-espace"}
