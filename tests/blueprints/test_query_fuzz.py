"""Hostile query strings on every GET view, for each kind of visitor: never a server error
(issue 13, item 5).

QUERY_PARAMETERS lists, for each GET view, the query parameters it reads (found with
`grep -rn "request.args\\|request.values" blueprints web`; a test below checks that the
list still covers the code). For each role, one test signs in once and runs a hypothesis
search inside it: each example sends one request per view, with generated values (text
with control characters, huge and negative numbers, dates at the edges of the calendar,
long strings, raw percent-encodings). In TESTING mode an exception in a view reaches the
test, so "no 5xx" covers crashes as well as 5xx answers; the body is read to the end, so
a streamed answer (CSV) that breaks midway fails too.

The suite empties the database before each test (tests/conftest.py:_clean): the data, the
sign-in and the client are made inside each test, and the hypothesis examples share them.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from domain import audit, care
from domain.demo import agenda as demo_agenda
from domain.demo import messages as demo_messages
from domain.demo import profile as demo_profile
from domain.models import Conversation, User
from extensions import db, keys
from tests.blueprints.documents.test_vault_pages import png, upload

ROOT = Path(__file__).resolve().parents[2]

# (path, parameters it reads, where they are read). {conversation} and {measure} are
# filled with the demo conversation and a measure kind with data.
QUERY_PARAMETERS = [
    ("/langue/en", ("suivant",), "blueprints/pages/views.py"),
    ("/connexion", ("suivant", "raison"), "blueprints/auth/views.py"),
    ("/connexion/code", ("suivant",), "blueprints/auth/views.py"),
    ("/acces", ("q",), "blueprints/access/views.py"),
    ("/acces/historique", ("onglet", "personne", "du", "au", "avant"),
     "blueprints/access/history.py"),
    ("/acces/historique.csv", ("onglet", "personne", "du", "au"),
     "blueprints/access/history.py"),
    ("/agenda", ("page",), "blueprints/agenda/views.py"),
    ("/agenda/passes", ("page",), "blueprints/agenda/views.py"),
    ("/agenda/ajouter", ("type",), "blueprints/agenda/views.py"),
    ("/documents", ("categorie", "q", "page"), "blueprints/documents/views.py"),
    ("/catalogue", ("categorie",), "blueprints/catalogue/views.py"),
    ("/messagerie", ("page",), "blueprints/messages/common.py"),
    ("/pro/messagerie", ("page",), "blueprints/messages/common.py"),
    ("/messagerie/{conversation}", ("avant",), "blueprints/messages/common.py"),
    ("/pro/messagerie/{conversation}", ("avant",), "blueprints/messages/common.py"),
    ("/profil/mesures/{measure}", ("page",), "blueprints/profile/measures.py"),
    ("/pro/patients/{patient}", ("page",), "blueprints/pro/patients.py"),
    ("/conseiller/bilan.csv", ("mois",), "blueprints/adviser/views.py"),
    ("/menu", ("espace",), "blueprints/pages/menu.py"),
    ("/accompagnement/inactivite.css", ("seconds",), "blueprints/adviser/handover.py"),
    ("/accompagnement/fin/" + "a" * 32, ("raison",), "blueprints/adviser/handover.py"),
]
ROLES = (None, "camille.martin", "dr.bernard", "conseil.durand")
READ = re.compile(r"request\.(?:args|values)(?:\.get\(|\[)\s*\"([^\"]+)\"")

# Known traps, sent to every parameter of every view on every run.
EDGE_VALUES = [
    "", "0", "-1", "2147483648", "9223372036854775808", "-9223372036854775809", "9" * 5000,
    "1.5", "²", "١٢", "0001-01-01", "9999-12-31", "2026-02-30", "moi", "directives",
    "a\x00b", "\r\n", "\x85\u2028\ufeff", "/\t/evil.example", "//evil", "/\\evil",
    "%", "é" * 300, "<script>'--", "a" * 10_000, "f" * 32,
]
NUMBERS = st.one_of(st.integers(), st.integers(min_value=-2**80, max_value=2**80),
                    st.integers(min_value=-10, max_value=10**6)).map(str)
DAYS = st.one_of(st.dates().map(date.isoformat),
                 st.sampled_from([date.min.isoformat(), date.max.isoformat()]))
LONG = st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=2),
                 st.integers(min_value=200, max_value=4000))
VALUES = st.one_of(
    st.sampled_from(EDGE_VALUES), NUMBERS, DAYS, LONG, st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0xA0), max_size=20),
)
# Encoded by the test (every value reaches the view as generated), or raw percent
# sequences that may not be valid UTF-8 (Werkzeug replaces what does not decode).
ENCODED = VALUES.map(lambda value: quote(value, safe=""))
RAW = st.from_regex(r"\A(%[0-9a-fA-F]{2}|%|[a-z0-9+/.:-]){0,24}\Z")
PIECES = st.one_of(ENCODED, ENCODED, RAW)


def query_strings(parameters: tuple[str, ...]):
    """A query string over the view's parameters: each absent, present once or twice."""
    def build(choices):
        return "&".join(f"{name}={value}" for name, values in zip(parameters, choices,
                                                                   strict=True)
                        for value in values)

    return st.tuples(*(st.lists(PIECES, max_size=2) for _ in parameters)).map(build)


