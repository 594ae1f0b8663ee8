"""The catalogue in a real browser (ACCESSIBILITY.md items 14–16, 21 and the htmx patterns):
the category filter used with the keyboard, without JavaScript (a plain GET form) and with
it (htmx swaps the results in place: the address follows, the button keeps the focus, the
live region says how many services are shown), then a service's page from its card. axe
(WCAG 2.2 AA tags) runs in every state reached."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from domain import catalogue
from tests.browser import support
from tests.browser.flows import (
    FOCUS,
    MARK,
    NOT_RELOADED,
    click_and_load,
    press_and_load,
    tab_to_id,
    tab_to_text,
)
from tests.browser.support import JS_MODES

pytestmark = pytest.mark.browser

JS_PARAMS = pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
SHIPPED = catalogue.load(catalogue.DEFAULT_FILE)
FILTERED = "1 service dans la catégorie « Grossesse »"
RESULTS_SETTLED = """() => { const list = document.getElementById("catalogue-results");
  return !!list && !list.hasAttribute("aria-busy") && !list.classList.contains("htmx-settling")
    && !list.classList.contains("htmx-swapping") && !list.classList.contains("htmx-added"); }"""


def check_page(page, js: bool, where: str) -> None:
    """One h1, axe, no JavaScript error."""
    assert page.locator("h1").count() == 1, f"one h1 on {where}"
    support.assert_no_axe_violations(page, js, where=f"{where} ({JS_MODES[js]})")
    assert not page.js_errors, f"JavaScript errors on {where}: {page.js_errors}"


def names_shown(page) -> list[str]:
    return [text.strip() for text in
            page.locator("#catalogue-results li.card h3").all_inner_texts()]


@JS_PARAMS
def test_the_category_filter_by_keyboard(open_page, js):
    page = open_page(js=js)
    page.goto("/catalogue")
    heading = page.locator("#catalogue-results-title")
    expect(heading).to_have_text(f"{len(SHIPPED)} services")
    assert names_shown(page) == [app.name for app in SHIPPED.apps]
    check_page(page, js, "catalogue")

    if js:
        page.evaluate(MARK)
    tab_to_id(page, "categorie")
    page.select_option("#categorie", "grossesse")  # choosing alone sends nothing
    assert names_shown(page) == [app.name for app in SHIPPED.apps]
    tab_to_text(page, "Afficher", "button")
    if js:
        page.keyboard.press("Enter")
        expect(heading).to_have_text(FILTERED)
        support.wait_until(page, RESULTS_SETTLED)
        assert page.evaluate(NOT_RELOADED), "the page was loaded again"
        expect(page.locator("#live-region")).to_have_text(FILTERED)
        assert page.evaluate(FOCUS) == 'button "Afficher"', "the button keeps the focus"
    else:
        assert press_and_load(page) == 200
        expect(heading).to_have_text(FILTERED)
    assert "/catalogue?categorie=grossesse" in page.url, page.url
    assert names_shown(page) == ["Neuf Lunes (fictif)"]
    assert page.locator("#categorie").input_value() == "grossesse"
    check_page(page, js, "catalogue filtré")

    # The card leads to the service's page.
    assert click_and_load(page, page.locator("#catalogue-results h3 a")) == 200
    expect(page.locator("h1")).to_have_text("Neuf Lunes (fictif)")
    expect(page.locator("main h2").first).to_have_text("Ce que le service demande et pourquoi")
    check_page(page, js, "fiche d’un service")
