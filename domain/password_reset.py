"""A forgotten password, for a patient: who they are (NIR, carte Vitale serial, birth date),
then a code sent to the e-mail or phone the insurer knows (never one changed in the last
CONTACT_QUIET_DAYS days: whoever changed it may not be the person), then their second factor
and a new password. Every other session ends and the person is told.

Like the provisional code (domain/activation.py), the first step gives one answer whatever
happened, and does the same work on every path: the identity's two keyed hashes, one code's
keyed hash, the same look-ups, one audit row. Only an issued code adds its row and its
message, at most MAX_PER_DAY times a day. Professionals, who have no NIR here, go through
the operator (domain/accounts.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from domain import accounts, audit, auth, passwords, sign_in
from domain.activation import find_by_identity
from domain.crypto import Keyring
from domain.insured import read_field
from domain.models import (
    InsuredPerson,
    PasswordReset,
    Role,
    SignInDelay,
    SignInStep,
    SpaceStatus,
    User,
)
from domain.models.base import new_id, utcnow

VALIDITY = timedelta(minutes=30)
MAX_PER_DAY = 3
MAX_TRIES = 5
CONTACT_QUIET_DAYS = 30
CODE_DIGITS = 8


class ResetRefused(Exception):
    """The reset code is wrong, expired, spent, tried too often, or there is no reset: one
    answer for all."""


@dataclass(frozen=True)
class Requested:
    """The first step's outcome: `attempt` goes in the person's session whatever happened
    (a real reset's id, or a random one that matches nothing); `code`, `channel` and `to`
    are set only when a code must be sent."""

    attempt: str
    code: str | None = None
    channel: str | None = None
    to: str | None = None


def _code_hash(keyring: Keyring, attempt: str, code: str) -> str:
    return keyring.blind_index("password-reset", f"{attempt}:{''.join(code.split())}")


def _recent(session: Session, user_id: str, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(PasswordReset).where(
        PasswordReset.user_id == user_id,
        PasswordReset.created_at > now - timedelta(days=1))) or 0


def _account(session: Session, person: InsuredPerson | None) -> User | None:
    """The patient account whose password can be reset: an open space with a login."""
    if person is None or person.user_id is None or person.space_status != SpaceStatus.ACTIVE:
        return None
    user = session.get(User, person.user_id)
    if user is None or user.role != Role.PATIENT or not user.login or not user.enabled:
        return None
    return user


def request(session: Session, keyring: Keyring, nir: str, vitale: str, birth_date, *,
            actor: audit.Actor, now: datetime | None = None) -> Requested:
    """Step 1: the identity. Sends nothing itself: returns what to send, if anything."""
    now = now or utcnow()
    person = find_by_identity(session, keyring, nir, vitale, birth_date)
    user = _account(session, person)
    attempt = new_id()
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    code_hash = _code_hash(keyring, attempt, code)
    recent = _recent(session, user.id if user else "", now)
    email = read_field(keyring, person, "email") if person else None
    phone = read_field(keyring, person, "phone") if person else None
    reason = None
    if person is None:
        reason = "no_match"
    elif user is None:
        reason = "no_account"
    elif recent >= MAX_PER_DAY:
        reason = "daily_limit"
    elif not (email or phone):
        reason = "no_contact"
    elif (person.contact_changed_at is not None
          and person.contact_changed_at > now - timedelta(days=CONTACT_QUIET_DAYS)):
        reason = "contact_recently_changed"
    if reason:
        audit.record(session, keyring, "account.password_reset_refused", actor=actor,
                     outcome="failure", subject_id=user.id if user else None,
                     details={"reason": reason}, now=now)
        return Requested(attempt)
    channel = "email" if email else "sms"
    session.add(PasswordReset(id=attempt, user_id=user.id, code_hash=code_hash,
                              channel=channel, created_at=now, expires_at=now + VALIDITY))
    audit.record(session, keyring, "account.password_reset_requested", actor=actor,
                 subject_id=user.id, details={"channel": channel}, now=now)
    return Requested(attempt, code, channel, email or phone)


def _live(session: Session, attempt: str | None, now: datetime) -> PasswordReset | None:
    row = session.get(PasswordReset, attempt) if attempt else None
    if (row is None or row.used_at is not None or row.expires_at <= now
            or row.failures >= MAX_TRIES):
        return None
    return row


def check_code(session: Session, keyring: Keyring, attempt: str | None, code: str, *,
               actor: audit.Actor, now: datetime | None = None) -> User:
    """Step 2: the code received. Returns the account; ResetRefused otherwise (each wrong
    code counts; after MAX_TRIES the reset is dead)."""
    now = now or utcnow()
    typed = _code_hash(keyring, attempt or "", code)
    row = _live(session, attempt, now)
    if row is None:
        # The same write as a wrong code on a real reset: the work tells nothing.
        audit.record(session, keyring, "account.password_reset_code_failed", actor=actor,
                     outcome="failure", details={"failures": None}, now=now)
        raise ResetRefused
    if not secrets.compare_digest(typed, row.code_hash):
        session.execute(update(PasswordReset).where(PasswordReset.id == row.id).values(
            failures=PasswordReset.failures + 1))
        session.refresh(row)
        audit.record(session, keyring, "account.password_reset_code_failed", actor=actor,
                     outcome="failure", subject_id=row.user_id,
                     details={"failures": row.failures}, now=now)
        raise ResetRefused
    row.verified_at = now
    return session.get(User, row.user_id)


def verified_account(session: Session, attempt: str | None,
                     now: datetime | None = None) -> User | None:
    """The account of a live reset whose code was right (step 3 may go on), or None."""
    row = _live(session, attempt, now or utcnow())
    if row is None or row.verified_at is None:
        return None
    return session.get(User, row.user_id)


def complete(session: Session, keyring: Keyring, attempt: str | None, *, code: str,
             challenge: auth.SmsChallenge | None, new_password: str, actor: audit.Actor,
             policy: sign_in.DelayPolicy, hash_profile: str = "standard",
             now: datetime | None = None) -> User:
    """Step 3: the second factor and the new password. The reset is spent, every session
    ends, the waits left by wrong passwords are forgotten. Returns the account.

    Raises ResetRefused (no verified live reset), WeakPassword before the code is looked
    at, then what auth.verify_second_factor() raises."""
    now = now or utcnow()
    row = _live(session, attempt, now)
    if row is None or row.verified_at is None:
        raise ResetRefused
    user = session.get(User, row.user_id)
    if user.role != Role.PATIENT or not user.enabled:  # disabled meanwhile: nothing changes
        raise ResetRefused
    problems = passwords.password_problems(new_password, accounts.personal_words(user))
    if problems:
        raise accounts.WeakPassword(problems)
    auth.verify_second_factor(session, keyring, user, code, challenge=challenge, actor=actor,
                              policy=policy, now=now)
    spent = session.execute(update(PasswordReset).where(
        PasswordReset.id == row.id, PasswordReset.used_at.is_(None)).values(used_at=now))
    if spent.rowcount != 1:  # another request finished this reset meanwhile
        raise ResetRefused
    user.password_hash = passwords.hash_password(new_password, hash_profile)
    session.execute(delete(SignInDelay).where(SignInDelay.user_id == user.id,
                                              SignInDelay.step == SignInStep.PASSWORD))
    ended = accounts.drop_sessions(session, user.id)
    audit.record(session, keyring, "account.password_reset", actor=actor, subject_id=user.id,
                 details={"sessions_ended": ended}, now=now)
    return user
