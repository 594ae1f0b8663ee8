"""Who may act in which space, over HTTP, for every route a represented space has: the
parent of this child, the parent of another child, a guardian, a former representative
(after the 18th birthday) — and every method of every /espace/<id>/… route."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from domain.models import Representation, Role, User
from domain.models.base import utcnow
from extensions import db, keys
from tests.conftest import csrf_from

FILLERS = {"document_id": "a" * 32, "item_id": "b" * 32, "entry_id": "c" * 32,
           "measure_id": "d" * 32, "conversation_id": "e" * 32, "attachment_id": "f" * 32,
           "slug": "allergies", "month": "2026-03", "filename": "x.ics",
           "connection_id": "a1" * 16}


def _person(login, given, born, **extra) -> User:
    wrapped = keys.ring.new_patient_key()
    user = User(role=Role.PATIENT, login=login, given_name=given, family_name="Essai",
                birth_date=born, wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version,
                **extra)
    db.session.add(user)
    db.session.flush()
    return user


@pytest.fixture
def families(app, demo_users):
    """Camille (Léo's parent, and guardian of Nina, an adult), Zoé's parent Paul, Marc under
    Paul's guardianship, and Emma, 20, whom Camille represented until her 18th
    birthday."""
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        leo = db.session.scalars(select(Representation.represented_id).where(
            Representation.representative_id == camille.id)).one()
        paul = _person(None, "Paul", date(1980, 1, 1))
        zoe = _person(None, "Zoé", date(2020, 6, 1))
        marc = _person(None, "Marc", date(1950, 2, 2))
        emma = _person(None, "Emma", date(2006, 5, 1))
        nina = _person(None, "Nina", date(1961, 7, 3))
        db.session.add_all([
            Representation(representative_id=paul.id, represented_id=zoe.id,
                           relationship="parent"),
            Representation(representative_id=paul.id, represented_id=marc.id,
                           relationship="tutelle"),
            Representation(representative_id=camille.id, represented_id=emma.id,
                           relationship="parent", ended_at=utcnow(), ended_reason="majority"),
            Representation(representative_id=camille.id, represented_id=nina.id,
                           relationship="tutelle")])
        db.session.commit()
        return {"leo": leo, "zoe": zoe.id, "marc": marc.id, "emma": emma.id, "nina": nina.id}


def _space_routes(app) -> list[tuple[str, str, str]]:
    """(method, path with {space}, endpoint) for every represented-space route."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/espace/"):
            continue
        values = {name: FILLERS[name] for name in rule.arguments if name != "space_id"}
        if "slug" in rule.arguments and "/mesures/" in rule.rule:
            values["slug"] = "poids"
        path = rule.build({**values, "space_id": "SPACE"})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path, rule.endpoint))
    return found


def test_every_route_refuses_a_space_one_does_not_act_in(app, signed_in, families):
    client = signed_in("camille.martin")
    token = csrf_from(client.get("/mon-espace").get_data(as_text=True))
    routes = _space_routes(app)
    assert len(routes) > 40
    # Another family's child, an adult one does not represent, a space one represented
    # until the 18th birthday, one's own id, an id that exists nowhere.
    camille_id = db_id(app, "camille.martin")
    for space in (families["zoe"], families["marc"], families["emma"], camille_id, "9" * 32):
        for method, path, _endpoint in routes:
            url = path.replace("SPACE", space)
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 404, (space, method, url, response.status_code)


def test_the_parent_and_the_guardian_reach_every_page(app, signed_in, families):
    pages = [path for method, path, _e in _space_routes(app)
             if method == "GET" and not re.search(r"/(a{32}|b{32}|c{32}|d{32}|e{32})", path)]
    assert len(pages) > 15
    camille = signed_in("camille.martin")
    for space in (families["leo"], families["nina"]):  # a parent's, a guardian's
        for path in pages:
            response = camille.get(path.replace("SPACE", space))
            # Advance directives are for adults (a child's page answers 404, as his own
            # would), the BMI-for-age curve for children
            # (the adult's BMI page sends to the measures, where an adult's BMI is).
            adult_only = space == families["leo"] and "directives" in path
            child_only = space == families["nina"] and "/mesures/imc" in path
            expected = 404 if adult_only else 302 if child_only else 200
            assert response.status_code == expected, (space, path, response.status_code)
    switch = camille.get("/mon-espace").get_data(as_text=True)
    assert "Espace de Léo" in switch and "Espace de Nina" in switch
    assert "Espace de Emma" not in switch and "Espace de Zoé" not in switch


def db_id(app, login: str) -> str:
    with app.app_context():
        return db.session.scalars(select(User.id).where(User.login == login)).one()
