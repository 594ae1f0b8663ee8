"""`flask accounts …`: an operator disables and enables an account, forgets its sign-in
waits, resets a professional's second factor, lists and ends its sessions. Each change is
audited with its reason, and nothing printed names the person or opens the account."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select

from domain import audit, closing
from domain.models import AuditEvent, User
from domain.models.base import utcnow
from extensions import db, keys
from tests.audit_trail import AUDIT_ORDER
from tests.conftest import DEMO, csrf_from, sign_in

REFUSED = "Identifiant ou mot de passe incorrect"
WRONG_CODES = ("482913", "590274", "613058", "739162", "805437")


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["accounts", *args])


def _password(client, login: str, password: str):
    page = client.get("/connexion").get_data(as_text=True)
    return client.post("/connexion", data={"csrf_token": csrf_from(page), "login": login,
                                           "password": password})


def _code(client, code: str):
    page = client.get("/connexion/code").get_data(as_text=True)
    return client.post("/connexion/code", data={"csrf_token": csrf_from(page), "code": code})


def _wrong_code(login: str) -> str:
    """A code that no step of the current window accepts for this login."""
    totp = pyotp.TOTP(DEMO[login].totp_secret)
    now = datetime.now(UTC)
    valid = {totp.at(now + timedelta(seconds=offset)) for offset in (-30, 0, 30)}
    return next(code for code in WRONG_CODES if code not in valid)


def _audit(app, action: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(*AUDIT_ORDER)).all()
        return [json.loads(row.details or "{}") for row in rows]


def _signed_out(client) -> bool:
    """The client's next page is the sign-in page: its session is gone."""
    response = client.get("/pro")
    return (response.status_code in (302, 303)
            and response.headers["Location"].startswith("/connexion"))


def test_disabling_ends_sessions_at_once_and_answers_like_a_wrong_password(
        app, signed_in):
    client = signed_in("dr.bernard")
    assert client.get("/pro").status_code == 200
    result = _run(app, "disable", "dr.bernard", "--reason", "Ticket 4521")
    assert result.exit_code == 0, result.output
    assert "dr.bernard disabled; 1 session(s) ended." in result.output
    assert _signed_out(client)
    right = _password(app.test_client(), "dr.bernard", DEMO["dr.bernard"].password)
    wrong = _password(app.test_client(), "dr.bernard", "Faux-mot-de-passe-9")
    assert right.status_code == wrong.status_code == 422
    assert REFUSED in right.get_data(as_text=True) and REFUSED in wrong.get_data(as_text=True)
    assert _audit(app, "account.disabled") == [{"reason": "Ticket 4521", "sessions_ended": 1}]
    again = _run(app, "disable", "dr.bernard", "--reason", "Ticket 4522")
    assert again.exit_code != 0 and "this account is already disabled" in again.output
    assert len(_audit(app, "account.disabled")) == 1


def test_enabling_lets_the_account_sign_in_again_and_only_when_disabled(app, demo_users):
    refused = _run(app, "enable", "dr.bernard", "--reason", "Ticket 4521")
    assert refused.exit_code != 0 and "this account is not disabled" in refused.output
    assert _run(app, "disable", "dr.bernard", "--reason", "Ticket 4521").exit_code == 0
    result = _run(app, "enable", "dr.bernard", "--reason", "Ticket 4523")
    assert result.exit_code == 0 and "dr.bernard enabled." in result.output
    client = app.test_client()
    sign_in(client, app, "dr.bernard")
    assert client.get("/pro").status_code == 200
    assert _audit(app, "account.enabled") == [{"reason": "Ticket 4523"}]


def test_a_space_closed_by_its_holder_is_not_reopened_by_enable(app, demo_users):
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        closing.close_space(db.session, keys.ring, camille, delete_now=False, now=utcnow(),
                            actor=audit.Actor(user_id=camille.id))
        db.session.commit()
    result = _run(app, "enable", "camille.martin", "--reason", "Ticket 4524")
    assert result.exit_code != 0 and "provisional code" in result.output
    with app.app_context():
        assert db.session.scalars(select(User.enabled).where(
            User.login == "camille.martin")).one() is False
    assert _audit(app, "account.enabled") == []


