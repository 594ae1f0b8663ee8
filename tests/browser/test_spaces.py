"""Switching to a child's space and back with the keyboard only, JavaScript on and off:
the banner and the child's first name in the title on every page there, the focus on the
new h1 after a switch (with JavaScript), and back to one's own space in one step."""

from __future__ import annotations

import re

import pytest

from tests.browser import support
from tests.browser.support import JS_MODES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_switch_to_the_childs_space_and_back_with_the_keyboard(browsing, js):
    page = browsing.page_for("patient", js, 320)
    page.goto("/mon-espace")
    info = support.tab_until(page, lambda found: found["text"].startswith("Espace de Léo"))
    assert info["tag"] == "a"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/espace/[0-9a-f]{32}/mon-espace", page.url), page.url
    assert page.title() == "Espace santé de Léo – Carnet santé"
    assert page.locator(".banner--represented").inner_text().startswith(
        "Vous agissez pour Léo Martin")
    focused = support.focused(page)
    if js:  # the new h1 takes the focus, so a screen reader says whose space it is
        assert focused and focused["tag"] == "h1", focused
    # Every page of the child's space carries the banner and his first name.
    # At 320 px the main menu is on the menu page, a link in the compact header.
    for label in ("Documents", "Profil", "Agenda", "Messagerie", "Accès"):
        with page.expect_navigation():
            page.locator("a.menu-link").click()
        with page.expect_navigation():
            page.locator("main nav a", has_text=label).first.click()
        assert page.title().startswith("Léo – "), (label, page.title())
        assert page.locator(".banner--represented").count() == 1, label
    # A part of the page swapped in (the next month, with JavaScript) brings a title that
    # keeps his first name too.
    page.goto(re.search(r"/espace/[0-9a-f]{32}", page.url)[0] + "/agenda/mois")
    following = page.locator("a", has_text="Mois suivant")
    if js:
        with page.expect_response(lambda response: "/agenda/mois/" in response.url and
                                  response.request.headers.get("hx-request") == "true"):
            following.click()
        support.wait_until(page, "() => document.activeElement && "
                                 "document.activeElement.id === 'month-title'")
    else:
        with page.expect_navigation():
            following.click()
    heading = page.locator("#month-title").inner_text()
    assert page.title().startswith(f"Léo – {heading} – "), page.title()
    support.tab_until(page, lambda found: found["text"] == "Revenir à mon espace")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/mon-espace?bascule=1")
    assert page.title() == "Mon espace santé – Carnet santé"
    assert page.locator(".banner--represented").count() == 0
