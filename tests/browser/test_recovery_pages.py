"""Recovery pages in a real browser, JavaScript on and off at 320 px: a forgotten password
(its three steps: identity, the e-mailed code, the phone's code and a new password, each
saying "Étape n sur 3" above its h1 and first in its title), changing one's e-mail
address (the password, then a code sent there) and the letter pages of a lost phone. Each
state of a page: axe, one h1, reflow, 44×44 targets and its title on one load; the forms
filled with the keyboard only (Tab, typing, Enter); a refused form's error summary takes
the focus."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, insert, select

from domain import passwords
from domain.models import PasswordReset, User, WebSession
from domain.notify import Mailer
from extensions import db
from tests.browser import support
from tests.browser.flows import Findings, banner, check_failed_form, press_and_load, tab_to_id
from tests.browser.support import JS_MODES, tab_until
from tests.conftest import DEMO

pytestmark = pytest.mark.browser

WIDTH = 320
JS_PARAMS = pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)

PATIENT = "camille.martin"
EMAIL = "camille.martin@example.org"
NEW_EMAIL = "camille.test@example.org"
IDENTITY = {"nir": "2 88 03 75 108 021 50", "vitale": "12345678901", "birth": "14",
            "birth-month": "3", "birth-year": "1988"}
NEW_PASSWORD = "Une tasse de thé vert au jardin"
FORGOTTEN_LINK = "Mot de passe oublié ?"
RECOVERY_LINK = "Vous n’avez plus votre téléphone ? Utiliser un code de secours"
LETTER_BUTTON = "Recevoir un code par courrier"
RESET_DONE = "Votre nouveau mot de passe est enregistré. Connectez-vous avec lui."
EMAIL_CHANGED = "Votre adresse e-mail est changée."
WRONG_PASSWORD = "Pas-le-bon-mot-de-passe"


def type_into(page, field_id: str, text: str) -> None:
    """Tab to the field, then type over what it holds: no click, no fill()."""
    tab_to_id(page, field_id)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)


def words(text: str) -> str:
    return " ".join(text.split())  # no-break spaces before "?" or ":" are spaces here


def tab_to(page, tag: str, text: str) -> None:
    tab_until(page, lambda info: info["tag"] == tag and words(info["text"]) == text)


def account(login: str) -> User:
    return db.session.scalars(select(User).where(User.login == login)).one()


def check_state(findings: Findings, page, js: bool, where: str) -> None:
    """One state of a page, on its single load: axe, one h1, reflow, targets, title."""
    findings.page(page, js, WIDTH, where)
    findings.title(page, where)


def check_step(findings: Findings, page, step: int, where: str) -> None:
    """A step of the forgotten password: "Étape n sur 3" in main (before the h1) and at the
    start of the title (after "Erreur : ")."""
    said = f"Étape {step} sur 3"
    shown = [words(text) for text in page.locator("main p.step").all_inner_texts()]
    findings.check(shown == [said], f"{where}: step {shown}, expected {said!r}")
    if shown:
        findings.check(page.locator("main p.step").evaluate(
            "p => !!(p.compareDocumentPosition(document.querySelector('main h1')) & 4)"),
            f"{where}: the step is not above the h1")
    findings.check(page.title().removeprefix("Erreur : ").startswith(said),
                   f"{where}: title {page.title()!r} does not start with {said!r}")


def newest_code(app, to: str, digits: int) -> str:
    """The code of the newest e-mail sent to `to` (the outbox folder of the test app)."""
    messages = [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
                if message["To"] == to]
    assert messages, f"no e-mail sent to {to}"
    body = messages[-1].get_body(("plain",)).get_content()
    return re.search(rf"\b(\d{{{digits}}})\b", body).group(1)


def sign_in_with_password(page) -> None:
    """The first step only, by keyboard: the sign-in waits for the second factor."""
    page.goto("/connexion")
    type_into(page, "login", PATIENT)
    type_into(page, "password", DEMO[PATIENT].password)
    assert press_and_load(page) == 200
    assert page.url.endswith("/connexion/code"), page.url


def reached(page, path: str) -> None:
    assert page.url.endswith(path), f"{page.url}: {page.locator('main').inner_text()[:300]}"


# --------------------------------------------------------------- forgotten password

@pytest.fixture
def demo_after_reset(app):
    """A reset ends every session of the patient, the one the browser tests share
    included, and counts towards MAX_PER_DAY: her password, her sessions (rows as they
    were, so the cookies cached by the run open them again) and no reset row afterwards."""
    table = WebSession.__table__
    with app.app_context():
        user_id = account(PATIENT).id
        saved = [dict(row) for row in db.session.execute(
            select(table).where(table.c.user_id == user_id)).mappings()]
    yield
    with app.app_context():
        user = account(PATIENT)
        user.password_hash = passwords.hash_password(DEMO[PATIENT].password,
                                                     app.config["PASSWORD_HASH_PROFILE"])
        db.session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id))
        alive = set(db.session.scalars(select(table.c.id).where(table.c.user_id == user.id)))
        lost = [row for row in saved if row["id"] not in alive]
        if lost:
            db.session.execute(insert(table), lost)
        db.session.commit()


@JS_PARAMS
def test_forgotten_password_by_keyboard(open_page, app, demo_after_reset, js):
    """A signed-out context of its own; the shared session is put back by the fixture."""
    findings = Findings()
    page = open_page(None, js=js, width=WIDTH)
    page.goto("/connexion")
    tab_to(page, "a", FORGOTTEN_LINK)
    assert press_and_load(page) == 200
    reached(page, "/mot-de-passe-oublie")
    where = f"/mot-de-passe-oublie ({JS_MODES[js]})"
    check_state(findings, page, js, where)
    check_step(findings, page, 1, where)

    for field, text in {**IDENTITY, "nir": "2 88 03 75"}.items():
        type_into(page, field, text)
    status = press_and_load(page)
    check_failed_form(findings, page, js, status, ["nir"], f"{where}, wrong NIR")
    check_state(findings, page, js, f"{where}, wrong NIR")
    check_step(findings, page, 1, f"{where}, wrong NIR")

    for field, text in IDENTITY.items():
        type_into(page, field, text)
    assert press_and_load(page) == 200
    reached(page, "/mot-de-passe-oublie/code")
    where = f"/mot-de-passe-oublie/code ({JS_MODES[js]})"
    check_state(findings, page, js, where)
    check_step(findings, page, 2, where)
    code = newest_code(app, EMAIL, 8)

    type_into(page, "code", "00000000" if code != "00000000" else "11111111")
    status = press_and_load(page)
    check_failed_form(findings, page, js, status, ["code"], f"{where}, wrong code")
    check_state(findings, page, js, f"{where}, wrong code")
    check_step(findings, page, 2, f"{where}, wrong code")

    type_into(page, "code", code)
    assert press_and_load(page) == 200
    reached(page, "/mot-de-passe-oublie/nouveau")
    where = f"/mot-de-passe-oublie/nouveau ({JS_MODES[js]})"
    check_state(findings, page, js, where)
    check_step(findings, page, 3, where)

    type_into(page, "code", support.totp_code(app, PATIENT))
    type_into(page, "password", NEW_PASSWORD)
    type_into(page, "password_confirm", NEW_PASSWORD)
    assert press_and_load(page) == 200
    reached(page, "/connexion")
    findings.check(RESET_DONE in banner(page), f"after the reset, banner {banner(page)!r}")
    with app.app_context():
        hashed = account(PATIENT).password_hash
    findings.check(passwords.verify_password(hashed, NEW_PASSWORD,
                                             app.config["PASSWORD_HASH_PROFILE"]),
                   "the new password was not stored")
    findings.done()


# --------------------------------------------------------------- e-mail address

@pytest.fixture
def demo_email(app):
    """The demo patient's e-mail address is put back afterwards (one database per run)."""
    yield
    with app.app_context():
        account(PATIENT).email = EMAIL
        db.session.commit()


