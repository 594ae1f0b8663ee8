"""Links built once per endpoint (web/links.py): each still names the space the page is
in, the site's root, and its blueprint when relative."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, Flask
from sqlalchemy import select

from domain.models import Representation, User
from extensions import db
from web import links

NAV_LINK = re.compile(r'<nav class="main-nav".*?</nav>', re.S)


def _leo(app) -> str:
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        return db.session.scalars(select(Representation.represented_id).where(
            Representation.representative_id == camille.id)).one()


def _menu(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return NAV_LINK.search(response.get_data(as_text=True))[0]


def test_links_keep_the_space_the_page_is_in(app, signed_in):
    leo = _leo(app)
    client = signed_in("camille.martin")
    own = _menu(client, "/documents")
    assert 'href="/documents"' in own and "/espace/" not in own
    theirs = _menu(client, f"/espace/{leo}/documents")
    assert f'href="/espace/{leo}/documents"' in theirs
    assert f'href="/espace/{leo}/mon-espace"' in theirs
    assert _menu(client, "/documents") == own  # built once each, never mixed
    assert _menu(client, f"/espace/{leo}/documents") == theirs
    assert any(key[3] == leo for key in app.extensions[links.EXTENSION])


def test_links_keep_the_root_the_site_is_served_under(app, signed_in):
    client = signed_in("camille.martin")
    plain = _menu(client, "/documents")
    rooted = client.get("/documents", environ_overrides={"SCRIPT_NAME": "/carnet"})
    assert 'href="/carnet/documents"' in rooted.get_data(as_text=True)
    assert _menu(client, "/documents") == plain


def test_a_relative_endpoint_is_built_for_the_request_blueprint():
    app = Flask(__name__)
    for name in ("one", "two"):
        blueprint = Blueprint(name, __name__, url_prefix=f"/{name}")
        blueprint.add_url_rule("/page", "page", lambda: "")
        blueprint.add_url_rule("/link", "link", lambda: app.jinja_env.from_string(
            "{{ url_for('.page') }}").render())
        app.register_blueprint(blueprint)
    app.url_defaults(lambda endpoint, values: None)
    links.init_app(app)
    client = app.test_client()
    assert client.get("/one/link").get_data(as_text=True) == "/one/page"
    assert client.get("/two/link").get_data(as_text=True) == "/two/page"


def test_another_url_defaults_function_stops_the_start():
    app = Flask(__name__)
    app.url_defaults(lambda endpoint, values: None)
    app.url_defaults(lambda endpoint, values: values.setdefault("lang", "fr"))
    with pytest.raises(RuntimeError, match="must join the key"):
        links.init_app(app)


def test_the_layout_parts_follow_the_page_the_language_and_the_session(app, client,
                                                                       signed_in):
    visitor_footer = re.search(r"<footer.*?</footer>", client.get("/aide").get_data(
        as_text=True), re.S)[0]
    assert "sans activité" not in visitor_footer
    person = signed_in("camille.martin")
    documents = _menu(person, "/documents")
    assert re.search(r'href="/documents" aria-current="page"', documents)
    profile = _menu(person, "/profil")
    assert re.search(r'href="/profil" aria-current="page"', profile)
    assert 'href="/documents" aria-current' not in profile
    page = person.get("/documents").get_data(as_text=True)
    assert "vous êtes déconnecté après 15 minutes sans activité" in page
    person.set_cookie("carnet_lang", "en")
    english = person.get("/documents").get_data(as_text=True)
    assert "Main menu" in english and "Menu principal" not in english
    assert "minutes without activity" in english
    assert len(app.extensions[links.PARTS]) >= 5
