"""Public pages served from memory to visitors, and never anything of a person."""

from __future__ import annotations

import brotli
from flask import make_response, render_template_string

from tests.conftest import sign_in
from web.page_cache import EXTENSION, Page, for_visitors

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
