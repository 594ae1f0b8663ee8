"""Accompaniments at an adviser's desk (DESIGN.md §2 "Assisted access on shared tablets").

The adviser starts one and hands the tablet over: their desk session is parked on the
server (domain.sessions.park) and the person gets a session of their own, marked as
assisted, in which they authenticate themselves; the accompaniment never names them. It
ends with the button, the idle time or the person's sign-out; the desk resumes only with
the adviser's 6-digit desk PIN (five wrong ones: the parked desk is dropped and the adviser
signs in again, password and second factor) or the adviser's password. The adviser then
records the outcome, without any health data, for the desk's figures.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from domain import audit, auth, passwords
from domain.crypto import Keyring
from domain.db import Prepared, mapped_columns
from domain.errors import NotAllowed
from domain.insured import SITE_ZONE, paris_day
from domain.models import Accompaniment, Role, User, WebSession
from domain.models.base import utcnow
from domain.sessions import Record, park

PURPOSES = ("activate", "oppose", "provisional_code", "documents", "measure", "close",
            "other")
OUTCOMES = ("activated", "refused", "code_requested", "help_only")
END_REASONS = ("button", "idle", "sign_out", "resumed")
PIN_ATTEMPTS = 5
PIN_RE = re.compile(r"\d{6}")


class PinRefused(ValueError):
    """A desk PIN that cannot be chosen: `reason` is "format" (not 6 digits) or "weak"
    (one digit repeated, or a run such as 123456)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ResumeRefused(Exception):
    """The desk does not resume: `reason` is "unknown" (no such accompaniment waiting, or
    its desk session expired), "wrong_pin" (`left` tries remain), "pin_locked" (the fifth
    wrong PIN: the desk is dropped, the adviser signs in again) or "no_pin"."""

    def __init__(self, reason: str, left: int = 0):
        super().__init__(reason)
        self.reason, self.left = reason, left


