"""Secure messaging without HTTP (DESIGN.md §2 "Messaging", SECURITY.md "Cryptography"):
the one rule as a table, who may start a conversation (and the database refusing a
conversation with anyone outside care), replies in a closed conversation, unread counters
and read marks, keyset paging, subjects, bodies and file names sealed to their row,
attachments copied from the vault and saved back to it once, `vault.verify` knowing
attachment blobs, and a space erased with its conversations."""

from __future__ import annotations

import itertools
import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.exc import IntegrityError

from domain import audit, care, clock, closing, emergency, messaging, news, passwords, vault
from domain.crypto import CryptoError
from domain.errors import NotAllowed
from domain.models import (
    AuditEvent,
    Category,
    Conversation,
    Document,
    Message,
    MessageAttachment,
    Profession,
    Role,
    Sector,
    User,
)
from domain.models.base import utcnow
from domain.policy import CareFacts, MessageAction, conversation_allowed
from domain.storage import LocalBlobStore
from extensions import db, keys
from tests.domain.test_care import professional

ACTOR = audit.Actor(ip="127.0.0.1")
SUBJECT = "Canari-objet-" + "x" * 4
BODY = "Canari-corps : votre ferritine est basse"
FILE_NAME = "Canari-fichier-bilan.txt"
EXCLUDED = [Sector.HEALTH_INSURER, Sector.SUPPLEMENTARY_INSURER, Sector.OCCUPATIONAL_HEALTH,
            Sector.EMPLOYER, None]
EXCLUDED_IDS = ["health_insurer", "insurer", "occupational_health", "employer", "no_sector"]
START, READ, REPLY, CLOSE = (MessageAction.START, MessageAction.READ, MessageAction.REPLY,
                             MessageAction.CLOSE)


# --- the rule, as a table --------------------------------------------------------------------

def facts(sector=Sector.CARE, *, declared=False, blocked=False, emergency=False,
          open_space=True) -> CareFacts:
    return CareFacts(sector=sector, profession=Profession.DOCTOR, declared=declared,
                     blocked=blocked, emergency=emergency, open_space=open_space)


FACTS: dict[str, CareFacts | None] = {
    "no facts": None,
    "nothing": facts(),
    "declared": facts(declared=True),
    "emergency": facts(emergency=True),
    "declared+emergency": facts(declared=True, emergency=True),
    "blocked": facts(declared=True, blocked=True),
    "blocked+emergency": facts(blocked=True, emergency=True),
    "space closed": facts(declared=True, open_space=False),
    "space closed+emergency": facts(emergency=True, open_space=False),
    **{f"{sector.value if sector else 'no sector'}+declared+emergency": facts(
        sector, declared=True, emergency=True) for sector in EXCLUDED},
}
# A professional "may open" the space: in care, declared or in an emergency, not blocked,
# the space open.
MAY_OPEN = {"declared", "emergency", "declared+emergency"}
# The conversation's professional keeps it (reads, replies, closes) whatever their
# declaration, until they are blocked or the space closes; outside care, never.
KEEPS_IT = MAY_OPEN | {"nothing"}
PLACES = {"the patient": (True, False), "the professional": (False, True),
          "someone else": (False, False)}


def expected(action: MessageAction, role: Role | None, place: str, closed: bool,
             facts_name: str) -> bool:
    """DESIGN.md §2 "Messaging", in a table's words (not read from domain/policy.py)."""
    if role == Role.PATIENT:
        if place != "the patient":
            return False  # another patient's conversation: nothing
        if action == READ:
            return True   # every conversation of her own, closed or not, blocked or not
        if action == REPLY:  # while open, and not to a professional she blocked
            return not closed and not facts_name.startswith("blocked")
        return False      # she never starts one and never closes one
    if role == Role.PROFESSIONAL:
        if action == START:
            return facts_name in MAY_OPEN
        if place != "the professional":
            return False
        if facts_name not in KEEPS_IT:
            return False
        return not closed if action == REPLY else True
    return False  # advisers, operators, nobody signed in


CASES = list(itertools.product(MessageAction, [Role.PATIENT, Role.PROFESSIONAL, Role.ADVISER,
                                               Role.OPERATOR, None],
                               PLACES, (False, True), FACTS))


def test_the_rule_over_every_role_place_state_and_action():
    wrong = []
    for action, role, place, closed, facts_name in CASES:
        is_patient, is_professional = PLACES[place]
        got = conversation_allowed(action, role, is_patient=is_patient,
                                   is_professional=is_professional, closed=closed,
                                   care=FACTS[facts_name])
        want = expected(action, role, place, closed, facts_name)
        if got != want:
            wrong.append(f"{action.value} by {role} as {place}, closed={closed}, "
                         f"{facts_name}: got {got}, expected {want}")
    assert not wrong, f"{len(wrong)} of {len(CASES)} cells wrong:\n" + "\n".join(wrong)
    assert len(CASES) == 4 * 5 * 3 * 2 * len(FACTS)


