"""A lost phone without recovery codes (issue 18): after the right password, a code by post
to the insurer's address; announced by e-mail, cancellable from any signed-in session until
used, and then typed instead of the second factor, once."""

from __future__ import annotations

import re
from pathlib import Path

from babel.dates import format_date
from pypdf import PdfReader
from sqlalchemy import select

from domain import audit, factor_reset
from domain.clock import today as today_in_france
from domain.insured import find_by_nir, seal_field
from domain.models import AuditEvent, User
from domain.notify import Mailer
from extensions import db, keys
from tests.conftest import DEMO, csrf_from
from tests.html_checks import check_page

CAMILLE_NIR = "288037510802150"
ADDRESS = "4 place Bellecour, 69002 Lyon"


def _with_address(app) -> None:
    with app.app_context():
        person = find_by_nir(db.session, keys.ring, CAMILLE_NIR)
        seal_field(keys.ring, person, "address", ADDRESS)
        db.session.commit()


def _password_step(client):
    page = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={"csrf_token": csrf_from(page),
                                               "login": "camille.martin",
                                               "password": DEMO["camille.martin"].password})
    assert response.status_code == 303


def _ask_letter(client):
    page = client.get("/connexion/code-de-secours").get_data(as_text=True)
    return client.post("/connexion/courrier", data={"csrf_token": csrf_from(page)})


def _letter_code(client, code: str):
    page = client.get("/connexion/courrier-recu")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert check_page(html) == []
    return client.post("/connexion/courrier-recu",
                       data={"csrf_token": csrf_from(html), "code": code})


def _letters(app) -> list[Path]:
    folder = Path(app.config["OUTBOX_DIR"]) / "letters"
    return sorted(folder.glob("changement-telephone-*.pdf")) if folder.exists() else []


def test_without_a_postal_address_nothing_is_sent(app, demo_users):
    client = app.test_client()
    _password_step(client)
    response = _ask_letter(client)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Aucune adresse postale connue" in html
    assert check_page(html) == []
    assert not _letters(app)


def test_a_letter_is_printed_announced_and_its_code_signs_in_once(app, demo_users):
    _with_address(app)
    client = app.test_client()
    _password_step(client)
    response = _ask_letter(client)
    assert "Un courrier va vous être envoyé" in response.get_data(as_text=True)
    [letter] = _letters(app)
    text = " ".join(" ".join(page.extract_text().split())
                    for page in PdfReader(str(letter)).pages)
    assert "Camille Martin" in text and "Bellecour" in text
    code = re.search(r"\b([A-Z2-9]{5}-[A-Z2-9]{5})\b", text).group(1)
    announced = [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
                 if message["To"] == DEMO["camille.martin"].email][-1]
    assert "annulez ce courrier" in announced.get_body(("plain",)).get_content()
    assert code not in announced.get_body(("plain",)).get_content()
    # The letter arrives: the password, then its code instead of the phone's.
    later = app.test_client()
    _password_step(later)
    assert _letter_code(later, "AAAAA-BBBBB").status_code == 422
    done = _letter_code(later, code.lower())
    assert done.status_code == 303 and done.headers["Location"] == "/mon-compte/second-facteur"
    assert later.get("/mon-espace").status_code == 200
    again = app.test_client()
    _password_step(again)
    assert _letter_code(again, code).status_code == 422  # spent
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("%factor_reset%"))))
        assert {"account.factor_reset_requested", "auth.factor_reset_used"} <= set(actions)


def test_any_signed_in_session_can_cancel_a_letter_in_progress(app, signed_in):
    _with_address(app)
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        letter = factor_reset.request_letter(db.session, keys.ring, user,
                                             actor=audit.Actor())
        db.session.commit()
    owner = signed_in("camille.martin")
    page = owner.get("/mon-compte/sessions").get_data(as_text=True)
    assert "Un courrier pour changer de téléphone est en cours" in page
    # The day it was asked for (today, in Paris: the page says it in French).
    assert f"Demandé le {format_date(today_in_france(), 'd MMMM y', locale='fr')}" in page
    assert check_page(page) == []
    cancelled = owner.post("/mon-compte/courrier/annuler",
                           data={"csrf_token": csrf_from(page)})
    assert cancelled.status_code == 303
    assert "en cours" not in owner.get("/mon-compte/sessions").get_data(as_text=True)
    thief = app.test_client()
    _password_step(thief)
    assert _letter_code(thief, letter.code).status_code == 422


def test_wrong_letter_codes_meet_the_second_factors_waits(app, demo_users):
    client = app.test_client()
    _password_step(client)
    statuses = [_letter_code(client, f"AAAAA-BBBB{digit}").status_code for digit in "23456"]
    assert statuses == [422, 422, 422, 422, 429]
