"""The messaging pages under attack, over HTTP (SECURITY.md "Access control", "Requests and
responses", "Uploads"): someone else's, random and malformed ids answer 404 everywhere and
the refusal is audited; a professional who is not the conversation's, or whom the patient
blocked, gets nothing; an attachment is only reachable under its own conversation; every
POST needs its CSRF token; markup comes back escaped and control or direction characters
are dropped; too-long texts and hostile files are refused with the typed text given back;
each role stays out of the other's routes; a patient never starts a conversation nor
attaches another patient's document; downloads are attachments, never stored, sandboxed."""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from domain import audit, care, emergency, messaging, passwords, vault
from domain.auth import set_totp_secret
from domain.models import (
    AuditEvent,
    Category,
    Conversation,
    Document,
    Message,
    MessageAttachment,
    Role,
    SecondFactor,
    User,
)
from domain.models.base import utcnow
from domain.policy import Area
from extensions import blobs, db, keys
from tests import audit_trail
from tests.blueprints.messages.test_conversation_flow import outbox_mails
from tests.blueprints.pro.test_exclusion import PASSWORD, sign_in_as
from tests.blueprints.pro.test_patients import DOCTOR, PATIENT, PHARMACIST, declare, text
from tests.conftest import csrf_from
from tests.domain.test_uploads import declared_png, docx_bytes, javascript, pdf_bytes, png_bytes

ACTOR = audit.Actor(ip="127.0.0.1")
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SUBJECT = "Vos résultats d’analyse"
BODY = "Votre ferritine est un peu basse."
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


# --- the world -------------------------------------------------------------------------------

@dataclass
class World:
    camille: str
    bernard: str
    conversation: str
    attachment: str
    other_patient: str = ""
    other_conversation: str = ""
    other_attachment: str = ""
    other_document: str = ""
    other_secret: str = ""


def _user(login: str) -> User:
    return db.session.scalars(select(User).where(User.login == login)).one()


def patient_account(app, login: str = "autre.patiente") -> tuple[str, str]:
    """A second patient who signs in with PASSWORD and TOTP: (id, TOTP secret)."""
    secret = pyotp.random_base32()
    with app.app_context():
        wrapped = keys.ring.new_patient_key()
        user = User(role=Role.PATIENT, login=login, given_name="Inès", family_name="Autre",
                    password_hash=passwords.hash_password(PASSWORD, "fast"),
                    second_factor=SecondFactor.TOTP, email=f"{login}@example.org",
                    wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)
        db.session.add(user)
        db.session.flush()
        set_totp_secret(keys.ring, user, secret)
        db.session.commit()
        return user.id, secret


def _attach(message: Message, patient: User, tmp_path, content: bytes = b"ferritine 9",
            file_name: str = "bilan.txt") -> MessageAttachment:
    path = tmp_path / secrets.token_hex(6)
    path.write_bytes(content)
    return messaging.attach_file(db.session, keys.ring, blobs.store, message, patient,
                                 path=path, size=len(content), kind="txt",
                                 mimetype="text/plain; charset=utf-8", file_name=file_name)


def build(app, tmp_path, *, other: bool = False) -> World:
    """Dr Bernard (declared) wrote to Camille with a file; with `other`, to another
    patient too, who also has a document of her own in her vault."""
    with app.app_context():
        camille, bernard = _user(PATIENT), _user(DOCTOR)
        care.declare(db.session, keys.ring, bernard, camille, ACTOR)
        conversation, message = messaging.start(db.session, keys.ring, bernard, camille,
                                                subject=SUBJECT, body=BODY, actor=ACTOR)
        attachment = _attach(message, camille, tmp_path)
        db.session.commit()
        world = World(camille.id, bernard.id, conversation.id, attachment.id)
    if other:
        world.other_patient, world.other_secret = patient_account(app)
        with app.app_context():
            stranger, bernard = db.session.get(User, world.other_patient), _user(DOCTOR)
            care.declare(db.session, keys.ring, bernard, stranger, ACTOR)
            theirs, message = messaging.start(db.session, keys.ring, bernard, stranger,
                                              subject="Objet de l’autre patiente",
                                              body="Corps de l’autre patiente", actor=ACTOR)
            world.other_conversation = theirs.id
            world.other_attachment = _attach(message, stranger, tmp_path, b"autre",
                                             "autre.txt").id
            path = tmp_path / "autre-document"
            path.write_bytes(b"document de l'autre patiente")
            world.other_document = vault.add_document(
                db.session, keys.ring, blobs.store, patient=stranger, author=stranger,
                path=path, size=path.stat().st_size, kind="txt",
                mimetype="text/plain; charset=utf-8", file_name="autre.txt",
                title="Document de l’autre patiente", category=Category.OTHER,
                document_date=utcnow().date(), hidden=False, source="test", actor=ACTOR).id
            db.session.commit()
    return world


def token(client) -> str:
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, "no CSRF token once signed in"
    return match.group(1)


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Conversation, Message, MessageAttachment, Document)}


def blob_keys(app) -> set[str]:
    with app.app_context():
        return set(blobs.store.keys())


def last_seq(app) -> dict[int, int]:
    with app.app_context():
        return audit_trail.mark(db.session)


