"""Signing in to a closed space: the person who proves both factors learns that the space is
closed and how to reopen it; anyone else gets the answers an open space would give."""

from __future__ import annotations

from sqlalchemy import select

from domain import audit, closing
from domain.models import AuditEvent, User
from domain.models.base import utcnow
from extensions import db, keys
from tests.conftest import DEMO, csrf_from, next_totp
from tests.html_checks import check_page

CLOSED_SENTENCE = "cet espace santé a été fermé"


def _close(app, login: str) -> None:
    with app.app_context():
        user = db.session.execute(select(User).where(User.login == login)).scalar_one()
        closing.close_space(db.session, keys.ring, user, delete_now=False, now=utcnow(),
                            actor=audit.Actor(user_id=user.id))
        db.session.commit()


def _password_step(client, login: str, password: str):
    page = client.get("/connexion").get_data(as_text=True)
    return client.post("/connexion", data={"csrf_token": csrf_from(page), "login": login,
                                           "password": password})


def _code_step(client, code: str):
    page = client.get("/connexion/code").get_data(as_text=True)
    return client.post("/connexion/code", data={"csrf_token": csrf_from(page), "code": code})


def test_both_factors_right_on_a_closed_space_say_it_is_closed_and_how_to_reopen(
        app, client, demo_users):
    _close(app, "camille.martin")
    response = _password_step(client, "camille.martin", DEMO["camille.martin"].password)
    assert response.status_code == 303 and response.headers["Location"].startswith(
        "/connexion/code")  # what an open space answers: nothing told yet
    response = _code_step(client, next_totp(app, "camille.martin"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and check_page(html) == []
    assert CLOSED_SENTENCE in html and 'href="/activation/code-provisoire"' in html
    # No session opened: the space stays out of reach, and the pending sign-in is gone.
    assert client.get("/mon-espace").status_code in (302, 303)
    assert client.get("/connexion/code").headers["Location"].startswith("/connexion")
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "auth.login_failed" in actions and "auth.login" not in actions


def test_a_closed_space_is_never_revealed_before_both_factors(app, demo_users):
    _close(app, "camille.martin")
    closed, unknown = app.test_client(), app.test_client()
    wrong = _password_step(closed, "camille.martin", "mauvais mot de passe")
    nobody = _password_step(unknown, "personne.inconnue", "mauvais mot de passe")
    assert wrong.status_code == nobody.status_code == 422
    assert wrong.get_data(as_text=True).count("Identifiant ou mot de passe incorrect") == \
        nobody.get_data(as_text=True).count("Identifiant ou mot de passe incorrect") > 0
    assert CLOSED_SENTENCE not in wrong.get_data(as_text=True)
    # The right password but a wrong code: the usual wrong-code answer, nothing more.
    assert _password_step(closed, "camille.martin",
                          DEMO["camille.martin"].password).status_code == 303
    response = _code_step(closed, "000000")
    assert response.status_code == 422
    assert CLOSED_SENTENCE not in response.get_data(as_text=True)
    assert "Ce code ne fonctionne pas" in response.get_data(as_text=True)