def _weak(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    return len(set(pin)) == 1 or steps in ({1}, {-1})


def set_pin(session: Session, keyring: Keyring, adviser: User, pin: str,
            actor: audit.Actor, hash_profile: str = "standard") -> None:
    """Choose the desk PIN (hashed like a password); the adviser has just confirmed their
    password. Refused (PinRefused) unless 6 digits, not one digit six times nor a run."""
    pin = "".join(pin.split())
    if not PIN_RE.fullmatch(pin):
        raise PinRefused("format")
    if _weak(pin):
        raise PinRefused("weak")
    adviser.desk_pin_hash = passwords.hash_password(pin, hash_profile)
    audit.record(session, keyring, "desk.pin_set", actor=actor, subject_id=adviser.id)


def start(session: Session, keyring: Keyring, adviser: User, desk: Record, purpose: str,
          actor: audit.Actor, now: datetime | None = None) -> Accompaniment:
    """Start an accompaniment for what the person came for and park the adviser's desk
    session. It names nobody: the person authenticates themselves afterwards."""
    if adviser.role != Role.ADVISER or desk.user_id != adviser.id:
        raise NotAllowed("only an adviser, from their own desk session")
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    now = now or utcnow()
    park(session, desk, now)
    accompaniment = Accompaniment(adviser_id=adviser.id, structure=adviser.workplace,
                                  purpose=purpose, started_at=now, parked_session_id=desk.id)
    session.add(accompaniment)
    session.flush()
    audit.record(session, keyring, "desk.accompaniment_started", actor=actor,
                 subject_id=adviser.id, target_type="accompaniment",
                 target_id=accompaniment.id, details={"purpose": purpose}, now=now)
    return accompaniment


def running(session: Session, accompaniment_id: str | None) -> Accompaniment | None:
    """The accompaniment a person's session belongs to, while it has not ended."""
    if not accompaniment_id:
        return None
    found = session.get(Accompaniment, str(accompaniment_id)[:32])
    return found if found is not None and found.ended_at is None else None


def end(session: Session, keyring: Keyring, accompaniment: Accompaniment, reason: str,
        actor: audit.Actor, now: datetime | None = None) -> bool:
    """End the accompaniment (once; False when it had ended already). The caller destroys
    the person's session and clears the device."""
    if reason not in END_REASONS:
        raise ValueError(reason)
    if accompaniment.ended_at is not None:
        return False
    now = now or utcnow()
    accompaniment.ended_at, accompaniment.ended_reason = now, reason
    audit.record(session, keyring, "desk.accompaniment_ended", actor=actor,
                 subject_id=accompaniment.adviser_id, target_type="accompaniment",
                 target_id=accompaniment.id, details={"reason": reason}, now=now)
    return True


def _person_sessions(accompaniment: Accompaniment):
    return ((WebSession.assisted_by_id == accompaniment.adviser_id)
            & WebSession.data.contains(accompaniment.id))


def idle_out(session: Session, keyring: Keyring, accompaniment_id: str, idle: timedelta,
             actor: audit.Actor, now: datetime | None = None) -> bool:
    """The idle time's end, reached from a browser whose session is gone already: the
    accompaniment ends ("idle") if nobody acted in it for `idle`, and its sessions are
    deleted. False when it had ended, or someone acted in it since."""
    now = now or utcnow()
    accompaniment = running(session, accompaniment_id)
    if accompaniment is None:
        return False
    recent = session.scalars(select(WebSession.id).where(
        _person_sessions(accompaniment), WebSession.last_seen > now - idle).limit(1)).first()
    if recent is not None:
        return False
    session.execute(delete(WebSession).where(_person_sessions(accompaniment)))
    return end(session, keyring, accompaniment, "idle", actor, now)


def _waiting(session: Session, accompaniment_id: str) -> tuple[Accompaniment, User,
                                                                WebSession]:
    accompaniment = session.get(Accompaniment, (accompaniment_id or "")[:32])
    if accompaniment is None or accompaniment.resumed_at is not None:
        raise ResumeRefused("unknown")
    desk = session.get(WebSession, accompaniment.parked_session_id or "")
    adviser = session.get(User, accompaniment.adviser_id)
    if desk is None or desk.parked_at is None or adviser is None or not adviser.enabled:
        raise ResumeRefused("unknown")
    return accompaniment, adviser, desk


def _resumed(session: Session, keyring: Keyring, accompaniment: Accompaniment,
             desk: WebSession, method: str, actor: audit.Actor, now: datetime) -> None:
    end(session, keyring, accompaniment, "resumed", actor, now)
    accompaniment.resumed_at = now
    session.execute(delete(WebSession).where(WebSession.id == desk.id))
    # The person's session, if it is still open somewhere, ends with the hand-back.
    session.execute(delete(WebSession).where(_person_sessions(accompaniment)))
    audit.record(session, keyring, "desk.resumed", actor=actor,
                 subject_id=accompaniment.adviser_id, target_type="accompaniment",
                 target_id=accompaniment.id, details={"method": method}, now=now)


def resume_with_pin(session: Session, keyring: Keyring, accompaniment_id: str, pin: str,
                    actor: audit.Actor, hash_profile: str = "standard",
                    now: datetime | None = None) -> User:
    """The desk back to its adviser with the desk PIN; returns the adviser, whom the caller
    signs in on a new session. Each wrong PIN counts; the fifth drops the parked desk."""
    now = now or utcnow()
    accompaniment, adviser, desk = _waiting(session, accompaniment_id)
    if adviser.desk_pin_hash is None:
        raise ResumeRefused("no_pin")
    pin = "".join((pin or "").split())
    if PIN_RE.fullmatch(pin) and passwords.verify_password(adviser.desk_pin_hash, pin,
                                                           hash_profile):
        _resumed(session, keyring, accompaniment, desk, "pin", actor, now)
        return adviser
    # Counted in the database (two app processes, two taps at once: no lost try).
    session.execute(update(Accompaniment).where(Accompaniment.id == accompaniment.id)
                    .values(pin_failures=Accompaniment.pin_failures + 1))
    session.refresh(accompaniment)
    left = PIN_ATTEMPTS - accompaniment.pin_failures
    audit.record(session, keyring, "desk.resume_failed", actor=actor, outcome="failure",
                 subject_id=adviser.id, target_type="accompaniment",
                 target_id=accompaniment.id, details={"reason": "wrong_pin"}, now=now)
    if left <= 0:
        end(session, keyring, accompaniment, "resumed", actor, now)
        accompaniment.resumed_at = now  # nothing waits any more: a full sign-in now
        session.execute(delete(WebSession).where(WebSession.id == desk.id))
        raise ResumeRefused("pin_locked")
    raise ResumeRefused("wrong_pin", left)


def resume_with_password(session: Session, keyring: Keyring, accompaniment_id: str,
                         password: str, actor: audit.Actor, policy: auth.DelayPolicy,
                         hash_profile: str = "standard", now: datetime | None = None) -> User:
    """The desk back to its adviser with their password, while the PIN is not locked
    (auth.check_password counts and delays wrong ones: InvalidCredentials,
    SignInDelayed)."""
    now = now or utcnow()
    accompaniment, adviser, desk = _waiting(session, accompaniment_id)
    auth.check_password(session, keyring, adviser, password, actor=actor, policy=policy,
                        purpose="desk_resume", hash_profile=hash_profile, now=now)
    _resumed(session, keyring, accompaniment, desk, "password", actor, now)
    return adviser


def record_outcome(session: Session, keyring: Keyring, adviser: User, accompaniment_id: str,
                   outcome: str, actor: audit.Actor) -> Accompaniment:
    """What the accompaniment achieved, told by its adviser after the hand-back. Another
    adviser's, or one still running, is NotAllowed."""
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    accompaniment = session.get(Accompaniment, (accompaniment_id or "")[:32])
    if (accompaniment is None or accompaniment.adviser_id != adviser.id
            or accompaniment.ended_at is None):
        raise NotAllowed("not this adviser's finished accompaniment")
    accompaniment.outcome = outcome
    audit.record(session, keyring, "desk.outcome_recorded", actor=actor, subject_id=adviser.id,
                 target_type="accompaniment", target_id=accompaniment.id,
                 details={"outcome": outcome})
    return accompaniment


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=SITE_ZONE)
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class DayFigures:
    """An adviser's accompaniments of one day: counts only, and the finished ones still
    waiting for their outcome (oldest first; rows named as Accompaniment's attributes,
    read-only)."""

    total: int
    by_purpose: dict[str, int]
    by_outcome: dict[str, int]
    waiting_outcome: tuple[tuple, ...]


