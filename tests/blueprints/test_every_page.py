"""Every page of every role, discovered from the URL map, passes the HTML checks."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.html_checks import check_page
from tests.qr_checks import QR_IMAGE_ENDPOINTS

SKIPPED_ENDPOINTS = {"assets.static_file", "pages.language", "apps.authorize",
                     *QR_IMAGE_ENDPOINTS}
# Pages that only exist in the middle of a flow; their own tests check them.
FLOW_ONLY = {"/connexion/code", "/activation/identite", "/activation/conditions",
             "/activation/coordonnees", "/activation/coordonnees/verification",
             "/activation/identifiants", "/activation/second-facteur",
             "/activation/recapitulatif", "/activation/termine",
             "/activation/opposition/confirmer", "/activation/opposition/attestation",
             "/activation/opposition/attestation.pdf",
             "/activation/reprise",       # a space handed over at 18 (test_takeover.py)
             "/accompagnement",           # an assisted session (tests/blueprints/adviser)
             "/profil/mesures/imc",       # a child's (test_growth_charts.py)
             "/connexion/premiere-fois",  # a set-up password (test_first_sign_in.py)
             "/connexion/code-de-secours",  # after the password (test_recovery_codes.py)
             "/mot-de-passe-oublie/code",  # a reset in progress (test_forgotten_password.py)
             "/mot-de-passe-oublie/nouveau",
             "/mon-compte/coordonnees/confirmer",  # a change in progress (test_contact.py)
             "/connexion/courrier-recu"}  # after the password (test_factor_reset.py)
FLOW_STARTS = ("/connexion", "/activation", "/mot-de-passe-oublie")
ROLES = (None, "camille.martin", "dr.bernard", "pharma.petit", "conseil.durand")
# Pages behind an argument that no flow reaches first: checked at a sample address.
SAMPLE_PATHS = {"catalogue.detail": "/catalogue/exemple-balance",
                # the consent page as an app sends the person to it
                "apps.authorize": "/oauth/autoriser?" + urlencode({
                    "response_type": "code", "client_id": "exemple-balance",
                    "redirect_uri": "http://127.0.0.1:8765/retour", "state": "x",
                    "scope": "patient/Observation.rs patient/Observation.c",
                    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                    "code_challenge_method": "S256"})}


def page_routes(app) -> list[str]:
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]
    return sorted([rule.rule for rule in rules
                   if not rule.arguments and rule.endpoint not in SKIPPED_ENDPOINTS]
                  + [SAMPLE_PATHS[rule.endpoint] for rule in rules
                     if rule.endpoint in SAMPLE_PATHS])


def test_the_route_list_is_not_empty(app):
    assert len(page_routes(app)) >= 15


@pytest.mark.parametrize("login", ROLES, ids=lambda login: login or "anonymous")
def test_every_page_passes_the_html_checks(app, signed_in, client, login):
    browser = signed_in(login) if login else client
    seen_ok = 0
    failures = {}
    for path in page_routes(app):
        response = browser.get(path)
        assert response.status_code in (200, 302, 303, 403), (path, response.status_code)
        if response.status_code in (302, 303):
            location = response.headers["Location"]
            # (the welcome page of an accompaniment sends anyone else to the home page)
            assert location.startswith(FLOW_STARTS) or login or (
                path == "/accompagnement" and location == "/"), path
            continue
        if response.mimetype != "text/html":
            continue
        problems = check_page(response.get_data(as_text=True))
        if problems:
            failures[path] = problems
        seen_ok += response.status_code == 200
    assert not failures
    assert seen_ok >= 5


def test_every_route_is_reachable_by_someone(app, signed_in, client):
    reached = set()
    for login in ROLES:
        browser = signed_in(login) if login else client
        reached |= {path for path in page_routes(app) if browser.get(path).status_code == 200}
    assert reached == set(page_routes(app)) - FLOW_ONLY


def test_error_pages_pass_the_checks(client, signed_in):
    response = client.get("/page-qui-n-existe-pas")
    assert response.status_code == 404
    assert check_page(response.get_data(as_text=True)) == []
    professional = signed_in("dr.bernard")
    response = professional.get("/documents")
    assert response.status_code == 403
    assert check_page(response.get_data(as_text=True)) == []


def test_english_pages_say_lang_en(client):
    client.get("/langue/en?suivant=/aide")
    response = client.get("/aide")
    assert check_page(response.get_data(as_text=True), expected_lang="en") == []


def test_a_failed_form_has_an_error_title_and_linked_summary(client, demo_users):
    from tests.conftest import csrf_from

    page = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={"csrf_token": csrf_from(page), "login": "",
                                               "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert check_page(html) == []
    assert "<title>Erreur :" in html
    assert 'href="#login"' in html and 'href="#password"' in html
    assert 'aria-invalid="true"' in html
