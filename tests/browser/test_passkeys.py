"""Passkeys in a real browser, with Chromium's virtual authenticator (DevTools WebAuthn
domain), at 320 px and by keyboard only: the demo patient adds a passkey from "Mon compte",
signs out, signs in with it alone, removes it, and the key her device still holds is then
refused. Without JavaScript the sign-in page offers the password only.

WebAuthn refuses an IP address as the site's id: these tests browse the live server as
http://localhost:<port>, with PUBLIC_URL set to that address meanwhile, in contexts of
their own (cookies are per host: the patient signs in again there, and the run's shared
session on 127.0.0.1 is never touched). The three steps with JavaScript are one test on one
page, whose authenticator holds the passkey throughout. The passkeys made here are deleted
afterwards (one database for the whole run)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import delete, select

from domain.models import Passkey, User
from extensions import db
from tests.browser.flows import Findings, banner, press_and_load, tab_to_id
from tests.browser.support import (
    JS_MODES,
    TIMEOUT_MS,
    VIEWPORTS,
    limits_off,
    tab_until,
    totp_code,
    wait_until,
)
from tests.conftest import DEMO

pytestmark = pytest.mark.browser

PATIENT = "camille.martin"
WIDTH = 320
PAGE = "/mon-compte/cles-d-acces"
KEY_NAME = "Mon ordinateur"
CREATE = "Créer la clé d’accès"
WITH_A_KEY = "Se connecter avec une clé d’accès"
REMOVE = f"Supprimer la clé « {KEY_NAME} »"
ADDED = f"Votre clé d’accès « {KEY_NAME} » est ajoutée."
REMOVED = "La clé d’accès est supprimée"
REFUSED = "Cette clé d’accès n’a pas fonctionné."
BOX = "[data-passkey-sign-in-box]"
STATUS = "[data-passkey-status]"
AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True,
                 "automaticPresenceSimulation": True}


@pytest.fixture(scope="module")
def localhost(app, live_server):
    """The live server's address with a host name, as PUBLIC_URL for the module; rate
    limits off; the passkeys made meanwhile are deleted afterwards."""
    url = f"http://localhost:{live_server.server.server_port}"
    before = app.config["PUBLIC_URL"]
    with app.app_context():
        existing = set(db.session.scalars(select(Passkey.id)))
    app.config["PUBLIC_URL"] = url
    try:
        with limits_off():
            yield url
    finally:
        app.config["PUBLIC_URL"] = before
        with app.app_context():
            db.session.execute(delete(Passkey).where(Passkey.id.not_in(existing)))
            db.session.commit()


def new_page(browser, url: str, js: bool):
    context = browser.new_context(base_url=url, java_script_enabled=js, locale="fr-FR",
                                  viewport=VIEWPORTS[WIDTH], color_scheme="light")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    return context, page


@pytest.fixture
def device(app, browser, localhost):
    """One page with a virtual authenticator (user verified, presence simulated), the
    patient signed in there."""
    context, page = new_page(browser, localhost, js=True)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator",
                             {"options": AUTHENTICATOR})["authenticatorId"]
    try:
        sign_in(page, app)
        yield SimpleNamespace(page=page, cdp=cdp, authenticator=authenticator)
    finally:
        context.close()


def type_into(page, field_id: str, text: str) -> None:
    """Tab to the field, then type over what it holds: no click, no fill()."""
    tab_to_id(page, field_id)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)


def sign_in(page, app) -> None:
    page.goto("/connexion")
    type_into(page, "login", PATIENT)
    type_into(page, "password", DEMO[PATIENT].password)
    assert press_and_load(page) == 200 and page.url.endswith("/connexion/code"), page.url
    type_into(page, "code", totp_code(app, PATIENT))
    assert press_and_load(page) == 200 and page.url.endswith("/mon-espace"), page.url


def tab_to_button(page, text: str) -> None:
    tab_until(page, lambda info: info["tag"] in ("a", "button") and info["text"] == text)


def sign_out(page) -> None:
    """At 320 px the header's tools are on the menu page: « Menu », then « Se déconnecter »."""
    tab_to_button(page, "Menu")
    assert press_and_load(page) == 200
    tab_to_button(page, "Se déconnecter")
    press_and_load(page)
    page.goto("/connexion")
    assert page.url.endswith("/connexion"), f"still signed in: {page.url}"


def enter_and_follow(page) -> None:
    """Enter on a passkey button: the script asks the authenticator, then loads a page."""
    try:
        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.keyboard.press("Enter")
    except PlaywrightTimeout:
        raise AssertionError(f"no new page; status region: "
                             f"{page.locator(STATUS).all_inner_texts()}") from None


