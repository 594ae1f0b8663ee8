"""At 18 the space the parents kept becomes the young adult's (issue 15): the code that the
majority job sends them leads, after their identity, to a choice: take the space over
(the usual steps: their own login, password and second factor) or close it (archived 10
years, or deleted now). The code's e-mail and letter say so, not "activate or refuse"."""

from __future__ import annotations

import email
import email.policy
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader
from sqlalchemy import select

from domain import activation, audit, insured, representation
from domain.closing import ARCHIVE_YEARS
from domain.errors import NotAllowed
from domain.models import ActivationCode, AuditEvent, SpaceStatus, User
from domain.models.base import utcnow
from extensions import db, keys
from tests.blueprints.activation.test_activate_flow import post
from tests.conftest import csrf_from
from tests.domain.test_care import LEO_NIR
from tests.html_checks import check_page
from web import cli_representation

TODAY = date.today()
EIGHTEEN_TODAY = date(TODAY.year - 18, TODAY.month, min(TODAY.day, 28))


def hand_leos_space_over(app) -> str:
    """Léo turns 18 today: his parents' representation ends and a code is issued to him."""
    with app.app_context():
        person = insured.find_by_nir(db.session, keys.ring, LEO_NIR)
        leo = db.session.get(User, person.user_id)
        person.birth_date = leo.birth_date = EIGHTEEN_TODAY
        grown = representation.end_at_majority(db.session, keys.ring, TODAY, audit.Actor())
        assert [item.person.id for item in grown] == [leo.id]
        issued = representation.hand_over(db.session, keys.ring, leo, utcnow())
        assert issued.takeover and not issued.for_representative
        db.session.commit()
        return issued.code


def identity(client, code: str):
    assert post(client, "/activation", {"code": code}).status_code == 303
    return post(client, "/activation/identite", {
        "nir": LEO_NIR, "birth_day": str(EIGHTEEN_TODAY.day),
        "birth_month": str(EIGHTEEN_TODAY.month), "birth_year": str(EIGHTEEN_TODAY.year)})


def close(client, data: dict):
    """The second form of the takeover page, sent with the page's CSRF token."""
    token = csrf_from(client.get("/activation/reprise").get_data(as_text=True))
    return client.post("/activation/reprise/fermer", data={"csrf_token": token, **data})


def test_after_his_identity_the_young_adult_chooses_to_take_over(client, app, demo_users):
    response = identity(client, hand_leos_space_over(app))
    assert response.headers["Location"] == "/activation/reprise"
    html = client.get("/activation/reprise").get_data(as_text=True)
    assert check_page(html) == []
    page = BeautifulSoup(html, "html.parser")
    assert page.h1.get_text(strip=True) == "Votre espace est maintenant le vôtre"
    assert "Étape 3 sur 9" in page.select_one("p.step").get_text()
    assert [form["action"] for form in page.select("main form")] == [
        "/activation/reprise", "/activation/reprise/fermer"]
    assert page.find("a", string="Je ne veux pas de cet espace")["href"] == (
        "/activation/reprise#close-title")  # not the opposition, which would be refused
    assert post(client, "/activation/reprise", {}).headers["Location"] == (
        "/activation/conditions")
    terms = client.get("/activation/conditions").get_data(as_text=True)
    assert "Étape 4 sur 9" in terms


