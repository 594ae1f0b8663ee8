"""Recovery codes: ten single-use codes, shown once (at activation, or when the person makes
new ones), each of which signs in instead of the second factor after the right password, for
a lost or broken phone.

Only a keyed hash of each code is stored. A wrong code counts like a wrong second-factor code
(per account, the same growing waits, domain/sign_in.py): whoever types it knows the
password. Each use is audited with how many codes are left, and the person is told.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from domain import accounts, audit, auth, sign_in
from domain.crypto import Keyring
from domain.db import Prepared
from domain.models import AccountRow, RecoveryCode, SignInStep, User
from domain.models.base import utcnow

COUNT = 10
LENGTH = 10  # 50 bits each: nobody guesses one within the waits
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no I, L, O, 0, 1: nothing to confuse


def normalise(code: str) -> str:
    """What the person typed, as stored: no spaces or hyphens, upper case."""
    return "".join(character for character in code.upper() if character.isalnum())


def display(code: str) -> str:
    """A code as shown and printed: two groups of five, easier to copy by hand."""
    return f"{code[:5]}-{code[5:]}"


def _hash(keyring: Keyring, user: User, code: str) -> str:
    return keyring.blind_index("recovery-code", f"{user.id}:{normalise(code)}")


def issue(session: Session, keyring: Keyring, user: User, *, actor: audit.Actor | None,
          now: datetime | None = None) -> list[str]:
    """New codes for the account, replacing every earlier one (used or not). Returns them
    for display, once; they are not kept in clear anywhere."""
    now = now or utcnow()
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(keyring, user, code),
                                 created_at=now) for code in codes)
    audit.record(session, keyring, "account.recovery_codes_issued", actor=actor,
                 subject_id=user.id, details={"count": COUNT}, now=now)
    session.flush()
    return [display(code) for code in codes]


# Read on the page that shows the count (Prepared: no ORM session for it).
_REMAINING = Prepared(select(func.count().label("left")).select_from(RecoveryCode).where(
    RecoveryCode.user_id == bindparam("user_id"), RecoveryCode.used_at.is_(None)))


def remaining(session: Session, user: User | AccountRow) -> int:
    """How many of the account's codes are still unused."""
    return _REMAINING.first(session, {"user_id": user.id}).left


def sign_in_with(session: Session, keyring: Keyring, user: User, code: str, *,
                 actor: audit.Actor, policy: sign_in.DelayPolicy,
                 now: datetime | None = None) -> int:
    """Sign in with a recovery code instead of the second factor (the password was right):
    the code is spent and the login completes (auth.complete_login). Returns how many codes
    are left.

    Raises SignInDelayed while second-factor codes wait, SecondFactorLocked when this wrong
    code starts a wait, SecondFactorFailed for a wrong or spent code, and SpaceClosed as
    complete_login() does."""
    now = now or utcnow()
    sign_in.lock_account(session, user)
    until = auth.second_factor_waiting_until(session, user, now)
    if until is not None:
        audit.record(session, keyring, "auth.recovery_code_failed", actor=actor,
                     outcome="failure", subject_id=user.id, details={"reason": "delayed"},
                     now=now)
        raise auth.SignInDelayed(until)
    row = session.scalars(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(keyring, user, code),
        RecoveryCode.used_at.is_(None))).one_or_none()
    if row is None:
        failure = sign_in.record_failure(session, user, SignInStep.SECOND_FACTOR,
                                         sign_in.PER_ACCOUNT, policy, now)
        audit.record(session, keyring, "auth.recovery_code_failed", actor=actor,
                     outcome="failure", subject_id=user.id,
                     details={"reason": "wrong_code", "failures": failure.failures}, now=now)
        if failure.wait_until is not None:
            raise auth.SecondFactorLocked(failure.wait_until)
        raise auth.SecondFactorFailed
    auth.refuse_if_closed(session, keyring, user, actor=actor, now=now)
    # Spent by one statement that only an unused code matches: of two requests racing with
    # the same code, one wins (SQLite takes no row lock on a read).
    spent = session.execute(update(RecoveryCode).where(
        RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None)).values(used_at=now))
    if spent.rowcount != 1:
        raise auth.SecondFactorFailed
    session.expire(row)
    left = remaining(session, user)
    audit.record(session, keyring, "auth.recovery_code_used", actor=actor, subject_id=user.id,
                 details={"remaining": left}, now=now)
    auth.complete_login(session, keyring, user, actor=actor, now=now)
    return left


RENEW = "recovery_codes"


def renew(session: Session, keyring: Keyring, user: User, *, password: str, code: str,
          sms: auth.SmsChallenge | None, factor_lost: bool, actor: audit.Actor,
          policy: sign_in.DelayPolicy, hash_profile: str = "standard",
          now: datetime | None = None) -> list[str]:
    """New codes after the person proves it is them (accounts.confirm_identity: the password
    and a code, unless the phone is lost); every earlier code stops working. Returns them,
    to show once."""
    accounts.confirm_identity(session, keyring, user, password=password, code=code, sms=sms,
                     factor_lost=factor_lost, purpose=RENEW, actor=actor, policy=policy,
                     hash_profile=hash_profile, now=now)
    return issue(session, keyring, user, actor=actor, now=now)
