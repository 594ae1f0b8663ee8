"""Signing in: identifier and password, then a second factor (TOTP or an SMS code).

Unknown accounts, wrong passwords and delayed attempts raise the same exception after the
same amount of hashing work, so no answer tells whether a person has an account. Failures
cost growing waits (domain/sign_in.py): wrong passwords per (account, client address),
wrong codes per account. check_password() is the one password check of the service: the
sign-in page and every form that asks for the password again share its delays and audit.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, closing, passwords, sign_in
from domain.crypto import Keyring
from domain.models import SecondFactor, SignInStep, SpaceStatus, User
from domain.models.audit import SIGN_IN_ACTION
from domain.models.base import utcnow
from domain.sign_in import DelayPolicy

TOTP_INTERVAL = 30
SMS_CODE_MINUTES = 5

SIGN_IN = "sign_in"
CLOSE_SPACE = "close_space"


class InvalidCredentials(Exception):
    """Unknown account, wrong password or delayed attempt: deliberately one error."""


class SignInDelayed(Exception):
    """No attempt at this step is looked at before `until`. Raised only where saying so
    reveals nothing: after the right password, or to a signed-in person."""

    def __init__(self, until: datetime):
        super().__init__(until)
        self.until = until


class SecondFactorLocked(SignInDelayed):
    """This wrong code was one too many: a wait starts now, and the person should be told
    (once for this wait)."""


class SecondFactorFailed(Exception):
    """The one-time code was wrong, expired or already used."""


class SpaceClosed(Exception):
    """Both factors were right, but the space is closed: no session opens. Raised only
    after the second factor, so that nobody else learns that the space was closed."""


def normalise_login(login: str) -> str:
    """The login as stored and compared: surrounding spaces removed, lower case."""
    return login.strip().lower()


def find_by_login(session: Session, login: str) -> User | None:
    """The account with this login (normalised first), or None."""
    query = select(User).where(User.login == normalise_login(login))
    return session.execute(query).scalar_one_or_none()


def space_closed(session: Session, user: User) -> bool:
    """True when the account's sign-in was disabled by closing its space (domain/closing.py):
    the data is kept, and a provisional code reopens it."""
    if user.enabled:
        return False
    person = closing.person_of(session, user)
    return person is not None and person.space_status == SpaceStatus.CLOSED


def authenticate(session: Session, keyring: Keyring, login: str, password: str, *,
                 actor: audit.Actor, policy: DelayPolicy, hash_profile: str = "standard",
                 now: datetime | None = None) -> User:
    """Check identifier and password; on success return the user, awaiting a second factor.

    Every failure is recorded in the audit trail without the password or the clear
    identifier. Raises InvalidCredentials for an unknown account, a wrong password or an
    address that must wait; SignInDelayed (after the right password only) while the
    account's second factor waits after wrong codes.

    A closed space's account goes through both factors like an open one (the same answers,
    the same work): complete_login() then refuses it with SpaceClosed, so only the person
    who proved both factors learns that the space is closed.
    """
    now = now or utcnow()
    user = find_by_login(session, login) if login.strip() else None
    if (user is None or user.password_hash is None
            or not (user.enabled or space_closed(session, user))):
        passwords.burn_time(password, hash_profile)
        audit.record(session, keyring, "auth.login_failed", actor=actor, outcome="failure",
                     details={"reason": "unknown_account",
                              "login_index": keyring.blind_index("login", normalise_login(login))},
                     now=now)
        raise InvalidCredentials
    try:
        check_password(session, keyring, user, password, actor=actor, policy=policy,
                       purpose=SIGN_IN, hash_profile=hash_profile, now=now)
    except SignInDelayed:
        raise InvalidCredentials from None  # the same answer as a wrong password
    if user.setup_expires_at is not None and user.setup_expires_at <= now:
        # A set-up password past its time (domain/accounts.py): the same answer as a wrong
        # password; the operator issues a new one.
        audit.record(session, keyring, "auth.login_failed", actor=actor, outcome="failure",
                     subject_id=user.id, details={"reason": "setup_expired"}, now=now)
        raise InvalidCredentials
    until = second_factor_waiting_until(session, user, now)
    if until is not None:
        audit.record(session, keyring, "auth.login_failed", actor=actor, outcome="failure",
                     subject_id=user.id, details={"reason": "second_factor_delayed"}, now=now)
        raise SignInDelayed(until)
    audit.record(session, keyring, "auth.password_ok", actor=actor, subject_id=user.id,
                 now=now)
    return user


def check_password(session: Session, keyring: Keyring, user: User, password: str, *,
                   actor: audit.Actor, policy: DelayPolicy, purpose: str = SIGN_IN,
                   hash_profile: str = "standard", now: datetime | None = None) -> None:
    """Check the password of a known account, for signing in or to confirm an action.

    Raises SignInDelayed while this (account, address) waits, whatever the password (it is
    hashed all the same, so the answer takes the same time), and InvalidCredentials for a
    wrong one, after counting it. Failures are audited; on success the address's count
    starts again from zero, and the caller records what the password allowed.
    """
    now = now or utcnow()
    failed = "auth.login_failed" if purpose == SIGN_IN else "auth.password_check_failed"
    details = {} if purpose == SIGN_IN else {"purpose": purpose}
    key = sign_in.address_key(keyring, actor.ip)
    good = passwords.verify_password(user.password_hash or "", password, hash_profile)
    sign_in.lock_account(session, user)
    until = sign_in.waiting_until(session, user.id, SignInStep.PASSWORD, key, now)
    if until is not None:
        audit.record(session, keyring, failed, actor=actor, outcome="failure",
                     subject_id=user.id, details={**details, "reason": "delayed"}, now=now)
        raise SignInDelayed(until)
    if not good:
        failure = sign_in.record_failure(session, user, SignInStep.PASSWORD, key, policy, now)
        reason = "wrong_password" if failure.wait_until is None else "wrong_password_delayed"
        audit.record(session, keyring, failed, actor=actor, outcome="failure",
                     subject_id=user.id, details={**details, "reason": reason}, now=now)
        raise InvalidCredentials
    sign_in.forget(session, user.id, SignInStep.PASSWORD, key)
    if passwords.hasher(hash_profile).check_needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password, hash_profile)


def second_factor_waiting_until(session: Session, user: User,
                                now: datetime | None = None) -> datetime | None:
    """The end of the wait imposed by wrong codes on this account, or None."""
    return sign_in.waiting_until(session, user.id, SignInStep.SECOND_FACTOR,
                                 sign_in.PER_ACCOUNT, now or utcnow())


def totp_secret(keyring: Keyring, user: User) -> str:
    """The user's TOTP secret, unsealed with the server key; SecondFactorFailed when the
    account has none."""
    if user.totp_secret_sealed is None:
        raise SecondFactorFailed
    return keyring.open_server(user.totp_secret_sealed, f"users.totp_secret.{user.id}").decode()


def set_totp_secret(keyring: Keyring, user: User, secret: str) -> None:
    """Store the user's TOTP secret sealed with the server key, bound to the account."""
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


