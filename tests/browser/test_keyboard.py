"""Signing in with the keyboard only, JavaScript on and off (ACCESSIBILITY.md items 14, 19, 21)."""

from __future__ import annotations

import pytest

from tests.browser import support
from tests.browser.support import JS_MODES
from tests.conftest import DEMO

pytestmark = pytest.mark.browser

LOGIN = "camille.martin"


def focused_id(page) -> str | None:
    info = support.focused(page)
    return info and info["id"]


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_sign_in_with_the_keyboard_only(browsing, app, js):
    context = browsing.new_context(js=js)
    page = context.new_page()
    try:
        with support.limits_off():
            page.goto("/connexion")
            support.tab_until(page, lambda info: info["id"] == "login")
            page.keyboard.type(LOGIN)
            page.keyboard.press("Tab")
            assert focused_id(page) == "password", "Tab from the identifier goes to the password"
            page.keyboard.type(DEMO[LOGIN].password)
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert "/connexion/code" in page.url, page.url
            assert page.locator("h1").inner_text() == "Saisir votre code de sécurité"

            support.tab_until(page, lambda info: info["id"] == "code")
            page.keyboard.type(support.totp_code(app, LOGIN))
            with page.expect_navigation():
                page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "Mon espace santé"
        assert page.url.endswith("/mon-espace"), page.url
    finally:
        context.close()
