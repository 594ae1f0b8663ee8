"""Waits after failed attempts, as a person and an attacker meet them (issue 13, items 3,
6 and 7): wrong codes per account, wrong passwords per (account, address), and the
closing form under the same limits and audit as the sign-in page. Time is frozen, never
slept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyotp
from freezegun import freeze_time
from sqlalchemy import select

from domain.models import AuditEvent, InsuredPerson, SpaceStatus
from domain.notify import Mailer
from extensions import db
from tests.audit_trail import AUDIT_ORDER
from tests.conftest import DEMO, csrf_from, next_totp, sign_in
from tests.html_checks import check_page

ADDRESS_A = "198.51.100.1"
ADDRESS_B = "203.0.113.7"
CAMILLE = DEMO["camille.martin"]
WRONG_CODES = ("482913", "590274", "613058", "739162", "805437")


def _client(app, address: str = "127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _password(client, password: str, login: str = "camille.martin"):
    page = client.get("/connexion").get_data(as_text=True)
    return client.post("/connexion", data={"csrf_token": csrf_from(page), "login": login,
                                           "password": password})


def _code(client, code: str):
    page = client.get("/connexion/code").get_data(as_text=True)
    return client.post("/connexion/code", data={"csrf_token": csrf_from(page), "code": code})


def _wrong_code(app) -> str:
    """A code from WRONG_CODES that no step of the current window accepts."""
    totp = pyotp.TOTP(CAMILLE.totp_secret)
    now = datetime.now(UTC)
    valid = {totp.at(now + timedelta(seconds=offset)) for offset in (-30, 0, 30)}
    return next(code for code in WRONG_CODES if code not in valid)


def _emails_to(app, address: str):
    return [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
            if message["To"] == address]


def _audit(app, action: str) -> list[dict]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(*AUDIT_ORDER)).scalars().all()
        return [{"ip": row.ip, **json.loads(row.details)} for row in rows]


def _five_wrong_codes(app, client):
    for _ in range(4):
        assert _code(client, _wrong_code(app)).status_code == 422
    return _code(client, _wrong_code(app))


def test_five_wrong_codes_drop_the_sign_in_and_the_next_sign_in_waits(app, demo_users):
    start = datetime.now(UTC)
    with freeze_time(start):
        earlier = _client(app, ADDRESS_B)  # a sign-in started before the lockout
        assert _password(earlier, CAMILLE.password).status_code == 303
        guesser = _client(app, ADDRESS_A)
        assert _password(guesser, CAMILLE.password).status_code == 303
        response = _five_wrong_codes(app, guesser)
        assert response.status_code == 429
        # At least the wait (Flask-Limiter raises it to its own window's reset when later).
        assert int(response.headers["Retry-After"]) >= 55
        html = response.get_data(as_text=True)
        assert "Connexion suspendue" in html and "Réessayez dans 1 minute," in html
        assert check_page(html) == []
        assert guesser.get("/connexion/code").status_code == 303  # the sign-in is dropped
        # The sixth attempt waits: the right code in the other session ...
        assert _code(earlier, next_totp(app, "camille.martin")).status_code == 429
        assert earlier.get("/mon-espace").status_code == 302
        # ... and a new sign-in with the right password, in a new session.
        again = _client(app, ADDRESS_A)
        response = _password(again, CAMILLE.password)
        assert response.status_code == 429 and "Connexion suspendue" in response.get_data(
            as_text=True)
        assert again.get("/connexion/code").status_code == 303
    with freeze_time(start + timedelta(minutes=1, seconds=5)):
        person = _client(app, ADDRESS_B)
        sign_in(person, app, "camille.martin")
        assert person.get("/mon-espace").status_code == 200


def test_the_lockout_email_arrives_once_and_never_holds_a_code(app, demo_users):
    guesser = _client(app, ADDRESS_A)
    _password(guesser, CAMILLE.password)
    assert _five_wrong_codes(app, guesser).status_code == 429
    for _ in range(3):  # more tries during the wait: no new e-mail
        assert _password(_client(app, ADDRESS_A), CAMILLE.password).status_code == 429
    emails = _emails_to(app, CAMILLE.email)
    assert len(emails) == 1
    body = emails[0].get_body(("plain",)).get_content()
    assert "quelqu’un connaît votre mot de passe. Appelez le 3646" in body
    assert "/arnaques" in body
    totp = pyotp.TOTP(CAMILLE.totp_secret)
    now = datetime.now(UTC)
    for secret in (*WRONG_CODES, CAMILLE.password,
                   *(totp.at(now + timedelta(seconds=s)) for s in (-60, -30, 0, 30))):
        assert secret not in body and secret not in emails[0]["Subject"]
    assert ADDRESS_A not in body
    # Each wrong code and the lockout are in the audit trail, never a code.
    wrong = [row for row in _audit(app, "auth.second_factor_failed")
             if row["reason"] == "wrong_code"]
    assert len(wrong) == 5 and {row["ip"] for row in wrong} == {ADDRESS_A}
    assert _audit(app, "auth.second_factor_locked") == [
        {"ip": ADDRESS_A, "failures": 5, "minutes": 1}]


def test_wrong_passwords_from_one_address_never_delay_another(app, demo_users):
    attacker = _client(app, ADDRESS_A)
    statuses = [_password(attacker, "Faux-mot-de-passe-9").status_code for _ in range(12)]
    assert statuses[:10] == [422] * 10 and statuses[10:] == [429, 429]
    assert _password(attacker, CAMILLE.password).status_code in (422, 429)
    person = _client(app, ADDRESS_B)
    sign_in(person, app, "camille.martin")
    assert person.get("/mon-espace").status_code == 200
    rows = _audit(app, "auth.login_failed")
    assert {row["ip"] for row in rows} == {ADDRESS_A}
    assert sum(row["reason"] == "wrong_password_delayed" for row in rows) == 1


def _close(client, password: str):
    page = client.get("/mon-compte/fermer").get_data(as_text=True)
    return client.post("/mon-compte/fermer", data={
        "csrf_token": csrf_from(page), "retention": "archive", "understood": "oui",
        "password": password})


def _camille_status(app) -> SpaceStatus:
    with app.app_context():
        return db.session.execute(select(InsuredPerson.space_status).where(
            InsuredPerson.given_names == "Camille")).scalar_one()


def test_the_closing_form_waits_and_is_audited_like_sign_in(app, demo_users, monkeypatch):
    monkeypatch.setitem(app.config, "ACCOUNT_LOCK_THRESHOLD", 3)
    start = datetime.now(UTC)
    with freeze_time(start):
        client = _client(app, ADDRESS_A)
        sign_in(client, app, "camille.martin")
        for _ in range(3):
            response = _close(client, "Faux-mot-de-passe-9")
            assert response.status_code == 422
            assert "Mot de passe incorrect" in response.get_data(as_text=True)
        response = _close(client, CAMILLE.password)  # the right one, during the wait
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Trop d’essais de mot de passe. Attendez 1 minute, puis réessayez." in html
        assert check_page(html) == []
        assert _camille_status(app) == SpaceStatus.ACTIVE
        assert [(row["ip"], row["purpose"], row["reason"])
                for row in _audit(app, "auth.password_check_failed")] == [
            (ADDRESS_A, "close_space", "wrong_password"),
            (ADDRESS_A, "close_space", "wrong_password"),
            (ADDRESS_A, "close_space", "wrong_password_delayed"),
            (ADDRESS_A, "close_space", "delayed")]
        # The same wait holds at the sign-in page from that address, not from another.
        assert _password(_client(app, ADDRESS_A), CAMILLE.password).status_code == 422
        assert _password(_client(app, ADDRESS_B), CAMILLE.password).status_code == 303
    with freeze_time(start + timedelta(minutes=1, seconds=5)):
        response = _close(client, CAMILLE.password)
        assert response.status_code == 303
        assert _camille_status(app) == SpaceStatus.CLOSED


def test_the_closing_form_shares_the_sign_in_rate_limit(app, demo_users):
    client = _client(app, ADDRESS_A)
    sign_in(client, app, "camille.martin")  # one password check in the shared allowance
    statuses = [_close(client, "Faux-mot-de-passe-9").status_code for _ in range(10)]
    assert statuses == [422] * 9 + [429]
    response = _close(client, CAMILLE.password)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "Trop de tentatives" in response.get_data(as_text=True)
    # The sign-in page draws on the same allowance from this address, not from another.
    assert _password(_client(app, ADDRESS_A), CAMILLE.password).status_code == 429
    assert _password(_client(app, ADDRESS_B), CAMILLE.password).status_code == 303
