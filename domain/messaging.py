"""Secure messaging: a care professional writes to a patient, the patient reads and
replies, the professional may close the conversation.

Subjects, bodies and attachment names are sealed with the patient key (associated data:
table, column, row); attachments are encrypted like vault documents. Every decision goes
through domain/policy.conversation_allowed, and every read, message, refusal and download
is written to the audit trail — never a subject or a body.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from sqlalchemy import String, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from domain import audit, care, clock, policy, vault
from domain.crypto import Keyring, attachment_binding, open_sealed, seal
from domain.db import PagedList, Prepared, mapped_columns, mapped_row
from domain.errors import NotAllowed
from domain.forms import Field, Reading, read
from domain.keys import patient_key
from domain.models import (
    AccountRow,
    AuthorKind,
    CareRelation,
    Category,
    Conversation,
    Document,
    Message,
    MessageAttachment,
    Role,
    User,
)
from domain.models.base import UTCDateTime, new_id, utcnow
from domain.people import by_id as accounts_by_id
from domain.people import known_or_get
from domain.policy import MessageAction
from domain.storage import BlobStore

SUBJECT = Field("subject", "text", required=True, max_length=150)
BODY = Field("body", "longtext", required=True, max_length=5000)
INBOX_PAGE = 20
MESSAGES_PAGE = 30
MAX_ATTACHMENTS = 3
ID = re.compile(r"[0-9a-f]{32}")
# One audit action per decision, whichever path refuses it (a refused close is
# "message.closed" whether get() or close() says no).
AUDIT_ACTIONS = {MessageAction.READ: "message.read", MessageAction.REPLY: "message.sent",
                 MessageAction.CLOSE: "message.closed"}


class ConversationNotFound(Exception):
    """No such conversation for this person, or the policy refuses the action (a 404, so
    another person's id reveals nothing)."""


@dataclass(frozen=True)
class AttachmentView:
    """A message attachment with its file name opened."""

    attachment: MessageAttachment
    file_name: str

    @property
    def id(self) -> str:
        return self.attachment.id


@dataclass(frozen=True)
class MessageView:
    """A message with its body opened, its sender's account (read-only; None if gone), its
    attachments and whether the other side has read it."""

    message: Message
    body: str
    sender: User | AccountRow | None
    attachments: tuple[AttachmentView, ...]
    read_by_other: bool  # the other side opened the conversation since it was sent

    @property
    def id(self) -> int:
        return self.message.id

    @property
    def from_patient(self) -> bool:
        return self.message.sender_kind == AuthorKind.PATIENT


@dataclass(frozen=True)
class ConversationView:
    """A conversation with its subject opened, both parties' accounts and the number of
    messages unread by the person looking. In an inbox, the conversation is a row of its
    columns and the people are read-only rows (AccountRow): a list only shows them."""

    conversation: Conversation
    subject: str
    patient: User | AccountRow
    professional: User | AccountRow
    unread: int  # for the person looking

    @property
    def id(self) -> str:
        return self.conversation.id

    @property
    def closed(self) -> bool:
        return self.conversation.closed_at is not None


@dataclass(frozen=True)
class InboxPage:
    """One page of a person's inbox: its conversations, the page number, the number of
    pages, the total of conversations and the person's unread messages."""

    items: list[ConversationView]
    page: int
    pages: int
    total: int
    unread: int  # every unread message of the person, all conversations together


def validate(form, *, with_subject: bool) -> Reading:
    """The subject (a new conversation only) and the body, cleaned of control characters
    and direction overrides, within their lengths."""
    fields = (SUBJECT, BODY) if with_subject else (BODY,)
    return read(fields, form, clock.today())


def _seal(key: bytes, table_column: str, row_id: object, text: str) -> bytes:
    return seal(key, text.encode(), f"{table_column}.{row_id}")


def _open(key: bytes, table_column: str, row_id: object, sealed: bytes) -> str:
    return open_sealed(key, sealed, f"{table_column}.{row_id}").decode()


@dataclass(frozen=True)
class Parties:
    """A conversation's two accounts and the professional's standing towards the patient
    (None without a professional), gathered once for a request: every decision on the
    conversation rests on them."""

    patient: User | AccountRow | None
    professional: User | AccountRow | None
    care: policy.CareFacts | None


@dataclass(frozen=True)
class Opened:
    """A conversation the policy let the viewer open for an action (get()), with the
    parties the decision rested on and who acts, for the audit trail (a professional there
    only through an emergency access recorded as such): what the rest of the request
    decides and records on, without reading them again."""

    conversation: Conversation
    parties: Parties
    actor: audit.Actor


def parties(session: Session, viewer: User, conversation: Conversation) -> Parties:
    """The parties of a conversation already loaded, for a use case called without get()
    (the demo's and the benchmarks' messages), read as get() reads them: the viewer, the
    other side read-only, and the standing of the viewer if they are the professional, or
    of the conversation's professional if the viewer is the patient."""
    return _read_opening(session, viewer, conversation.id)[1]


def decide(viewer: User, conversation: Conversation, action: MessageAction,
           gathered: Parties) -> bool:
    """Whether the policy lets `viewer` take `action` in this conversation, on its parties
    gathered (get(), or parties()). Decides only: nothing is audited."""
    return policy.conversation_allowed(
        action, viewer.role, is_patient=viewer.id == conversation.patient_id,
        is_professional=viewer.id == conversation.professional_id,
        closed=conversation.closed_at is not None, care=gathered.care)


def _record(session: Session, keyring: Keyring, action: str, actor: audit.Actor,
            conversation: Conversation | None, *, outcome: str = "success",
            target_id: str | None = None, details: dict | None = None) -> None:
    audit.record(session, keyring, action, actor=actor, outcome=outcome,
                 subject_id=conversation.patient_id if conversation else None,
                 target_type="conversation",
                 target_id=conversation.id if conversation else (target_id or "")[:64],
                 details=details)


def start(session: Session, keyring: Keyring, professional: User, patient: User, *,
          subject: str, body: str, actor: audit.Actor,
          now: datetime | None = None) -> tuple[Conversation, Message]:
    """A professional opens a conversation with a patient whose space they may open."""
    known = care.facts(session, professional, patient)
    if not policy.conversation_allowed(MessageAction.START, professional.role,
                                       is_patient=False, is_professional=True, care=known):
        audit.record(session, keyring, "message.started", actor=actor, outcome="denied",
                     subject_id=patient.id)
        raise NotAllowed("this professional may not write to this patient")
    now = now or utcnow()
    key = patient_key(keyring, patient)
    conversation_id = new_id()
    conversation = Conversation(
        id=conversation_id, patient_id=patient.id, professional_id=professional.id,
        professional_sector=professional.sector.value,
        subject_sealed=_seal(key, "conversations.subject", conversation_id, subject),
        created_at=now, last_message_at=now, professional_read_at=now)
    session.add(conversation)
    session.flush()
    _record(session, keyring, "message.started", actor, conversation)
    message = _add_message(session, key, conversation, professional, body, now)
    _record(session, keyring, "message.sent", actor, conversation)
    return conversation, message


def _add_message(session: Session, key: bytes, conversation: Conversation, sender: User,
                 body: str, now: datetime) -> Message:
    from_patient = sender.id == conversation.patient_id
    message = Message(conversation_id=conversation.id, sender_id=sender.id,
                      sender_kind=AuthorKind.PATIENT if from_patient
                      else AuthorKind.PROFESSIONAL, body_sealed=b"", sent_at=now)
    session.add(message)
    session.flush()  # the integer id is part of the associated data
    message.body_sealed = _seal(key, "messages.body", message.id, body)
    conversation.last_message_at = now
    # Writing in a conversation means having read it: the sender's side is read.
    if from_patient:
        conversation.professional_unread += 1
        conversation.patient_unread, conversation.patient_read_at = 0, now
    else:
        conversation.patient_unread += 1
        conversation.professional_unread, conversation.professional_read_at = 0, now
    return message


def get(session: Session, keyring: Keyring, viewer: User, conversation_id: str,
        action: MessageAction, actor: audit.Actor, *, read_only: bool = False) -> Opened:
    """The conversation, if the policy allows `action`, with its parties and the actor to
    record (Opened); otherwise ConversationNotFound. Reads and refusals are audited, a
    professional there only through an emergency access recorded as such (a reply or a
    close is audited when it happens). Starting is decided on the patient, before any
    conversation exists (`start`). `read_only`: the conversation as a row
    (ConversationRow), for a use that only reads it (its page: open_to_read); a reply, a
    close or a form posted in it takes its ORM row."""
    if action == MessageAction.START:
        raise ValueError("START is not an action on an existing conversation")
    found = _read_opening(session, viewer, conversation_id, read_only)
    conversation, gathered = found if found is not None else (None, None)
    ok = gathered is not None and decide(viewer, conversation, action, gathered)
    if gathered is not None and viewer.role == Role.PROFESSIONAL:
        actor = care.acting_on(gathered.care, actor)
    if not ok or action == MessageAction.READ:
        _record(session, keyring, AUDIT_ACTIONS[action], actor, conversation,
                outcome="success" if ok else "denied", target_id=conversation_id)
    if not ok:
        raise ConversationNotFound
    return Opened(conversation, gathered, actor)


def _opening_statement(professional_viewer: bool, read_only: bool):
    """The conversation, its two parties' accounts (read-only) and the professional's
    standing towards the patient (care.standing(): the viewer's if they are a
    professional, else the conversation's professional's), in one statement: three before
    (the row, the other side, the standing), on every view of a conversation and every
    form posted in one. The conversation as its ORM row (a reply or a close changes it),
    or, to read it (open_to_read), as plain columns of a statement built once
    (domain.db.Prepared): loading the ORM row, and the ORM session made for it, cost more
    than the query."""
    patient, professional = (aliased(User, name="conversation_patient"),
                             aliased(User, name="conversation_professional"))
    who = (bindparam("viewer_id", type_=String) if professional_viewer
           else Conversation.professional_id)
    statement = (select(*(mapped_columns(Conversation) if read_only else (Conversation,)),
                        *AccountRow.selected(patient), *AccountRow.selected(professional),
                        *care.standing(Conversation.patient_id, who,
                                       bindparam("now", type_=UTCDateTime())))
                 .outerjoin(patient, patient.id == Conversation.patient_id)
                 .outerjoin(professional, professional.id == Conversation.professional_id)
                 .where(Conversation.id == bindparam("conversation_id", type_=String)))
    return Prepared(statement) if read_only else statement


# By whether the viewer is a professional and whether the conversation is only read.
_OPENING = {(flag, read_only): _opening_statement(flag, read_only)
            for flag in (False, True) for read_only in (False, True)}
# A conversation's row read without the ORM, named as Conversation's attributes.
ConversationRow = mapped_row(Conversation)
_ACCOUNTS = len(AccountRow.COLUMNS)


def _read_opening(session: Session, viewer: User, conversation_id: str,
                  read_only: bool = False,
                  ) -> tuple[Conversation | ConversationRow, Parties] | None:
    """The conversation and its parties (parties()'s, read in one statement), or None."""
    if not ID.fullmatch(conversation_id or ""):
        return None
    professional_viewer = viewer.role == Role.PROFESSIONAL
    statement = _OPENING[professional_viewer, read_only]
    parameters = {"conversation_id": conversation_id, "viewer_id": viewer.id,
                  "now": utcnow()}
    if read_only:
        row = statement.first(session, parameters)
        if row is None:
            return None
        first = len(ConversationRow._fields)
        conversation = ConversationRow._make(row[:first])
    else:
        row = session.execute(statement, parameters).first()
        if row is None:
            return None
        first, conversation = 1, row[0]
    patient_columns = slice(first, first + _ACCOUNTS)
    professional_columns = slice(patient_columns.stop, patient_columns.stop + _ACCOUNTS)

    def account(columns: slice, user_id: str | None) -> User | AccountRow | None:
        if user_id is None:
            return None
        return viewer if viewer.id == user_id else AccountRow(row[columns])

    patient = account(patient_columns, conversation.patient_id)
    professional = account(professional_columns, conversation.professional_id)
    who = viewer if professional_viewer else professional
    declared, blocked, running = row[professional_columns.stop:]
    return conversation, Parties(
        patient, professional,
        care.facts_of(who, patient, declared, blocked, running) if who is not None else None)


@dataclass(frozen=True)
class ConversationPage:
    """A conversation as its page shows it: the summary (with the viewer's unread count
    before this read), the newest messages or those before the one asked for, the id to ask
    for earlier ones, whether the viewer may reply, and the patient's recent documents to
    attach to a reply (the patient's own page only)."""

    summary: ConversationView
    items: list[MessageView]
    older: int | None
    may_reply: bool
    documents: list[vault.DocumentView]


def open_to_read(session: Session, keyring: Keyring, viewer: User, conversation_id: str,
                 actor: audit.Actor, *, before: int | None = None,
                 representative: bool = False) -> ConversationPage:
    """Read a conversation, in one call: the policy decides on its parties, gathered once;
    the read, or its refusal (ConversationNotFound), is audited, a professional there only
    through an emergency access recorded as such; then page(). `representative`: the
    viewer is the space of someone acting for them (their secret documents stay out)."""
    opened = get(session, keyring, viewer, conversation_id, MessageAction.READ, actor,
                 read_only=True)
    return page(session, keyring, viewer, opened.conversation, opened.parties,
                before=before, representative=representative)


def page(session: Session, keyring: Keyring, viewer: User, conversation: Conversation,
         gathered: Parties, *, before: int | None = None,
         representative: bool = False) -> ConversationPage:
    """The page of a conversation the viewer was let read (open_to_read(), or get() on a
    form's POST): reading its newest messages sets the viewer's unread count to zero."""
    summary = _summary(keyring, viewer, conversation, gathered.patient, gathered.professional)
    items, older = messages(session, keyring, viewer, conversation, before=before,
                            known=(gathered.patient, gathered.professional))
    if before is None:
        mark_read(viewer, conversation, session=session)
    may_reply = decide(viewer, conversation, MessageAction.REPLY, gathered)
    documents = (recent_documents(session, keyring, viewer, representative=representative)
                 if may_reply and viewer.id == conversation.patient_id else [])
    return ConversationPage(summary, items, older, may_reply, documents)


def view(session: Session, keyring: Keyring, viewer: User, conversation: Conversation,
         gathered: Parties | None = None) -> ConversationView:
    """The conversation as `viewer` sees it (subject opened, their unread count); checks
    nothing: the caller opened it through get(), whose parties it may pass (`gathered`)."""
    gathered = gathered or Parties(known_or_get(session, conversation.patient_id, viewer),
                                   known_or_get(session, conversation.professional_id, viewer),
                                   None)
    return _summary(keyring, viewer, conversation, gathered.patient, gathered.professional)


def _summary(keyring: Keyring, viewer: User, conversation: Conversation,
             patient: User | AccountRow, professional: User | AccountRow | None,
             ) -> ConversationView:
    return ConversationView(
        conversation, _open(patient_key(keyring, patient), "conversations.subject",
                            conversation.id, conversation.subject_sealed), patient,
        professional, _unread_for(viewer, conversation))


def _unread_for(viewer: User, conversation: Conversation) -> int:
    return (conversation.patient_unread if viewer.id == conversation.patient_id
            else conversation.professional_unread)


@cache
def _inbox_sql(patient_side: bool) -> PagedList:
    """An inbox's page with its count and the person's unread messages (domain.db.PagedList),
    built once per side: the viewer and the page's bounds are parameters. The page's
    conversations are rows of their columns, which the inbox only shows."""
    viewer_id = bindparam("viewer_id")
    if patient_side:
        where = [Conversation.patient_id == viewer_id]
        unread_column = Conversation.patient_unread
    else:
        patient = User.__table__.alias("patient")
        blocked = exists().where(CareRelation.patient_id == Conversation.patient_id,
                                 CareRelation.professional_id == viewer_id,
                                 CareRelation.blocked.is_(True))
        open_space = exists().where(patient.c.id == Conversation.patient_id,
                                    patient.c.enabled.is_(True),
                                    patient.c.wrapped_key.is_not(None))
        where = [Conversation.professional_id == viewer_id, ~blocked, open_space]
        unread_column = Conversation.professional_unread
    return PagedList(mapped_columns(Conversation), Conversation, tuple(where),
                     (Conversation.last_message_at.desc(), Conversation.id.desc()),
                     unread=func.sum(unread_column))


def inbox(session: Session, keyring: Keyring, viewer: User, actor: audit.Actor,
          page: int = 1) -> InboxPage:
    """The person's conversations, the most recent message first, a page at a time. Only
    the page's subjects are opened. A professional does not see conversations with a
    patient who blocked them or whose space is closed."""
    rows, figures, page, pages = _inbox_sql(viewer.role == Role.PATIENT).read(
        session, {"viewer_id": viewer.id}, page, INBOX_PAGE)
    people = accounts_by_id(session, {row.patient_id for row in rows}
                     | {row.professional_id for row in rows})
    keys: dict[str, bytes] = {}
    items = []
    for row in rows:
        patient = people[row.patient_id]
        if row.patient_id not in keys:
            keys[row.patient_id] = patient_key(keyring, patient)
        items.append(ConversationView(
            row, _open(keys[row.patient_id], "conversations.subject", row.id,
                       row.subject_sealed), patient, people[row.professional_id],
            _unread_for(viewer, row)))
    # One audit write for the page (one chain lock), one event per patient whose subjects
    # were opened.
    audit.record_many(session, keyring, [
        audit.Entry("message.inbox", actor, "success", patient_id)
        for patient_id in (keys if viewer.role != Role.PATIENT else (viewer.id,))])
    return InboxPage(items, page, pages, figures["total"], int(figures["unread"]))


def unread_statement(patient_id):
    """Every unread message of a patient (`patient_id`: a value or a bound parameter), as
    the dashboard's news count them."""
    return (select(func.coalesce(func.sum(Conversation.patient_unread), 0))
            .where(Conversation.patient_id == patient_id))


@cache
def _messages_sql(before: bool) -> Prepared:
    """A page of a conversation's messages, newest first, built once per shape: the
    conversation, the message to read before and the number are parameters; rows of the
    messages' columns (a page only shows them)."""
    query = select(*mapped_columns(Message)).where(
        Message.conversation_id == bindparam("conversation_id"))
    if before:
        query = query.where(Message.id < bindparam("before"))
    return Prepared(query.order_by(Message.id.desc()).limit(bindparam("limit")))


# The attachments of a span of a conversation's messages (`first` to `last`, in order), as
# rows of their columns.
_ATTACHMENTS = Prepared(
    select(*mapped_columns(MessageAttachment))
    .join(Message, Message.id == MessageAttachment.message_id)
    .where(Message.conversation_id == bindparam("conversation_id"),
           MessageAttachment.message_id >= bindparam("first"),
           MessageAttachment.message_id <= bindparam("last"))
    .order_by(MessageAttachment.message_id))


def messages(session: Session, keyring: Keyring, viewer: User, conversation: Conversation,
             *, before: int | None = None, limit: int = MESSAGES_PAGE,
             known: tuple = ()) -> tuple[list[MessageView], int | None]:
    """The newest `limit` messages (before message `before`, if given), oldest first, with
    the id to ask for the earlier ones (None when there are none). `known`: accounts the
    caller already holds (the conversation's parties), not read again to name the
    senders."""
    rows = _messages_sql(before is not None).all(session, {
        "conversation_id": conversation.id, "limit": limit + 1,
        **({"before": before} if before is not None else {})})
    older = rows[limit - 1].id if len(rows) > limit else None
    rows = rows[:limit][::-1]
    return _views(session, keyring, viewer, conversation, rows, known), older


def _views(session: Session, keyring: Keyring, viewer: User, conversation: Conversation,
           rows: list[Message], known: tuple = ()) -> list[MessageView]:
    if not rows:
        return []
    held = {person.id: person for person in (viewer, *known) if person is not None}
    patient = held.get(conversation.patient_id) or known_or_get(
        session, conversation.patient_id, viewer)
    key = patient_key(keyring, patient)
    files: dict[int, list[AttachmentView]] = {}
    for attachment in _ATTACHMENTS.all(session, {"conversation_id": conversation.id,
                                                 "first": rows[0].id, "last": rows[-1].id}):
        files.setdefault(attachment.message_id, []).append(AttachmentView(
            attachment, _open(key, "message_attachments.file_name", attachment.id,
                              attachment.file_name_sealed)))
    senders = {**accounts_by_id(session, {row.sender_id for row in rows if row.sender_id}
                                - held.keys()), **held}
    result = []
    for row in rows:
        other_read = (conversation.professional_read_at
                      if row.sender_kind == AuthorKind.PATIENT
                      else conversation.patient_read_at)
        result.append(MessageView(
            row, _open(key, "messages.body", row.id, row.body_sealed),
            senders.get(row.sender_id), tuple(files.get(row.id, ())),
            other_read is not None and other_read >= row.sent_at))
    return result


def message_view(session: Session, keyring: Keyring, viewer: User, conversation: Conversation,
                 message: Message, known: tuple = ()) -> MessageView:
    """One message of the conversation, opened as messages() shows it (`known`: as
    there)."""
    return _views(session, keyring, viewer, conversation, [message], known)[0]


# A conversation read as a row (ConversationRow) is marked read by one statement, built once.
_READ_BY = {side: Prepared(
    update(Conversation).where(Conversation.id == bindparam("conversation_id", type_=String))
    .values({f"{side}_unread": 0,
             f"{side}_read_at": bindparam("now", type_=UTCDateTime())}))
    for side in ("patient", "professional")}


def mark_read(viewer: User, conversation: Conversation | ConversationRow,
              now: datetime | None = None, *, session: Session | None = None) -> None:
    """The viewer has read the conversation: their unread count goes to zero and their read
    time to `now`. Someone who is neither party changes nothing. An ORM row is changed (its
    session writes it); a row read without the ORM (get(read_only=True)) is written now,
    through `session`."""
    now = now or utcnow()
    side = ("patient" if viewer.id == conversation.patient_id
            else "professional" if viewer.id == conversation.professional_id else None)
    if side is None:
        return
    if isinstance(conversation, ConversationRow):
        _READ_BY[side].run(session, {"conversation_id": conversation.id, "now": now})
    elif side == "patient":
        conversation.patient_unread, conversation.patient_read_at = 0, now
    else:
        conversation.professional_unread, conversation.professional_read_at = 0, now


def reply(session: Session, keyring: Keyring, viewer: User, conversation: Conversation, *,
          body: str, actor: audit.Actor, now: datetime | None = None,
          gathered: Parties | None = None) -> Message:
    """Add the viewer's message to a conversation the policy lets them write in, decided
    on its parties `gathered` by get() in this request (read now when not given)."""
    gathered = gathered or parties(session, viewer, conversation)
    if not decide(viewer, conversation, MessageAction.REPLY, gathered):
        record_refused_reply(session, keyring, conversation, actor)
        raise NotAllowed("may not write in this conversation")
    message = _add_message(session, patient_key(keyring, gathered.patient), conversation,
                           viewer, body, now or utcnow())
    _record(session, keyring, "message.sent", actor, conversation)
    return message


def record_refused_reply(session: Session, keyring: Keyring, conversation: Conversation,
                         actor: audit.Actor) -> None:
    """Audit a refused reply ("message.sent", denied), also for callers that refuse it
    before reply() is reached."""
    _record(session, keyring, "message.sent", actor, conversation, outcome="denied")


def close(session: Session, keyring: Keyring, viewer: User, conversation: Conversation,
          actor: audit.Actor, now: datetime | None = None,
          gathered: Parties | None = None) -> None:
    """The professional closes the conversation: nobody can write in it any more. Decided
    on its parties `gathered` by get() in this request (read now when not given)."""
    if conversation.closed_at is not None or not decide(
            viewer, conversation, MessageAction.CLOSE,
            gathered or parties(session, viewer, conversation)):
        _record(session, keyring, "message.closed", actor, conversation, outcome="denied")
        raise NotAllowed("may not close this conversation")
    conversation.closed_at = now or utcnow()
    _record(session, keyring, "message.closed", actor, conversation)


# Attachments --------------------------------------------------------------------------------

def attach_file(session: Session, keyring: Keyring, store: BlobStore, message: Message,
                patient: User, *, path: Path, size: int, kind: str, mimetype: str,
                file_name: str) -> MessageAttachment:
    """Encrypt a checked file (domain/uploads already cleaned it) as an attachment."""
    attachment_id = new_id()
    key = patient_key(keyring, patient)
    blob = vault.seal_file(store, key, attachment_binding(attachment_id, patient.id), path,
                           size)
    attachment = MessageAttachment(
        id=attachment_id, message_id=message.id, patient_id=patient.id,
        file_name_sealed=_seal(key, "message_attachments.file_name", attachment_id,
                               file_name),
        kind=kind, mimetype=mimetype, size=size, blob_key=blob.key, blob_size=blob.size,
        checksum=blob.checksum, wrapped_key=blob.wrapped_key)
    session.add(attachment)
    session.flush()
    return attachment


def attach_document(session: Session, keyring: Keyring, store: BlobStore, message: Message,
                    patient: User, document: Document, workdir: Path) -> MessageAttachment:
    """A copy of one of the patient's vault documents (the caller checked the policy):
    the message keeps it even if the document is later deleted."""
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        path = Path(folder) / "document"
        with path.open("wb") as handle:
            for piece in vault.open_content(keyring, store, patient, document):
                handle.write(piece)
        return attach_file(session, keyring, store, message, patient, path=path,
                           size=document.size, kind=document.kind,
                           mimetype=document.mimetype,
                           file_name=vault.view(keyring, patient, document).file_name)


# An attachment of a message of a conversation, or nothing.
_ATTACHMENT = (select(MessageAttachment)
               .join(Message, Message.id == MessageAttachment.message_id)
               .where(MessageAttachment.id == bindparam("attachment_id", type_=String),
                      Message.conversation_id == bindparam("conversation_id", type_=String)))


def get_attachment(session: Session, keyring: Keyring, viewer: User, conversation: Conversation,
                   attachment_id: str, actor: audit.Actor, *,
                   patient: User | AccountRow | None = None) -> AttachmentView:
    """An attachment of this conversation (which the caller already opened through the
    policy: `patient`, its patient's account if get() gave it); another conversation's
    attachment is not found. Audited both ways."""
    attachment = (session.scalars(_ATTACHMENT, {"attachment_id": attachment_id,
                                                "conversation_id": conversation.id}).first()
                  if ID.fullmatch(attachment_id or "") else None)
    audit.record(session, keyring, "message.attachment_download", actor=actor,
                 outcome="success" if attachment else "denied",
                 subject_id=conversation.patient_id, target_type="message_attachment",
                 target_id=(attachment_id or "")[:64])
    if attachment is None:
        raise ConversationNotFound
    patient = patient or known_or_get(session, conversation.patient_id, viewer)
    return AttachmentView(attachment, _open(patient_key(keyring, patient),
                                            "message_attachments.file_name", attachment.id,
                                            attachment.file_name_sealed))


def open_attachment(keyring: Keyring, store: BlobStore, patient: User,
                    attachment: MessageAttachment) -> Iterator[bytes]:
    """The attachment's content, decrypted piece by piece with the patient key. Checks and
    audits nothing: get_attachment() does."""
    return vault.open_blob(keyring, store, patient, attachment.wrapped_key,
                           attachment_binding(attachment.id, attachment.patient_id,
                                              attachment.scheme),
                           attachment.blob_key, attachment.blob_size)


def save_to_vault(session: Session, keyring: Keyring, store: BlobStore, patient: User,
                  conversation: Conversation, item: AttachmentView, workdir: Path,
                  actor: audit.Actor) -> Document:
    """The patient keeps a received attachment in their vault, in one action: a copy
    filed under "Autres documents", titled with its file name, dated by the message and
    authored by whoever sent it (the professional, shown as such; the patient when it was
    their own, or when the sender's account is gone)."""
    if patient.id != conversation.patient_id:
        raise NotAllowed("only the patient files into their vault")
    attachment = item.attachment
    if attachment.saved_document_id and session.get(Document, attachment.saved_document_id):
        return session.get(Document, attachment.saved_document_id)
    message = session.get(Message, attachment.message_id)
    title = Path(item.file_name).stem.replace("_", " ").strip() or item.file_name
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        path = Path(folder) / "attachment"
        with path.open("wb") as handle:
            for piece in open_attachment(keyring, store, patient, attachment):
                handle.write(piece)
        sender = session.get(User, message.sender_id) if message.sender_id else None
        document = vault.add_document(
            session, keyring, store, patient=patient, author=sender or patient, path=path,
            size=attachment.size, kind=attachment.kind, mimetype=attachment.mimetype,
            file_name=item.file_name, title=title[:vault.TITLE_MAX], category=Category.OTHER,
            document_date=min(clock.today(message.sent_at), clock.today()), hidden=None,
            source="message", actor=actor)
    attachment.saved_document_id = document.id
    return document


@cache
def _recent_sql(representative: bool) -> Prepared:
    """The patient's newest deposits, built once per kind of viewer: the patient and the
    number are parameters; rows of the documents' columns (the form only shows them)."""
    return Prepared(select(*mapped_columns(Document)).where(
        Document.patient_id == bindparam("patient_id"),
        *((Document.secret_from_representatives.is_(False),) if representative else ()))
        .order_by(Document.deposited_at.desc()).limit(bindparam("limit")))


def recent_documents(session: Session, keyring: Keyring, patient: User,
                     limit: int = 30, representative: bool = False) -> list[vault.DocumentView]:
    """The patient's newest documents, offered to attach to a reply (for someone acting for
    the patient, never the minor's secret ones)."""
    rows = _recent_sql(representative).all(session, {"patient_id": patient.id,
                                                     "limit": limit})
    key = patient_key(keyring, patient) if rows else b""
    return [vault.DocumentView(row, vault.title_of(key, row)) for row in rows]


def unread_patients(session: Session, professional: User) -> int:
    """Conversations with a reply the professional has not read (for their home page)."""
    return int(session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.professional_id == professional.id,
        Conversation.professional_unread > 0)) or 0)