def check_state(findings: Findings, page, js: bool, where: str) -> None:
    """One state of a page, on its single load: axe, one h1, reflow, targets, title."""
    where = f"{where} ({JS_MODES[js]})"
    findings.page(page, js, WIDTH, where)
    findings.title(page, where)


def credentials(device) -> list[dict]:
    return device.cdp.send("WebAuthn.getCredentials",
                           {"authenticatorId": device.authenticator})["credentials"]


def stored_names(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Passkey.name).join(User).where(
            User.login == PATIENT)))


def register_by_keyboard(findings: Findings, app, device) -> None:
    page = device.page
    assert page.goto(PAGE).status == 200
    check_state(findings, page, True, PAGE)
    type_into(page, "name", KEY_NAME)
    type_into(page, "password", DEMO[PATIENT].password)
    type_into(page, "code", totp_code(app, PATIENT))
    assert press_and_load(page) == 200, page.locator("main").inner_text()[:300]
    create = page.get_by_role("button", name=CREATE)
    findings.check(create.is_visible(), f"{PAGE}, ready: « {CREATE} » is not shown")
    check_state(findings, page, True, f"{PAGE}, ready")

    tab_to_button(page, CREATE)
    enter_and_follow(page)
    assert page.url.endswith(PAGE), page.url
    findings.check(ADDED in banner(page), f"after the key was made, banner {banner(page)!r}")
    listed = page.locator("main .entry h3").all_inner_texts()
    findings.check(listed == [KEY_NAME], f"{PAGE}: keys listed {listed}")
    check_state(findings, page, True, f"{PAGE}, key added")
    held = credentials(device)
    assert [item["isResidentCredential"] for item in held] == [True], held
    assert stored_names(app) == [KEY_NAME]


def sign_in_with_the_key(findings: Findings, device) -> None:
    page = device.page
    sign_out(page)
    findings.check(page.locator(BOX).is_visible(), "/connexion: the passkey box is hidden")
    check_state(findings, page, True, "/connexion, passkey offered")
    tab_to_button(page, WITH_A_KEY)
    enter_and_follow(page)
    assert page.url.endswith("/mon-espace"), page.url


def remove_then_try_again(findings: Findings, app, device) -> None:
    page = device.page
    assert page.goto(PAGE).status == 200
    tab_to_button(page, REMOVE)
    assert press_and_load(page) == 200 and page.url.endswith(PAGE), page.url
    findings.check(REMOVED in banner(page), f"after the removal, banner {banner(page)!r}")
    findings.check(page.locator("main .entry").count() == 0, f"{PAGE}: a key is still listed")
    check_state(findings, page, True, f"{PAGE}, key removed")
    assert stored_names(app) == []

    sign_out(page)
    tab_to_button(page, WITH_A_KEY)
    page.keyboard.press("Enter")
    status = page.locator(f"{BOX} {STATUS}")
    wait_until(page, f"() => document.querySelector('{BOX} {STATUS}').textContent !== ''",
               timeout=TIMEOUT_MS / 1000)
    findings.check(REFUSED in status.inner_text(), f"status region says {status.inner_text()!r}")
    findings.check(page.url.endswith("/connexion"), f"left the sign-in page for {page.url}")
    findings.axe(page, True, "/connexion, removed passkey refused", WIDTH)
    findings.check(len(credentials(device)) == 1, "the device no longer holds the key")


def test_add_sign_in_with_then_remove_a_passkey_by_keyboard(app, device):
    """One test, three steps: the authenticator of one page holds the key throughout (and
    pytest-randomly would shuffle separate tests)."""
    findings = Findings()
    register_by_keyboard(findings, app, device)
    sign_in_with_the_key(findings, device)
    remove_then_try_again(findings, app, device)
    findings.done()


def test_without_javascript_the_password_is_the_only_way(app, browser, localhost):
    findings = Findings()
    context, page = new_page(browser, localhost, js=False)
    try:
        assert page.goto("/connexion").status == 200
        box = page.locator(BOX)
        findings.check(box.count() == 1 and not box.is_visible(),
                       f"/connexion: {box.count()} passkey boxes, shown: {box.is_visible()}")
        check_state(findings, page, False, "/connexion, passkeys available")
        type_into(page, "login", PATIENT)
        type_into(page, "password", DEMO[PATIENT].password)
        assert press_and_load(page) == 200 and page.url.endswith("/connexion/code"), page.url
    finally:
        context.close()
    findings.done()
