"""Links built once per endpoint (web/links.py): each still names the space the page is
in, the site's root, and its blueprint when relative."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, Flask
from markupsafe import escape
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


def _every_link(app) -> list[tuple[str, dict]]:
    """Each endpoint with a value for each of its arguments, plus one for the query."""
    wanted = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods or "POST" in rule.methods:
            values = {name: sorted(getattr(rule._converters[name], "items", ()))[0]
                      if hasattr(rule._converters[name], "items") else f"v{index}-x_{index}"
                      for index, name in enumerate(rule.arguments)}
            wanted.append((rule.endpoint, {**values, "suite": "2"}))
    return wanted


@pytest.mark.parametrize("space_id", [None, "space-123"])
def test_links_with_values_are_the_ones_flask_builds(app, space_id):
    from flask import g, url_for

    with app.test_request_context("/aide"):
        if space_id:
            g.space_id = space_id
        build = links.builder()
        checked = 0
        for endpoint, values in _every_link(app):
            expected = url_for(endpoint, **values)
            assert build(endpoint, **values) == expected  # the pattern is made
            assert build(endpoint, **values) == expected  # and filled in
            reordered = dict(reversed(list(values.items())))
            assert build(endpoint, **reordered) == url_for(endpoint, **reordered)
            checked += 1
        assert checked > 100
        for odd in ("/a b?c=d&e", "é", "..", "-1", "", "x/y", "a+b", "%41", "#x", "\n<'\">",
                    "!$'()*,/:;?@", 7, True, 3.5, ["a", "b"]):
            assert (build("pages.language", code="en", suivant=odd)
                    == url_for("pages.language", code="en", suivant=odd))
            assert (build("space.dashboard", space_id="abc", bascule=odd)
                    == url_for("space.dashboard", space_id="abc", bascule=odd))
        with pytest.raises(ValueError):
            build("pages.language", code="de", suivant="/aide")  # as Flask refuses it
        assert build("space.dashboard", space_id=None, bascule=1) == url_for(
            "space.dashboard", space_id=None, bascule=1)
        assert build("space.dashboard", space_id="zz-not-kept", bascule=1) == url_for(
            "space.dashboard", space_id="zz-not-kept", bascule=1)
        assert build("pages.help", _anchor="contact") == "/aide#contact"
        # Patterns only: no value given is kept.
        assert "v0-x_0" not in repr(app.extensions[links.EXTENSION])
        assert "x/y" not in repr(app.extensions[links.EXTENSION])
        assert "zz-not-kept" not in repr(app.extensions[links.EXTENSION])


def test_a_value_in_a_path_is_written_as_flask_writes_it(app):
    from flask import url_for

    with app.test_request_context("/aide"):
        build = links.builder()
        for value in ("plain-id", "with space", "a/b", "%2F", "<script>", "..", "-x", 12):
            assert build("space.dashboard", space_id=value) == url_for(
                "space.dashboard", space_id=value)


TOKENS = re.compile(r'<meta name="csrf-token" content="([^"]+)">.*?'
                    r'name="csrf_token" value="([^"]+)"', re.S)
LANGUAGE_LINK = re.compile(r'<a href="([^"]+)" lang="en" hreflang="en">')


def test_the_cached_header_gets_each_session_its_own_token(app, signed_in):
    first, second = signed_in("camille.martin"), signed_in("camille.martin")
    tokens = []
    for person in (first, second):
        meta, form = TOKENS.search(person.get("/documents").get_data(as_text=True)).groups()
        assert meta == form and "carnet-hole" not in meta
        tokens.append(meta)
    assert tokens[0] != tokens[1]  # the part is shared; the token is not
    # Each token is the one its session accepts (the sign-out form of the header).
    assert second.post("/deconnexion", data={"csrf_token": tokens[0]}).status_code == 400
    assert second.post("/deconnexion", data={"csrf_token": tokens[1]}).status_code == 303


def test_the_cached_header_comes_back_to_each_page_escaped(app, client, signed_in):
    person = signed_in("camille.martin")
    for path in ("/documents", "/profil", '/documents?tri="><script>x</script>'):
        page = person.get(path).get_data(as_text=True)
        href = LANGUAGE_LINK.search(page)[1]
        assert "<script>x" not in page and "carnet-hole" not in page
        with app.test_request_context():
            from flask import url_for
            assert href == str(escape(url_for("pages.language", code="en", suivant=path)))
    anonymous = client.get("/aide?x=1").get_data(as_text=True)
    assert LANGUAGE_LINK.search(anonymous)[1] == "/langue/en?suivant=/aide?x%3D1"


WARNING_FORM = re.compile(r'<div id="session-warning".*?name="csrf_token" value="([^"]+)">\s*'
                          r'<input type="hidden" name="suivant" value="([^"]*)">.*?'
                          r'name="csrf_token" value="([^"]+)">', re.S)


def test_the_cached_session_warning_gets_each_page_its_token_and_way_back(app, signed_in):
    first, second = signed_in("camille.martin"), signed_in("camille.martin")
    for person in (first, second):
        for path in ("/documents", '/profil?x="><script>y</script>&z=1'):
            page = person.get(path).get_data(as_text=True)
            extend, back, end = WARNING_FORM.search(page).groups()
            assert extend == end == TOKENS.search(page)[1]
            assert back == str(escape(path)) and "<script>y" not in page
    tokens = [WARNING_FORM.search(person.get("/documents").get_data(as_text=True))[1]
              for person in (first, second)]
    assert tokens[0] != tokens[1]
    # After a stay-signed-in (an htmx swap), the kept part is filled in as well.
    swapped = second.post("/session/prolonger", data={"csrf_token": tokens[1],
                                                       "suivant": "/agenda"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "carnet-hole" not in swapped
    # The same session's token, signed at this request's time (another second, at times).
    assert WARNING_FORM.search(swapped)[1].split(".")[0] == tokens[1].split(".")[0]


EXPIRED_URL = re.compile(r'data-session-expired-url="([^"]+)"')
EXTEND_FORM = re.compile(r'<form method="post" action="([^"]+)" hx-post="([^"]+)"')


def test_the_idle_warnings_addresses_follow_the_sites_root(signed_in):
    client = signed_in("camille.martin")
    for _ in range(2):  # made once per root, then reused: never mixed
        plain = client.get("/documents").get_data(as_text=True)
        rooted = client.get("/documents", environ_overrides={"SCRIPT_NAME": "/carnet"}
                            ).get_data(as_text=True)
        assert EXPIRED_URL.search(plain)[1] == "/connexion?raison=expiree"
        assert EXPIRED_URL.search(rooted)[1] == "/carnet/connexion?raison=expiree"
        assert EXTEND_FORM.search(plain).groups() == ("/session/prolonger",) * 2
        assert EXTEND_FORM.search(rooted).groups() == ("/carnet/session/prolonger",) * 2


def test_the_kept_layout_holds_nothing_of_a_person(app, signed_in):
    """The whole layout is kept per role, page, language and space (base.html): the
    person's name, her child's name in the space switch, her dashboard's greeting and her
    form token go in as holes, never into the kept text."""
    person = signed_in("camille.martin")
    dashboard = person.get("/mon-espace").get_data(as_text=True)
    token = TOKENS.search(dashboard)[1]
    assert "Bonjour Camille" in dashboard and "Espace de Léo" in dashboard
    for path in ("/documents", "/profil", "/agenda", "/mon-espace?bascule=1"):
        assert person.get(path).status_code == 200
    kept = "".join(app.extensions[links.PARTS].values())
    assert 'class="site-footer"' in kept and "carnet-hole-content" in kept
    for private in ("Camille", "Martin", "Léo", "Bonjour", token, token.split(".")[0]):
        assert private not in kept


def test_a_page_text_that_looks_like_a_mark_is_shown_as_written(app):
    """A page's content is put in the kept layout in one pass: a mark in it (a person may
    type anything) is never filled with a value of the request's."""
    from flask import render_template_string

    with app.test_request_context("/aide?suivant=x"):
        page = render_template_string(
            '{% extends "base.html" %}{% block title %}T{% endblock %}'
            "{% block content %}<p>carnet-hole-content carnet-hole-lang-en "
            "carnet-hole-title</p>{% endblock %}")
    assert "<p>carnet-hole-content carnet-hole-lang-en carnet-hole-title</p>" in page
    assert page.count("<title>") == 1 and page.count("carnet-hole") == 3


def test_the_kept_layout_is_bounded_in_size(app, signed_in, monkeypatch):
    person = signed_in("camille.martin")
    parts = app.extensions[links.PARTS]
    parts.clear()
    assert person.get("/documents").status_code == 200
    (page,) = parts.values()
    monkeypatch.setattr(links, "PARTS_CHARACTERS", len(page) * 2 + 10)
    for path in ("/profil", "/agenda", "/messagerie", "/documents"):
        assert person.get(path).status_code == 200
        assert parts.characters <= links.PARTS_CHARACTERS
        assert parts.characters == sum(len(text) for text in parts.values())
        assert 1 <= len(parts) <= 2
        # The parts cut at their marks go with them, and put back together make them.
        assert parts.pieces and parts.pieces.keys() <= parts.keys()
        assert all("".join(parts.pieces[key]) == links.HOLE.sub(r"\1", parts[key])
                   for key in parts.pieces)
