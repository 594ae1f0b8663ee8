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

from sqlalchemy import bindparam, delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from domain import audit
from domain.crypto import Keyring, token_hash
from domain.db import Prepared, mapped_columns
from domain.models import AccountRow, EmergencyAccess, Representation, User, WebSession
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

    def idle_for(self, record: Record | WebSession) -> timedelta:
        return self.assisted_idle if record.assisted_by_id else self.idle


def expires_at(record: Record | WebSession, lifetimes: Lifetimes) -> datetime:
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


@dataclass(slots=True)
class Record:
    """A session's row as read for a request (`load`), with what came along with it: the
    account, as a read-only row (domain.models.AccountRow), the representations it holds
    and whether it has an emergency access running. Changes are written by the functions
    below, one statement each; nothing here is an ORM object."""

    id: str
    user_id: str | None
    assisted_by_id: str | None
    data: str
    created_at: datetime
    last_seen: datetime
    parked_at: datetime | None
    account: AccountRow | None = None
    # Most people have no emergency access running: their pages then never ask for the
    # emergency banner's accesses. True means "maybe" (running_for() decides).
    in_emergency: bool = False
    # The representations not ended that the person holds: (relationship, ended_at, the
    # represented person as an AccountRow) each, for the header's switch between spaces on
    # every page (domain.representation.spaces_among() says which are in force today).
    represented: tuple = ()


# Built once (every request of a signed-in person runs it) and run on the driver's cursor
# (domain.db.Prepared); the token's hash and the time are parameters. One row per
# representation not ended that the person holds (a parent: one per child, whom the header
# names on every page), or one row.
_NOW = bindparam("now", type_=UTCDateTime())
_RECORD = (WebSession.id, WebSession.user_id, WebSession.assisted_by_id, WebSession.data,
           WebSession.created_at, WebSession.last_seen, WebSession.parked_at)
_REPRESENTED = aliased(User, name="represented")
_BY_TOKEN = Prepared(select(
    *_RECORD, *AccountRow.selected(),
    exists().where(EmergencyAccess.professional_id == User.id,
                   EmergencyAccess.started_at <= _NOW, EmergencyAccess.ends_at > _NOW),
    Representation.relationship, Representation.ended_at,
    *AccountRow.selected(_REPRESENTED))
    .select_from(WebSession)
    .outerjoin(User, User.id == WebSession.user_id)
    .outerjoin(Representation, (Representation.representative_id == User.id)
               & Representation.ended_at.is_(None))
    .outerjoin(_REPRESENTED, _REPRESENTED.id == Representation.represented_id)
    .where(WebSession.token_hash == bindparam("token_hash")))
_ACCOUNT = slice(len(_RECORD), len(_RECORD) + len(AccountRow.COLUMNS))
_EMERGENCY = _ACCOUNT.stop
_RELATIONSHIP, _ENDED = _EMERGENCY + 1, _EMERGENCY + 2
_PERSON = slice(_EMERGENCY + 3, None)
# The writes of a request's own session, built once and run on the driver's cursor too:
# a signed-in person's request notes its activity every TOUCH_EVERY, that is nearly every
# request at a person's pace, and going through the ORM for it made an ORM session.
_ID = bindparam("session_id", type_=WebSession.id.type)
_DELETE = Prepared(delete(WebSession).where(WebSession.id == _ID))
_SEEN_AT = bindparam("seen_at", type_=UTCDateTime())
_SAVE = Prepared(update(WebSession).where(WebSession.id == _ID)
                 .values(data=bindparam("new_data"), user_id=bindparam("whose"),
                         last_seen=_SEEN_AT))
_DATA = Prepared(update(WebSession).where(WebSession.id == _ID)
                 .values(data=bindparam("new_data"), user_id=bindparam("whose")))
_SEEN = Prepared(update(WebSession).where(WebSession.id == _ID).values(last_seen=_SEEN_AT))
_PARK = Prepared(update(WebSession).where(WebSession.id == _ID)
                 .values(parked_at=bindparam("parked", type_=UTCDateTime())))


