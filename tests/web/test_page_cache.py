"""Public pages served from memory to visitors, and never anything of a person."""

from __future__ import annotations

import brotli
import pytest
from flask import make_response, render_template_string
from flask_wtf.csrf import generate_csrf

from tests.conftest import csrf_from, sign_in
from web.page_cache import EXTENSION, FORM_KEY_PLACE, Page, for_visitors, form_for_visitors

SENTINEL = b"<!doctype html><title>from memory</title>"


def _cache(app) -> dict:
    return app.extensions[EXTENSION]


def _mark_cached(app, path: str, language: str = "fr") -> None:
    """Replace a cached page by a sentinel: whoever gets the sentinel was served from
    memory."""
    _cache(app)[(path, language)] = Page(SENTINEL, [("Content-Type",
                                                     "text/html; charset=utf-8")])


def test_a_visitor_gets_the_page_rendered_once_per_language(app, client):
    first = client.get("/aide")
    assert first.status_code == 200 and ("/aide", "fr") in _cache(app)
    again = client.get("/aide", headers={"Accept-Encoding": "br"})
    assert again.headers["Content-Encoding"] == "br"
    assert brotli.decompress(again.get_data()) == first.get_data()
    # Served with the same security headers as a rendered page.
    for name in ("Content-Security-Policy", "Strict-Transport-Security", "X-Frame-Options",
                 "Cache-Control", "Referrer-Policy"):
        assert again.headers[name] == first.headers[name]
    assert again.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Accept-Encoding" in again.headers["Vary"]
    _mark_cached(app, "/aide")
    assert client.get("/aide").get_data() == SENTINEL
    english = app.test_client()
    english.set_cookie("carnet_lang", "en")
    body = english.get("/aide").get_data(as_text=True)
    assert ("/aide", "en") in _cache(app) and 'lang="en"' in body


def test_a_signed_in_person_never_gets_the_visitors_page(app, demo_users):
    visitor = app.test_client()
    assert "Se déconnecter" not in visitor.get("/").get_data(as_text=True)
    _mark_cached(app, "/")
    person = app.test_client()
    sign_in(person, app, "camille.martin")
    response = person.get("/")
    assert response.get_data() != SENTINEL and response.status_code == 200
    assert "Se déconnecter" in response.get_data(as_text=True)
    assert visitor.get("/").get_data() == SENTINEL


def test_a_query_string_or_any_cookie_but_the_language_bypasses_the_cache(app, client):
    client.get("/arnaques")
    _mark_cached(app, "/arnaques")
    assert client.get("/arnaques?notice=x").get_data() != SENTINEL
    # A visitor who saw a form carries a CSRF cookie: rendered for them, every time.
    client.get("/connexion")
    assert client.get_cookie(app.config["CSRF_COOKIE_NAME"]) is not None
    assert client.get("/arnaques").get_data() != SENTINEL
    assert app.test_client().get("/arnaques").get_data() == SENTINEL


def test_a_page_with_a_form_token_a_cookie_or_an_error_is_never_kept(app):
    with_token = for_visitors(lambda: render_template_string(
        '<form><input name="csrf_token" value="{{ csrf_token() }}"></form>'))
    with app.test_request_context("/essai/formulaire"):
        assert b"csrf_token" in make_response(with_token()).get_data()

    def setting_a_cookie():
        response = make_response("<p>bonjour</p>")
        response.set_cookie("x", "y")
        return response

    for path, view in (("/essai/cookie", for_visitors(setting_a_cookie)),
                       ("/essai/erreur", for_visitors(lambda: ("<p>non</p>", 404)))):
        with app.test_request_context(path):
            view()
    assert _cache(app) == {}


def test_an_unknown_easy_read_page_is_not_kept(app, client):
    assert client.get("/facile/inconnue").status_code == 404
    assert _cache(app) == {}
    assert client.get("/facile/inconnue").status_code == 404


def _login_token(html: str) -> str:
    return csrf_from(html)


