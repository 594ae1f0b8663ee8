"""A lost phone (issue 18): ten single-use recovery codes, shown once at activation and
renewable from the account, each signing in once instead of the second factor; then a new
phone's authenticator app replaces the old one."""

from __future__ import annotations

import json
import re

import pyotp
from sqlalchemy import select

from domain import audit, recovery
from domain.models import AuditEvent, RecoveryCode, User, WebSession
from domain.notify import Mailer
from extensions import db, keys
from tests.blueprints.activation.test_activate_flow import post, walk_to_summary
from tests.conftest import DEMO, csrf_from, next_totp
from tests.html_checks import check_page
from tests.qr_checks import check_qr

CAMILLE = DEMO["camille.martin"]
CODE_RE = re.compile(r'class="code-display">([A-Z2-9]{5}-[A-Z2-9]{5})<')


def _issue(app, login: str = "camille.martin") -> list[str]:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == login)).one()
        codes = recovery.issue(db.session, keys.ring, user, actor=audit.Actor())
        db.session.commit()
        return codes


def _password_step(client, login="camille.martin", password=None):
    page = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={"csrf_token": csrf_from(page), "login": login,
                                               "password": password or DEMO[login].password})
    assert response.status_code == 303
    return response


def _recovery(client, code: str):
    page = client.get("/connexion/code-de-secours")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return client.post("/connexion/code-de-secours",
                       data={"csrf_token": csrf_from(html), "code": code})


def _emails(app, address: str) -> list:
    return [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
            if message["To"] == address]


def test_activation_shows_ten_codes_once_and_keeps_only_their_hashes(client, app,
                                                                     demo_users):
    walk_to_summary(client, app)
    assert post(client, "/activation/recapitulatif", {}).status_code == 303
    with app.app_context():  # between the redirect and the page: sealed in the session
        data = " ".join(db.session.scalars(select(WebSession.data)))
    page = client.get("/activation/termine").get_data(as_text=True)
    assert check_page(page) == []
    codes = CODE_RE.findall(page)
    assert len(codes) == recovery.COUNT == len(set(codes))
    assert not any(code in data or code.replace("-", "") in data for code in codes)
    with app.app_context():
        stored = " ".join(db.session.scalars(select(RecoveryCode.code_hash)))
    assert not any(code.replace("-", "") in stored for code in codes)
    # Shown once: the page is gone after the first look.
    assert client.get("/activation/termine").status_code == 303


def test_a_recovery_code_signs_in_once_and_the_person_is_told(app, demo_users):
    codes = _issue(app)
    client = app.test_client()
    _password_step(client)
    second = client.get("/connexion/code").get_data(as_text=True)
    assert 'href="/connexion/code-de-secours"' in second
    before = len(_emails(app, CAMILLE.email))
    # Typed as people do: lower case, a space instead of the hyphen.
    response = _recovery(client, codes[3].lower().replace("-", " "))
    assert response.status_code == 303
    assert response.headers["Location"] == "/mon-compte/second-facteur"
    assert client.get("/mon-espace").status_code == 200
    emails = _emails(app, CAMILLE.email)
    assert len(emails) == before + 1
    body = emails[-1].get_body(("plain",)).get_content()
    assert "Il vous reste 9 codes de secours" in body and codes[3] not in body
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "auth.recovery_code_used")).one()
        assert json.loads(event.details) == {"remaining": 9}
    # Spent: the same code is refused next time.
    again = app.test_client()
    _password_step(again)
    refused = _recovery(again, codes[3])
    assert refused.status_code == 422
    assert "ne fonctionne pas, ou a déjà servi" in refused.get_data(as_text=True)


def test_wrong_recovery_codes_meet_the_second_factors_waits(app, demo_users):
    _issue(app)
    client = app.test_client()
    _password_step(client)
    statuses = [_recovery(client, f"AAAAA-BBBB{digit}").status_code for digit in "23456"]
    assert statuses[:4] == [422] * 4 and statuses[4] == 429
    # The next sign-in, with the right password, waits too.
    fresh = app.test_client()
    page = fresh.get("/connexion").get_data(as_text=True)
    waiting = fresh.post("/connexion", data={"csrf_token": csrf_from(page),
                                             "login": "camille.martin",
                                             "password": CAMILLE.password})
    assert waiting.status_code == 429


def test_the_recovery_page_needs_a_right_password_first(client, app, demo_users):
    assert client.get("/connexion/code-de-secours").headers["Location"].startswith(
        "/connexion")


def _forget_used_steps(app) -> None:
    """Sign-ins used TOTP steps; let the next code be any of the window's (codes are
    single-use per step, and a 90-second window holds three)."""
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        user.last_totp_step = 0
        db.session.commit()


def _new_secret(page: str) -> str:
    return re.search(r'class="code-display">([A-Z2-7]{32})<', page).group(1)