def events_since(app, seq: dict[int, int], action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        found = audit_trail.since(db.session, seq, action)
        db.session.expunge_all()
        return found


def refused_and_audited(app, client, method: str, path: str, data=None, *, actor_id: str,
                        action: str = "message.read", target: str | None = None,
                        subject: str | None = None) -> list[str]:
    """One request that must answer 404 and leave exactly one denial by this person."""
    seq = last_seq(app)
    response = (client.get(path) if method == "GET" else
                client.post(path, data=data, content_type="multipart/form-data"))
    problems = []
    if response.status_code != 404:
        problems.append(f"{method} {path}: {response.status_code}")
    mine = [(event.outcome, event.target_id, event.subject_id)
            for event in events_since(app, seq, action) if event.actor_id == actor_id]
    want = [("denied", target, subject)] if target is not None else None
    if (want and mine != want) or (not want and [m[0] for m in mine] != ["denied"]):
        problems.append(f"{method} {path}: {action} events {mine}")
    return problems


def message_bodies(app, conversation_id: str) -> list[str]:
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        patient = db.session.get(User, conversation.patient_id)
        items, _older = messaging.messages(db.session, keys.ring, patient, conversation)
        return [item.body for item in items]


def no_live_markup(html: str) -> list[str]:
    """Elements or attributes a payload would have created if it came back unescaped."""
    soup = BeautifulSoup(html, "html.parser")
    problems = [f"script {tag}" for tag in soup.find_all("script") if "alert" in tag.text]
    problems += [f"img {tag}" for tag in soup.find_all("img") if tag.get("src") == "x"]
    problems += [f"onerror {tag.name}" for tag in soup.find_all(attrs={"onerror": True})]
    if SCRIPT in html or "<img src=x" in html:
        problems.append("raw payload in the page")
    return problems


def reply(client, conversation_id: str, data: dict, *, pro: bool = False, htmx=False):
    prefix = "/pro/messagerie" if pro else "/messagerie"
    headers = {"HX-Request": "true", "HX-Target": "message-list"} if htmx else None
    return client.post(f"{prefix}/{conversation_id}", data=data, headers=headers,
                       content_type="multipart/form-data")


def digits_joined(html: str) -> str:
    """The page's text with numbers' group separators removed ("5 000" -> "5000"), so a
    message reads the same whichever way the locale groups digits."""
    return re.sub(r"(?<=\d)[ \u00a0\u202f](?=\d)", "", text(html))


def write(client, patient_id: str, data: dict):
    return client.post(f"/pro/patients/{patient_id}/ecrire", data=data,
                       content_type="multipart/form-data")


# --- other people's ids ----------------------------------------------------------------------

def test_other_random_and_malformed_ids_answer_404_on_every_patient_route(app, signed_in,
                                                                          tmp_path):
    world = build(app, tmp_path, other=True)
    camille = signed_in(PATIENT)
    csrf = token(camille)
    before, blobs_before = counts(app), blob_keys(app)
    random_id = secrets.token_hex(16)
    problems = []
    # (conversation id, attachment id, the subject the denial names)
    for conversation_id, attachment_id, subject in (
            (world.other_conversation, world.other_attachment, world.other_patient),
            (random_id, secrets.token_hex(16), None),
            (world.other_conversation.upper(), world.other_attachment, None),
            ("pas-un-identifiant", world.attachment, None),
            (world.conversation[:31], world.attachment, None),
            ("0" * 200, world.attachment, None)):
        base = f"/messagerie/{conversation_id}"
        target = conversation_id[:64]
        for method, path, data in (
                ("GET", base, None),
                ("GET", f"{base}?avant=1", None),
                ("POST", base, {"csrf_token": csrf, "body": "Intrusion"}),
                ("GET", f"{base}/pieces/{attachment_id}", None),
                ("POST", f"{base}/pieces/{attachment_id}/enregistrer", {"csrf_token": csrf})):
            problems += refused_and_audited(app, camille, method, path, data,
                                            actor_id=world.camille, target=target,
                                            subject=subject)
    assert not problems, "\n".join(problems)
    # A slash in the id never reaches the view.
    assert camille.get(f"/messagerie/../{world.other_conversation}").status_code == 404
    assert counts(app) == before and blob_keys(app) == blobs_before
    assert message_bodies(app, world.other_conversation) == ["Corps de l’autre patiente"]
    inbox = text(camille.get("/messagerie").get_data(as_text=True))
    assert "autre patiente" not in inbox and SUBJECT in inbox


def test_the_other_patient_gets_404_on_camilles_conversation(app, tmp_path, demo_users):
    world = build(app, tmp_path, other=True)
    client = sign_in_as(app, "autre.patiente", world.other_secret)
    csrf = token(client)
    base = f"/messagerie/{world.conversation}"
    problems = []
    for method, path, data in (
            ("GET", base, None),
            ("POST", base, {"csrf_token": csrf, "body": "Intrusion"}),
            ("GET", f"{base}/pieces/{world.attachment}", None),
            ("POST", f"{base}/pieces/{world.attachment}/enregistrer", {"csrf_token": csrf}),
            # Her own attachment id under Camille's conversation changes nothing.
            ("GET", f"{base}/pieces/{world.other_attachment}", None)):
        problems += refused_and_audited(app, client, method, path, data,
                                        actor_id=world.other_patient,
                                        target=world.conversation, subject=world.camille)
    assert not problems, "\n".join(problems)
    assert SUBJECT not in text(client.get("/messagerie").get_data(as_text=True))
    # Her own conversation opens (the control).
    assert client.get(f"/messagerie/{world.other_conversation}").status_code == 200


def test_a_professional_who_is_not_the_conversations_gets_404(app, signed_in, tmp_path):
    world = build(app, tmp_path)
    pharmacist = signed_in(PHARMACIST)
    declare(pharmacist, app)  # in Camille's care too: still not this conversation
    with app.app_context():
        pharmacist_id = _user(PHARMACIST).id
    csrf = token(pharmacist)
    before = counts(app)
    problems = []
    for conversation_id, subject in ((world.conversation, world.camille),
                                     (secrets.token_hex(16), None), ("n'importe-quoi", None)):
        base = f"/pro/messagerie/{conversation_id}"
        for method, path, data, action in (
                ("GET", base, None, "message.read"),
                ("POST", base, {"csrf_token": csrf, "body": "Intrusion"}, "message.read"),
                ("GET", f"{base}/clore", None, "message.closed"),
                ("POST", f"{base}/clore", {"csrf_token": csrf}, "message.closed"),
                ("GET", f"{base}/pieces/{world.attachment}", None, "message.read")):
            problems += refused_and_audited(app, pharmacist, method, path, data,
                                            actor_id=pharmacist_id, action=action,
                                            target=conversation_id[:64], subject=subject)
    assert not problems, "\n".join(problems)
    assert counts(app) == before
    with app.app_context():
        assert db.session.get(Conversation, world.conversation).closed_at is None
    inbox = text(pharmacist.get("/pro/messagerie").get_data(as_text=True))
    assert SUBJECT not in inbox and "Aucune conversation" in inbox
    # She may write to Camille herself: that is her own conversation, not Dr Bernard's.
    assert pharmacist.get(f"/pro/patients/{world.camille}/ecrire").status_code == 200


@pytest.mark.parametrize("how", ["access page", "domain"])
def test_a_blocked_professional_loses_the_conversation_at_once(app, signed_in, tmp_path, how):
    world = build(app, tmp_path)
    doctor, camille = signed_in(DOCTOR), signed_in(PATIENT)
    doctor_csrf, camille_csrf = token(doctor), token(camille)
    base = f"/pro/messagerie/{world.conversation}"
    assert doctor.get(base).status_code == 200  # before the block
    assert SUBJECT in text(doctor.get("/pro/messagerie").get_data(as_text=True))
    if how == "access page":
        response = camille.post("/acces/bloquer", data={
            "csrf_token": camille_csrf, "professional": world.bernard, "blocked": "oui",
            "confirm": "oui"})
        assert response.status_code == 303
    else:
        with app.app_context():
            care.set_blocked(db.session, keys.ring, _user(PATIENT), _user(DOCTOR), True,
                             ACTOR)
            db.session.commit()
    before = counts(app)
    problems = []
    for method, path, data, action in (
            ("GET", base, None, "message.read"),
            ("POST", base, {"csrf_token": doctor_csrf, "body": "Malgré le blocage"},
             "message.read"),
            ("GET", f"{base}/clore", None, "message.closed"),
            ("POST", f"{base}/clore", {"csrf_token": doctor_csrf}, "message.closed"),
            ("GET", f"{base}/pieces/{world.attachment}", None, "message.read")):
        problems += refused_and_audited(app, doctor, method, path, data,
                                        actor_id=world.bernard, action=action,
                                        target=world.conversation, subject=world.camille)
    new = f"/pro/patients/{world.camille}/ecrire"
    for method, data in (("GET", None), ("POST", {"csrf_token": doctor_csrf,
                                                   "subject": "Nouveau", "body": "Bonjour"})):
        problems += refused_and_audited(app, doctor, method, new, data,
                                        actor_id=world.bernard, action="message.started")
    assert not problems, "\n".join(problems)
    inbox = text(doctor.get("/pro/messagerie").get_data(as_text=True))
    assert SUBJECT not in inbox and "Aucune conversation" in inbox
    assert counts(app) == before
    with app.app_context():
        conversation = db.session.get(Conversation, world.conversation)
        assert conversation.closed_at is None and conversation.patient_unread == 1
    # Camille still reads it, but cannot write to someone she blocked.
    page = camille.get(f"/messagerie/{world.conversation}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and BODY in html and 'name="body"' not in html
    assert "Vous ne pouvez pas répondre à un professionnel que vous avez bloqué." in html
    response = reply(camille, world.conversation, {"csrf_token": camille_csrf,
                                                   "body": "Texte gardé"})
    assert response.status_code == 422 and "Texte gardé" in response.get_data(as_text=True)
    assert "Vous avez bloqué ce professionnel" in response.get_data(as_text=True)
    assert "est close" not in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_conversation_read_in_an_emergency_is_audited_as_such(app, signed_in, tmp_path):
    """A doctor whose only standing is a running emergency access reads and replies: the
    history says "en urgence", not a usual access."""
    world = build(app, tmp_path)
    with app.app_context():
        relation = care.relation(db.session, world.camille, world.bernard)
        relation.declared_at = None
        emergency.start(db.session, keys.ring, _user(DOCTOR), _user(PATIENT),
                        "Malaise dans la salle d’attente", now=utcnow(), hours=4, actor=ACTOR)
        db.session.commit()
    doctor = signed_in(DOCTOR)
    seq = last_seq(app)
    assert doctor.get(f"/pro/messagerie/{world.conversation}").status_code == 200
    response = reply(doctor, world.conversation, {"csrf_token": token(doctor),
                                                  "body": "Je vous rappelle"}, pro=True)
    assert response.status_code == 303
    mine = [(event.action, event.acting_as) for event in events_since(app, seq)
            if event.actor_id == world.bernard and event.action.startswith("message.")]
    # The page, then the reply (whose lookup is a read too), then the message itself.
    assert mine == [("message.read", "professional_emergency"),
                    ("message.read", "professional_emergency"),
                    ("message.sent", "professional_emergency")]


def test_an_attachment_of_another_conversation_answers_404(app, signed_in, tmp_path):
    world = build(app, tmp_path)
    with app.app_context():
        second, _message = messaging.start(db.session, keys.ring, _user(DOCTOR),
                                           _user(PATIENT), subject="Second objet",
                                           body="Sans pièce jointe", actor=ACTOR)
        db.session.commit()
        second_id = second.id
    camille, doctor = signed_in(PATIENT), signed_in(DOCTOR)
    csrf = token(camille)
    before = counts(app)
    for client, path, actor_id in (
            (camille, f"/messagerie/{second_id}/pieces/{world.attachment}", world.camille),
            (doctor, f"/pro/messagerie/{second_id}/pieces/{world.attachment}", world.bernard)):
        seq = last_seq(app)
        assert client.get(path).status_code == 404, path
        found = [(event.outcome, event.target_id) for event in
                 events_since(app, seq, "message.attachment_download")
                 if event.actor_id == actor_id]
        assert found == [("denied", world.attachment)]
    response = camille.post(f"/messagerie/{second_id}/pieces/{world.attachment}/enregistrer",
                            data={"csrf_token": csrf})
    assert response.status_code == 404
    assert counts(app) == before
    # Under its own conversation it downloads (the control).
    assert camille.get(f"/messagerie/{world.conversation}/pieces/"
                       f"{world.attachment}").status_code == 200


# --- CSRF ------------------------------------------------------------------------------------

def test_every_post_without_its_csrf_token_is_refused_and_writes_nothing(app, signed_in,
                                                                         tmp_path):
    world = build(app, tmp_path)
    camille, doctor = signed_in(PATIENT), signed_in(DOCTOR)
    before, blobs_before = counts(app), blob_keys(app)

    def with_file(**fields):
        return lambda: {**fields, "files": (io.BytesIO(b"un fichier texte"), "note.txt")}

    other_token = token(signed_in(PHARMACIST))  # valid, but another session's
    for client, path, form in (
            (camille, f"/messagerie/{world.conversation}", with_file(body="Sans jeton")),
            (camille, f"/messagerie/{world.conversation}/pieces/{world.attachment}"
                      "/enregistrer", dict),
            (doctor, f"/pro/patients/{world.camille}/ecrire",
             with_file(subject="Sans jeton", body="Sans jeton")),
            (doctor, f"/pro/messagerie/{world.conversation}", with_file(body="Sans jeton")),
            (doctor, f"/pro/messagerie/{world.conversation}/clore", dict)):
        for extra, headers in (({}, None), ({"csrf_token": "faux-jeton"}, None),
                               ({"csrf_token": other_token}, None),
                               ({}, {"HX-Request": "true", "HX-Target": "message-list"}),
                               ({}, {"X-CSRFToken": "faux-jeton"})):
            response = client.post(path, data={**form(), **extra}, headers=headers,
                                   content_type="multipart/form-data")
            assert response.status_code == 400, (path, extra, headers,
                                                 response.status_code)
    assert counts(app) == before and blob_keys(app) == blobs_before
    with app.app_context():
        conversation = db.session.get(Conversation, world.conversation)
        assert conversation.closed_at is None
        assert (conversation.patient_unread, conversation.professional_unread) == (1, 0)
    # With the token, the same reply goes through (the control).
    response = reply(camille, world.conversation, {"csrf_token": token(camille),
                                                   "body": "Avec jeton"})
    assert response.status_code == 303


# --- markup, control and direction characters ------------------------------------------------

def test_markup_comes_back_escaped_everywhere_and_never_in_the_email(app, signed_in):
    doctor, camille = signed_in(DOCTOR), signed_in(PATIENT)
    patient_id = declare(doctor, app)
    page = doctor.get(f"/pro/patients/{patient_id}/ecrire").get_data(as_text=True)
    before = len(outbox_mails(app))
    response = write(doctor, patient_id, {
        "csrf_token": csrf_from(page), "subject": f"Objet-Marqueur {SCRIPT}",
        "body": f"Corps-Marqueur {IMG}",
        # (A browser sends a quote in a file name as %22: the name keeps the markup only.)
        "files": [(io.BytesIO(png_bytes()), "<img src=x onerror=alert(1)>.png")]})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    conversation_id = response.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        attachment = db.session.scalars(select(MessageAttachment)).one()
        attachment_id = attachment.id
        stored = messaging.get_attachment(db.session, keys.ring, _user(PATIENT),
                                          db.session.get(Conversation, conversation_id),
                                          attachment_id, ACTOR).file_name
    assert "onerror" in stored  # kept as typed, made harmless by escaping alone

    pages = {
        "pro conversation": doctor.get(f"/pro/messagerie/{conversation_id}"),
        "pro inbox": doctor.get("/pro/messagerie"),
        "pro close": doctor.get(f"/pro/messagerie/{conversation_id}/clore"),
        "patient inbox": camille.get("/messagerie"),
        "patient conversation": camille.get(f"/messagerie/{conversation_id}"),
    }
    csrf = csrf_from(pages["patient conversation"].get_data(as_text=True))
    pages["htmx reply"] = reply(camille, conversation_id, {"csrf_token": csrf,
                                                           "body": f"Réponse-Marqueur {SCRIPT}"},
                                htmx=True)
    pages["htmx error"] = reply(camille, conversation_id, {"csrf_token": csrf,
                                                           "body": f"{IMG} " + "x" * 5001},
                                htmx=True)
    pages["pro error"] = write(doctor, patient_id, {"csrf_token": csrf_from(page),
                                                    "subject": SCRIPT,
                                                    "body": IMG + "x" * 5001})
    saved = camille.post(f"/messagerie/{conversation_id}/pieces/{attachment_id}/enregistrer",
                         data={"csrf_token": csrf})
    assert saved.status_code == 303
    pages["saved document (flash)"] = camille.get(saved.headers["Location"])
    pages["pro conversation after reply"] = doctor.get(f"/pro/messagerie/{conversation_id}")
    escaped_script = "&lt;script&gt;alert(1)&lt;/script&gt;"
    escaped_img = "&lt;img src=x onerror=alert(1)&gt;"
    problems = []
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        problems += [f"{name}: {problem}" for problem in no_live_markup(html)]
        wanted = {
            "pro conversation": (escaped_script, escaped_img),
            "pro inbox": (escaped_script,),
            "pro close": (escaped_script,),
            "patient inbox": (escaped_script,),
            "patient conversation": (escaped_script, escaped_img),
            "htmx reply": (escaped_script,),
            "htmx error": (escaped_img,),
            "pro error": (escaped_script, escaped_img),
            "saved document (flash)": (escaped_img,),
            "pro conversation after reply": (escaped_script,),
        }[name]
        problems += [f"{name}: {piece!r} missing" for piece in wanted if piece not in html]
    assert not problems, "\n".join(problems)
    soup = BeautifulSoup(pages["patient conversation"].get_data(as_text=True), "html.parser")
    assert soup.h1.get_text().startswith(f"Objet-Marqueur {SCRIPT}")  # text, not an element
    # The subject never reaches the title, which stays generic (ACCESSIBILITY.md, item 2).
    assert soup.title.get_text() == "Conversation – Carnet santé"
    assert len(pages["htmx reply"].get_data()) <= 2048
    mails = outbox_mails(app)[before:]
    assert len(mails) == 2  # to Camille, then to Dr Bernard
    for subject, body in mails:
        for piece in ("<", "alert", "onerror", "script", "Marqueur"):
            assert piece not in subject + body, (piece, subject + body)


def test_control_and_direction_characters_are_dropped(app, signed_in):
    doctor = signed_in(DOCTOR)
    patient_id = declare(doctor, app)
    page = doctor.get(f"/pro/patients/{patient_id}/ecrire").get_data(as_text=True)
    hidden = "\u202e\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u200e\u200f\u061c"
    controls = "\x00\x07\x08\x0b\x0c\x1b\x7f\x85\x9b"
    response = write(doctor, patient_id, {
        "csrf_token": csrf_from(page), "subject": f"Fer{hidden} bas{controls}exe.pdf",
        "body": f"Ligne{hidden} une{controls}\nLigne\u202e deux\x1b[31m"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    conversation_id = response.headers["Location"].rsplit("/", 1)[1]
    camille = signed_in(PATIENT)
    csrf = token(camille)
    assert reply(camille, conversation_id, {
        "csrf_token": csrf, "body": "Merci\u202e\u2066 docteur\x07"}).status_code == 303
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        patient = _user(PATIENT)
        subject = messaging.view(db.session, keys.ring, patient, conversation).subject
    bodies = message_bodies(app, conversation_id)
    for value in [subject, *bodies]:
        assert not set(value) & set(hidden + controls), repr(value)
    assert subject == "Fer bas exe.pdf"
    assert bodies == ["Ligne une\nLigne deux [31m", "Merci docteur"]
    html = camille.get(f"/messagerie/{conversation_id}").get_data(as_text=True)
    assert not set(html) & set(hidden + "\x00\x07\x1b")


# --- lengths ---------------------------------------------------------------------------------

def test_a_body_over_5000_characters_is_refused_and_given_back(app, signed_in, tmp_path):
    world = build(app, tmp_path)
    camille, doctor = signed_in(PATIENT), signed_in(DOCTOR)
    csrf = token(camille)
    before = counts(app)
    typed = "Début-du-message " + "é" * (5001 - len("Début-du-message "))
    assert len(typed) == 5001
    expected = ("Le message doit faire au plus 5000 caractères (il en fait 5001). "
                "Raccourcissez-le ou envoyez-le en deux fois.")
    for client, pro in ((camille, False), (doctor, True)):
        for htmx in (False, True):
            response = reply(client, world.conversation, {"csrf_token": csrf if not pro
                                                          else token(doctor), "body": typed},
                             pro=pro, htmx=htmx)
            html = response.get_data(as_text=True)
            assert response.status_code == 422, (pro, htmx)
            assert expected in digits_joined(html), text(html)[:2000]
            textarea = BeautifulSoup(html, "html.parser").find("textarea", id="body")
            assert textarea is not None and textarea.text == typed
            assert 'aria-invalid="true"' in html
            if htmx:
                assert response.headers["HX-Retarget"] == "#reply-form"
                assert "<html" not in html
            else:
                assert "<title data-generic>Erreur : Conversation – " in html
    page = doctor.get(f"/pro/patients/{world.camille}/ecrire").get_data(as_text=True)
    response = write(doctor, world.camille, {"csrf_token": csrf_from(page),
                                             "subject": "Un objet", "body": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and expected in digits_joined(html)
    assert BeautifulSoup(html, "html.parser").find("textarea", id="body").text == typed
    assert counts(app) == before
    # Exactly 5,000 characters go through.
    response = reply(camille, world.conversation, {"csrf_token": csrf, "body": typed[:5000]})
    assert response.status_code == 303
    assert message_bodies(app, world.conversation)[-1] == typed[:5000]


def test_a_subject_over_150_characters_is_refused_and_given_back(app, signed_in, tmp_path):
    world = build(app, tmp_path)
    doctor = signed_in(DOCTOR)
    page = doctor.get(f"/pro/patients/{world.camille}/ecrire").get_data(as_text=True)
    csrf = csrf_from(page)
    before = counts(app)
    subject = "Objet " + "o" * 145
    assert len(subject) == 151
    response = write(doctor, world.camille, {"csrf_token": csrf, "subject": subject,
                                             "body": "Le corps tapé est gardé"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "L’objet doit faire au plus 150 caractères (il en fait 151)." in digits_joined(html)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("input", id="subject")["value"] == subject
    assert soup.find("textarea", id="body").text == "Le corps tapé est gardé"
    assert counts(app) == before
    # Empty fields are named, not silently dropped.
    response = write(doctor, world.camille, {"csrf_token": csrf, "subject": " \u202e ",
                                             "body": "\x07"})
    html = text(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "Donnez un objet à votre message." in html and "Écrivez votre message." in html
    response = write(doctor, world.camille, {"csrf_token": csrf, "subject": subject[:150],
                                             "body": "Juste à la limite"})
    assert response.status_code == 303


# --- hostile files ---------------------------------------------------------------------------

def _polyglot() -> bytes:
    return png_bytes() + b"\n<html><script>alert(document.cookie)</script></html>"


HOSTILE = [
    ("type-mismatch", lambda: png_bytes(), "radio.pdf", "ne correspond pas à son extension"),
    ("docx-named-pdf", docx_bytes, "lettre.pdf",
     "Ce fichier est un .docx. Enregistrez-le en PDF puis réessayez."),
    ("docx", docx_bytes, "lettre.docx", "Ce fichier est un .docx."),
    ("html", lambda: b"<html><script>alert(1)</script></html>", "note.html",
     "Ce fichier est un .html."),
    ("wrong-extension", lambda: "Texte tout simple, accentué.".encode(), "note.odt",
     "Ce type de fichier n’est pas accepté"),
    ("exe-named-jpg", lambda: b"MZ\x90\x00" + b"\x00" * 200, "photo.jpg",
     "Ce fichier est un .exe"),
    ("empty", lambda: b"", "vide.pdf", "Ce fichier est vide"),
    ("polyglot", _polyglot, "radio.png", "Ce fichier mélange plusieurs formats"),
    ("too-large", lambda: b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10), "gros.pdf",
     "Ce fichier dépasse 1 Mo"),
    ("image-bomb", lambda: declared_png(30_000, 30_000), "bombe.png",
     "Cette image est trop grande"),
]


@pytest.mark.parametrize("side", ["patient reply", "professional reply", "new conversation"])
@pytest.mark.parametrize(("make", "file_name", "message"),
                         [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_files_are_refused_with_the_vaults_words(app, signed_in, tmp_path,
                                                         monkeypatch, side, make, file_name,
                                                         message):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)  # restored after the test
    world = build(app, tmp_path)
    client = signed_in(PATIENT if side == "patient reply" else DOCTOR)
    csrf = token(client)
    before, blobs_before = counts(app), blob_keys(app)
    typed = "Le texte que j’ai tapé reste là"
    files = [(io.BytesIO(make()), file_name)]
    if side == "new conversation":
        response = write(client, world.camille, {"csrf_token": csrf, "subject": "Un objet",
                                                 "body": typed, "files": files})
    else:
        response = reply(client, world.conversation, {"csrf_token": csrf, "body": typed,
                                                      "files": files},
                         pro=side == "professional reply")
    html = response.get_data(as_text=True)
    assert response.status_code == 422, response.status_code
    assert message in text(html), text(html)[:3000]
    assert f"« {file_name} »" in text(html)
    assert BeautifulSoup(html, "html.parser").find("textarea", id="body").text == typed
    assert "choisissez à nouveau vos fichiers" in text(html)
    assert counts(app) == before and blob_keys(app) == blobs_before
    spool = Path(app.instance_path) / "tmp"  # nothing of the refused file stays on disk
    assert not spool.exists() or list(spool.iterdir()) == []


def test_a_hostile_file_with_htmx_gives_the_form_back(app, signed_in, tmp_path):
    world = build(app, tmp_path)
    camille = signed_in(PATIENT)
    before = counts(app)
    response = reply(camille, world.conversation, {
        "csrf_token": token(camille), "body": "Gardé",
        "files": [(io.BytesIO(_polyglot()), "radio.png")]}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#reply-form"
    assert "Ce fichier mélange plusieurs formats" in html and "<html" not in html
    assert BeautifulSoup(html, "html.parser").find("textarea", id="body").text == "Gardé"
    assert counts(app) == before


def test_a_pdf_with_javascript_is_sent_clean(app, signed_in, tmp_path):
    def hostile(pdf):
        pdf.Root.OpenAction = pdf.make_indirect(javascript("app.alert('open')"))

    data = pdf_bytes(hostile)
    assert b"/OpenAction" in data
    world = build(app, tmp_path)
    doctor, camille = signed_in(DOCTOR), signed_in(PATIENT)
    response = reply(doctor, world.conversation, {
        "csrf_token": token(doctor), "body": "Votre ordonnance",
        "files": [(io.BytesIO(data), "ordonnance.pdf")]}, pro=True)
    assert response.status_code == 303
    with app.app_context():
        attachment = db.session.scalars(select(MessageAttachment).where(
            MessageAttachment.id != world.attachment)).one()
        attachment_id = attachment.id
    download = camille.get(f"/messagerie/{world.conversation}/pieces/{attachment_id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    for marker in (b"/OpenAction", b"/JavaScript", b"app.alert"):
        assert marker not in download.data


def test_more_than_three_files_are_refused(app, signed_in, tmp_path):
    world = build(app, tmp_path)
    with app.app_context():
        camille_user = _user(PATIENT)
        path = tmp_path / "mon-document"
        path.write_bytes(b"un document de mon espace")
        own_document = vault.add_document(
            db.session, keys.ring, blobs.store, patient=camille_user, author=camille_user,
            path=path, size=path.stat().st_size, kind="txt",
            mimetype="text/plain; charset=utf-8", file_name="mien.txt", title="Mon document",
            category=Category.OTHER, document_date=utcnow().date(), hidden=False,
            source="test", actor=ACTOR).id
        db.session.commit()
    camille, doctor = signed_in(PATIENT), signed_in(DOCTOR)
    before, blobs_before = counts(app), blob_keys(app)

    def four(count: int = 4):
        return [(io.BytesIO(f"fichier {n}".encode()), f"note-{n}.txt") for n in range(count)]

    message = "Joignez au plus 3 fichiers à un message."
    for client, send in (
            (camille, lambda csrf: reply(camille, world.conversation, {
                "csrf_token": csrf, "body": "Quatre", "files": four()})),
            (camille, lambda csrf: reply(camille, world.conversation, {
                "csrf_token": csrf, "body": "Trois et un document", "files": four(3),
                "documents": own_document})),
            (doctor, lambda csrf: reply(doctor, world.conversation, {
                "csrf_token": csrf, "body": "Quatre", "files": four()}, pro=True)),
            (doctor, lambda csrf: write(doctor, world.camille, {
                "csrf_token": csrf, "subject": "Quatre", "body": "Quatre",
                "files": four()}))):
        response = send(token(client))
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and message in text(html), text(html)[:2000]
        assert counts(app) == before and blob_keys(app) == blobs_before
    # Three are fine.
    response = reply(camille, world.conversation, {"csrf_token": token(camille),
                                                   "body": "Trois", "files": four(3)})
    assert response.status_code == 303
    assert counts(app)["MessageAttachment"] == before["MessageAttachment"] + 3


def test_three_files_each_within_the_limit_are_accepted_together(app, signed_in, tmp_path):
    """The form says "3 files, N MB each": three files just under N MB each fit in one
    request, and are all attached."""
    world = build(app, tmp_path)
    doctor = signed_in(DOCTOR)
    limit = app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    lines = "".join(f"Ligne {n} du compte rendu numérisé.\n" for n in range(200_000))
    files = [(io.BytesIO(lines.encode()[: limit - 100_000]), f"scan-{n}.txt")
             for n in range(3)]
    before = counts(app)
    response = reply(doctor, world.conversation, {"csrf_token": token(doctor),
                                                  "body": "Trois gros fichiers",
                                                  "files": files}, pro=True)
    assert response.status_code == 303, (response.status_code,
                                         text(response.get_data(as_text=True))[:500])
    after = counts(app)
    assert after["Message"] == before["Message"] + 1
    assert after["MessageAttachment"] == before["MessageAttachment"] + 3


# --- roles stay in their own area ------------------------------------------------------------

def test_each_role_stays_out_of_the_others_messaging_routes(app, signed_in, tmp_path):
    world = build(app, tmp_path)
    camille, doctor = signed_in(PATIENT), signed_in(DOCTOR)
    camille_csrf, doctor_csrf = token(camille), token(doctor)
    before = counts(app)
    conv, att = world.conversation, world.attachment
    pro_routes = [
        ("GET", "/pro/messagerie", None),
        ("GET", f"/pro/messagerie/{conv}", None),
        ("POST", f"/pro/messagerie/{conv}", {"body": "Par la porte des pros"}),
        ("GET", f"/pro/messagerie/{conv}/clore", None),
        ("POST", f"/pro/messagerie/{conv}/clore", {}),
        ("GET", f"/pro/messagerie/{conv}/pieces/{att}", None),
        ("GET", f"/pro/patients/{world.camille}/ecrire", None),
        ("POST", f"/pro/patients/{world.camille}/ecrire", {"subject": "Moi", "body": "Moi"}),
    ]
    patient_routes = [
        ("GET", "/messagerie", None),
        ("GET", f"/messagerie/{conv}", None),
        ("POST", f"/messagerie/{conv}", {"body": "Par la porte des patients"}),
        ("GET", f"/messagerie/{conv}/pieces/{att}", None),
        ("POST", f"/messagerie/{conv}/pieces/{att}/enregistrer", {}),
    ]
    problems = []
    for client, csrf, routes, actor_id in ((camille, camille_csrf, pro_routes, world.camille),
                                           (doctor, doctor_csrf, patient_routes,
                                            world.bernard)):
        for method, path, data in routes:
            seq = last_seq(app)
            response = (client.get(path) if method == "GET" else client.post(
                path, data={"csrf_token": csrf, **data}, content_type="multipart/form-data"))
            if response.status_code != 403:
                problems.append(f"{method} {path}: {response.status_code}")
            denied = [event.outcome for event in events_since(app, seq, "access.area_denied")
                      if event.actor_id == actor_id]
            if denied != ["denied"]:
                problems.append(f"{method} {path}: area refusal audited as {denied}")
    assert not problems, "\n".join(problems)
    assert counts(app) == before
    with app.app_context():
        assert db.session.get(Conversation, conv).closed_at is None


def test_a_patient_has_no_way_to_start_a_conversation(app, signed_in):
    methods: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "carnet_area", None) == Area.PATIENT_SPACE and (
                rule.endpoint.startswith("messages.")):
            methods.setdefault(rule.rule, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    patient_rules = {(rule.removeprefix("/espace/<string:space_id>"), tuple(sorted(found)))
                     for rule, found in methods.items()}  # the same in a child's space
    assert patient_rules == {
        ("/messagerie", ("GET",)),
        ("/messagerie/<string:conversation_id>", ("GET", "POST")),
        ("/messagerie/<string:conversation_id>/pieces/<string:attachment_id>", ("GET",)),
        ("/messagerie/<string:conversation_id>/pieces/<string:attachment_id>/enregistrer",
         ("POST",)),
    }
    camille = signed_in(PATIENT)
    csrf = token(camille)
    before = counts(app)
    assert camille.post("/messagerie", data={"csrf_token": csrf, "subject": "Bonjour",
                                             "body": "Bonjour"}).status_code == 405
    for path in ("/messagerie/nouveau", "/messagerie/ecrire"):
        assert camille.post(path, data={"csrf_token": csrf, "subject": "Bonjour",
                                        "body": "Bonjour"}).status_code == 404
    with app.app_context():
        camille_id, bernard_id = _user(PATIENT).id, _user(DOCTOR).id
    for path in (f"/pro/patients/{camille_id}/ecrire", f"/pro/patients/{bernard_id}/ecrire"):
        assert camille.post(path, data={"csrf_token": csrf, "subject": "Bonjour",
                                        "body": "Bonjour"}).status_code == 403
    assert counts(app) == before
    inbox = camille.get("/messagerie").get_data(as_text=True)
    assert "/ecrire" not in inbox and "Seul un professionnel peut commencer" in inbox


def test_a_patient_cannot_attach_another_patients_document(app, signed_in, tmp_path):
    world = build(app, tmp_path, other=True)
    camille = signed_in(PATIENT)
    csrf = token(camille)
    before, blobs_before = counts(app), blob_keys(app)
    for document_id in (world.other_document, secrets.token_hex(16), "../../etc/passwd"):
        seq = last_seq(app)
        response = reply(camille, world.conversation, {
            "csrf_token": csrf, "body": "Avec le document d’une autre",
            "documents": document_id})
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Ce document n’est plus dans votre espace. Choisissez-en un autre." in text(html)
        assert BeautifulSoup(html, "html.parser").find("textarea", id="body").text == (
            "Avec le document d’une autre")
        assert "Document de l’autre patiente" not in html
        denied = [(event.outcome, event.subject_id) for event in
                  events_since(app, seq, "document.read") if event.actor_id == world.camille]
        assert denied == [("denied", world.other_patient if document_id ==
                           world.other_document else None)]
    assert counts(app) == before and blob_keys(app) == blobs_before
    # A professional's form has no documents field: one sent anyway is ignored.
    doctor = signed_in(DOCTOR)
    response = reply(doctor, world.conversation, {"csrf_token": token(doctor),
                                                  "body": "Sans pièce",
                                                  "documents": world.other_document},
                     pro=True)
    assert response.status_code == 303
    after = counts(app)
    assert after["Message"] == before["Message"] + 1
    assert after["MessageAttachment"] == before["MessageAttachment"]


def test_a_patient_attaches_her_own_document_as_a_copy(app, signed_in, tmp_path):
    world = build(app, tmp_path)
    with app.app_context():
        camille_user = _user(PATIENT)
        path = tmp_path / "compte-rendu"
        path.write_bytes(b"mon compte rendu")
        own = vault.add_document(
            db.session, keys.ring, blobs.store, patient=camille_user, author=camille_user,
            path=path, size=path.stat().st_size, kind="txt",
            mimetype="text/plain; charset=utf-8", file_name="compte-rendu.txt",
            title="Mon compte rendu", category=Category.REPORTS,
            document_date=utcnow().date(), hidden=False, source="test", actor=ACTOR).id
        db.session.commit()
    camille, doctor = signed_in(PATIENT), signed_in(DOCTOR)
    page = camille.get(f"/messagerie/{world.conversation}").get_data(as_text=True)
    assert f'<option value="{own}">' in page
    response = reply(camille, world.conversation, {"csrf_token": csrf_from(page),
                                                   "body": "Le voici", "documents": own})
    assert response.status_code == 303
    with app.app_context():
        copy = db.session.scalars(select(MessageAttachment).where(
            MessageAttachment.id != world.attachment)).one()
        copy_id = copy.id
    download = doctor.get(f"/pro/messagerie/{world.conversation}/pieces/{copy_id}")
    assert download.status_code == 200 and download.data == b"mon compte rendu"


# --- downloads -------------------------------------------------------------------------------

def test_downloads_are_attachments_never_stored_and_sandboxed(app, signed_in, tmp_path):
    world = build(app, tmp_path)
    with app.app_context():
        message = db.session.scalars(select(Message)).one()
        hostile = _attach(message, _user(PATIENT), tmp_path, b"texte",
                          'rapport "final"; x=<b>été.txt').id
        db.session.commit()
    camille, doctor = signed_in(PATIENT), signed_in(DOCTOR)
    for client, path in ((camille, f"/messagerie/{world.conversation}/pieces/"),
                         (doctor, f"/pro/messagerie/{world.conversation}/pieces/")):
        for attachment_id, content in ((world.attachment, b"ferritine 9"),
                                       (hostile, b"texte")):
            seq = last_seq(app)
            response = client.get(path + attachment_id)
            assert response.status_code == 200 and response.data == content
            headers = response.headers
            assert headers["Content-Disposition"].startswith("attachment;")
            assert headers["Cache-Control"] == "no-store"
            csp = headers["Content-Security-Policy"]
            assert "sandbox" in csp and "default-src 'none'" in csp
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert response.mimetype == "text/plain"
            found = [event.outcome for event in events_since(
                app, seq, "message.attachment_download")]
            assert found == ["success"]
        # RFC 6266: a quoted ASCII fallback without quotes inside, then the exact name
        # percent-encoded; nothing typed can end the header's parameter early.
        disposition = response.headers["Content-Disposition"]
        assert re.fullmatch(r"attachment; filename=\"[^\"\r\n]*\"; "
                            r"filename\*=UTF-8''[A-Za-z0-9%._~-]+", disposition), disposition
        assert "rapport%20%22final%22%3B%20x%3D%3Cb%3E%C3%A9t%C3%A9.txt" in disposition
    # The conversation pages themselves are not stored either.
    for client, path in ((camille, f"/messagerie/{world.conversation}"),
                         (doctor, f"/pro/messagerie/{world.conversation}"),
                         (camille, "/messagerie"), (doctor, "/pro/messagerie")):
        assert "no-store" in client.get(path).headers["Cache-Control"]
