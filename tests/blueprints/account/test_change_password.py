"""Changing one's password (issue 18): the current password and a second-factor code, then
the new one. Whoever knew the old password is signed out everywhere else, an e-mail tells
the person, and wrong passwords and codes meet the sign-in's waits and audit."""

from __future__ import annotations

import json

import pyotp
from sqlalchemy import select

from domain.models import AuditEvent, User
from domain.notify import Mailer
from extensions import db
from tests.conftest import DEMO, csrf_from, last_sms_code, next_totp, sign_in

PAGE = "/mon-compte/mot-de-passe"
NEW = "Une tasse de thé vert au jardin"
CAMILLE = DEMO["camille.martin"]


def _post(client, **fields):
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    data = {"current_password": CAMILLE.password, "password": NEW, "password_confirm": NEW,
            "code": "", **fields}
    return client.post(PAGE, data={"csrf_token": token, **data})


def _emails(app, address: str) -> list:
    return [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
            if message["To"] == address]


def _audit(app, action: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [json.loads(row.details) for row in rows]


def _forget_used_steps(app) -> None:
    """Let a TOTP step already used to sign in be used again (codes are single-use per
    step, and a 90-second window holds three)."""
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        user.last_totp_step = 0
        db.session.commit()


def _last_step(app, login: str) -> int:
    with app.app_context():
        return db.session.scalars(select(User.last_totp_step).where(User.login == login)).one()


def test_a_new_password_ends_the_other_sessions_and_tells_the_person(app, signed_in):
    here, elsewhere = signed_in("camille.martin"), signed_in("camille.martin")
    _forget_used_steps(app)  # two sign-ins used two steps; a third may not be free yet
    before = len(_emails(app, CAMILLE.email))
    response = _post(here, code=next_totp(app, "camille.martin"))
    assert response.status_code == 303 and response.headers["Location"] == (
        "/mon-compte/sessions")
    page = here.get("/mon-compte/sessions").get_data(as_text=True)
    assert "Votre mot de passe est changé" in page
    # This session stays; the other one is gone.
    assert here.get("/mon-espace").status_code == 200
    assert elsewhere.get("/mon-espace").status_code in (302, 303)
    emails = _emails(app, CAMILLE.email)
    assert len(emails) == before + 1
    body = emails[-1].get_body(("plain",)).get_content()
    assert "vient d’être changé" in body and NEW not in body
    assert _audit(app, "account.password_changed")[-1] == {"sessions_ended": 1}
    # The old password is refused; the new one signs in.
    fresh = app.test_client()
    token = csrf_from(fresh.get("/connexion").get_data(as_text=True))
    old = fresh.post("/connexion", data={"csrf_token": token, "login": "camille.martin",
                                         "password": CAMILLE.password})
    assert old.status_code == 422
    new = fresh.post("/connexion", data={"csrf_token": token, "login": "camille.martin",
                                         "password": NEW})
    assert new.status_code == 303 and new.headers["Location"].startswith("/connexion/code")


def test_a_wrong_current_password_is_refused_counted_and_audited(app, signed_in):
    client = signed_in("camille.martin")
    response = _post(client, current_password="Pas-le-bon-2026", code="123456")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Mot de passe incorrect" in html
    # Nothing typed in a password field comes back in the page.
    assert "Pas-le-bon-2026" not in html and NEW not in html
    assert _audit(app, "auth.password_check_failed")[-1] == {
        "purpose": "change_password", "reason": "wrong_password"}
    assert not _audit(app, "account.password_changed")


def test_a_wrong_code_is_refused_and_a_weak_password_spends_no_code(app, signed_in):
    client = signed_in("camille.martin")
    step = _last_step(app, "camille.martin")
    totp = pyotp.TOTP(CAMILLE.totp_secret)
    wrong = "000000" if totp.now() != "000000" else "111111"
    response = _post(client, code=wrong)
    assert response.status_code == 422
    assert "Ce code ne fonctionne pas" in response.get_data(as_text=True)
    assert _audit(app, "auth.second_factor_failed")[-1]["reason"] == "wrong_code"
    # A password that breaks a rule is refused before the code is looked at: the code
    # stays usable (the account's last TOTP step does not move).
    weak = _post(client, password="camille.martin2026", password_confirm="camille.martin2026",
                 code=next_totp(app, "camille.martin"))
    assert weak.status_code == 422 and _last_step(app, "camille.martin") == step
    assert not _audit(app, "account.password_changed")


def test_an_sms_account_asks_for_its_code_then_changes(app, signed_in):
    client = signed_in("pharma.petit")
    page = client.get(PAGE).get_data(as_text=True)
    assert "Recevoir un code par SMS" in page
    sent = client.post(f"{PAGE}/code-sms", data={"csrf_token": csrf_from(page)})
    assert sent.status_code == 303
    response = _post(client, current_password=DEMO["pharma.petit"].password,
                     code=last_sms_code(app))
    assert response.status_code == 303
    sign_in(app.test_client(), app, "pharma.petit", NEW)


def test_without_the_form_token_nothing_changes(app, signed_in):
    client = signed_in("camille.martin")
    response = client.post(PAGE, data={"current_password": CAMILLE.password, "password": NEW,
                                       "password_confirm": NEW,
                                       "code": next_totp(app, "camille.martin")})
    assert response.status_code == 400
    assert not _audit(app, "account.password_changed")


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get(PAGE).status_code in (302, 303)