@pytest.mark.parametrize(("action", "role", "place", "closed", "facts_name", "allowed"), [
    # A few rows pinned by hand, so the table above cannot drift with the code.
    (START, Role.PROFESSIONAL, "someone else", False, "declared", True),
    (START, Role.PROFESSIONAL, "someone else", False, "emergency", True),
    (START, Role.PROFESSIONAL, "someone else", False, "nothing", False),
    (START, Role.PROFESSIONAL, "someone else", False, "blocked+emergency", False),
    (START, Role.PROFESSIONAL, "someone else", False, "space closed", False),
    (START, Role.PROFESSIONAL, "someone else", False, "occupational_health+declared+emergency",
     False),
    (START, Role.PROFESSIONAL, "someone else", False, "no sector+declared+emergency", False),
    (START, Role.PATIENT, "the patient", False, "declared", False),
    (READ, Role.PROFESSIONAL, "someone else", False, "declared", False),
    (READ, Role.PROFESSIONAL, "the professional", True, "declared", True),
    (REPLY, Role.PROFESSIONAL, "the professional", True, "declared", False),
    (CLOSE, Role.PROFESSIONAL, "the professional", False, "nothing", True),
    (READ, Role.PROFESSIONAL, "the professional", False, "blocked", False),
    (READ, Role.PROFESSIONAL, "the professional", False, "space closed", False),
    (READ, Role.PROFESSIONAL, "the professional", False, "employer+declared+emergency", False),
    (READ, Role.PATIENT, "the patient", True, "blocked", True),
    (REPLY, Role.PATIENT, "the patient", False, "blocked", False),
    (REPLY, Role.PATIENT, "the patient", True, "declared", False),
    (REPLY, Role.PATIENT, "the patient", False, "no facts", True),
    (CLOSE, Role.PATIENT, "the patient", False, "declared", False),
    (READ, Role.PATIENT, "someone else", False, "declared", False),
    (READ, Role.ADVISER, "the patient", False, "declared", False),
    (READ, Role.OPERATOR, "the professional", False, "declared", False),
    (READ, None, "the patient", False, "declared", False),
])
def test_rows_pinned_by_hand(action, role, place, closed, facts_name, allowed):
    is_patient, is_professional = PLACES[place]
    assert conversation_allowed(action, role, is_patient=is_patient,
                                is_professional=is_professional, closed=closed,
                                care=FACTS[facts_name]) is allowed
    assert expected(action, role, place, closed, facts_name) is allowed


# --- helpers ---------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(tmp_path / "blobs")


def _user(login: str) -> User:
    return db.session.scalars(select(User).where(User.login == login)).one()


def other_patient(login: str = "autre.patiente") -> User:
    wrapped = keys.ring.new_patient_key()
    user = User(role=Role.PATIENT, login=login, given_name="Autre", family_name="Patiente",
                password_hash=passwords.hash_password(secrets.token_hex(10), "fast"),
                wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)
    db.session.add(user)
    db.session.flush()
    return user


def cast() -> tuple[User, User]:
    """Camille, and Dr Bernard who declared the care relation."""
    camille, bernard = _user("camille.martin"), _user("dr.bernard")
    care.declare(db.session, keys.ring, bernard, camille, ACTOR)
    return camille, bernard


def begin(professional: User, patient: User, *, subject: str = SUBJECT, body: str = BODY,
          now=None) -> tuple[Conversation, Message]:
    return messaging.start(db.session, keys.ring, professional, patient, subject=subject,
                           body=body, actor=ACTOR, now=now)