def _seed(app, signed_in, login: str | None) -> dict[str, str]:
    """Data the views page through, for the visitors who see it: a conversation (patient
    and doctor), measures, agenda items and a document (patient)."""
    ids = {"conversation": "0" * 32, "measure": "poids", "patient": "0" * 32}
    if login not in ("camille.martin", "dr.bernard"):
        return ids
    if login == "camille.martin":
        assert upload(signed_in(login), png(), "genou.png").status_code == 303
    with app.app_context():
        today = date.today()
        demo_messages.seed_messages(db.session, keys.ring, "camille.martin", "dr.bernard")
        if login == "camille.martin":
            demo_profile.seed_profile(db.session, keys.ring, login, today)
            demo_agenda.seed_agenda(db.session, keys.ring, login, today)
        db.session.commit()
        ids["conversation"] = db.session.scalars(select(Conversation.id)).one()
        if login == "dr.bernard":  # Camille's page, her documents paged
            people = {user.login: user for user in db.session.scalars(
                select(User).where(User.login.in_(("camille.martin", "dr.bernard"))))}
            care.declare(db.session, keys.ring, people["dr.bernard"],
                         people["camille.martin"], audit.Actor(people["dr.bernard"].id))
            db.session.commit()
            ids["patient"] = people["camille.martin"].id
    return ids


def test_the_table_covers_every_query_parameter_read_in_the_code():
    table = {(where, name) for _path, names, where in QUERY_PARAMETERS for name in names}
    found = {(str(path.relative_to(ROOT)), name)
             for folder in ("blueprints", "web") for path in (ROOT / folder).rglob("*.py")
             for name in READ.findall(path.read_text(encoding="utf-8"))}
    assert found, "the search for request.args found nothing"
    assert found <= table, sorted(found - table)


def test_the_table_names_get_views(app):
    adapter = app.url_map.bind("")
    for path, _names, _where in QUERY_PARAMETERS:
        adapter.match(path.format(conversation="0" * 32, measure="poids", patient="0" * 32),
                      method="GET")


def _reachable(browser, routes, signed_in: bool):
    """The views that read their parameters for this visitor: not those the access gate
    refuses or sends to sign-in, nor, once signed in, the sign-in pages (they send the
    person home first)."""
    kept = []
    for path, names in routes:
        if signed_in and path.startswith("/connexion"):
            continue
        response = browser.get(path)
        refused = response.status_code == 403 or (
            response.status_code in (302, 303)
            and response.headers["Location"].startswith("/connexion")
            and not path.startswith("/connexion"))
        if not refused:
            kept.append((path, names))
    return kept


def _check(browser, path: str, query: str) -> None:
    response = browser.get(f"{path}?{query}")
    response.get_data()  # a streamed body runs to its end
    assert response.status_code < 500, (path, query[:200], response.status_code)


@pytest.mark.parametrize("login", ROLES, ids=lambda login: login or "anonymous")
def test_no_query_string_makes_a_server_error(app, client, signed_in, login):
    ids = _seed(app, signed_in, login)
    browser = signed_in(login) if login else client
    routes = _reachable(browser, [(path.format(**ids), names)
                                  for path, names, _where in QUERY_PARAMETERS],
                        signed_in=login is not None)
    # Every known trap in every parameter, on every run; then generated query strings.
    for value in EDGE_VALUES:
        for path, names in routes:
            _check(browser, path, "&".join(f"{name}={quote(value, safe='')}"
                                           for name in names))
    queries = st.tuples(*(query_strings(names) for _path, names in routes))

    @settings(deadline=None)
    @given(queries)
    def no_5xx(query_strings_of_routes):
        for (path, _names), query in zip(routes, query_strings_of_routes, strict=True):
            _check(browser, path, query)

    no_5xx()