def new_secret_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The 30-second step whose code from a secret being added (its first code) is `code`:
    the current step or a neighbour; None when none matches."""
    now = now or utcnow()
    code = "".join(code.split())
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(now.timestamp()) // TOTP_INTERVAL
    return next((step for step in (current - 1, current, current + 1)
                 if secrets.compare_digest(totp.at(step * TOTP_INTERVAL), code)), None)


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
    """Check a typed SMS code (spaces ignored) against the session's challenge, in constant
    time; SecondFactorFailed when it is wrong, expired or there is no challenge."""
    now = now or utcnow()
    code = "".join(code.split())
    if challenge is None or challenge.expires_at < now:
        raise SecondFactorFailed
    expected = keyring.blind_index("sms-otp", f"{user.id}:{code}")
    if not secrets.compare_digest(expected, challenge.code_hash):
        raise SecondFactorFailed


def verify_second_factor(session: Session, keyring: Keyring, user: User, code: str, *,
                         challenge: SmsChallenge | None, actor: audit.Actor,
                         policy: DelayPolicy, now: datetime | None = None) -> None:
    """Check the code for the user's second factor and record the outcome.

    Wrong codes count per account, whichever session or address sends them. From the
    policy's count on, each one starts a longer wait (SecondFactorLocked: the only time to
    tell the person); during a wait no code is looked at (SignInDelayed). Each wrong code
    and each wait is audited, never the code.
    """
    now = now or utcnow()
    sign_in.lock_account(session, user)
    until = second_factor_waiting_until(session, user, now)
    if until is not None:
        audit.record(session, keyring, "auth.second_factor_failed", actor=actor,
                     outcome="failure", subject_id=user.id, details={"reason": "delayed"},
                     now=now)
        raise SignInDelayed(until)
    try:
        if user.second_factor == SecondFactor.SMS:
            verify_sms_code(keyring, user, challenge, code, now)
        else:
            verify_totp(keyring, user, code, now)
    except SecondFactorFailed:
        failure = sign_in.record_failure(session, user, SignInStep.SECOND_FACTOR,
                                         sign_in.PER_ACCOUNT, policy, now)
        audit.record(session, keyring, "auth.second_factor_failed", actor=actor,
                     outcome="failure", subject_id=user.id,
                     details={"reason": "wrong_code", "failures": failure.failures}, now=now)
        if failure.wait_until is not None:
            minutes = round((failure.wait_until - now).total_seconds() / 60)
            audit.record(session, keyring, "auth.second_factor_locked", actor=actor,
                         outcome="failure", subject_id=user.id,
                         details={"failures": failure.failures, "minutes": minutes}, now=now)
            raise SecondFactorLocked(failure.wait_until) from None
        raise


def complete_login(session: Session, keyring: Keyring, user: User, *, actor: audit.Actor,
                   now: datetime | None = None) -> None:
    """Both factors passed: the count of wrong codes, and of wrong passwords from this
    address, start again from zero; record the login. Raises SpaceClosed (recorded as a
    refused login) when the account's space is closed, InvalidCredentials when an operator
    disabled the account meanwhile: no session may open."""
    sign_in.forget(session, user.id, SignInStep.SECOND_FACTOR)
    sign_in.forget(session, user.id, SignInStep.PASSWORD, sign_in.address_key(keyring, actor.ip))
    refuse_if_closed(session, keyring, user, actor=actor, now=now)
    audit.record(session, keyring, SIGN_IN_ACTION, actor=actor, subject_id=user.id, now=now)


def refuse_if_closed(session: Session, keyring: Keyring, user: User, *, actor: audit.Actor,
                     now: datetime | None = None) -> None:
    """Raise SpaceClosed (the space is closed) or InvalidCredentials (an operator disabled
    the account while its sign-in was on its way: the same refusal as an unknown account),
    recorded as a refused login; nothing when the account may sign in. Called before a
    single-use code is spent, so a refusal spends nothing."""
    if user.enabled:
        return
    closed = space_closed(session, user)
    audit.record(session, keyring, "auth.login_failed", actor=actor, outcome="failure",
                 subject_id=user.id,
                 details={"reason": "space_closed" if closed else "disabled"}, now=now)
    if closed:
        raise SpaceClosed
    raise InvalidCredentials


def sign_out(session: Session, keyring: Keyring, user_id: str, *, actor: audit.Actor) -> None:
    """The person signs out (the web layer then forgets the session): record it."""
    audit.record(session, keyring, "auth.logout", actor=actor, subject_id=user_id)
