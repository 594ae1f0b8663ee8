"""The header on a 360×640 phone (issue 17, item 11): one compact bar, the site's name and
« Menu », a real link to the menu page (no JavaScript needed); the header and any banner
under it (a represented space's, an assisted session's) take at most a quarter of the
first screen, JavaScript on and off. Wide screens keep the full header."""

from __future__ import annotations

import re

import pytest

from tests.browser import support
from tests.browser.support import JS_MODES

pytestmark = pytest.mark.browser

WIDTH = 360
HEIGHT = support.VIEWPORTS[WIDTH]["height"]
BUDGET = HEIGHT / 4  # 160 px

# The lowest bottom edge of the header and of the banners that sit under it.
FIRST_SCREEN = """() => {
  const parts = {};
  let bottom = 0;
  for (const selector of ["header.site-header", "nav.space-switch", ".banner--represented",
                          ".assist-bar"]) {
    for (const element of document.querySelectorAll(selector)) {
      const box = element.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) { continue; }
      parts[selector] = Math.round(box.bottom);
      bottom = Math.max(bottom, box.bottom);
    }
  }
  return {bottom: Math.round(bottom), parts: parts};
}"""


def first_screen(page) -> dict:
    page.evaluate("window.scrollTo(0, 0)")
    return page.evaluate(FIRST_SCREEN)


def assert_compact(page, where: str) -> dict:
    measured = first_screen(page)
    print(f"{where}: header and banners end at {measured['bottom']} px "
          f"({measured['bottom'] / HEIGHT:.0%} of {HEIGHT} px) {measured['parts']}")
    assert measured["bottom"] <= BUDGET, (
        f"{where}: header and banners end at {measured['bottom']} px, more than a quarter "
        f"of the first screen ({BUDGET:.0f} px): {measured['parts']}")
    menu = page.locator("header.site-header a.menu-link")
    assert menu.count() == 1 and menu.is_visible(), f"{where}: no visible « Menu » link"
    assert re.search(r"^/menu(\?|$)", menu.get_attribute("href")), menu.get_attribute("href")
    box = menu.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, box
    return measured


def open_menu(page) -> None:
    with page.expect_navigation():
        page.locator("header.site-header a.menu-link").click()
    assert page.url.split("?")[0].endswith("/menu"), page.url
    assert page.title().startswith("Menu – "), page.title()


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_the_patients_header_is_one_bar_with_a_menu_page(browsing, js):
    page = browsing.page_for("patient", js, WIDTH)
    assert page.goto("/mon-espace").status == 200
    assert_compact(page, f"dashboard ({JS_MODES[js]})")
    assert not page.locator("nav.main-nav").is_visible()
    open_menu(page)
    main = page.locator("main")
    for label in ("Documents", "Profil", "Agenda", "Messagerie", "Accès", "Aide",
                  "Mes sessions", "Espace de Léo"):
        assert main.get_by_role("link", name=label, exact=True).count() == 1, label
    assert main.get_by_role("button", name="Se déconnecter").count() == 1
    with page.expect_navigation():
        main.get_by_role("link", name="Documents", exact=True).click()
    assert page.url.endswith("/documents"), page.url
    assert page.locator("h1").inner_text() == "Mes documents"


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_in_leos_space_the_header_and_banner_fit_and_the_menu_stays_there(browsing, js):
    page = browsing.page_for("patient", js, WIDTH)
    page.goto("/mon-espace")
    with page.expect_navigation():
        page.locator("nav.space-switch a", has_text="Espace de Léo").click()
    assert page.locator(".banner--represented").is_visible()
    assert_compact(page, f"Léo's space ({JS_MODES[js]})")
    open_menu(page)
    link = page.locator("main").get_by_role("link", name="Documents", exact=True)
    assert re.search(r"/espace/[0-9a-f]{32}/documents$", link.get_attribute("href"))
    with page.expect_navigation():
        link.click()
    assert page.title().startswith("Léo – "), page.title()
    assert page.locator(".banner--represented").count() == 1
    assert_compact(page, f"Léo's documents ({JS_MODES[js]})")


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_the_professionals_header_is_one_bar(browsing, js):
    page = browsing.page_for("professionnel", js, WIDTH)
    assert page.goto("/pro").status == 200
    assert_compact(page, f"pro home ({JS_MODES[js]})")
    open_menu(page)
    assert page.locator("main").get_by_role("link", name="Accueil professionnel").count() == 1


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_wide_screens_keep_the_full_header(browsing, js):
    page = browsing.page_for("patient", js, 1280)
    page.goto("/mon-espace")
    assert page.locator("nav.main-nav").is_visible()
    assert page.locator("header .tools").is_visible()
    assert not page.locator("header a.menu-link").is_visible()


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_in_an_assisted_session_the_header_and_bar_fit(browsing, app, js):
    """A fresh adviser's sign-in (the shared one must not be parked), an accompaniment
    started, and the person's first page at 360 px: the header and the assist bar, its
    « Terminer l'accompagnement » button included, within a quarter of the screen."""
    from tests.browser.test_assisted import sign_in, start_accompaniment

    context = browsing.new_context(js=js, width=WIDTH)
    try:
        page = context.new_page()
        with support.limits_off():
            page.goto("/connexion")
            sign_in(page, app, "conseil.durand")
            start_accompaniment(page, "documents")
        measured = assert_compact(page, f"assisted session ({JS_MODES[js]})")
        assert ".assist-bar" in measured["parts"]
        button = page.locator(".assist-bar button")
        box = button.bounding_box()
        assert button.is_visible() and box["height"] >= 44 and box["y"] + box["height"] <= BUDGET
    finally:
        context.close()
