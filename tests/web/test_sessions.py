"""The server-side session (web/sessions.py): messages waiting for the next page are the
newest few, however many posts never loaded the page their redirect named."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from domain.models import User, WebSession
from extensions import db
from tests.conftest import csrf_from
from web.sessions import FLASHES, FLASHES_KEPT

SAVED = "La mesure est enregistrée."


def _waiting(app) -> list:
    with app.app_context():
        camille = db.session.scalars(select(User.id).where(
            User.login == "camille.martin")).one()
        rows = db.session.scalars(select(WebSession.data).where(
            WebSession.user_id == camille)).all()
        assert len(rows) == 1
        return json.loads(rows[0]).get(FLASHES, [])


def test_a_client_that_never_loads_the_next_page_keeps_only_the_newest_messages(
        app, signed_in):
    client = signed_in("camille.martin")
    token = csrf_from(client.get("/profil/mesures/poids").get_data(as_text=True))
    today = date.today()
    posts = FLASHES_KEPT + 7
    for value in range(60, 60 + posts):
        response = client.post("/profil/mesures/poids", data={
            "csrf_token": token, "value": str(value), "measured_on_day": str(today.day),
            "measured_on_month": str(today.month), "measured_on_year": str(today.year)})
        assert response.status_code == 303  # the redirect is not followed
    assert len(_waiting(app)) == FLASHES_KEPT
    page = client.get("/profil/mesures/poids").get_data(as_text=True)
    assert page.count(SAVED) == FLASHES_KEPT  # shown once each, then gone
    assert _waiting(app) == []
    assert f"{posts} mesures enregistrées" in page  # every measure was kept