def test_unlocking_forgets_the_waits_of_every_address(app, demo_users):
    login, password = "dr.bernard", DEMO["dr.bernard"].password
    # One wrong password from another address, then five wrong codes: the codes wait.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    assert _password(other, login, "Faux-mot-de-passe-9").status_code == 422
    guesser = app.test_client()
    assert _password(guesser, login, password).status_code == 303
    statuses = [_code(guesser, _wrong_code(login)).status_code for _ in range(5)]
    assert statuses == [422] * 4 + [429]
    assert _password(app.test_client(), login, password).status_code == 429
    result = _run(app, "unlock", login)
    assert result.exit_code == 0, result.output
    assert "dr.bernard unlocked (2 failure count(s) forgotten)." in result.output
    client = app.test_client()
    sign_in(client, app, login)
    assert client.get("/pro").status_code == 200
    assert _audit(app, "account.unlocked") == [{"forgotten": 2}]


def test_resetting_a_second_factor_needs_the_identity_check_and_a_professional(
        app, demo_users):
    with app.app_context():
        before = db.session.scalars(select(User.password_hash).where(
            User.login == "dr.bernard")).one()
    unchecked = _run(app, "reset-second-factor", "dr.bernard")
    assert unchecked.exit_code != 0 and "--identity-checked" in unchecked.output
    assert "set-up password" not in unchecked.output
    patient = _run(app, "reset-second-factor", "camille.martin", "--identity-checked")
    assert patient.exit_code != 0 and "insurer's records" in patient.output
    with app.app_context():
        assert db.session.scalars(select(User.password_hash).where(
            User.login == "dr.bernard")).one() == before
    assert _audit(app, "account.setup_issued") == []


def test_a_reset_second_factor_issues_a_set_up_password_and_ends_sessions(app, signed_in):
    client = signed_in("dr.bernard")
    result = _run(app, "reset-second-factor", "dr.bernard", "--identity-checked")
    assert result.exit_code == 0, result.output
    setup = re.search(r"set-up password: (\S+)", result.output).group(1)
    assert _signed_out(client)
    old = _password(app.test_client(), "dr.bernard", DEMO["dr.bernard"].password)
    assert old.status_code == 422 and REFUSED in old.get_data(as_text=True)
    response = _password(app.test_client(), "dr.bernard", setup)
    assert response.status_code == 303
    assert response.headers["Location"] == "/connexion/premiere-fois"
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "account.setup_issued")).one()
        assert setup not in (event.details or "")
        assert json.loads(event.details)["sessions_ended"] == 1


def test_sessions_are_listed_without_names_or_e_mail(app, signed_in):
    empty = _run(app, "sessions", "dr.bernard")
    assert empty.exit_code == 0 and "dr.bernard has no open session." in empty.output
    signed_in("dr.bernard")
    signed_in("dr.bernard")
    result = _run(app, "sessions", "dr.bernard")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "opened" in line]
    assert len(lines) == 2 and "has no open session" not in result.output
    for private in ("Julien", "Bernard", DEMO["dr.bernard"].email):
        assert private not in result.output


def test_ending_sessions_signs_every_device_out(app, signed_in):
    first, second = signed_in("dr.bernard"), signed_in("dr.bernard")
    result = _run(app, "end-sessions", "dr.bernard")
    assert result.exit_code == 0 and "dr.bernard: 2 session(s) ended." in result.output
    assert _signed_out(first) and _signed_out(second)
    assert _audit(app, "account.sessions_ended") == [{"sessions_ended": 2}]
    assert "has no open session" in _run(app, "sessions", "dr.bernard").output


def test_every_command_refuses_an_unknown_login(app, demo_users):
    for args in (("disable", "nobody.here", "--reason", "x"),
                 ("enable", "nobody.here", "--reason", "x"), ("unlock", "nobody.here"),
                 ("reset-second-factor", "nobody.here", "--identity-checked"),
                 ("sessions", "nobody.here"), ("end-sessions", "nobody.here")):
        result = _run(app, *args)
        assert result.exit_code != 0 and "no account has this login" in result.output, args


def test_an_account_disabled_during_its_sign_in_is_refused_like_a_wrong_password(app,
                                                                                  demo_users):
    """Disabled between the password and the code: no session, and no word of a closed
    space (which only the holder of a closed space may learn)."""
    client = app.test_client()
    assert _password(client, "dr.bernard", DEMO["dr.bernard"].password).status_code == 303
    assert _run(app, "disable", "dr.bernard", "--reason", "T-4").exit_code == 0
    response = _code(client, pyotp.TOTP(DEMO["dr.bernard"].totp_secret).now())
    assert response.status_code == 303 and response.headers["Location"].startswith(
        "/connexion?")
    assert "fermé" not in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _signed_out(client)
    assert _audit(app, "auth.login_failed")[-1]["reason"] == "disabled"
