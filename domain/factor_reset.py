"""A lost phone without recovery codes (patients): after the right password, a code sent by
post to the address the insurer knows. The letter proves the address; the code then signs in
once instead of the second factor, and the person adds their new phone.

Whoever asks knows the password, so the request is announced at once by e-mail, and any
signed-in session (the real person's, on another device) can cancel it until it is used.
Wrong codes count like wrong second-factor codes (the same waits); after MAX_TRIES on one
letter, it is dead.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from domain import audit, auth, sign_in
from domain.closing import person_of
from domain.crypto import Keyring
from domain.db import Prepared
from domain.insured import read_field
from domain.models import AccountRow, FactorReset, InsuredPerson, Role, SignInStep, User
from domain.models.base import utcnow
from domain.recovery import ALPHABET, display, normalise

VALIDITY = timedelta(days=30)
RESEND_DAYS = 7
CONTACT_QUIET_DAYS = 30
MAX_TRIES = 5
LENGTH = 10


class NoPostalAddress(Exception):
    """The insurer knows no postal address for this account (or it is not a patient's), or
    it changed in the last CONTACT_QUIET_DAYS days."""


class LetterOnItsWay(Exception):
    """A letter sent less than RESEND_DAYS ago is still waiting to be used: no new one
    (which would cancel it while it is in the post)."""


@dataclass(frozen=True)
class Letter:
    """What to print: the clear code exists only here."""

    person: InsuredPerson
    address: str
    code: str
    expires_at: datetime


def _hash(keyring: Keyring, user: User, code: str) -> str:
    return keyring.blind_index("factor-reset", f"{user.id}:{normalise(code)}")


_PENDING = select(FactorReset).where(
    FactorReset.user_id == bindparam("user_id"), FactorReset.used_at.is_(None),
    FactorReset.cancelled_at.is_(None),
    FactorReset.expires_at > bindparam("now", type_=FactorReset.expires_at.type),
    FactorReset.failures < MAX_TRIES).order_by(FactorReset.created_at.desc())


def pending(session: Session, user: User, now: datetime | None = None) -> FactorReset | None:
    """The account's letter in progress: sent, not used, not cancelled, not expired."""
    return session.scalars(_PENDING, {"user_id": user.id, "now": now or utcnow()}).first()


# When the letter in progress was asked for, as the account's sessions page says it: the
# same rows, read without the ORM (the page changes nothing).
_PENDING_ASKED = Prepared(_PENDING.with_only_columns(FactorReset.created_at))


def pending_asked(session: Session, user: User | AccountRow,
                  now: datetime | None = None) -> datetime | None:
    """When the account's letter in progress (pending()) was asked for, or None."""
    row = _PENDING_ASKED.first(session, {"user_id": user.id, "now": now or utcnow()})
    return row.created_at if row is not None else None


def request_letter(session: Session, keyring: Keyring, user: User, *, actor: audit.Actor,
                   now: datetime | None = None) -> Letter:
    """A new letter for this account (an earlier one, older than RESEND_DAYS, stops
    working). Raises NoPostalAddress when there is nowhere to send it (or the address is
    new), LetterOnItsWay while a recent one is in the post."""
    now = now or utcnow()
    person = person_of(session, user) if user.role == Role.PATIENT else None
    address = read_field(keyring, person, "address") if person else None
    if not address or (person.contact_changed_at is not None and person.contact_changed_at
                       > now - timedelta(days=CONTACT_QUIET_DAYS)):
        raise NoPostalAddress
    waiting = pending(session, user, now)
    if waiting is not None and waiting.created_at > now - timedelta(days=RESEND_DAYS):
        raise LetterOnItsWay
    session.execute(update(FactorReset).where(
        FactorReset.user_id == user.id, FactorReset.used_at.is_(None),
        FactorReset.cancelled_at.is_(None)).values(cancelled_at=now))
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    row = FactorReset(user_id=user.id, code_hash=_hash(keyring, user, code), created_at=now,
                      expires_at=now + VALIDITY)
    session.add(row)
    audit.record(session, keyring, "account.factor_reset_requested", actor=actor,
                 subject_id=user.id, details={"channel": "post"}, now=now)
    return Letter(person, address, display(code), row.expires_at)


def cancel(session: Session, keyring: Keyring, user: User, *, actor: audit.Actor,
           now: datetime | None = None) -> bool:
    """Cancel the letter in progress (someone else knew the password); False if none."""
    now = now or utcnow()
    row = pending(session, user, now)
    if row is None:
        return False
    row.cancelled_at = now
    audit.record(session, keyring, "account.factor_reset_cancelled", actor=actor,
                 subject_id=user.id, now=now)
    return True


def sign_in_with(session: Session, keyring: Keyring, user: User, code: str, *,
                 actor: audit.Actor, policy: sign_in.DelayPolicy,
                 now: datetime | None = None) -> None:
    """Sign in with the letter's code instead of the second factor (the password was
    right); the letter is spent and the login completes (auth.complete_login).

    Raises SignInDelayed while codes wait, SecondFactorLocked / SecondFactorFailed for a
    wrong code, and what complete_login() raises."""
    now = now or utcnow()
    sign_in.lock_account(session, user)
    until = auth.second_factor_waiting_until(session, user, now)
    if until is not None:
        raise auth.SignInDelayed(until)
    row = pending(session, user, now)
    if row is None or not secrets.compare_digest(row.code_hash, _hash(keyring, user, code)):
        if row is not None:
            session.execute(update(FactorReset).where(FactorReset.id == row.id).values(
                failures=FactorReset.failures + 1))
        failure = sign_in.record_failure(session, user, SignInStep.SECOND_FACTOR,
                                         sign_in.PER_ACCOUNT, policy, now)
        audit.record(session, keyring, "auth.factor_reset_code_failed", actor=actor,
                     outcome="failure", subject_id=user.id,
                     details={"failures": failure.failures}, now=now)
        if failure.wait_until is not None:
            raise auth.SecondFactorLocked(failure.wait_until)
        raise auth.SecondFactorFailed
    auth.refuse_if_closed(session, keyring, user, actor=actor, now=now)
    spent = session.execute(update(FactorReset).where(
        FactorReset.id == row.id, FactorReset.used_at.is_(None),
        FactorReset.cancelled_at.is_(None)).values(used_at=now))
    if spent.rowcount != 1:  # another request spent it (or it was cancelled) meanwhile
        raise auth.SecondFactorFailed
    session.expire(row)
    audit.record(session, keyring, "auth.factor_reset_used", actor=actor, subject_id=user.id,
                 now=now)
    auth.complete_login(session, keyring, user, actor=actor, now=now)
