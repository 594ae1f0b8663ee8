"""My sessions: listing, ending another one (with and without htmx), others' ids."""

from __future__ import annotations

import re

from sqlalchemy import select

from domain.models import AuditEvent, WebSession
from extensions import db
from tests.conftest import csrf_from
from tests.html_checks import check_page


def _other_session_id(app, page: str) -> str:
    ids = set(re.findall(r"/mon-compte/sessions/([0-9a-f]{32})/terminer", page))
    assert len(ids) == 1
    return ids.pop()


def test_sessions_are_listed_with_the_current_one_marked(signed_in):
    first = signed_in("camille.martin")
    signed_in("camille.martin")
    page = first.get("/mon-compte/sessions").get_data(as_text=True)
    assert "2 sessions actives" in page
    assert "cet appareil" in page
    assert check_page(page) == []


def test_ending_another_session_signs_that_device_out(signed_in, app):
    first = signed_in("camille.martin")
    second = signed_in("camille.martin")
    page = first.get("/mon-compte/sessions").get_data(as_text=True)
    session_id = _other_session_id(app, page)
    response = first.post(f"/mon-compte/sessions/{session_id}/terminer",
                          data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    assert "La session a été terminée." in first.get("/mon-compte/sessions").get_data(as_text=True)
    assert second.get("/mon-espace").status_code == 302
    with app.app_context():
        assert db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "auth.session_ended")).scalar_one().target_id == session_id


def test_the_htmx_request_gets_only_the_list_and_a_live_message(signed_in, app):
    first = signed_in("camille.martin")
    signed_in("camille.martin")
    page = first.get("/mon-compte/sessions").get_data(as_text=True)
    session_id = _other_session_id(app, page)
    response = first.post(f"/mon-compte/sessions/{session_id}/terminer",
                          headers={"HX-Request": "true", "HX-Target": "session-list",
                                   "X-CSRFToken": csrf_from(page)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<section id="session-list"')
    assert "<html" not in html and "1 session active" in html
    assert '<div id="live-region" hx-swap-oob="innerHTML">La session a été terminée.</div>' in html


def test_someone_elses_session_id_answers_404(signed_in, app):
    patient = signed_in("camille.martin")
    signed_in("dr.bernard")
    with app.app_context():
        doctor_session = db.session.execute(select(WebSession).where(
            WebSession.user_id.is_not(None))).scalars().all()
    page = patient.get("/mon-compte/sessions").get_data(as_text=True)
    own = re.findall(r"/mon-compte/sessions/([0-9a-f]{32})/terminer", page)
    others = [record.id for record in doctor_session if record.id not in own]
    for other in others + ["0" * 32]:
        response = patient.post(f"/mon-compte/sessions/{other}/terminer",
                                data={"csrf_token": csrf_from(page)})
        assert response.status_code in (400, 404)
    with app.app_context():
        assert len(db.session.execute(select(WebSession).where(
            WebSession.user_id.is_not(None))).all()) == 2