def load(session: Session, token: str, lifetimes: Lifetimes,
         now: datetime | None = None) -> tuple[Record | None, Status]:
    """Find the live session for a cookie token, with its account, in one query; expired
    ones are deleted on sight."""
    now = now or utcnow()
    if not token or len(token) > 100:
        return None, Status.UNKNOWN
    rows = _BY_TOKEN.all(session, {"token_hash": token_hash(token), "now": now})
    if not rows:
        return None, Status.UNKNOWN
    row = rows[0]
    represented = tuple((found[_RELATIONSHIP], found[_ENDED], AccountRow(found[_PERSON]))
                        for found in rows if found[_RELATIONSHIP] is not None)
    record = Record(*row[:len(_RECORD)], in_emergency=bool(row[_EMERGENCY]),
                    represented=represented)
    if record.user_id is not None:
        record.account = AccountRow(row[_ACCOUNT])
    if record.parked_at is not None:
        return None, Status.UNKNOWN  # a parked desk: only the adviser's secret resumes it
    if now >= record.created_at + lifetimes.absolute:
        _DELETE.run(session, {"session_id": record.id})
        return record, Status.ABSOLUTE_EXPIRED
    if now >= record.last_seen + lifetimes.idle_for(record):
        _DELETE.run(session, {"session_id": record.id})
        return record, Status.IDLE_EXPIRED
    return record, Status.ACTIVE


def save(session: Session, record: Record, *, data: str | None = None,
         user_id: str | None = None, now: datetime | None = None) -> bool:
    """Write the session's new data (and whose it is), if any, and note activity, at most
    every few seconds to spare the database. Whether anything was written.

    Each write sets only what this request changed: requests of one session run side by
    side (a page polling for the summary, another tab), and writing back data read before
    another request changed it would bring back what that one removed (a used code)."""
    now = now or utcnow()
    seen = now - record.last_seen >= TOUCH_EVERY
    if seen:
        record.last_seen = now
    if data is not None:
        record.data, record.user_id = data, user_id
        (_SAVE if seen else _DATA).run(session, {
            "session_id": record.id, "new_data": data, "whose": user_id,
            "seen_at": record.last_seen})
    elif seen:
        _SEEN.run(session, {"session_id": record.id, "seen_at": now})
    return seen or data is not None


def destroy(session: Session, record: Record) -> None:
    """End a session: its row is deleted (it may already be gone: closing a space ends
    every session)."""
    _DELETE.run(session, {"session_id": record.id})


# A person's sessions as their page lists them: only read, so rows of the columns, without
# the ORM (loading its objects, and making an ORM session for them, cost more than the
# query).
_FOR_USER = Prepared(select(*mapped_columns(WebSession))
                     .where(WebSession.user_id == bindparam("user_id"))
                     .order_by(WebSession.last_seen.desc()))


def for_user(session: Session, user_id: str) -> list[tuple]:
    """The user's sessions (rows named as WebSession's attributes, read-only), most
    recently active first."""
    return _FOR_USER.all(session, {"user_id": user_id})


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


def park(session: Session, record: Record, now: datetime | None = None) -> None:
    """Set an adviser's desk session aside while a person uses the tablet: no cookie opens
    it (load() answers UNKNOWN) and it waits without idling out, within its absolute
    lifetime."""
    record.parked_at = now or utcnow()
    _PARK.run(session, {"session_id": record.id, "parked": record.parked_at})


def extend(session: Session, record: Record, now: datetime | None = None) -> None:
    """"Stay signed in": restart the idle countdown now (the absolute limit still holds)."""
    record.last_seen = now or utcnow()
    _SEEN.run(session, {"session_id": record.id, "seen_at": record.last_seen})


def end_other(session: Session, keyring: Keyring, user_id: str, public_id: str, *,
              actor: audit.Actor) -> WebSession | None:
    """The person ends one of their other sessions (another device): recorded; another
    person's session id finds nothing (None) and records nothing."""
    record = end_for_user(session, user_id, public_id)
    if record is not None:
        audit.record(session, keyring, "auth.session_ended", actor=actor, subject_id=user_id,
                     target_type="web_session", target_id=public_id)
    return record
