"""Server-side sessions: creation, expiry (idle and absolute), rotation, listing, ending.

The cookie carries a 256-bit random token; the database keeps only its SHA-256, so a
stolen database does not hand out live sessions.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import bindparam, delete, exists, or_, select
from sqlalchemy.orm import Session

from domain import audit
from domain.crypto import Keyring, token_hash
from domain.models import EmergencyAccess, Representation, User, WebSession
from domain.models.base import UTCDateTime, utcnow

TOKEN_BYTES = 32
TOUCH_EVERY = timedelta(seconds=15)


class Status(StrEnum):
    """What load() found for a cookie token: a live session, one expired (idle or past its
    absolute lifetime), or none."""

    ACTIVE = "active"
    IDLE_EXPIRED = "idle_expired"
    ABSOLUTE_EXPIRED = "absolute_expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Lifetimes:
    """How long a session lives: idle time (shorter when an adviser assists) and an
    absolute limit from its creation."""

    idle: timedelta = timedelta(minutes=15)
    assisted_idle: timedelta = timedelta(minutes=5)
    absolute: timedelta = timedelta(hours=12)

    def idle_for(self, record: WebSession) -> timedelta:
        return self.assisted_idle if record.assisted_by_id else self.idle


def expires_at(record: WebSession, lifetimes: Lifetimes) -> datetime:
    """When the session ends if nothing happens: idle deadline or absolute deadline."""
    return min(record.last_seen + lifetimes.idle_for(record),
               record.created_at + lifetimes.absolute)


def create(session: Session, data: dict, *, user_id: str | None = None,
           assisted_by_id: str | None = None, ip: str | None = None,
           user_agent: str | None = None, now: datetime | None = None) -> tuple[str, WebSession]:
    """Store a new session; return the cookie token (shown once) and the record."""
    now = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    record = WebSession(token_hash=token_hash(token), user_id=user_id,
                        assisted_by_id=assisted_by_id, data=json.dumps(data),
                        created_at=now, last_seen=now, ip=ip,
                        user_agent=(user_agent or "")[:200] or None)
    session.add(record)
    session.flush()
    return token, record


# Built once (every request of a signed-in person runs it); the token's hash and the time
# are parameters. Whether the account represents anyone, and whether it has an emergency
# access running, come along: most people have neither, and their pages then never ask
# for the spaces they could switch to, nor for the emergency banner's accesses.
_NOW = bindparam("now", type_=UTCDateTime())
_BY_TOKEN = (select(
    WebSession, User,
    exists().where(Representation.representative_id == User.id,
                   Representation.ended_at.is_(None)),
    exists().where(EmergencyAccess.professional_id == User.id,
                   EmergencyAccess.started_at <= _NOW, EmergencyAccess.ends_at > _NOW))
    .outerjoin(User, User.id == WebSession.user_id)
    .where(WebSession.token_hash == bindparam("token_hash")))


def load(session: Session, token: str, lifetimes: Lifetimes,
         now: datetime | None = None) -> tuple[WebSession | None, Status]:
    """Find the live session for a cookie token; expired ones are deleted on sight."""
    now = now or utcnow()
    if not token or len(token) > 100:
        return None, Status.UNKNOWN
    # The account comes in the same query, so loading the signed-in user costs no second
    # round trip (it is then in the session's identity map).
    row = session.execute(_BY_TOKEN, {"token_hash": token_hash(token), "now": now}).first()
    record = row[0] if row is not None else None
    if record is None:
        return None, Status.UNKNOWN
    record.account = row[1]  # a strong reference keeps it in the identity map for the request
    record.represents = bool(row[2])  # someone, maybe (spaces_for() decides which, today)
    record.in_emergency = bool(row[3])  # maybe (emergency.running_for() decides)
    if record.parked_at is not None:
        return None, Status.UNKNOWN  # a parked desk: only the adviser's secret resumes it
    if now >= record.created_at + lifetimes.absolute:
        session.delete(record)
        return record, Status.ABSOLUTE_EXPIRED
    if now >= record.last_seen + lifetimes.idle_for(record):
        session.delete(record)
        return record, Status.IDLE_EXPIRED
    return record, Status.ACTIVE


def touch(record: WebSession, now: datetime | None = None) -> None:
    """Note activity; written at most every few seconds to spare the database."""
    now = now or utcnow()
    if now - record.last_seen >= TOUCH_EVERY:
        record.last_seen = now


def destroy(session: Session, record: WebSession) -> None:
    """End a session: its row is deleted and the record forgotten by the ORM session."""
    # A bulk delete: the row may already be gone (closing a space ends every session).
    session.execute(delete(WebSession).where(WebSession.id == record.id))
    session.expunge(record)


_FOR_USER = (select(WebSession).where(WebSession.user_id == bindparam("user_id"))
             .order_by(WebSession.last_seen.desc()))


def for_user(session: Session, user_id: str) -> list[WebSession]:
    """The user's sessions, most recently active first."""
    return list(session.scalars(_FOR_USER, {"user_id": user_id}))


def end_for_user(session: Session, user_id: str, public_id: str) -> WebSession | None:
    """End one of the user's own sessions; another person's id finds nothing."""
    record = session.execute(select(WebSession).where(
        WebSession.id == public_id, WebSession.user_id == user_id)).scalar_one_or_none()
    if record is not None:
        session.delete(record)
    return record


def purge_expired(session: Session, lifetimes: Lifetimes, now: datetime | None = None) -> int:
    """Delete every session past its idle or absolute deadline (for a scheduled job)."""
    now = now or utcnow()
    result = session.execute(delete(WebSession).where(or_(
        WebSession.created_at <= now - lifetimes.absolute,
        (WebSession.assisted_by_id.is_(None) & WebSession.parked_at.is_(None)
         & (WebSession.last_seen <= now - lifetimes.idle)),
        (WebSession.assisted_by_id.is_not(None)
         & (WebSession.last_seen <= now - lifetimes.assisted_idle)),
    )))
    return result.rowcount or 0


def park(record: WebSession, now: datetime | None = None) -> None:
    """Set an adviser's desk session aside while a person uses the tablet: no cookie opens
    it (load() answers UNKNOWN) and it waits without idling out, within its absolute
    lifetime."""
    record.parked_at = now or utcnow()


def extend(record: WebSession, now: datetime | None = None) -> None:
    """"Stay signed in": restart the idle countdown now (the absolute limit still holds)."""
    record.last_seen = now or utcnow()


def end_other(session: Session, keyring: Keyring, user_id: str, public_id: str, *,
              actor: audit.Actor) -> WebSession | None:
    """The person ends one of their other sessions (another device): recorded; another
    person's session id finds nothing (None) and records nothing."""
    record = end_for_user(session, user_id, public_id)
    if record is not None:
        audit.record(session, keyring, "auth.session_ended", actor=actor, subject_id=user_id,
                     target_type="web_session", target_id=public_id)
    return record