def test_or_closes_it_archived_for_ten_years(client, app, demo_users):
    identity(client, hand_leos_space_over(app))
    refused = close(client, {})
    assert refused.status_code == 422 and check_page(refused.get_data(as_text=True)) == []
    errors = [a.get_text(" ", strip=True) for a in BeautifulSoup(
        refused.get_data(as_text=True), "html.parser").select(".error-summary a")]
    assert errors == ["Choisissez ce que deviennent vos données.",
                      "Cochez la case pour confirmer que vous avez compris."]
    with app.app_context():
        assert insured.find_by_nir(db.session, keys.ring, LEO_NIR).space_status == (
            SpaceStatus.AUTO_CREATED)  # nothing done on a refused form
    closed = close(client, {"retention": "archive", "understood": "oui"})
    assert closed.headers["Location"] == "/espace-ferme"
    with app.app_context():
        person = insured.find_by_nir(db.session, keys.ring, LEO_NIR)
        leo = db.session.get(User, person.user_id)
        assert person.space_status == SpaceStatus.CLOSED and not leo.enabled
        assert leo.wrapped_key is not None  # archived: the key is kept
        assert person.purge_after.year - person.status_changed_at.year == ARCHIVE_YEARS
        assert [code.spent_reason for code in db.session.scalars(select(ActivationCode).where(
            ActivationCode.insured_id == person.id))] == ["closed"]
        assert db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_id == person.id, AuditEvent.action == "activation.closed")).all()
    # The flow is over: the code no longer opens anything.
    assert client.get("/activation/reprise").headers["Location"].startswith("/activation")


def test_closing_now_destroys_the_key(client, app, demo_users):
    identity(client, hand_leos_space_over(app))
    closed = close(client, {"retention": "delete", "understood": "oui"})
    assert closed.headers["Location"] == "/espace-ferme"
    with app.app_context():
        person = insured.find_by_nir(db.session, keys.ring, LEO_NIR)
        assert person.space_status == SpaceStatus.CLOSED
        assert db.session.get(User, person.user_id).wrapped_key is None


def test_an_ordinary_code_cannot_close_a_space(client, app, demo_users):
    """A space that was never handed over has no takeover step and cannot be closed
    through activation (the code of a child's space goes to the parents)."""
    with app.app_context():
        person = insured.find_by_nir(db.session, keys.ring, LEO_NIR)
        assert not activation.handed_over(db.session, person)
        activation.issue_code(db.session, keys.ring, person, utcnow())
        record = db.session.scalars(select(ActivationCode).where(
            ActivationCode.insured_id == person.id)).one()
        with pytest.raises(NotAllowed):
            activation.close_handed_over(db.session, keys.ring, record, utcnow(),
                                         audit.Actor(), delete_now=True)


def _majority(app, monkeypatch):
    for module in (representation, cli_representation):  # 14 May 2037 in Paris
        monkeypatch.setattr(module, "utcnow", lambda: datetime(2037, 5, 13, 22, 0, tzinfo=UTC))
    return app.test_cli_runner().invoke(args=["representation", "majority"])


def test_the_takeover_code_by_email_says_what_it_is_for(app, demo_users, monkeypatch):
    with app.app_context():
        person = insured.find_by_nir(db.session, keys.ring, LEO_NIR)
        insured.seal_field(keys.ring, person, "email", "leo.martin@example.org")
        db.session.commit()
    outbox = Path(app.config["OUTBOX_DIR"]) / "email"
    before = set(outbox.iterdir()) if outbox.exists() else set()
    result = _majority(app, monkeypatch)
    assert "0 code(s) to take the space over by post." in result.output, result.output
    mails = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
             for path in set(outbox.iterdir()) - before]
    (mail,) = [mail for mail in mails if mail["To"] == "leo.martin@example.org"]
    body = " ".join(mail.get_body(("plain",)).get_content().split())
    assert mail["Subject"].startswith("Votre espace santé est maintenant le vôtre")
    assert "que vos parents géraient pour vous, est maintenant le vôtre" in body
    assert "choisissez « Fermer mon espace »" in body and "archivé 10 ans" in body
    assert "refuser sa création" not in body
    code = re.search(r"Votre code : ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})", body)
    assert code is not None


def test_the_takeover_letter_says_what_it_is_for(app, demo_users, monkeypatch):
    result = _majority(app, monkeypatch)
    letters = Path(re.search(r"Letters for the post: (\S+)", result.output).group(1))
    (text,) = [" ".join(page.extract_text().split())
               for page in PdfReader(io.BytesIO(letters.read_bytes())).pages]
    assert "est maintenant le vôtre" in text and "Fermer mon espace" in text
    assert "refuser sa création" not in text
    assert EIGHTEEN_TODAY < TODAY - timedelta(days=365 * 17)
