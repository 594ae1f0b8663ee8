"""The outbox: e-mails and SMS are queued in the request's transaction and sent by a worker.

Why: a saved action must never be lost to a mail server that is down (an upload used to
answer 500 after it was saved), and a request should not wait on SMTP. A message joins the
outbox in the same transaction as the action that causes it: if the action rolls back, no
message leaves; once it commits, the message is sent at least once and, with the SMS
gateway's idempotency key, exactly once.

Content is sealed with the server key (associated data: table, column, row), so codes are
never in clear in the database or its backups; the row is deleted once sent.

A worker (`flask outbox work`) polls for due messages, claims each with a short lease
(compare-and-set on `locked_until`, so several workers never send the same message at once),
sends it, and deletes it. A failure that may pass is retried with exponential backoff
(5 s, 10 s, 20 s… capped at 30 minutes, MAX_ATTEMPTS in all, about 6 hours); a final one
(an address refused) is given up at once. A given-up message keeps its row without content
so the operator can count it (`flask outbox status`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from domain.crypto import CryptoError, Keyring
from domain.models import Channel, OutgoingMessage
from domain.models.base import new_id, utcnow
from domain.notify import DeliveryError

LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=30)
MAX_ATTEMPTS = 20
PENDING_FLAG = "carnet_outbox_pending"


def _associated(message_id: str) -> str:
    return f"outbox|payload_sealed|{message_id}"


def _queue(session: Session, keyring: Keyring, channel: Channel, payload: bytes,
           now: datetime | None) -> OutgoingMessage:
    message_id = new_id()
    now = now or utcnow()
    message = OutgoingMessage(id=message_id, channel=channel, created_at=now,
                              next_attempt_at=now, attempts=0,
                              payload_sealed=keyring.seal_server(payload,
                                                                 _associated(message_id)))
    session.add(message)
    session.info[PENDING_FLAG] = True
    return message


def queue_email(session: Session, keyring: Keyring, raw: bytes,
                now: datetime | None = None) -> OutgoingMessage:
    """Queue an e-mail (RFC 5322 bytes, built by domain.notify.build_email) in the caller's
    transaction."""
    return _queue(session, keyring, Channel.EMAIL, raw, now)


def queue_sms(session: Session, keyring: Keyring, to: str, text: str,
              now: datetime | None = None) -> OutgoingMessage:
    """Queue an SMS in the caller's transaction."""
    payload = json.dumps({"to": to, "text": text}, ensure_ascii=False).encode()
    return _queue(session, keyring, Channel.SMS, payload, now)


def has_queued(session: Session) -> bool:
    """Whether this session queued a message since the flag was last taken (see take_flag)."""
    return bool(session.info.get(PENDING_FLAG))


def take_flag(session: Session) -> bool:
    """Read and clear "this session queued something" (the after-commit hook asks)."""
    return bool(session.info.pop(PENDING_FLAG, False))


@dataclass(frozen=True)
class Transports:
    """How each channel leaves: email(raw bytes), sms(to, text, idempotency key)."""

    email: Callable[[bytes], None]
    sms: Callable[[str, str, str], None]


@dataclass
class Run:
    """What one deliver_due() pass did: messages sent, put back for a retry, given up."""

    sent: int = 0
    retried: int = 0
    given_up: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.given_up


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt, after `attempts` failed ones."""
    doublings = min(max(attempts - 1, 0), 20)  # 5 s × 2^20 is far past the cap already
    return min(FIRST_RETRY * 2 ** doublings, LONGEST_RETRY)


def _due(session: Session, now: datetime, limit: int) -> list[str]:
    return list(session.scalars(
        select(OutgoingMessage.id)
        .where(OutgoingMessage.failed_at.is_(None), OutgoingMessage.next_attempt_at <= now,
               or_(OutgoingMessage.locked_until.is_(None),
                   OutgoingMessage.locked_until < now))
        .order_by(OutgoingMessage.next_attempt_at).limit(limit)))


def _claim(session: Session, message_id: str, now: datetime) -> bool:
    """Take the message for LEASE; False if another worker has it or it is gone."""
    claimed = session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.id == message_id, OutgoingMessage.failed_at.is_(None),
               or_(OutgoingMessage.locked_until.is_(None),
                   OutgoingMessage.locked_until < now))
        .values(locked_until=now + LEASE, attempts=OutgoingMessage.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return claimed == 1


def _hand_over(keyring: Keyring, transports: Transports, message: OutgoingMessage) -> None:
    try:
        payload = keyring.open_server(message.payload_sealed, _associated(message.id))
    except CryptoError:
        raise DeliveryError("content cannot be opened", final=True) from None
    if message.channel == Channel.EMAIL:
        transports.email(payload)
        return
    fields = json.loads(payload)
    transports.sms(fields["to"], fields["text"], message.id)


def deliver_due(session: Session, keyring: Keyring, transports: Transports,
                now: Callable[[], datetime] = utcnow, limit: int = 100) -> Run:
    """Send what is due now, one message at a time, each in its own transaction."""
    run = Run()
    for message_id in _due(session, now(), limit):
        if not _claim(session, message_id, now()):
            continue
        message = session.get(OutgoingMessage, message_id, populate_existing=True)
        if message is None:
            continue
        try:
            _hand_over(keyring, transports, message)
        except DeliveryError as error:
            _failed(message, error, now())
            if message.failed_at is None:
                run.retried += 1
            else:
                run.given_up += 1
            session.commit()
            continue
        session.execute(delete(OutgoingMessage).where(OutgoingMessage.id == message_id)
                        .execution_options(synchronize_session=False))
        session.commit()
        session.expunge(message)
        run.sent += 1
    return run


def _failed(message: OutgoingMessage, error: DeliveryError, now: datetime) -> None:
    message.last_error = error.reason[:200]
    message.locked_until = None
    if error.final or message.attempts >= MAX_ATTEMPTS:
        message.failed_at = now
        message.payload_sealed = b""  # nothing of it is kept once given up
        return
    message.next_attempt_at = now + backoff(message.attempts)


@dataclass(frozen=True)
class Status:
    """The outbox for the operator: messages waiting (those retrying included), retrying
    after a failure, given up, and when the oldest waiting one was queued."""

    waiting: int
    retrying: int
    given_up: int
    oldest_waiting: datetime | None


def status(session: Session) -> Status:
    """Counts for the operator: waiting, waiting after a failure, given up."""
    open_rows = OutgoingMessage.failed_at.is_(None)
    waiting = session.scalar(select(func.count()).select_from(OutgoingMessage)
                             .where(open_rows)) or 0
    retrying = session.scalar(select(func.count()).select_from(OutgoingMessage).where(
        open_rows, OutgoingMessage.attempts > 0)) or 0
    given_up = session.scalar(select(func.count()).select_from(OutgoingMessage).where(
        OutgoingMessage.failed_at.is_not(None))) or 0
    oldest = session.scalar(select(func.min(OutgoingMessage.created_at)).where(open_rows))
    return Status(waiting, retrying, given_up, oldest)


def forget_given_up(session: Session, before: datetime) -> int:
    """Delete given-up rows (already without content) older than `before`."""
    return session.execute(delete(OutgoingMessage).where(
        OutgoingMessage.failed_at.is_not(None), OutgoingMessage.failed_at < before)).rowcount