_START = bindparam("start", type_=Accompaniment.started_at.type)
_STOP = bindparam("stop", type_=Accompaniment.started_at.type)
# The adviser's desk page asks on every visit: built once, the adviser and the day's bounds
# as parameters.
# The desk's home page only counts and names them: rows of the columns, without the ORM
# (its objects, and the ORM session made for them, cost more than the query).
_DAY = Prepared(select(*mapped_columns(Accompaniment))
                .where(Accompaniment.adviser_id == bindparam("adviser_id"),
                       Accompaniment.started_at >= _START, Accompaniment.started_at < _STOP)
                .order_by(Accompaniment.started_at))


def day_figures(session: Session, adviser: User, day: date) -> DayFigures:
    """Counts of the day's accompaniments (Europe/Paris), by purpose and by outcome."""
    start, stop = _day_bounds(day)
    rows = _DAY.all(session, {"adviser_id": adviser.id, "start": start, "stop": stop})
    return DayFigures(
        total=len(rows), by_purpose=dict(Counter(row.purpose for row in rows)),
        by_outcome=dict(Counter(row.outcome or "none" for row in rows)),
        waiting_outcome=tuple(row for row in rows
                              if row.ended_at is not None and row.outcome is None))


def month_rows(session: Session, adviser: User, month: date) -> list[dict]:
    """Every accompaniment of the adviser's structure in the month of `month` (Europe/
    Paris), for its reporting: day, purpose, outcome and minutes, never a person."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    start, stop = _day_bounds(first)[0], _day_bounds(following)[0]
    same_desk = (Accompaniment.structure == adviser.workplace if adviser.workplace
                 else Accompaniment.adviser_id == adviser.id)
    rows = session.scalars(select(Accompaniment).where(
        same_desk, Accompaniment.started_at >= start, Accompaniment.started_at < stop)
        .order_by(Accompaniment.started_at))
    return [{"day": paris_day(row.started_at).isoformat(), "purpose": row.purpose,
             "outcome": row.outcome or "", "ended": row.ended_reason or "",
             "minutes": (round((row.ended_at - row.started_at).total_seconds() / 60)
                         if row.ended_at else "")}
            for row in rows]