def file_on_disk(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / secrets.token_hex(6)
    path.write_bytes(content)
    return path


def attach(store, tmp_path, message: Message, patient: User, content: bytes = b"ferritine 9",
           file_name: str = FILE_NAME) -> MessageAttachment:
    path = file_on_disk(tmp_path, content)
    return messaging.attach_file(db.session, keys.ring, store, message, patient, path=path,
                                 size=len(content), kind="txt",
                                 mimetype="text/plain; charset=utf-8", file_name=file_name)


def add_document(store, tmp_path, patient: User, content: bytes = b"%PDF-1.4 compte rendu",
                 title: str = "Compte rendu") -> Document:
    path = file_on_disk(tmp_path, content)
    return vault.add_document(db.session, keys.ring, store, patient=patient, author=patient,
                              path=path, size=len(content), kind="pdf",
                              mimetype="application/pdf", file_name="compte-rendu.pdf",
                              title=title, category=Category.REPORTS,
                              document_date=utcnow().date(), hidden=False, source="upload",
                              actor=ACTOR)


def events(action: str, outcome: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    # In the order they happened: each person's events are numbered in their own chain.
    return list(db.session.scalars(query.order_by(AuditEvent.occurred_at, AuditEvent.chain,
                                                  AuditEvent.seq)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def whole_rows(model) -> list[bytes]:
    """Every column of every row of a table, as the bytes the database holds."""
    found = []
    for row in db.session.execute(select(model.__table__)):
        for value in row:
            found.append(value if isinstance(value, bytes) else str(value).encode())
    return found


# --- starting a conversation -----------------------------------------------------------------

def test_a_declared_doctor_starts_and_it_is_audited(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        conversation, message = begin(bernard, camille)
        db.session.commit()
        assert (conversation.patient_id, conversation.professional_id) == (camille.id,
                                                                           bernard.id)
        assert conversation.professional_sector == "care"
        assert message.sender_id == bernard.id and not messaging.view(
            db.session, keys.ring, camille, conversation).closed
        started, sent = events("message.started"), events("message.sent")
        assert [(e.outcome, e.subject_id, e.target_id) for e in started] == [
            ("success", camille.id, conversation.id)]
        assert [(e.outcome, e.subject_id) for e in sent] == [("success", camille.id)]


def test_a_patient_never_starts_a_conversation(app, demo_users):
    with app.app_context():
        camille = _user("camille.martin")
        stranger = other_patient()
        for writer, reader in ((camille, stranger), (stranger, camille), (camille, camille)):
            with pytest.raises(NotAllowed):
                begin(writer, reader)
        db.session.commit()
        assert count(Conversation) == 0 and count(Message) == 0
        assert [event.outcome for event in events("message.started")] == ["denied"] * 3


@pytest.mark.parametrize("sector", EXCLUDED, ids=EXCLUDED_IDS)
def test_an_account_outside_care_never_starts_one(app, demo_users, sector):
    with app.app_context():
        camille = _user("camille.martin")
        outsider = professional("dr.travail", Profession.DOCTOR, sector)
        with pytest.raises(NotAllowed):
            care.declare(db.session, keys.ring, outsider, camille, ACTOR)
        with pytest.raises(NotAllowed):
            begin(outsider, camille)
        db.session.commit()
        assert count(Conversation) == 0
        assert [(e.outcome, e.subject_id) for e in events("message.started")] == [
            ("denied", camille.id)]


@pytest.mark.parametrize("sector", EXCLUDED, ids=EXCLUDED_IDS)
def test_the_database_refuses_a_conversation_with_an_account_outside_care(app, demo_users,
                                                                           sector):
    """Even written straight into the table: claiming "care" breaks the composite key to
    the account's real sector; the real sector breaks the CHECK (or NOT NULL)."""
    with app.app_context():
        camille = _user("camille.martin")
        outsider = professional("dr.travail", Profession.DOCTOR, sector)
        db.session.commit()
        outsider_id, camille_id = outsider.id, camille.id
        for claimed in {"care", sector.value if sector else None}:
            db.session.add(Conversation(patient_id=camille_id, professional_id=outsider_id,
                                        professional_sector=claimed,
                                        subject_sealed=b"x" * 40))
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()
            with pytest.raises(IntegrityError):
                db.session.execute(insert(Conversation).values(
                    id=secrets.token_hex(16), patient_id=camille_id,
                    professional_id=outsider_id, professional_sector=claimed,
                    subject_sealed=b"x" * 40, created_at=utcnow(), last_message_at=utcnow(),
                    patient_unread=0, professional_unread=0))
            db.session.rollback()
        assert count(Conversation) == 0
        # The control: the same insert for a care professional is accepted.
        bernard_id = _user("dr.bernard").id
        db.session.add(Conversation(patient_id=camille_id, professional_id=bernard_id,
                                    professional_sector="care", subject_sealed=b"x" * 40))
        db.session.flush()
        assert count(Conversation) == 1
        db.session.rollback()


def test_a_professional_in_a_conversation_cannot_move_out_of_care(app, demo_users):
    with app.app_context():
        pharmacist = _user("pharma.petit")
        camille = _user("camille.martin")
        care.declare(db.session, keys.ring, pharmacist, camille, ACTOR)
        begin(pharmacist, camille)
        # The care relation alone would keep the sector too: drop it, the conversation stays.
        db.session.delete(care.relation(db.session, camille.id, pharmacist.id))
        db.session.commit()
        pharmacist.sector = Sector.SUPPLEMENTARY_INSURER
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        assert _user("pharma.petit").sector == Sector.CARE


def test_a_blocked_professional_or_one_without_declaration_cannot_start(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        pharmacist = _user("pharma.petit")  # never declared
        with pytest.raises(NotAllowed):
            begin(pharmacist, camille)
        care.set_blocked(db.session, keys.ring, camille, bernard, True, ACTOR)
        with pytest.raises(NotAllowed):
            begin(bernard, camille)
        # Blocked, even a running emergency does not open the door.
        camille.emergency_others = True
        with pytest.raises(NotAllowed):
            emergency.start(db.session, keys.ring, bernard, camille,
                            "Patiente inconsciente, recherche d’allergies", now=utcnow(),
                            hours=4, actor=ACTOR)
        with pytest.raises(NotAllowed):
            begin(bernard, camille)
        db.session.commit()
        assert count(Conversation) == 0
        assert len(events("message.started", "denied")) == 3


def test_an_emergency_access_lets_a_professional_write(app, demo_users):
    with app.app_context():
        camille, pharmacist = _user("camille.martin"), _user("pharma.petit")
        camille.emergency_others = True
        emergency.start(db.session, keys.ring, pharmacist, camille,
                        "Malaise à l’officine, recherche des traitements", now=utcnow(),
                        hours=4, actor=ACTOR)
        conversation, _message = begin(pharmacist, camille)
        assert conversation.professional_id == pharmacist.id


def test_a_closed_space_is_written_to_by_nobody(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        conversation, _message = begin(bernard, camille)
        camille.enabled = False  # closed (the key kept for the archive period)
        db.session.flush()
        with pytest.raises(NotAllowed):
            begin(bernard, camille)
        for action in (READ, REPLY, CLOSE):
            assert not messaging.decide(bernard, conversation, action, messaging.parties(
                db.session, bernard, conversation))
        with pytest.raises(NotAllowed):
            messaging.reply(db.session, keys.ring, bernard, conversation, body="Encore",
                            actor=ACTOR)
        with pytest.raises(messaging.ConversationNotFound):
            messaging.get(db.session, keys.ring, bernard, conversation.id, READ, ACTOR)
        assert messaging.inbox(db.session, keys.ring, bernard, ACTOR).total == 0


# --- replying, closing -----------------------------------------------------------------------

def test_nobody_replies_in_a_closed_conversation(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        conversation, _message = begin(bernard, camille)
        messaging.reply(db.session, keys.ring, camille, conversation, body="Merci",
                        actor=ACTOR)
        with pytest.raises(NotAllowed):
            messaging.close(db.session, keys.ring, camille, conversation, ACTOR)
        messaging.close(db.session, keys.ring, bernard, conversation, ACTOR)
        for writer in (camille, bernard):
            with pytest.raises(NotAllowed):
                messaging.reply(db.session, keys.ring, writer, conversation, body="Encore",
                                actor=ACTOR)
        with pytest.raises(NotAllowed):
            messaging.close(db.session, keys.ring, bernard, conversation, ACTOR)  # twice
        db.session.commit()
        assert count(Message) == 2
        assert [e.outcome for e in events("message.sent")] == [
            "success", "success", "denied", "denied"]
        assert [e.outcome for e in events("message.closed")] == [
            "denied", "success", "denied"]
        # Still readable by both.
        for reader in (camille, bernard):
            assert messaging.get(db.session, keys.ring, reader, conversation.id, READ,
                                 ACTOR).conversation is conversation


def test_another_person_gets_nothing_of_a_conversation(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        stranger, pharmacist = other_patient(), _user("pharma.petit")
        care.declare(db.session, keys.ring, pharmacist, camille, ACTOR)  # hers too
        conversation, _message = begin(bernard, camille)
        db.session.commit()
        for viewer in (stranger, pharmacist):
            for action in (READ, REPLY, CLOSE):  # START names no conversation
                with pytest.raises(messaging.ConversationNotFound):
                    messaging.get(db.session, keys.ring, viewer, conversation.id, action,
                                  ACTOR)
            with pytest.raises(NotAllowed):
                messaging.reply(db.session, keys.ring, viewer, conversation, body="Intrus",
                                actor=ACTOR)
            assert messaging.inbox(db.session, keys.ring, viewer, ACTOR).total == 0
        for bad in ("", "x" * 32, conversation.id.upper(), conversation.id + "0",
                    "../" + conversation.id, secrets.token_hex(16)):
            with pytest.raises(messaging.ConversationNotFound):
                messaging.get(db.session, keys.ring, camille, bad, READ, ACTOR)
        db.session.commit()
        assert count(Message) == 1
        denied = events("message.read", "denied")
        assert len(denied) == 2 + 6
        assert Counter(e.subject_id for e in denied) == {camille.id: 2, None: 6}
        # Each decision has one audit name whichever path refuses it: a refused close is
        # "message.closed" like close()'s own refusal, a refused reply "message.sent".
        assert [(e.outcome, e.subject_id) for e in events("message.closed")] == [
            ("denied", camille.id)] * 2
        assert [e.outcome for e in events("message.sent")] == ["success"] + ["denied"] * 4
        names = set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("message.%"))))
        assert names <= {"message.started", "message.sent", "message.read",
                         "message.closed", "message.inbox"}, names


def test_reading_a_conversation_is_one_call_on_parties_gathered_once(app, demo_users, store,
                                                                     tmp_path):
    """open_to_read: the decision, the audit of the read, the page (summary with the unread
    count before this read, the messages, whether the viewer may reply, the documents to
    attach on the patient's own page) and the read mark, on the parties and the
    professional's standing read once."""
    with app.app_context():
        camille, bernard = cast()
        document = add_document(store, tmp_path, camille)
        conversation, first = begin(bernard, camille)
        second = messaging.reply(db.session, keys.ring, bernard, conversation, body="Et aussi",
                                 actor=ACTOR)
        db.session.commit()
        db.session.expunge_all()  # nothing of the conversation known before it is opened
        camille, bernard = _user("camille.martin"), _user("dr.bernard")
        standing_reads, account_reads = [], []

        def counted(_connection, _cursor, statement, *_rest):
            if "care_relations" in statement or "emergency_accesses" in statement:
                standing_reads.append(statement)
            elif statement.lstrip().startswith("SELECT users."):
                account_reads.append(statement)

        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            mine = messaging.open_to_read(db.session, keys.ring, camille, conversation.id,
                                          ACTOR)
            # The conversation, the other side and the standing: one statement.
            assert len(standing_reads) == 1 and "FROM conversations" in standing_reads[0]
            assert account_reads == []
            standing_reads.clear()
            his = messaging.open_to_read(db.session, keys.ring, bernard, conversation.id,
                                         ACTOR)
            assert len(standing_reads) == 1 and "FROM conversations" in standing_reads[0]
            assert account_reads == []
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)
        # Read as a row, not an ORM object (a read changes nothing else of it).
        assert isinstance(mine.summary.conversation, messaging.ConversationRow)
        assert (mine.summary.subject, mine.summary.unread) == (SUBJECT, 2)
        assert [item.id for item in mine.items] == [first.id, second.id]
        assert mine.older is None and mine.may_reply and his.may_reply
        conversation = db.session.get(Conversation, mine.summary.conversation.id)
        assert conversation.patient_unread == 0  # read by opening it
        assert conversation.professional_unread == 0 and conversation.patient_read_at
        # Documents to attach: on the patient's own page only.
        assert [view.title for view in mine.documents if view.document.id == document.id] == [
            "Compte rendu"]
        assert his.documents == []
        db.session.commit()
        assert [(e.outcome, e.actor_id) for e in events("message.read")] == [
            ("success", None), ("success", None)]

        messaging.close(db.session, keys.ring, bernard, conversation, ACTOR)
        db.session.commit()
        assert not messaging.open_to_read(db.session, keys.ring, camille, conversation.id,
                                          ACTOR).may_reply
        for viewer, wanted in ((other_patient(), conversation.id),
                               (camille, secrets.token_hex(16))):
            with pytest.raises(messaging.ConversationNotFound):
                messaging.open_to_read(db.session, keys.ring, viewer, wanted, ACTOR)
        db.session.commit()
        assert [(e.outcome, e.subject_id) for e in events("message.read", "denied")] == [
            ("denied", camille.id), ("denied", None)]


def test_a_reply_and_a_close_decide_on_what_get_gathered(app, demo_users):
    """get() hands back the conversation with the parties and the actor it decided on; a
    reply and a close given them decide and record on them and read no account, no
    standing and no conversation again. The actor of a professional there only through an
    emergency access says so."""
    with app.app_context():
        camille, bernard = cast()
        conversation, _message = begin(bernard, camille)
        db.session.commit()
        db.session.expunge_all()
        camille, bernard = _user("camille.martin"), _user("dr.bernard")
        opened = {viewer: messaging.get(db.session, keys.ring, viewer, conversation.id,
                                        READ, audit.Actor(viewer.id))
                  for viewer in (camille, bernard)}
        reads = []

        def counted(_connection, _cursor, statement, *_rest):
            if statement.lstrip().startswith("SELECT"):
                reads.append(statement)

        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            for viewer in (camille, bernard):
                messaging.reply(db.session, keys.ring, viewer, opened[viewer].conversation,
                                body="Merci", actor=opened[viewer].actor,
                                gathered=opened[viewer].parties)
            messaging.close(db.session, keys.ring, bernard, opened[bernard].conversation,
                            opened[bernard].actor, gathered=opened[bernard].parties)
            db.session.flush()
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)
        assert reads == []
        # Decided on the parties gathered: the patient's page said she may reply; what
        # she was given is what decides (a close since is seen by the next request's get()).
        with pytest.raises(NotAllowed):
            messaging.reply(db.session, keys.ring, camille, opened[camille].conversation,
                            body="Encore", actor=opened[camille].actor,
                            gathered=opened[camille].parties)
        db.session.commit()
        assert [(e.outcome, e.actor_id) for e in events("message.sent")][-3:] == [
            ("success", camille.id), ("success", bernard.id), ("denied", camille.id)]
        assert [(e.outcome, e.actor_id) for e in events("message.closed")] == [
            ("success", bernard.id)]

        # In an emergency only: the actor says so, for the reply as for the read.
        pharmacist = _user("pharma.petit")
        second, _message = begin(bernard, camille)
        camille.emergency_others = True
        care.relation(db.session, camille.id, bernard.id).declared_at = None
        emergency.start(db.session, keys.ring, bernard, camille, "Malaise au cabinet",
                        now=utcnow(), hours=4, actor=ACTOR)
        db.session.commit()
        inside = messaging.get(db.session, keys.ring, bernard, second.id, READ,
                               audit.Actor(bernard.id))
        assert inside.actor.acting_as == "professional_emergency"
        assert inside.parties.care.emergency and not inside.parties.care.declared
        with pytest.raises(messaging.ConversationNotFound):
            messaging.get(db.session, keys.ring, pharmacist, second.id, READ,
                          audit.Actor(pharmacist.id))


def test_the_standing_read_with_the_conversation_is_the_right_pair(app, demo_users):
    """The opening statement reads the professional's standing towards the patient: the
    conversation's professional for the patient (blocked: she reads, no longer replies),
    the viewer for a professional (blocked: nothing; a stranger there through an emergency
    access: refused, and recorded as acting through it)."""
    with app.app_context():
        camille, bernard = cast()
        pharmacist = _user("pharma.petit")
        conversation, _message = begin(bernard, camille)
        care.set_blocked(db.session, keys.ring, camille, bernard, True, ACTOR)
        camille.emergency_others = True
        emergency.start(db.session, keys.ring, pharmacist, camille, "Malaise à l’officine",
                        now=utcnow(), hours=4, actor=ACTOR)
        db.session.commit()
        db.session.expunge_all()
        camille, bernard = _user("camille.martin"), _user("dr.bernard")
        pharmacist = _user("pharma.petit")
        page = messaging.open_to_read(db.session, keys.ring, camille, conversation.id, ACTOR)
        assert page.items and not page.may_reply
        for viewer in (bernard, pharmacist):
            with pytest.raises(messaging.ConversationNotFound):
                messaging.open_to_read(db.session, keys.ring, viewer, conversation.id,
                                       audit.Actor(viewer.id))
        db.session.commit()
        assert [(e.outcome, e.actor_id, e.acting_as) for e in events("message.read")] == [
            ("success", None, None), ("denied", bernard.id, None),
            ("denied", pharmacist.id, "professional_emergency")]


# --- unread counters and read marks ------------------------------------------------------

def test_unread_counters_and_read_marks(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        start = utcnow() - timedelta(hours=3)
        conversation, first = begin(bernard, camille, now=start)
        second = messaging.reply(db.session, keys.ring, bernard, conversation, body="Et aussi",
                                 actor=ACTOR, now=start + timedelta(minutes=1))
        db.session.commit()
        assert (conversation.patient_unread, conversation.professional_unread) == (2, 0)
        assert news.whats_new(db.session, keys.ring, camille, utcnow()).unread == 2
        assert messaging.unread_patients(db.session, bernard) == 0
        page = messaging.inbox(db.session, keys.ring, camille, ACTOR)
        assert (page.unread, page.items[0].unread) == (2, 2)
        assert messaging.inbox(db.session, keys.ring, bernard, ACTOR).unread == 0
        items, _older = messaging.messages(db.session, keys.ring, bernard, conversation)
        assert [item.read_by_other for item in items] == [False, False]  # not opened yet

        messaging.mark_read(camille, conversation, now=start + timedelta(minutes=30))
        assert news.whats_new(db.session, keys.ring, camille, utcnow()).unread == 0
        items, _older = messaging.messages(db.session, keys.ring, bernard, conversation)
        assert [item.read_by_other for item in items] == [True, True]
        assert [item.id for item in items] == [first.id, second.id]

        answer = messaging.reply(db.session, keys.ring, camille, conversation, body="Merci",
                                 actor=ACTOR, now=start + timedelta(hours=1))
        db.session.commit()
        assert (conversation.patient_unread, conversation.professional_unread) == (0, 1)
        assert messaging.unread_patients(db.session, bernard) == 1
        assert messaging.inbox(db.session, keys.ring, bernard, ACTOR).unread == 1
        mine = messaging.message_view(db.session, keys.ring, camille, conversation, answer)
        assert mine.from_patient and not mine.read_by_other
        # Someone else opening it changes nothing.
        messaging.mark_read(_user("pharma.petit"), conversation)
        assert (conversation.patient_unread, conversation.professional_unread) == (0, 1)
        messaging.mark_read(bernard, conversation, now=start + timedelta(hours=2))
        assert conversation.professional_unread == 0
        assert messaging.message_view(db.session, keys.ring, camille, conversation,
                                      answer).read_by_other


def test_writing_marks_the_senders_side_read(app, demo_users):
    """A patient who replies from a page opened before the last message (or by the plain
    form) has read the conversation: her unread count goes to zero, and the same for the
    professional."""
    with app.app_context():
        camille, bernard = cast()
        conversation, _first = begin(bernard, camille)
        messaging.reply(db.session, keys.ring, bernard, conversation, body="Et aussi",
                        actor=ACTOR)
        assert conversation.patient_unread == 2
        messaging.reply(db.session, keys.ring, camille, conversation, body="Bien reçu",
                        actor=ACTOR)
        assert (conversation.patient_unread, conversation.professional_unread) == (0, 1)
        messaging.reply(db.session, keys.ring, bernard, conversation, body="Parfait",
                        actor=ACTOR)
        assert (conversation.patient_unread, conversation.professional_unread) == (1, 0)
        db.session.commit()


def test_the_inbox_pages_newest_first_and_hides_blocking_patients(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        stranger = other_patient()
        care.declare(db.session, keys.ring, bernard, stranger, ACTOR)
        start = utcnow() - timedelta(days=3)
        made = []
        for number in range(messaging.INBOX_PAGE + 5):
            conversation, _m = begin(bernard, camille, subject=f"Objet {number}",
                                     now=start + timedelta(minutes=number))
            made.append(conversation.id)
        theirs, _m = begin(bernard, stranger, subject="Objet de l’autre patiente",
                           now=start - timedelta(days=1))
        db.session.commit()
        first = messaging.inbox(db.session, keys.ring, camille, ACTOR)
        second = messaging.inbox(db.session, keys.ring, camille, ACTOR, page=2)
        assert (first.total, first.pages, len(first.items), len(second.items)) == (25, 2, 20, 5)
        assert [item.id for item in first.items + second.items] == made[::-1]
        assert first.items[0].subject == "Objet 24" and first.unread == 25
        assert messaging.inbox(db.session, keys.ring, camille, ACTOR, page=99).page == 2
        assert messaging.inbox(db.session, keys.ring, camille, ACTOR, page=-3).page == 1
        assert messaging.inbox(db.session, keys.ring, stranger, ACTOR).total == 1
        assert messaging.inbox(db.session, keys.ring, bernard, ACTOR).total == 26
        care.set_blocked(db.session, keys.ring, camille, bernard, True, ACTOR)
        page = messaging.inbox(db.session, keys.ring, bernard, ACTOR)
        assert [item.id for item in page.items] == [theirs.id] and page.total == 1
        # Camille still reads every one of them.
        assert messaging.inbox(db.session, keys.ring, camille, ACTOR).total == 25


# --- paging through messages -------------------------------------------------------------

def test_seventy_five_messages_page_by_thirty_from_the_newest(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        start = utcnow() - timedelta(days=1)
        conversation, first = begin(bernard, camille, body="Message 0", now=start)
        ids = [first.id]
        for number in range(1, 75):
            writer = camille if number % 2 else bernard
            ids.append(messaging.reply(db.session, keys.ring, writer, conversation,
                                       body=f"Message {number}", actor=ACTOR,
                                       now=start + timedelta(minutes=number)).id)
        db.session.commit()
        assert count(Message) == 75
        newest, older = messaging.messages(db.session, keys.ring, camille, conversation)
        assert [item.body for item in newest] == [f"Message {n}" for n in range(45, 75)]
        assert older == ids[45]
        middle, older = messaging.messages(db.session, keys.ring, camille, conversation,
                                           before=older)
        assert [item.body for item in middle] == [f"Message {n}" for n in range(15, 45)]
        assert older == ids[15]
        oldest, older = messaging.messages(db.session, keys.ring, camille, conversation,
                                           before=older)
        assert [item.body for item in oldest] == [f"Message {n}" for n in range(15)]
        assert older is None
        assert messaging.messages(db.session, keys.ring, camille, conversation,
                                  before=ids[0]) == ([], None)
        # Exactly a page left: no "older" link to an empty page.
        page, older = messaging.messages(db.session, keys.ring, camille, conversation,
                                         before=ids[30])
        assert len(page) == 30 and older is None
        assert [item.from_patient for item in newest[:2]] == [True, False]  # 45 odd: Camille


def test_paging_stays_inside_the_conversation(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        mine, _m = begin(bernard, camille, body="Le mien")
        other, _m = begin(bernard, camille, body="L’autre")
        messaging.reply(db.session, keys.ring, camille, other, body="Réponse ailleurs",
                        actor=ACTOR)
        items, _older = messaging.messages(db.session, keys.ring, camille, mine,
                                           before=10**9)
        assert [item.body for item in items] == ["Le mien"]


# --- sealed at rest ----------------------------------------------------------------------

def test_subject_body_and_file_name_are_sealed_in_every_row(app, demo_users, store, tmp_path):
    with app.app_context():
        camille, bernard = cast()
        conversation, message = begin(bernard, camille)
        attachment = attach(store, tmp_path, message, camille, b"Canari-contenu 42")
        db.session.commit()
        rows = (whole_rows(Conversation) + whole_rows(Message) + whole_rows(MessageAttachment)
                + whole_rows(AuditEvent))
        for canary in (SUBJECT, BODY, FILE_NAME, "Canari"):
            assert not any(canary.encode() in value for value in rows), canary
        blob = b"".join(store.open(attachment.blob_key))
        assert b"Canari" not in blob
        # ... and they open again, for the right row.
        assert messaging.view(db.session, keys.ring, camille, conversation).subject == SUBJECT
        items, _older = messaging.messages(db.session, keys.ring, camille, conversation)
        assert items[0].body == BODY and items[0].attachments[0].file_name == FILE_NAME
        assert b"".join(messaging.open_attachment(keys.ring, store, camille, attachment)) == (
            b"Canari-contenu 42")


def test_a_sealed_value_moved_to_another_row_does_not_open(app, demo_users, store, tmp_path):
    with app.app_context():
        camille, bernard = cast()
        one, first = begin(bernard, camille, subject="Premier objet", body="Premier corps")
        two, second = begin(bernard, camille, subject="Second objet", body="Second corps")
        att_one = attach(store, tmp_path, first, camille, b"un", "un.txt")
        att_two = attach(store, tmp_path, second, camille, b"deux", "deux.txt")
        db.session.commit()
        # The control: in place, everything opens.
        assert [messaging.view(db.session, keys.ring, camille, c).subject for c in (one, two)
                ] == ["Premier objet", "Second objet"]
        items, _older = messaging.messages(db.session, keys.ring, camille, one)
        assert (items[0].body, items[0].attachments[0].file_name) == ("Premier corps",
                                                                      "un.txt")
        # Same patient, same key: only the associated data (table, column, row) tells them
        # apart.
        one.subject_sealed, two.subject_sealed = two.subject_sealed, one.subject_sealed
        with pytest.raises(CryptoError):
            messaging.view(db.session, keys.ring, camille, one)
        with pytest.raises(CryptoError):
            messaging.inbox(db.session, keys.ring, camille, ACTOR)
        db.session.rollback()
        first, second = db.session.get(Message, first.id), db.session.get(Message, second.id)
        first.body_sealed, second.body_sealed = second.body_sealed, first.body_sealed
        with pytest.raises(CryptoError):
            messaging.messages(db.session, keys.ring, camille, db.session.get(Conversation,
                                                                              one.id))
        db.session.rollback()
        # A subject sealed as a body (another column) does not open either.
        first = db.session.get(Message, first.id)
        first.body_sealed = db.session.get(Conversation, one.id).subject_sealed
        with pytest.raises(CryptoError):
            messaging.message_view(db.session, keys.ring, camille,
                                   db.session.get(Conversation, one.id), first)
        db.session.rollback()
        att_one = db.session.get(MessageAttachment, att_one.id)
        att_two = db.session.get(MessageAttachment, att_two.id)
        att_one.file_name_sealed, att_two.file_name_sealed = (att_two.file_name_sealed,
                                                              att_one.file_name_sealed)
        with pytest.raises(CryptoError):
            messaging.messages(db.session, keys.ring, camille, db.session.get(Conversation,
                                                                              one.id))
        db.session.rollback()
        # The files themselves: another attachment's blob and key do not open under this
        # attachment's id (blob keys are unique, so the swap is made on a copy of the row).
        att_two = db.session.get(MessageAttachment, att_two.id)
        moved = MessageAttachment(id=att_one.id, patient_id=camille.id, scheme=1,
                                  blob_key=att_two.blob_key, wrapped_key=att_two.wrapped_key,
                                  blob_size=att_two.blob_size)
        with pytest.raises(CryptoError):
            b"".join(messaging.open_attachment(keys.ring, store, camille, moved))
        assert b"".join(messaging.open_attachment(keys.ring, store, camille, att_two)) == b"deux"


def test_another_patients_key_does_not_open_a_conversation(app, demo_users):
    with app.app_context():
        camille, bernard = cast()
        stranger = other_patient()
        conversation, _message = begin(bernard, camille)
        conversation.patient_id = stranger.id  # moved to another space in the database
        db.session.flush()
        with pytest.raises(CryptoError):
            messaging.view(db.session, keys.ring, stranger, conversation)
        db.session.rollback()


# --- attachments ---------------------------------------------------------------------------

def test_a_vault_document_is_copied_and_outlives_its_deletion(app, demo_users, store,
                                                              tmp_path):
    with app.app_context():
        camille, bernard = cast()
        conversation, _message = begin(bernard, camille)
        document = add_document(store, tmp_path, camille, b"%PDF-1.4 la copie")
        answer = messaging.reply(db.session, keys.ring, camille, conversation,
                                 body="Voici le compte rendu", actor=ACTOR)
        attachment = messaging.attach_document(db.session, keys.ring, store, answer, camille,
                                               document, tmp_path)
        db.session.commit()
        assert attachment.blob_key != document.blob_key
        assert attachment.wrapped_key != document.wrapped_key
        assert (attachment.kind, attachment.mimetype, attachment.size) == (
            "pdf", "application/pdf", document.size)
        vault.delete_document(db.session, keys.ring, store, document, ACTOR)
        assert db.session.get(Document, document.id) is None
        assert not store.exists(document.blob_key)
        item = messaging.get_attachment(db.session, keys.ring, bernard, conversation,
                                        attachment.id, ACTOR)
        assert item.file_name == "compte-rendu.pdf"
        assert b"".join(messaging.open_attachment(keys.ring, store, camille,
                                                  item.attachment)) == b"%PDF-1.4 la copie"
        assert not list(tmp_path.glob("tmp*"))  # the clear copy on disk is gone


def test_an_attachment_is_found_only_under_its_own_conversation(app, demo_users, store,
                                                                tmp_path):
    with app.app_context():
        camille, bernard = cast()
        one, first = begin(bernard, camille)
        two, _second = begin(bernard, camille)
        attachment = attach(store, tmp_path, first, camille)
        db.session.commit()
        assert messaging.get_attachment(db.session, keys.ring, camille, one, attachment.id,
                                        ACTOR).id == attachment.id
        for conversation, attachment_id in ((two, attachment.id), (one, secrets.token_hex(16)),
                                            (one, "../" + attachment.id), (one, "")):
            with pytest.raises(messaging.ConversationNotFound):
                messaging.get_attachment(db.session, keys.ring, camille, conversation,
                                         attachment_id, ACTOR)
        db.session.commit()
        outcomes = [e.outcome for e in events("message.attachment_download")]
        assert outcomes == ["success", "denied", "denied", "denied", "denied"]


def test_saving_to_the_vault_is_done_once(app, demo_users, store, tmp_path):
    with app.app_context():
        camille, bernard = cast()
        conversation, message = begin(bernard, camille)
        attachment = attach(store, tmp_path, message, camille, b"resultats",
                            "Bilan_sanguin_mars.txt")
        db.session.commit()
        item = messaging.get_attachment(db.session, keys.ring, camille, conversation,
                                        attachment.id, ACTOR)
        with pytest.raises(NotAllowed):
            messaging.save_to_vault(db.session, keys.ring, store, bernard, conversation, item,
                                    tmp_path, ACTOR)
        document = messaging.save_to_vault(db.session, keys.ring, store, camille,
                                           conversation, item, tmp_path, ACTOR)
        db.session.commit()
        again = messaging.save_to_vault(db.session, keys.ring, store, camille, conversation,
                                        item, tmp_path, ACTOR)
        db.session.commit()
        assert again.id == document.id
        assert count(Document) == 1
        assert len(events("document.added")) == 1
        view = vault.view(keys.ring, camille, document)
        assert (view.title, view.file_name) == ("Bilan sanguin mars", "Bilan_sanguin_mars.txt")
        # Authored by the professional who sent it, dated by the message (issue 17).
        assert (document.category, document.source, document.author_id) == (
            Category.OTHER, "message", bernard.id)
        assert document.document_date == clock.today(message.sent_at)  # the day in Paris
        assert b"".join(vault.open_content(keys.ring, store, camille, document)) == b"resultats"
        # Deleted from the vault, it can be saved again (a new copy).
        vault.delete_document(db.session, keys.ring, store, document, ACTOR)
        db.session.expire_all()  # the session keeps objects across commits
        assert db.session.get(MessageAttachment, attachment.id).saved_document_id is None
        item = messaging.get_attachment(db.session, keys.ring, camille, conversation,
                                        attachment.id, ACTOR)
        third = messaging.save_to_vault(db.session, keys.ring, store, camille, conversation,
                                        item, tmp_path, ACTOR)
        assert third.id != document.id and count(Document) == 1


def test_verify_knows_attachment_blobs_and_reports_a_missing_one(app, demo_users, store,
                                                                 tmp_path):
    with app.app_context():
        camille, bernard = cast()
        _conversation, message = begin(bernard, camille)
        document = add_document(store, tmp_path, camille)
        attachment = attach(store, tmp_path, message, camille)
        db.session.commit()
        report = vault.verify(db.session, store)
        assert report.ok and report.checked == 2 and report.orphans == []
        assert vault.verify(db.session, store, repair=True).repaired == 0
        assert store.exists(attachment.blob_key)  # "repair" kept it: it is known
        store.delete(attachment.blob_key)
        report = vault.verify(db.session, store)
        assert report.missing == [attachment.id] and not report.ok
        assert report.corrupt == [] and report.orphans == []
        assert store.exists(document.blob_key)


def test_verify_finds_a_corrupt_attachment_blob(app, demo_users, store, tmp_path):
    with app.app_context():
        camille, bernard = cast()
        _conversation, message = begin(bernard, camille)
        attachment = attach(store, tmp_path, message, camille)
        db.session.commit()
        blob = bytearray(b"".join(store.open(attachment.blob_key)))
        blob[-1] ^= 1
        store.put(attachment.blob_key, [bytes(blob)])
        assert vault.verify(db.session, store).corrupt == [attachment.id]


# --- erasure ---------------------------------------------------------------------------------

def test_erasing_a_space_removes_its_conversations_and_attachments(app, demo_users, store,
                                                                   tmp_path):
    with app.app_context():
        camille, bernard = cast()
        stranger = other_patient()
        care.declare(db.session, keys.ring, bernard, stranger, ACTOR)
        conversation, message = begin(bernard, camille)
        attach(store, tmp_path, message, camille)
        messaging.reply(db.session, keys.ring, camille, conversation, body="Merci",
                        actor=ACTOR)
        _kept, kept_message = begin(bernard, stranger)
        attach(store, tmp_path, kept_message, stranger)
        db.session.commit()
        camille_id, conversation_id = camille.id, conversation.id
        now = utcnow()
        closing.close_space(db.session, keys.ring, camille, delete_now=True, now=now,
                            actor=ACTOR)
        db.session.commit()
        # Closed: the professional no longer sees it, even before the purge.
        assert messaging.inbox(db.session, keys.ring, bernard, ACTOR).total == 1
        assert closing.purge(db.session, keys.ring, now) == 1
        db.session.commit()
        assert db.session.get(User, camille_id) is None
        for model in (Conversation, MessageAttachment):
            assert db.session.scalar(select(func.count()).select_from(model).where(
                model.patient_id == camille_id)) == 0
        assert db.session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id)) == 0
        # The other patient's conversation is untouched.
        assert (count(Conversation), count(Message), count(MessageAttachment)) == (1, 1, 1)


def test_erase_user_alone_removes_them(app, demo_users, store, tmp_path):
    with app.app_context():
        camille, bernard = cast()
        _conversation, message = begin(bernard, camille)
        attach(store, tmp_path, message, camille)
        db.session.commit()
        closing.erase_user(db.session, camille.id)
        db.session.commit()
        assert (count(Conversation), count(Message), count(MessageAttachment)) == (0, 0, 0)
