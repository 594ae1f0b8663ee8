"""Account pages in a real browser, JavaScript on and off at 320 px: a professional's first
sign-in with a one-time set-up password (their own password and authenticator app),
changing one's password, signing in with a recovery code, a new phone's authenticator app
and new recovery codes (both after the password and the current phone's code, unless the
session was opened with a recovery code). Each page: axe, reflow and 44×44 targets on its
first load;
the forms filled with the keyboard only (Tab, typing, Enter); a refused form's error
summary takes the focus."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import delete, select

from domain import audit, passwords, recovery
from domain.auth import set_totp_secret
from domain.models import RecoveryCode, User
from extensions import db, keys
from tests.browser import support
from tests.browser.flows import (
    Findings,
    banner,
    check_failed_form,
    press_and_load,
    tab_to_id,
)
from tests.browser.support import JS_MODES, tab_until
from tests.conftest import DEMO

pytestmark = pytest.mark.browser

WIDTH = 320
JS_PARAMS = pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)

PRO = "dr.garnier"
ADD_PRO = ["professionals", "add", "--login", PRO, "--given-name", "Inès", "--family-name",
           "Garnier", "--rpps", "1000 3456 786", "--profession", "doctor"]
WEAK = "motdepasse123"
PRO_PASSWORD = "Le rosier grimpe au mur du jardin"

PATIENT = "camille.martin"
NEW_PASSWORD = "Une tasse de thé vert au jardin"
CHANGED = "Votre mot de passe est changé. Vos autres sessions sont terminées."
PASSWORD_FIELDS = ("current_password", "password", "password_confirm")
RECOVERY_LINK = "Vous n’avez plus votre téléphone ? Utiliser un code de secours"
NEW_PHONE = "Votre nouveau téléphone est enregistré"
NEW_CODES = "Vos nouveaux codes de secours sont créés"
# The QR code is an image of its own (web/totp.py), loaded under the page's CSP.
QR_SHOWN = ("(() => { const i = document.querySelector('main img.qr');"
            " return !!i && i.complete && i.naturalWidth > 0; })()")


def type_into(page, field_id: str, text: str) -> None:
    """Tab to the field, then type over what it holds: no click, no fill()."""
    tab_to_id(page, field_id)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)


def account(login: str) -> User:
    return db.session.scalars(select(User).where(User.login == login)).one()


def check_state(findings: Findings, page, js: bool, where: str) -> None:
    """One state of a page, on its single load: axe, one h1, reflow, targets, title."""
    findings.page(page, js, WIDTH, where)
    findings.title(page, where)


def password_values(page, fields) -> dict[str, str]:
    return {field: page.locator(f"#{field}").input_value() for field in fields}


def fields_present(page) -> dict[str, bool]:
    """Which of the fields that prove it is the person the main form has."""
    return {field: page.locator(f"main form #{field}").count() == 1
            for field in ("password", "current_code", "code")}


# --------------------------------------------------------------- first sign-in

def set_up_password(app) -> str:
    """A one-time set-up password for PRO, printed by the operator's CLI: the account is
    created the first time, and given a new set-up password (reset-second-factor) when an
    earlier test already set it up (the browser tests share one database)."""
    with app.app_context():
        exists = db.session.scalar(select(User.id).where(User.login == PRO)) is not None
    args = ["accounts", "reset-second-factor", PRO, "--identity-checked"] if exists \
        else ADD_PRO
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return re.search(r"set-up password: (\S+)", result.output).group(1)


@JS_PARAMS
def test_first_sign_in_with_a_set_up_password_by_keyboard(open_page, app, js):
    findings = Findings()
    setup = set_up_password(app)
    page = open_page(None, js=js, width=WIDTH)
    page.goto("/connexion")
    type_into(page, "login", PRO)
    type_into(page, "password", setup)
    assert press_and_load(page) == 200
    assert page.url.endswith("/connexion/premiere-fois"), page.url
    where = f"/connexion/premiere-fois ({JS_MODES[js]})"
    findings.page(page, js, WIDTH, where)
    findings.title(page, where)
    findings.check(page.evaluate(QR_SHOWN), f"{where}: the QR code did not load")
    secret = re.sub(r"\s", "", page.locator("main .code-display").inner_text())

    # A common password: refused before anything is checked, the summary first.
    type_into(page, "password", WEAK)
    type_into(page, "password_confirm", WEAK)
    status = press_and_load(page)
    check_failed_form(findings, page, js, status, ["password", "code"],
                      f"{where}, weak password")
    findings.axe(page, js, f"{where}, weak password", WIDTH)
    findings.check(not any(password_values(page, ("password", "password_confirm")).values()),
                   f"{where}: a password field kept what was typed")
    findings.check(re.sub(r"\s", "", page.locator("main .code-display").inner_text())
                   == secret, f"{where}: the key changed after a refused form")

    type_into(page, "password", PRO_PASSWORD)
    type_into(page, "password_confirm", PRO_PASSWORD)
    type_into(page, "code", pyotp.TOTP(secret).now())
    assert press_and_load(page) == 200
    assert page.url.endswith("/pro"), f"{page.url}: {page.locator('main').inner_text()[:300]}"
    findings.done()


# --------------------------------------------------------------- changing one's password

@pytest.fixture
def demo_password(app):
    """The demo patient's password is put back afterwards: every browser test signs her
    in with it (one database for the whole run)."""
    yield
    with app.app_context():
        user = account(PATIENT)
        user.password_hash = passwords.hash_password(DEMO[PATIENT].password,
                                                     app.config["PASSWORD_HASH_PROFILE"])
        db.session.commit()


@JS_PARAMS
def test_change_password_by_keyboard(open_page, app, demo_password, js):
    """The shared signed-in session of the patient: the change keeps it (only the other
    sessions end), so the next tests stay signed in."""
    findings = Findings()
    page = open_page(PATIENT, js=js, width=WIDTH)
    assert page.goto("/mon-compte/mot-de-passe").status == 200
    where = f"/mon-compte/mot-de-passe ({JS_MODES[js]})"
    findings.page(page, js, WIDTH, where)
    findings.title(page, where)

    # A wrong current password: no code is spent on it (checked before the code).
    type_into(page, "current_password", "Pas-le-bon-mot-de-passe")
    type_into(page, "password", NEW_PASSWORD)
    type_into(page, "password_confirm", NEW_PASSWORD)
    type_into(page, "code", "000000")
    status = press_and_load(page)
    check_failed_form(findings, page, js, status, ["current_password"],
                      f"{where}, wrong current password")
    findings.axe(page, js, f"{where}, wrong current password", WIDTH)
    kept = password_values(page, PASSWORD_FIELDS)
    findings.check(not any(kept.values()),
                   f"{where}: password fields kept what was typed: "
                   f"{[field for field, value in kept.items() if value]}")

    type_into(page, "current_password", DEMO[PATIENT].password)
    type_into(page, "password", NEW_PASSWORD)
    type_into(page, "password_confirm", NEW_PASSWORD)
    type_into(page, "code", support.totp_code(app, PATIENT))
    assert press_and_load(page) == 200
    assert page.url.endswith("/mon-compte/sessions"), \
        f"{page.url}: {page.locator('main').inner_text()[:300]}"
    findings.check(CHANGED in banner(page), f"after the change, banner {banner(page)!r}")
    with app.app_context():
        hashed = db.session.scalars(select(User.password_hash)
                                    .where(User.login == PATIENT)).one()
    findings.check(passwords.verify_password(hashed, NEW_PASSWORD,
                                             app.config["PASSWORD_HASH_PROFILE"]),
                   "the new password was not stored")
    findings.done()


# --------------------------------------------------------------- lost phone, new phone

@pytest.fixture
def demo_second_factor(app):
    """The demo patient's authenticator key and recovery codes are put back afterwards (one
    database for the whole run). Her last used TOTP step stays as it is: never lowered,
    codes are single-use per step."""
    with app.app_context():
        user = account(PATIENT)
        method = user.second_factor
        saved = [(row.code_hash, row.created_at, row.used_at) for row in db.session.scalars(
            select(RecoveryCode).where(RecoveryCode.user_id == user.id))]
    yield
    with app.app_context():
        user = account(PATIENT)
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        db.session.add_all(RecoveryCode(user_id=user.id, code_hash=code_hash, created_at=made,
                                        used_at=used) for code_hash, made, used in saved)
        set_totp_secret(keys.ring, user, DEMO[PATIENT].totp_secret)
        user.second_factor = method
        db.session.commit()


def words(text: str) -> str:
    return " ".join(text.split())  # no-break spaces before "?" or ":" are spaces here


@JS_PARAMS
def test_sign_in_with_a_recovery_code_by_keyboard(open_page, app, demo_second_factor, js):
    """A signed-out context of its own: the recovery code opens a new session, never the
    one the other tests share."""
    findings = Findings()
    with app.app_context():
        codes = recovery.issue(db.session, keys.ring, account(PATIENT), actor=audit.Actor())
        db.session.commit()
    page = open_page(None, js=js, width=WIDTH)
    page.goto("/connexion")
    type_into(page, "login", PATIENT)
    type_into(page, "password", DEMO[PATIENT].password)
    assert press_and_load(page) == 200
    assert page.url.endswith("/connexion/code"), page.url
    tab_until(page, lambda info: info["tag"] == "a" and words(info["text"]) == RECOVERY_LINK)
    assert press_and_load(page) == 200
    assert page.url.endswith("/connexion/code-de-secours"), page.url
    where = f"/connexion/code-de-secours ({JS_MODES[js]})"
    check_state(findings, page, js, where)

    type_into(page, "code", "AAAAA-BBBBB")
    status = press_and_load(page)
    check_failed_form(findings, page, js, status, ["code"], f"{where}, wrong code")
    check_state(findings, page, js, f"{where}, wrong code")

    type_into(page, "code", codes[0])
    assert press_and_load(page) == 200
    assert page.url.endswith("/mon-compte/second-facteur"), \
        f"{page.url}: {page.locator('main').inner_text()[:300]}"
    findings.check("code de secours" in banner(page), f"after the code, banner {banner(page)!r}")
    where = f"/mon-compte/second-facteur ({JS_MODES[js]}), signed in with a recovery code"
    check_state(findings, page, js, where)
    # The phone is gone: the password and the new app's code, no current phone's code.
    findings.check(fields_present(page) == {"password": True, "current_code": False,
                                            "code": True},
                   f"{where}: fields {fields_present(page)}")
    findings.done()


@JS_PARAMS
def test_new_phone_then_new_recovery_codes_by_keyboard(open_page, app, demo_second_factor,
                                                        js):
    """The shared signed-in session of the patient, opened with her password and her
    phone's code: both pages ask for the current phone's code too. A new phone ends her
    other sessions only, so the next tests stay signed in."""
    findings = Findings()
    page = open_page(PATIENT, js=js, width=WIDTH)
    assert page.goto("/mon-compte/second-facteur").status == 200
    where = f"/mon-compte/second-facteur ({JS_MODES[js]})"
    check_state(findings, page, js, where)
    assert all(fields_present(page).values()), f"{where}: fields {fields_present(page)}"
    findings.check(page.evaluate(QR_SHOWN), f"{where}: the QR code did not load")
    secret = re.sub(r"\s", "", page.locator("main .code-display").inner_text())

    # A wrong password: neither code is even looked at.
    type_into(page, "password", "Pas-le-bon-mot-de-passe")
    type_into(page, "current_code", "000000")
    type_into(page, "code", "000000")
    status = press_and_load(page)
    check_failed_form(findings, page, js, status, ["password"], f"{where}, wrong password")
    check_state(findings, page, js, f"{where}, wrong password")
    findings.check(re.sub(r"\s", "", page.locator("main .code-display").inner_text())
                   == secret, f"{where}: the key changed after a refused form")

    current_code = support.totp_code(app, PATIENT)  # the old phone's (may wait for a step)
    type_into(page, "password", DEMO[PATIENT].password)
    type_into(page, "current_code", current_code)
    type_into(page, "code", pyotp.TOTP(secret).now())
    assert press_and_load(page) == 200
    assert page.url.endswith("/mon-compte/codes-de-secours"), \
        f"{page.url}: {page.locator('main').inner_text()[:300]}"
    findings.check(NEW_PHONE in banner(page), f"after the new phone, banner {banner(page)!r}")
    where = f"/mon-compte/codes-de-secours ({JS_MODES[js]})"
    check_state(findings, page, js, where)
    with app.app_context():
        left = recovery.remaining(db.session, account(PATIENT))
    said = f"Il vous reste {left} {'codes' if left > 1 else 'code'} de secours."
    findings.check(said in words(page.locator("main").inner_text()),
                   f"{where}: no {said!r} in the page")
    assert fields_present(page) == {"password": True, "current_code": True, "code": False}, \
        f"{where}: fields {fields_present(page)}"

    # The current phone is the new one now: its next unused code.
    type_into(page, "password", DEMO[PATIENT].password)
    type_into(page, "current_code", support.totp_code(app, PATIENT, secret))
    assert press_and_load(page) == 200
    where = f"{where}, new codes"
    findings.check(page.locator("main .recovery-codes li").count() == 10,
                   f"{where}: {page.locator('main .recovery-codes li').count()} codes shown")
    findings.check(NEW_CODES in banner(page), f"{where}: banner {banner(page)!r}")
    check_state(findings, page, js, where)
    findings.done()
