"""The first sign-in with a set-up password (issue 18): a professional's first one, or after
the operator reset a lost second factor. It opens nothing but a page to choose one's own
password and add an authenticator app; it works once, and never after 72 hours."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from freezegun import freeze_time
from sqlalchemy import select

from domain import accounts
from domain.models import AuditEvent, SecondFactor, User
from domain.models.base import utcnow
from extensions import db
from tests.conftest import csrf_from
from tests.html_checks import check_page
from tests.qr_checks import check_qr

ARGS = ["professionals", "add", "--login", "dr.garnier", "--given-name", "Inès",
        "--family-name", "Garnier", "--rpps", "1000 3456 786", "--profession", "doctor"]
NEW_PASSWORD = "Le rosier grimpe au mur du jardin"
REFUSED = "Identifiant ou mot de passe incorrect"


def _create(app) -> str:
    result = app.test_cli_runner().invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    return re.search(r"set-up password: (\S+)", result.output).group(1)


def _password_step(client, password: str, login: str = "dr.garnier"):
    page = client.get("/connexion").get_data(as_text=True)
    return client.post("/connexion", data={"csrf_token": csrf_from(page), "login": login,
                                           "password": password})


def _setup_page(client) -> tuple[str, str]:
    response = client.get("/connexion/premiere-fois")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert check_page(html) == [], check_page(html)
    secret = re.search(r'class="code-display">([A-Z2-7]{32})<', html).group(1)
    return csrf_from(html), secret


def _submit(client, token: str, *, password=NEW_PASSWORD, confirm=None, code="000000"):
    return client.post("/connexion/premiere-fois", data={
        "csrf_token": token, "password": password,
        "password_confirm": password if confirm is None else confirm, "code": code})


def test_the_first_sign_in_chooses_a_password_and_an_app_then_opens_the_space(app,
                                                                              demo_users):
    set_up = _create(app)
    client = app.test_client()
    response = _password_step(client, set_up)
    assert response.headers["Location"] == "/connexion/premiere-fois"
    # Nothing opens meanwhile: the code step sends back, the space asks to sign in.
    assert client.get("/connexion/code").headers["Location"] == "/connexion/premiere-fois"
    assert client.get("/pro").status_code in (302, 303)
    token, secret = _setup_page(client)
    totp = pyotp.TOTP(secret)
    # A common password, a confirmation that differs, a wrong code: each said, nothing kept.
    weak = _submit(client, token, password="motdepasse123", code=totp.now())
    assert weak.status_code == 422 and "courant" in weak.get_data(as_text=True)
    mismatch = _submit(client, token, confirm=NEW_PASSWORD + "!", code=totp.now())
    assert mismatch.status_code == 422
    wrong = _submit(client, token, code="000000" if totp.now() != "000000" else "111111")
    assert wrong.status_code == 422 and "Ce code ne fonctionne pas" in wrong.get_data(
        as_text=True)
    # The secret stays the same across the retries (the app already holds it).
    assert _setup_page(client)[1] == secret
    done = _submit(client, token, code=totp.now())
    assert done.status_code == 303 and done.headers["Location"] == "/pro"
    assert client.get("/pro").status_code == 200
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == "dr.garnier")).one()
        assert user.setup_expires_at is None and user.second_factor == SecondFactor.TOTP
        actions = set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_id == user.id)))
        assert {"account.setup_completed", "auth.login"} <= actions
    # The set-up password is spent; the new one, with a code from the app, signs in.
    other = app.test_client()
    assert REFUSED in _password_step(other, set_up).get_data(as_text=True)
    assert _password_step(other, NEW_PASSWORD).headers["Location"].startswith(
        "/connexion/code")


def test_the_set_up_pages_qr_code_is_only_for_the_person_setting_up(app, demo_users):
    image = "/connexion/premiere-fois/qr-code.svg"
    client = app.test_client()
    assert client.get(image).status_code == 404  # nobody is setting up on this device
    _password_step(client, _create(app))
    assert client.get(image).status_code == 404  # the page has not made a key yet
    html = client.get("/connexion/premiere-fois").get_data(as_text=True)
    secret = re.search(r'class="code-display">([A-Z2-7]{32})<', html).group(1)
    assert check_qr(client, html, secret, "dr.garnier") == image
    assert app.test_client().get(image).status_code == 404


def test_a_set_up_password_expires_after_72_hours_with_the_same_answer_as_a_wrong_one(
        app, demo_users):
    set_up = _create(app)
    with freeze_time(utcnow() + timedelta(hours=accounts.SETUP_HOURS, minutes=1)):
        expired = _password_step(app.test_client(), set_up)
        wrong = _password_step(app.test_client(), "Pas-Le-Bon-Mot-De-Passe-1")
    assert expired.status_code == wrong.status_code == 422
    assert REFUSED in expired.get_data(as_text=True)
    with app.app_context():
        reasons = [event.details for event in db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "auth.login_failed"))]
        assert any("setup_expired" in details for details in reasons)


def test_the_set_up_ends_if_the_deadline_passes_while_the_page_is_open(app, demo_users):
    set_up = _create(app)
    client = app.test_client()
    start = utcnow()
    with freeze_time(start + timedelta(hours=accounts.SETUP_HOURS, minutes=-5)) as clock:
        _password_step(client, set_up)
        token, secret = _setup_page(client)
        clock.tick(timedelta(minutes=6))  # within the pending sign-in's 10 minutes
        response = _submit(client, token, code=pyotp.TOTP(secret).now())
    assert response.status_code == 303 and response.headers["Location"].startswith(
        "/connexion")
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == "dr.garnier")).one()
        assert user.second_factor is None and user.setup_expires_at is not None


def test_the_set_up_page_without_a_pending_set_up_sends_to_sign_in(client, app, demo_users):
    assert client.get("/connexion/premiere-fois").headers["Location"].startswith("/connexion")
    # A normal sign-in's pending step does not open it either.
    page = client.get("/connexion").get_data(as_text=True)
    client.post("/connexion", data={"csrf_token": csrf_from(page), "login": "dr.bernard",
                                    "password": "Stethoscope-Azur-2026"})
    response = client.get("/connexion/premiere-fois")
    assert response.status_code == 303 and "premiere-fois" not in response.headers["Location"]
