"""Two account pages in a real browser, JavaScript on and off at 320 px: a professional's
first sign-in with a one-time set-up password (their own password and authenticator app),
and changing one's password. Each page: axe, reflow and 44×44 targets on its first load;
the forms filled with the keyboard only (Tab, typing, Enter); a refused form's error
summary takes the focus."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from domain import passwords
from domain.models import User
from extensions import db
from tests.browser import support
from tests.browser.flows import (
    Findings,
    banner,
    check_failed_form,
    press_and_load,
    tab_to_id,
)
from tests.browser.support import JS_MODES
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


def type_into(page, field_id: str, text: str) -> None:
    """Tab to the field, then type: no click, no fill()."""
    tab_to_id(page, field_id)
    page.keyboard.type(text)


def password_values(page, fields) -> dict[str, str]:
    return {field: page.locator(f"#{field}").input_value() for field in fields}


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
        user = db.session.scalars(select(User).where(User.login == PATIENT)).one()
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
