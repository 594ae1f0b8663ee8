"""The catalogue's pages over HTTP: the list and its category filter (a plain GET form, and
the htmx swap of the results with the count in the live region), a service's page with
what it asks for and why, 404s, who may enter, text from the file always escaped, and a
faulty catalogue file stopping the start."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from app import create_app
from domain import catalogue as domain_catalogue
from domain.catalogue import CatalogueError
from tests.domain.test_catalogue import entry
from tests.html_checks import check_page
from web import catalogue

PATIENT = "camille.martin"
HTMX = {"HX-Request": "true", "HX-Target": "catalogue-results"}
SHIPPED = domain_catalogue.load(domain_catalogue.DEFAULT_FILE)


def page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def shown_slugs(soup: BeautifulSoup) -> list[str]:
    return [link["href"].removeprefix("/catalogue/")
            for link in soup.select("#catalogue-results h3 a")]


@pytest.fixture
def patient(signed_in):
    return signed_in(PATIENT)


@pytest.fixture
def hostile(app, tmp_path, monkeypatch):
    """The app serves a catalogue whose texts try to inject markup and script."""
    attack = "<script>alert('x')</script>"
    text = entry("piege", f"Piège {attack}", "grossesse",
                 publisher=f'"Éditeur {attack}"', demo="false",
                 description=f'{{ fr = "Description {attack}", en = "Text {attack}" }}',
                 privacy_url='"https://piege.example/?a=1&b=\'x\'"') .replace(
        'purpose = { fr = "Lire vos mesures.", en = "Read your measures." }',
        f'purpose = {{ fr = "But {attack}", en = "Purpose {attack}" }}')
    loaded = domain_catalogue.parse(text)
    monkeypatch.setitem(app.extensions, catalogue.EXTENSION, loaded)
    return loaded


# --- the list --------------------------------------------------------------------------------

def test_the_list_shows_every_service_as_a_card_with_a_get_filter(patient):
    response = patient.get("/catalogue")
    html = response.get_data(as_text=True)
    assert check_page(html) == []
    assert "HX-Request" in response.headers["Vary"]
    soup = page(response)
    assert soup.title.get_text() == "Catalogue de services – Carnet santé"
    assert soup.h1.get_text() == "Catalogue de services"
    assert shown_slugs(soup) == [app.slug for app in SHIPPED.apps]  # sorted by name
    assert soup.select_one("#catalogue-results-title").get_text() == f"{len(SHIPPED)} services"
    badges = soup.select("#catalogue-results .badge")
    assert len(badges) == len(SHIPPED) and {badge.get_text() for badge in badges} == {
        "Service fictif (démonstration)"}
    form = soup.select_one("main form[method=get]")
    assert form["action"] == "/catalogue"
    assert (form["hx-get"], form["hx-target"], form["hx-push-url"]) == (
        "/catalogue", "#catalogue-results", "true")
    assert form.select_one("button[type=submit]") is not None  # works without JavaScript
    options = [(option["value"], option.get_text()) for option in form.select("option")]
    assert options[0] == ("", f"Toutes les catégories ({len(SHIPPED)} services)")
    assert [value for value, _text in options[1:]] == list(SHIPPED.categories_in_use())
    assert ("grossesse", "Grossesse (1)") in options
    assert not soup.select("option[selected]")
    assert "hx-swap-oob" not in html  # the whole page keeps its own live region


def test_the_filter_works_without_javascript(patient):
    soup = page(patient.get("/catalogue?categorie=grossesse"))
    assert shown_slugs(soup) == ["neuf-lunes"]
    assert soup.select_one("#catalogue-results-title").get_text() == (
        "1 service dans la catégorie « Grossesse »")
    assert soup.select_one("option[selected]")["value"] == "grossesse"
    assert soup.find("html") is not None and check_page(str(soup)) == []


def test_htmx_gets_only_the_results_and_the_count_for_the_live_region(patient):
    response = patient.get("/catalogue?categorie=sommeil", headers=HTMX)
    html = response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in html and "<h1" not in html
    soup = BeautifulSoup(html, "html.parser")
    section = soup.select_one("section#catalogue-results")
    assert section is not None and section.h2["tabindex"] == "-1"  # app.js's fallback focus
    assert shown_slugs(soup) == ["nuit-calme"]
    live = soup.select_one("#live-region")
    assert live["hx-swap-oob"] == "innerHTML"
    assert live.get_text() == "1 service dans la catégorie « Sommeil »"
    everything = BeautifulSoup(patient.get("/catalogue", headers=HTMX).get_data(as_text=True),
                               "html.parser")
    assert everything.select_one("#live-region").get_text() == f"{len(SHIPPED)} services"


@pytest.mark.parametrize("headers", [
    {"HX-Request": "true"},                                  # no target
    {"HX-Request": "true", "HX-Target": "contenu"},          # another target
    {**HTMX, "HX-Boosted": "true"},
    {**HTMX, "HX-History-Restore-Request": "true"},
])
def test_other_htmx_requests_get_the_whole_page(patient, headers):
    html = patient.get("/catalogue?categorie=sommeil", headers=headers).get_data(as_text=True)
    assert "<html" in html and "hx-swap-oob" not in html
    assert shown_slugs(BeautifulSoup(html, "html.parser")) == ["nuit-calme"]


@pytest.mark.parametrize("value", ["inconnue", "", "GROSSESSE", "medicaments",
                                   "<script>alert(1)</script>", "grossesse\x00", "é" * 500])
def test_an_unknown_or_empty_category_shows_every_service(patient, value):
    for headers in (None, HTMX):
        response = patient.get("/catalogue", query_string={"categorie": value},
                               headers=headers)
        soup = page(response)
        assert shown_slugs(soup) == [app.slug for app in SHIPPED.apps]
        assert not soup.select("option[selected]")
        assert "<script>alert" not in response.get_data(as_text=True)


def test_the_menu_the_dashboard_and_the_sitemap_lead_to_the_catalogue(patient):
    soup = page(patient.get("/catalogue"))
    current = soup.select_one("nav.main-nav a[aria-current=page]")
    assert (current["href"], current.get_text()) == ("/catalogue", "Catalogue")
    for path in ("/mon-espace", "/plan-du-site"):
        assert page(patient.get(path)).select_one("main a[href='/catalogue']"), path


# --- a service's page -------------------------------------------------------------------------

def test_a_services_page_says_what_it_asks_for_and_why(patient):
    response = patient.get("/catalogue/exemple-balance")
    html = response.get_data(as_text=True)
    assert check_page(html) == []
    soup = page(response)
    scale = SHIPPED.get("exemple-balance")
    assert soup.h1.get_text() == scale.name
    assert soup.title.get_text() == f"{scale.name} – Catalogue de services – Carnet santé"
    facts = {dt.get_text(): dt.find_next_sibling("dd").get_text(" ", strip=True)
             for dt in soup.select("dl.catalogue-facts dt")}
    assert facts == {
        "Éditeur": scale.publisher,
        "Type d’éditeur": "Association",
        "Catégorie": "Nutrition",
        "Référencé le": "15 janvier 2026",
        "Accessibilité": "Partiellement conforme, selon la déclaration du service",
    }
    assert scale.description["fr"] in soup.select_one("p.lead").get_text()
    assert soup.find("h2", string="Ce que le service demande et pourquoi") is not None
    uses = [(item.h3.get_text(), item.p.get_text()) for item in soup.select(".data-uses li")]
    assert uses == [
        ("Ajouter des mesures à votre profil (par exemple un poids)",
         f"Pourquoi : {scale.data[0].purpose['fr']}"),
        ("Lire vos mesures (poids, taille, tension…)",
         f"Pourquoi : {scale.data[1].purpose['fr']}"),
    ]
    links = {link["href"]: link.get_text() for link in soup.select("main ul.link-list a")}
    assert links == {
        scale.privacy_url: f"Politique de confidentialité de {scale.name} (sur le site du "
                           "service)",
        scale.accessibility_url: f"Déclaration d’accessibilité de {scale.name} (sur le site "
                                 "du service)",
    }
    assert soup.select_one("main .banner .badge").get_text() == "Service fictif (démonstration)"
    assert soup.select_one("p.back-link a")["href"] == "/catalogue"


def test_every_shipped_service_has_its_page(patient):
    for app in SHIPPED.apps:
        html = patient.get(f"/catalogue/{app.slug}").get_data(as_text=True)
        assert check_page(html) == [], app.slug
        assert len(BeautifulSoup(html, "html.parser").select(".data-uses li")) == len(app.data)


def test_a_service_is_shown_in_english_from_the_files_english_texts(patient):
    patient.get("/langue/en?suivant=/aide")
    soup = page(patient.get("/catalogue/rappel-vaccins"))
    vaccines = SHIPPED.get("rappel-vaccins")
    assert vaccines.description["en"] in soup.get_text()
    assert vaccines.description["fr"] not in soup.get_text()
    assert all(use.purpose["en"] in soup.get_text() for use in vaccines.data)
    listing = page(patient.get("/catalogue"))
    assert vaccines.description["en"] in listing.get_text()


@pytest.mark.parametrize("slug", ["inconnu", "EXEMPLE-BALANCE", "exemple-balance-", "a" * 300,
                                  "%3Cscript%3E"])
def test_an_unknown_service_answers_404(patient, slug):
    assert patient.get(f"/catalogue/{slug}").status_code == 404


# --- who may enter -----------------------------------------------------------------------------

def test_signed_out_visitors_go_to_sign_in(client, demo_users):
    for path in ("/catalogue", "/catalogue?categorie=grossesse", "/catalogue/exemple-balance",
                 "/catalogue/inconnu"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/connexion?suivant=/catalogue"), path


@pytest.mark.parametrize("login", ["dr.bernard", "pharma.petit", "conseil.durand"])
def test_professionals_and_advisers_do_not_enter(signed_in, login):
    other = signed_in(login)
    for path in ("/catalogue", "/catalogue/exemple-balance"):
        assert other.get(path).status_code == 403, (login, path)


def test_authenticated_pages_are_not_cached(patient):
    for path in ("/catalogue", "/catalogue/neuf-lunes"):
        assert "no-store" in patient.get(path).headers["Cache-Control"], path


# --- what the file says is text, never markup --------------------------------------------------

def test_script_in_the_files_fields_is_escaped_everywhere(patient, hostile):
    pages = [patient.get("/catalogue").get_data(as_text=True),
             patient.get("/catalogue?categorie=grossesse", headers=HTMX).get_data(as_text=True),
             patient.get("/catalogue/piege").get_data(as_text=True)]
    for html in pages:
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    detail = BeautifulSoup(pages[2], "html.parser")
    assert detail.h1.get_text() == "Piège <script>alert('x')</script>"
    assert 'href="https://piege.example/?a=1&amp;b=&#39;x&#39;"' in pages[2]
    assert detail.select_one("a[href^='https://piege']")["href"] == (
        "https://piege.example/?a=1&b='x'")
    assert not detail.select("main .badge")  # not a demo entry: no "fictif" mark
    assert check_page(pages[2]) == []


# --- start-up -----------------------------------------------------------------------------------

def test_a_faulty_catalogue_stops_the_start_with_its_message(app, tmp_path):
    faulty = tmp_path / "catalogue.toml"
    faulty.write_text(entry("mutuelle-plus", sector='"mutuelle"'), encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape(
            f'{faulty}: entry 1 ("mutuelle-plus"), field sector: \'mutuelle\' is an excluded '
            "sector")):
        create_app({**app.config, "CATALOGUE_FILE": str(faulty)},
                   instance_path=app.instance_path)
    faulty.write_text(entry("ok"), encoding="utf-8")
    other = create_app({**app.config, "CATALOGUE_FILE": str(faulty)},
                       instance_path=app.instance_path)
    with other.app_context():
        assert [entry.slug for entry in catalogue.current().apps] == ["ok"]


# --- words -------------------------------------------------------------------------------------

def test_everything_the_file_may_say_has_its_words(app):
    from web.labels import catalogue as labels

    assert tuple(labels.CATEGORY_LABELS) == domain_catalogue.CATEGORIES
    assert tuple(labels.SECTOR_LABELS) == domain_catalogue.SECTORS
    assert tuple(labels.ACCESSIBILITY_LABELS) == domain_catalogue.ACCESSIBILITY_STATUSES
    with app.test_request_context("/catalogue"):
        words = {scope: labels.data_label(scope) for scope in domain_catalogue.SUPPORTED_SCOPES}
        assert all(text and "patient/" not in text for text in words.values())
        assert words["patient/Observation.r"] == words["patient/Observation.rs"]
        assert words["patient/Observation.c"] != words["patient/Observation.rs"]
        for unsupported in ("patient/Patient.c", "patient/Observation.u", "user/Observation.rs"):
            with pytest.raises(KeyError):
                labels.data_label(unsupported)
        assert labels.in_language({"fr": "Bonjour", "en": "Hello"}) == "Bonjour"
