"""My sessions: ending another session by keyboard, with htmx and without JavaScript; signing
out clears the site (ACCESSIBILITY.md items 15, 17, 21 and the htmx patterns)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import support
from tests.browser.support import JS_MODES

pytestmark = pytest.mark.browser

LOGIN = "camille.martin"
END_ACTION = re.compile(r"^/mon-compte/sessions/[^/]+/terminer$")
ENDED = "La session a été terminée"


def end_actions(page) -> set[str]:
    actions = page.eval_on_selector_all("form[action]", "forms => forms.map(f => "
                                        "f.getAttribute('action'))")
    return {action for action in actions if END_ACTION.match(action)}


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_end_another_session_by_keyboard(browsing, app, js):
    first = browsing.new_context(role="patient", js=js)
    second = browsing.new_context(js=js)
    try:
        other = second.new_page()
        support.sign_in(other, app, LOGIN)  # a second session of the same person
        other.goto("/mon-compte/sessions")
        page = first.new_page()
        page.goto("/mon-compte/sessions")
        # The second session is the one the first page may end but the second may not.
        (action,) = end_actions(page) - end_actions(other)
        heading = page.locator("#session-list-title").inner_text()
        page.evaluate("() => { window.__sansRechargement = true; }")

        support.tab_until(page, lambda info: info["tag"] == "button"
                          and info["formAction"] == action)
        if js:
            page.keyboard.press("Enter")
            expect(page.locator("#live-region")).to_contain_text(ENDED)
            assert page.evaluate("window.__sansRechargement === true"), \
                "the page was loaded again instead of swapping the list"
            support.wait_until(page, "() => document.activeElement && "
                                     "document.activeElement.id === 'session-list-title'")
        else:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert page.url.endswith("/mon-compte/sessions"), page.url
            assert page.evaluate("window.__sansRechargement === undefined")
            expect(page.locator(".banner--success[role=status]")).to_contain_text(ENDED)
        assert action not in end_actions(page)
        assert page.locator("#session-list-title").inner_text() != heading
        support.assert_no_axe_violations(page, js, where="after ending a session")

        other.goto("/mon-espace")
        assert "/connexion" in other.url, "the ended session still opens the patient space"
    finally:
        first.close()
        second.close()


def test_sign_out_clears_the_site_and_back_shows_sign_in(browsing, app):
    """With the professional account, to spare the patient's TOTP steps (3 per 90 s)."""
    context = browsing.new_context(js=True)
    try:
        page = context.new_page()
        support.sign_in(page, app, "dr.bernard")
        assert page.url.endswith("/pro"), page.url
        with page.expect_response(lambda response: response.url.endswith("/deconnexion")) as info:
            page.get_by_role("button", name="Se déconnecter", exact=True).click()
        headers = info.value.all_headers()
        assert "cookies" in headers.get("clear-site-data", ""), headers
        page.wait_for_url(re.compile(r"/deconnecte$"))
        assert page.locator("h1").inner_text() == "Vous êtes déconnecté"
        assert not [cookie for cookie in context.cookies()
                    if cookie["name"] == app.config["SESSION_COOKIE_NAME"]]

        page.go_back()  # back to the signed-in page, as someone on a shared tablet might
        page.wait_for_load_state()
        assert "/connexion" in page.url, page.url
        assert page.locator("h1").inner_text() == "Se connecter"
        page.goto("/mon-espace")
        assert "/connexion" in page.url, page.url
        assert page.locator("h1").inner_text() == "Se connecter"
    finally:
        context.close()
