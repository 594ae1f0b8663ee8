"""The home page's ways in, and the easy-read versions of the key pages (one mechanism:
/facile/<slug>, linked from each page it simplifies, printed in the desk's sheets)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.html_checks import check_page

# slug: the pages that link to it
EASY_READ = {
    "activer": ["/activation"],
    "refuser": ["/activation/opposition", "/activation/opposition/sans-code"],
    "code-provisoire": ["/activation/code-provisoire"],
    "aide": ["/aide"],
    "arnaques": ["/arnaques"],
}


def _big_target(link) -> bool:
    """A stand-alone link styled as a 44 px target: a button, or in a .link-list."""
    return "button" in (link.get("class") or []) or link.find_parent(
        class_="link-list") is not None


def test_the_home_page_leads_with_the_ways_in(client):
    html = client.get("/").get_data(as_text=True)
    assert check_page(html) == []
    main = BeautifulSoup(html, "html.parser").find("main")
    links = {a.get_text(" ", strip=True): a for a in main.find_all("a")}
    # The words of the activation e-mail, exactly.
    assert links["Activer mon espace"]["href"] == "/activation"
    wanted = {"/activation", "/activation/code-provisoire", "/activation/opposition",
              "/activation/opposition/sans-code", "/connexion"}
    ways_in = [a for a in main.find_all("a") if a["href"] in wanted]
    assert {a["href"] for a in ways_in} == wanted
    assert all(_big_target(a) for a in ways_in), [a for a in ways_in if not _big_target(a)]
    # They come first: before anything else the page explains.
    first_h2 = main.find("h2")
    assert all(a.find_previous("h2") is first_h2 for a in ways_in)
    # Who comes back signs in from the first screen of a phone: the first link after the
    # heading, above the cards (at 360 px the fourth card is two screens down).
    assert first_h2.find_next("a")["href"] == "/connexion"


def test_the_menu_page_offers_signing_out_first(signed_in):
    """On a phone the header has no sign-out button: the menu page starts with it, so a
    person on a shared tablet finds it without scrolling."""
    html = signed_in("camille.martin").get("/menu").get_data(as_text=True)
    main = BeautifulSoup(html, "html.parser").find("main")
    first_control = main.h1.find_next(["a", "button"])
    assert first_control.name == "button" and first_control.get_text(strip=True) == (
        "Se déconnecter")
    assert first_control.find_parent("form")["action"] == "/deconnexion"


@pytest.mark.parametrize("path", ["/menu", "/mon-espace"])
def test_a_representative_s_pages_name_each_navigation_once(signed_in, path):
    """Camille represents Léo: the header's space switch and the menu page's list of
    spaces would be two navigations named « Espaces » (axe: landmark-unique)."""
    html = signed_in("camille.martin").get(path).get_data(as_text=True)
    assert check_page(html) == []
    assert "Espace de Léo" in html


@pytest.mark.parametrize("slug", EASY_READ)
def test_each_easy_read_page_is_linked_from_its_page_and_links_back(client, slug):
    page = client.get(f"/facile/{slug}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and check_page(html) == []
    soup = BeautifulSoup(html, "html.parser")
    back = soup.find("main").select(".link-list a")
    assert back and back[-1]["href"] == EASY_READ[slug][0]
    for path in EASY_READ[slug]:
        full = BeautifulSoup(client.get(path).get_data(as_text=True), "html.parser")
        link = full.find("a", href=f"/facile/{slug}")
        assert link is not None and _big_target(link), path
        assert link.get_text(strip=True) == "Lire la version facile à lire"


def test_an_unknown_easy_read_page_is_not_found(client):
    assert client.get("/facile/autre").status_code == 404


def test_the_desk_sheets_print_the_easy_read_content(signed_in):
    desk = signed_in("conseil.durand")
    anonymous = desk.application.test_client()
    for slug in ("activer", "refuser", "arnaques"):
        easy = BeautifulSoup(anonymous.get(f"/facile/{slug}").get_data(as_text=True),
                             "html.parser").select_one(".easy-read")
        sheet = BeautifulSoup(desk.get(f"/conseiller/fiches/{slug}").get_data(as_text=True),
                              "html.parser").select_one(".sheet")
        assert " ".join(easy.get_text(" ").split()) in " ".join(sheet.get_text(" ").split())