def test_new_codes_need_the_password_and_the_phones_code(app, signed_in):
    old = _issue(app)
    client = signed_in("camille.martin")
    page = client.get("/mon-compte/codes-de-secours").get_data(as_text=True)
    assert check_page(page) == [] and "Il vous reste 10 codes de secours" in page
    token = csrf_from(page)
    wrong = client.post("/mon-compte/codes-de-secours", data={
        "csrf_token": token, "password": "Pas-le-bon-2026", "current_code": "123456"})
    assert wrong.status_code == 422 and "Mot de passe incorrect" in wrong.get_data(
        as_text=True)
    no_code = client.post("/mon-compte/codes-de-secours",
                          data={"csrf_token": token, "password": CAMILLE.password})
    assert no_code.status_code == 422 and not CODE_RE.findall(no_code.get_data(as_text=True))
    before = len(_emails(app, CAMILLE.email))
    _forget_used_steps(app)
    made = client.post("/mon-compte/codes-de-secours", data={
        "csrf_token": token, "password": CAMILLE.password,
        "current_code": next_totp(app, "camille.martin")})
    new = CODE_RE.findall(made.get_data(as_text=True))
    assert made.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    assert made.headers["Cache-Control"] == "no-store"
    assert len(_emails(app, CAMILLE.email)) == before + 1  # told
    other = app.test_client()
    _password_step(other)
    assert _recovery(other, old[0]).status_code == 422
    assert _recovery(other, new[0]).status_code == 303


def test_a_new_phone_needs_the_old_ones_code_and_ends_the_other_sessions(app, signed_in):
    here, elsewhere = signed_in("camille.martin"), signed_in("camille.martin")
    page = here.get("/mon-compte/second-facteur").get_data(as_text=True)
    assert check_page(page) == [] and 'id="current_code"' in page
    secret = _new_secret(page)
    check_qr(here, page, secret, "camille.martin")
    token = csrf_from(page)
    new_code = pyotp.TOTP(secret).now
    wrong_password = here.post("/mon-compte/second-facteur", data={
        "csrf_token": token, "password": "Pas-le-bon-2026", "current_code": "123456",
        "code": new_code()})
    assert wrong_password.status_code == 422
    # Someone who only has the password and this open session gets nowhere.
    no_old_code = here.post("/mon-compte/second-facteur", data={
        "csrf_token": token, "password": CAMILLE.password, "current_code": "000000",
        "code": new_code()})
    assert no_old_code.status_code == 422
    _forget_used_steps(app)
    before = len(_emails(app, CAMILLE.email))
    done = here.post("/mon-compte/second-facteur", data={
        "csrf_token": token, "password": CAMILLE.password,
        "current_code": next_totp(app, "camille.martin"), "code": new_code()})
    assert done.status_code == 303 and done.headers["Location"] == (
        "/mon-compte/codes-de-secours")
    assert here.get("/mon-espace").status_code == 200
    assert elsewhere.get("/mon-espace").status_code in (302, 303)
    assert len(_emails(app, CAMILLE.email)) == before + 1
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        sealed = user.totp_secret_sealed
        assert keys.ring.open_server(sealed, f"users.totp_secret.{user.id}").decode() == secret
        assert db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "account.second_factor_changed")).one()


def test_the_new_phones_qr_code_is_only_the_key_this_session_was_shown(app, signed_in):
    image = "/mon-compte/second-facteur/qr-code.svg"
    anonymous = app.test_client().get(image)
    assert anonymous.status_code in (302, 303) and "/connexion" in anonymous.headers["Location"]
    client = signed_in("camille.martin")
    assert client.get(image).status_code == 404  # no key made yet: none to draw
    page = client.get("/mon-compte/second-facteur").get_data(as_text=True)
    assert check_qr(client, page, _new_secret(page), "camille.martin") == image
    # Another session of the same person has its own key, not this one's.
    other = signed_in("camille.martin")
    assert other.get(image).status_code == 404


def test_after_a_recovery_code_the_lost_phones_code_is_not_asked(app, demo_users):
    codes = _issue(app)
    client = app.test_client()
    _password_step(client)
    assert _recovery(client, codes[0]).status_code == 303
    page = client.get("/mon-compte/second-facteur").get_data(as_text=True)
    assert 'id="current_code"' not in page and check_page(page) == []
    secret = _new_secret(page)
    wrong = client.post("/mon-compte/second-facteur", data={
        "csrf_token": csrf_from(page), "password": CAMILLE.password, "code": "000000"
        if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert wrong.status_code == 422 and "où vous venez d’ajouter la clé" in wrong.get_data(
        as_text=True)
    done = client.post("/mon-compte/second-facteur", data={
        "csrf_token": csrf_from(page), "password": CAMILLE.password,
        "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 303
    # Once the new phone is there, the next change asks for its code again.
    again = client.get("/mon-compte/second-facteur").get_data(as_text=True)
    assert 'id="current_code"' in again
