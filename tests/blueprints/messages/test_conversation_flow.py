"""The whole messaging flow over HTTP, as a doctor and a patient would go through it: the
doctor writes (with a file), the patient is told by e-mail without the content, reads,
replies with htmx and without, keeps the attachment in the vault; the doctor closes the
conversation and the patient can no longer write."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from domain.models import Conversation, Document, Message, MessageAttachment, User
from domain.notify import Mailer
from extensions import db
from tests.blueprints.pro.test_patients import DOCTOR, PATIENT, declare, png, text, uid
from tests.conftest import csrf_from

SECRET = "Résultat de la prise de sang : fer bas"


def outbox_mails(app) -> list[tuple[str, str]]:
    """(subject, body) of the "new message" e-mails sent so far."""
    found = []
    for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent():
        if "nouveau message" in message["Subject"] or "vous a répondu" in message["Subject"]:
            found.append((message["Subject"], message.get_content()))
    return found


def start(doctor, app, patient_id: str, *, body: str = SECRET, files=None):
    page = doctor.get(f"/pro/patients/{patient_id}/ecrire")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "subject": "Vos analyses",
            "body": body}
    if files:
        data["files"] = files
    return doctor.post(f"/pro/patients/{patient_id}/ecrire", data=data,
                       content_type="multipart/form-data")


def test_doctor_writes_patient_reads_replies_and_keeps_the_file(app, signed_in):
    doctor = signed_in(DOCTOR)
    patient_id = declare(doctor, app)
    before = len(outbox_mails(app))
    response = start(doctor, app, patient_id,
                     files=[(io.BytesIO(png()), "analyse.png")])
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    conversation_url = response.headers["Location"]
    conversation_id = conversation_url.rsplit("/", 1)[1]
    mails = outbox_mails(app)[before:]
    assert len(mails) == 1
    subject, body = mails[0]
    assert "(Médecin)" in body or "(médecin)" in body, body
    assert SECRET not in body and "Vos analyses" not in body + subject
    with app.app_context():
        stored = db.session.scalars(select(Message)).one()
        assert SECRET.encode() not in stored.body_sealed

    patient = signed_in(PATIENT)
    inbox = patient.get("/messagerie").get_data(as_text=True)
    assert "Vos analyses" in inbox and "1 non lu" in text(inbox)
    page = patient.get(f"/messagerie/{conversation_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and SECRET in html and "analyse.png" in html
    assert "1 non lu" not in text(patient.get("/messagerie").get_data(as_text=True))

    # Without JavaScript: post-redirect-get to the new message.
    response = patient.post(f"/messagerie/{conversation_id}", data={
        "csrf_token": csrf_from(html), "body": "Merci docteur"},
        content_type="multipart/form-data")
    assert response.status_code == 303
    assert re.search(r"#message-\d+$", response.headers["Location"])
    # With htmx: only the new message and the announcement.
    response = patient.post(f"/messagerie/{conversation_id}", data={
        "csrf_token": csrf_from(html), "body": "Je prends rendez-vous"},
        headers={"HX-Request": "true", "HX-Target": "message-list"},
        content_type="multipart/form-data")
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "Je prends rendez-vous" in fragment
    assert "Message envoyé." in fragment and "<html" not in fragment
    assert len(fragment.encode()) <= 2048
    # An empty reply with htmx: the form comes back with its error, retargeted.
    response = patient.post(f"/messagerie/{conversation_id}", data={
        "csrf_token": csrf_from(html), "body": "   "},
        headers={"HX-Request": "true", "HX-Target": "message-list"},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#reply-form"
    assert "Écrivez votre message." in response.get_data(as_text=True)

    with app.app_context():
        attachment = db.session.scalars(select(MessageAttachment)).one()
        attachment_id = attachment.id
    download = patient.get(f"/messagerie/{conversation_id}/pieces/{attachment_id}")
    assert download.status_code == 200 and download.data.startswith(b"\x89PNG")
    saved = patient.post(f"/messagerie/{conversation_id}/pieces/{attachment_id}/enregistrer",
                         data={"csrf_token": csrf_from(html)})
    assert saved.status_code == 303
    with app.app_context():
        document = db.session.scalars(select(Document).where(
            Document.source == "message")).one()
        assert document.patient_id == uid(app)
        # The doctor wrote it: the vault says so (issue 17, item 7), with the message's day.
        doctor_id = db.session.scalars(select(User.id).where(User.login == "dr.bernard")).one()
        assert document.author_id == doctor_id and document.author_kind.value == "professional"
        document_id = document.id
    detail = patient.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "Julien Bernard (Médecin)" in detail and "Ajouté par vous" not in detail

    # The doctor sees the replies, then closes the conversation.
    doctor_page = doctor.get(f"/pro/messagerie/{conversation_id}").get_data(as_text=True)
    assert "Merci docteur" in doctor_page and "Je prends rendez-vous" in doctor_page
    close_page = doctor.get(f"/pro/messagerie/{conversation_id}/clore").get_data(as_text=True)
    assert doctor.post(f"/pro/messagerie/{conversation_id}/clore", data={
        "csrf_token": csrf_from(close_page)}).status_code == 303
    response = patient.post(f"/messagerie/{conversation_id}", data={
        "csrf_token": csrf_from(html), "body": "Encore une question"},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Encore une question" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Conversation, conversation_id).closed_at is not None
        assert db.session.query(Message).count() == 3
