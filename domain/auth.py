"""Signing in: identifier and password, then a second factor (TOTP or an SMS code).

Unknown accounts, wrong passwords and locked accounts raise the same exception after the
same amount of hashing work, so no answer tells whether a person has an account.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, passwords
from domain.crypto import Keyring
from domain.models import SecondFactor, User
from domain.models.base import utcnow

TOTP_INTERVAL = 30
SMS_CODE_MINUTES = 5
MAX_SECOND_FACTOR_ATTEMPTS = 5


class InvalidCredentials(Exception):
    """Unknown account, wrong password or locked account: deliberately one error."""


class SecondFactorFailed(Exception):
    """The one-time code was wrong, expired or already used."""


@dataclass(frozen=True)
class LockPolicy:
    threshold: int = 10
    minutes: int = 15


def normalise_login(login: str) -> str:
    return login.strip().lower()


def find_by_login(session: Session, login: str) -> User | None:
    query = select(User).where(User.login == normalise_login(login))
    return session.execute(query).scalar_one_or_none()


def authenticate(session: Session, keyring: Keyring, login: str, password: str, *,
                 actor: audit.Actor, lock: LockPolicy, hash_profile: str = "standard",
                 now: datetime | None = None) -> User:
    """Check identifier and password; on success return the user, awaiting a second factor.

    Every failure counts towards the account's lock (when the account exists) and is
    recorded in the audit trail without the password or the clear identifier.
    """
    now = now or utcnow()
    user = find_by_login(session, login) if login.strip() else None
    if user is None or user.password_hash is None or not user.enabled:
        passwords.burn_time(password, hash_profile)
        audit.record(session, keyring, "auth.login_failed", actor=actor, outcome="failure",
                     details={"reason": "unknown_account",
                              "login_index": keyring.blind_index("login", normalise_login(login))})
        raise InvalidCredentials
    good = passwords.verify_password(user.password_hash, password, hash_profile)
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, keyring, "auth.login_failed", actor=actor, outcome="failure",
                     subject_id=user.id, details={"reason": "locked"})
        raise InvalidCredentials
    if not good:
        user.failed_logins += 1
        reason = "wrong_password"
        if user.failed_logins >= lock.threshold:
            user.locked_until = now + timedelta(minutes=lock.minutes)
            user.failed_logins = 0
            reason = "wrong_password_locked"
        audit.record(session, keyring, "auth.login_failed", actor=actor, outcome="failure",
                     subject_id=user.id, details={"reason": reason})
        raise InvalidCredentials
    if passwords.hasher(hash_profile).check_needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password, hash_profile)
    audit.record(session, keyring, "auth.password_ok", actor=actor, subject_id=user.id)
    return user


def totp_secret(keyring: Keyring, user: User) -> str:
    if user.totp_secret_sealed is None:
        raise SecondFactorFailed
    return keyring.open_server(user.totp_secret_sealed, f"users.totp_secret.{user.id}").decode()


def set_totp_secret(keyring: Keyring, user: User, secret: str) -> None:
    user.totp_secret_sealed = keyring.seal_server(secret.encode(), f"users.totp_secret.{user.id}")


def verify_totp(keyring: Keyring, user: User, code: str, now: datetime | None = None) -> None:
    """Accept the current 30-second step or its neighbours, each step only once."""
    now = now or utcnow()
    code = "".join(code.split())
    totp = pyotp.TOTP(totp_secret(keyring, user), interval=TOTP_INTERVAL)
    current = int(now.timestamp()) // TOTP_INTERVAL
    for step in (current - 1, current, current + 1):
        if step <= user.last_totp_step:
            continue
        if secrets.compare_digest(totp.at(step * TOTP_INTERVAL), code):
            user.last_totp_step = step
            return
    raise SecondFactorFailed


@dataclass(frozen=True)
class SmsChallenge:
    """What the web session keeps of an SMS code: a keyed hash and a deadline."""

    code_hash: str
    expires_at: datetime


def send_sms_code(keyring: Keyring, send: Callable[[str, str], object], user: User,
                  now: datetime | None = None) -> SmsChallenge:
    """Send (queue) a 6-digit code by SMS to the phone on file with send(phone, text);
    return what to remember of it."""
    now = now or utcnow()
    code = f"{secrets.randbelow(1_000_000):06d}"
    send(user.phone or "", f"Carnet santé : votre code de connexion est {code}. "
         "Ne le communiquez à personne, même pas à un conseiller.")
    return SmsChallenge(keyring.blind_index("sms-otp", f"{user.id}:{code}"),
                        now + timedelta(minutes=SMS_CODE_MINUTES))


def verify_sms_code(keyring: Keyring, user: User, challenge: SmsChallenge | None, code: str,
                    now: datetime | None = None) -> None:
    now = now or utcnow()
    code = "".join(code.split())
    if challenge is None or challenge.expires_at < now:
        raise SecondFactorFailed
    expected = keyring.blind_index("sms-otp", f"{user.id}:{code}")
    if not secrets.compare_digest(expected, challenge.code_hash):
        raise SecondFactorFailed


def verify_second_factor(session: Session, keyring: Keyring, user: User, code: str, *,
                         challenge: SmsChallenge | None, actor: audit.Actor,
                         now: datetime | None = None) -> None:
    """Check the code for the user's second factor and record the outcome."""
    try:
        if user.second_factor == SecondFactor.SMS:
            verify_sms_code(keyring, user, challenge, code, now)
        else:
            verify_totp(keyring, user, code, now)
    except SecondFactorFailed:
        user.failed_logins += 1
        audit.record(session, keyring, "auth.second_factor_failed", actor=actor,
                     outcome="failure", subject_id=user.id)
        raise


def complete_login(session: Session, keyring: Keyring, user: User, *, actor: audit.Actor,
                   now: datetime | None = None) -> None:
    """Both factors passed: clear the failure count and record the login."""
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, keyring, "auth.login", actor=actor, subject_id=user.id, now=now)