@JS_PARAMS
def test_change_email_by_keyboard(open_page, app, demo_email, js):
    """The shared signed-in session of the patient: a new address ends no session."""
    findings = Findings()
    page = open_page(PATIENT, js=js, width=WIDTH)
    assert page.goto("/mon-compte/coordonnees").status == 200
    reached(page, "/mon-compte/coordonnees")  # still signed in: no redirect to /connexion
    where = f"/mon-compte/coordonnees ({JS_MODES[js]})"
    check_state(findings, page, js, where)

    type_into(page, "email", NEW_EMAIL)
    type_into(page, "password-email", WRONG_PASSWORD)
    status = press_and_load(page)
    check_failed_form(findings, page, js, status, ["password"], f"{where}, wrong password")
    check_state(findings, page, js, f"{where}, wrong password")
    findings.check(not page.locator("#password").input_value(),
                   f"{where}: the password field kept what was typed")

    type_into(page, "email", NEW_EMAIL)
    type_into(page, "password", DEMO[PATIENT].password)
    assert press_and_load(page) == 200
    reached(page, "/mon-compte/coordonnees/confirmer")
    where = f"/mon-compte/coordonnees/confirmer ({JS_MODES[js]})"
    check_state(findings, page, js, where)

    type_into(page, "code", newest_code(app, NEW_EMAIL, 6))
    assert press_and_load(page) == 200
    reached(page, "/mon-compte/coordonnees")
    findings.check(EMAIL_CHANGED in banner(page), f"after the code, banner {banner(page)!r}")
    findings.check(NEW_EMAIL in page.locator("main dl").inner_text(),
                   f"the page does not show {NEW_EMAIL}")
    check_state(findings, page, js, f"/mon-compte/coordonnees ({JS_MODES[js]}), changed")
    with app.app_context():
        findings.check(account(PATIENT).email == NEW_EMAIL, "the new address was not stored")
    findings.done()


# --------------------------------------------------------------- a code by post

@JS_PARAMS
def test_letter_pages_by_keyboard(open_page, js):
    """A signed-out context: the password only, then the recovery page's letter button.
    The demo patient has no postal address: nothing is sent, nothing is stored."""
    findings = Findings()
    page = open_page(None, js=js, width=WIDTH)
    sign_in_with_password(page)
    tab_to(page, "a", RECOVERY_LINK)
    assert press_and_load(page) == 200
    reached(page, "/connexion/code-de-secours")
    tab_to(page, "button", LETTER_BUTTON)
    assert press_and_load(page) == 200
    reached(page, "/connexion/courrier")
    where = f"/connexion/courrier ({JS_MODES[js]}), no postal address"
    findings.check(words(page.locator("h1").inner_text()) == "Aucune adresse postale connue",
                   f"{where}: h1 {page.locator('h1').all_inner_texts()}")
    check_state(findings, page, js, where)

    sign_in_with_password(page)
    assert page.goto("/connexion/courrier-recu").status == 200
    reached(page, "/connexion/courrier-recu")
    check_state(findings, page, js, f"/connexion/courrier-recu ({JS_MODES[js]})")
    findings.done()
