"""Opposition (with and without code), the proof PDF, provisional codes, closing a space."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from domain.demo import DEMO_ACTIVATION_CODE
from domain.models import InsuredPerson, SpaceStatus, User, WebSession
from domain.notify import Mailer
from extensions import db
from tests.blueprints.activation.test_activate_flow import post
from tests.conftest import csrf_from, last_sms_code

JEANNE_IDENTITY = {"nir": "254071305512392", "vitale": "34567890123", "birth_day": "02",
                   "birth_month": "07", "birth_year": "1954"}
PAUL_IDENTITY = {"nir": "167089201234508", "vitale": "45678901234", "birth_day": "21",
                 "birth_month": "8", "birth_year": "1967"}


def _person(app, given_names):
    with app.app_context():
        return db.session.execute(select(InsuredPerson).where(
            InsuredPerson.given_names == given_names)).scalar_one()


def _emails(app):
    return Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()


def test_opposing_with_the_code_spends_it_and_gives_a_proof(client, app, demo_users):
    response = post(client, "/activation/opposition", {"code": DEMO_ACTIVATION_CODE})
    assert response.headers["Location"] == "/activation/opposition/confirmer"
    page = client.get("/activation/opposition/confirmer").get_data(as_text=True)
    assert "changer d’avis" in page
    response = post(client, "/activation/opposition/confirmer", {})
    assert response.headers["Location"] == "/activation/opposition/attestation"
    done = client.get("/activation/opposition/attestation").get_data(as_text=True)
    reference = re.search(r"Référence : (OPP-[A-Z0-9]{10})", done).group(1)
    pdf = client.get("/activation/opposition/attestation.pdf")
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    reader = PdfReader(io.BytesIO(pdf.data))
    text = reader.pages[0].extract_text()
    assert reference in text and "Jeanne" in text
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "fr" and "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert _person(app, "Jeanne Marie").space_status == SpaceStatus.OPPOSED
    # E-mailed too, with the PDF attached, and never the code.
    message = _emails(app)[-1]
    assert message["To"] == "jeanne.dupont@example.org"
    assert any(part.get_filename() == "attestation-opposition.pdf"
               for part in message.iter_attachments())
    # The code can no longer be used.
    response = post(app.test_client(), "/activation", {"code": DEMO_ACTIVATION_CODE})
    assert response.status_code == 422


def test_opposing_without_the_code(client, app, demo_users):
    # Paul has no e-mail on file: recorded at once, the proof goes by post.
    wrong = dict(PAUL_IDENTITY, vitale="45678901235")
    response = post(client, "/activation/opposition/sans-code", wrong)
    assert response.status_code == 200 and "Demande de refus reçue" in response.get_data(
        as_text=True)
    assert _person(app, "Paul").space_status == SpaceStatus.PENDING
    response = post(client, "/activation/opposition/sans-code", PAUL_IDENTITY)
    assert response.status_code == 200 and "Demande de refus reçue" in response.get_data(
        as_text=True)
    paul = _person(app, "Paul")
    assert paul.space_status == SpaceStatus.OPPOSED
    letter = Path(app.config["OUTBOX_DIR"]) / "letters" / (
        f"opposition-{paul.opposition_reference}.pdf")
    assert letter.stat().st_mode & 0o777 == 0o600
    text = PdfReader(letter).pages[0].extract_text()
    assert "12 rue des Lilas" in text and paul.opposition_reference in text
    assert _emails(app) == []
    # Asking again changes nothing and posts no second letter.
    post(client, "/activation/opposition/sans-code", PAUL_IDENTITY)
    assert len(list(letter.parent.iterdir())) == 1
    assert _person(app, "Paul").opposition_reference == paul.opposition_reference


def test_an_active_space_cannot_be_opposed(client, app, demo_users):
    response = post(client, "/activation/opposition/sans-code", {
        "nir": "288037510802150", "vitale": "12345678901", "birth_day": "14",
        "birth_month": "3", "birth_year": "1988"})
    # The page says nothing of it (same answer as for anyone); the holder is told by e-mail.
    assert response.status_code == 200
    assert "déjà été activé" not in response.get_data(as_text=True)
    assert _person(app, "Camille").space_status == SpaceStatus.ACTIVE
    message = _emails(app)[-1]
    assert message["To"] == "camille.martin@example.org"
    assert "n’a rien changé" in message.get_body(("plain",)).get_content()


def test_the_provisional_code_answer_is_the_same_whether_or_not_anything_matched(
        client, app, demo_users):
    matched = post(client, "/activation/code-provisoire", JEANNE_IDENTITY)
    unknown = post(app.test_client(), "/activation/code-provisoire",
                   dict(JEANNE_IDENTITY, vitale="99999999"))
    assert matched.status_code == unknown.status_code == 200
    # No destination at all, not even masked (tests/blueprints/activation/test_oracles.py
    # compares every case byte for byte).
    for response in (matched, unknown):
        assert "***" not in response.get_data(as_text=True)
    sent = _emails(app)
    assert len(sent) == 1 and sent[0]["To"] == "jeanne.dupont@example.org"
    body = sent[0].get_body(("plain",)).get_content()
    code = re.search(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})", body).group(1)
    assert "http" not in body.split(code)[0].splitlines()[-1]
    assert f"={code}" not in body and code.replace("-", "") not in body.replace(code, "")
    assert "----" in body and "Your code" in body  # French then English
    response = post(app.test_client(), "/activation", {"code": code})
    assert response.headers["Location"] == "/activation/identite"


def test_provisional_codes_go_by_sms_when_no_email_is_on_file(client, app, demo_users):
    with app.app_context():
        person = db.session.execute(select(InsuredPerson).where(
            InsuredPerson.given_names == "Jeanne Marie")).scalar_one()
        person.email_sealed = None
        db.session.commit()
    response = post(client, "/activation/code-provisoire", JEANNE_IDENTITY)
    assert "** **" not in response.get_data(as_text=True)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", last_sms_code_like(app))


def last_sms_code_like(app) -> str:
    newest = sorted((Path(app.config["OUTBOX_DIR"]) / "sms").iterdir())[-1].read_text()
    return re.search(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})", newest).group(1)


def test_provisional_requests_are_limited_per_person(client, app, demo_users):
    for _ in range(4):
        post(app.test_client(), "/activation/code-provisoire", JEANNE_IDENTITY)
    assert len(_emails(app)) == 3


def test_closing_a_space_then_reopening_it(app, signed_in, demo_users):
    client = signed_in("camille.martin")
    archive = client.get("/mon-compte/export.zip")
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        assert "Camille" in zipped.read("mon-espace/identite.json").decode()
    response = post(client, "/mon-compte/fermer", {"retention": "archive",
                                                   "password": "mauvais mot de passe",
                                                   "understood": "oui"})
    assert response.status_code == 422 and "Mot de passe incorrect" in response.get_data(
        as_text=True)
    response = post(client, "/mon-compte/fermer", {"retention": "archive",
                                                   "password": "Pivoine-Lanterne-2026",
                                                   "understood": "oui"})
    assert response.headers["Location"] == "/espace-ferme"
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    camille = _person(app, "Camille")
    assert camille.space_status == SpaceStatus.CLOSED
    assert camille.purge_after.year - 10 >= 2026
    with app.app_context():
        user = db.session.get(User, camille.user_id)
        assert not user.enabled and user.wrapped_key is not None
        assert db.session.execute(select(WebSession).where(
            WebSession.user_id == user.id)).first() is None
    # The password step answers as for an open space; only after the second factor is the
    # person told that the space is closed (tests/blueprints/auth/test_closed_space.py).
    other = app.test_client()
    page = other.get("/connexion").get_data(as_text=True)
    response = other.post("/connexion", data={"csrf_token": csrf_from(page),
                                              "login": "camille.martin",
                                              "password": "Pivoine-Lanterne-2026"})
    assert response.status_code == 303
    assert other.get("/mon-espace").status_code != 200
    # A provisional code reopens it, restoring the same space.
    post(other, "/activation/code-provisoire", {
        "nir": "288037510802150", "vitale": "12345678901", "birth_day": "14",
        "birth_month": "3", "birth_year": "1988"})
    body = _emails(app)[-1].get_body(("plain",)).get_content()
    code = re.search(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})", body).group(1)
    assert post(other, "/activation", {"code": code}).status_code == 303
    assert post(other, "/activation/identite", {
        "nir": "288037510802150", "birth_day": "14", "birth_month": "3",
        "birth_year": "1988"}).status_code == 303
    assert _person(app, "Camille").user_id == camille.user_id
    assert last_sms_code  # the rest of the flow is the same as a first activation