def test_the_sign_in_form_is_kept_without_its_token_and_each_visitor_gets_their_own(
        app, demo_users):
    first, second = app.test_client(), app.test_client()
    page_one = first.get("/connexion").get_data(as_text=True)
    kept = _cache(app)[("/connexion", "fr")].body
    assert FORM_KEY_PLACE.encode() in kept and _login_token(page_one).encode() not in kept
    page_two = second.get("/connexion").get_data(as_text=True)
    token_one, token_two = _login_token(page_one), _login_token(page_two)
    assert token_one != token_two and FORM_KEY_PLACE not in page_two
    assert second.get_cookie(app.config["CSRF_COOKIE_NAME"]) is not None
    # Each token works for its own visitor only (the signed double-submit holds).
    wrong = {"login": "camille.martin", "password": "pas le bon"}
    assert second.post("/connexion", data={**wrong, "csrf_token": token_one}).status_code \
        == 400
    assert second.post("/connexion", data={**wrong, "csrf_token": token_two}).status_code \
        == 422
    # Coming back with the CSRF cookie: served from memory, with the token of that cookie.
    again = second.get("/connexion").get_data(as_text=True)
    assert second.post("/connexion", data={**wrong, "csrf_token": _login_token(again)}) \
        .status_code == 422
    sign_in(first, app, "camille.martin")  # a whole sign-in through a page from memory


def test_a_form_page_with_anything_else_of_the_request_is_not_kept(app):
    with app.test_request_context("/essai/formulaire-erreur"):
        for_form = form_for_visitors(lambda: (f"<form>{generate_csrf()}</form>", 422))
        for_form()
    with app.test_request_context("/essai/formulaire-session"):
        def with_state():
            from flask import session

            session["_activation"] = "x"
            return f"<form>{generate_csrf()}</form>"

        form_for_visitors(with_state)()
    assert _cache(app) == {}


def test_the_activation_code_page_comes_from_memory_and_htmx_is_rendered(app, client):
    client.get("/activation")
    assert ("/activation", "fr") in _cache(app)
    _cache(app)[("/activation", "fr")] = Page(b"<p>" + FORM_KEY_PLACE.encode() + b"</p>", [
        ("Content-Type", "text/html; charset=utf-8")])
    visitor = app.test_client()
    served = visitor.get("/activation").get_data(as_text=True)
    assert served.startswith("<p>") and FORM_KEY_PLACE not in served and len(served) > 40
    boosted = visitor.get("/activation", headers={"HX-Request": "true"})
    assert not boosted.get_data(as_text=True).startswith("<p>")


@pytest.mark.parametrize("path", ["/activation/opposition", "/activation/opposition/sans-code",
                                  "/activation/code-provisoire", "/mot-de-passe-oublie"])
def test_the_other_visitor_forms_are_kept_and_each_visitor_posts_with_their_own_token(
        app, demo_users, path):
    first, second = app.test_client(), app.test_client()
    page_one = first.get(path).get_data(as_text=True)
    assert FORM_KEY_PLACE.encode() in _cache(app)[(path, "fr")].body
    page_two = second.get(path).get_data(as_text=True)
    token_one, token_two = _login_token(page_one), _login_token(page_two)
    assert token_one != token_two and FORM_KEY_PLACE not in page_two
    assert second.post(path, data={"csrf_token": token_one}).status_code == 400
    refused = second.post(path, data={"csrf_token": token_two})
    assert refused.status_code == 422  # the form's own errors: the token was good
    assert "Erreur" in refused.get_data(as_text=True)


def test_the_menu_page_comes_from_memory_for_visitors_only(app, demo_users):
    visitor = app.test_client()
    assert "Se connecter" in visitor.get("/menu").get_data(as_text=True)
    assert ("/menu", "fr") in _cache(app)
    _mark_cached(app, "/menu")
    assert visitor.get("/menu").get_data() == SENTINEL
    person = app.test_client()
    sign_in(person, app, "camille.martin")
    page = person.get("/menu").get_data(as_text=True)
    assert "Documents" in page and "Se déconnecter" in page
