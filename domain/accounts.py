"""Keeping an account: changing one's password, the one-time set-up password, and the
operator's controls.

A set-up password is what an operator hands over (a professional's first one, or after
resetting a professional's second factor): it expires after SETUP_HOURS and only lets the
person choose their own password and enrol a new second factor, so the operator never knows
a password that opens anything. Every change here is audited; no row records a password, a
code or a secret, and nothing returns health data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain import audit, auth, contact_codes, passwords, sign_in
from domain.crypto import Keyring
from domain.models import (
    FactorReset,
    Passkey,
    RecoveryCode,
    Role,
    SecondFactor,
    SignInDelay,
    SignInStep,
    User,
    WebSession,
)
from domain.models.base import utcnow

SETUP_HOURS = 72
CHANGE_PASSWORD = "change_password"  # noqa: S105 - a purpose's name, not a secret
CHANGE_AUTHENTICATOR = "change_authenticator"


class AccountProblem(Exception):
    """An operator's command that cannot apply. `reason`: unknown, already_disabled,
    already_enabled, space_closed, patient."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WeakPassword(ValueError):
    """The new password breaks a rule of domain/passwords.py (`problems`)."""

    def __init__(self, problems: list[str]):
        super().__init__(problems)
        self.problems = problems


class CodesWaiting(auth.SignInDelayed):
    """Second-factor codes wait after wrong ones (`locked`: this code started the wait, the
    moment to tell the person by e-mail). Distinct from a wait on the password."""

    def __init__(self, until: datetime, locked: bool):
        super().__init__(until)
        self.locked = locked


class NewCodeFailed(Exception):
    """The first code from the authenticator app being added is wrong."""


class SetupExpired(Exception):
    """The set-up password's time is over: an operator must issue a new one."""


def personal_words(user: User) -> tuple[str, ...]:
    """What a new password may not contain: the login and the person's names."""
    return tuple(value for value in (user.login, user.given_name, user.family_name) if value)


def _check_new_password(user: User, password: str) -> None:
    problems = passwords.password_problems(password, personal_words(user))
    if problems:
        raise WeakPassword(problems)


def drop_sessions(session: Session, user_id: str, keep: str | None = None) -> int:
    """End every session of the account (but `keep`); returns how many. Callers audit."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.id != keep)
    return session.execute(query).rowcount or 0


# --- The set-up password -----------------------------------------------------------------

def setup_pending(user: User) -> bool:
    """Whether the account's password is a set-up password (expired or not)."""
    return user.setup_expires_at is not None


def issue_setup_password(session: Session, keyring: Keyring, user: User, *, reason: str,
                         actor: audit.Actor | None, hash_profile: str = "standard",
                         now: datetime | None = None) -> str:
    """Give the account a one-time set-up password valid SETUP_HOURS, to hand over outside
    the system: the old password and second factor stop working, every session ends, and
    the waits after failures are forgotten. Returns the password, shown once."""
    now = now or utcnow()
    password = passwords.generate()
    user.password_hash = passwords.hash_password(password, hash_profile)
    user.second_factor = None
    user.totp_secret_sealed = None
    user.last_totp_step = 0
    user.setup_expires_at = now + timedelta(hours=SETUP_HOURS)
    ended = drop_sessions(session, user.id)
    session.execute(delete(SignInDelay).where(SignInDelay.user_id == user.id))
    # Whatever else signed in without the password stops too: a passkey on the lost phone,
    # recovery codes, a letter on its way.
    for model in (Passkey, RecoveryCode, FactorReset):
        session.execute(delete(model).where(model.user_id == user.id))
    audit.record(session, keyring, "account.setup_issued", actor=actor, subject_id=user.id,
                 target_type="user", target_id=user.id,
                 details={"reason": reason, "hours": SETUP_HOURS, "sessions_ended": ended},
                 now=now)
    return password


def complete_setup(session: Session, keyring: Keyring, user: User, *, new_password: str,
                   secret: str, code: str, actor: audit.Actor, policy: sign_in.DelayPolicy,
                   hash_profile: str = "standard", now: datetime | None = None) -> None:
    """The first sign-in's end: the person's own password and an authenticator app, proven
    by a first code; then the login completes (auth.complete_login).

    Raises SetupExpired past the deadline, WeakPassword, SignInDelayed while codes wait,
    SecondFactorLocked / SecondFactorFailed for a wrong code (counted per account, as at
    sign-in)."""
    now = now or utcnow()
    if user.setup_expires_at is None or user.setup_expires_at <= now:
        audit.record(session, keyring, "account.setup_failed", actor=actor, outcome="failure",
                     subject_id=user.id, details={"reason": "expired"}, now=now)
        raise SetupExpired
    _check_new_password(user, new_password)
    if passwords.verify_password(user.password_hash or "", new_password, hash_profile):
        # The operator knows the set-up password (a password manager may offer it again).
        raise WeakPassword(["setup_password"])
    auth.refuse_if_closed(session, keyring, user, actor=actor, now=now)
    sign_in.lock_account(session, user)
    until = auth.second_factor_waiting_until(session, user, now)
    if until is not None:
        raise auth.SignInDelayed(until)
    matched = auth.new_secret_step(secret, code, now)
    if matched is None:
        failure = sign_in.record_failure(session, user, SignInStep.SECOND_FACTOR,
                                         sign_in.PER_ACCOUNT, policy, now)
        audit.record(session, keyring, "account.setup_failed", actor=actor, outcome="failure",
                     subject_id=user.id,
                     details={"reason": "wrong_code", "failures": failure.failures}, now=now)
        if failure.wait_until is not None:
            raise auth.SecondFactorLocked(failure.wait_until)
        raise auth.SecondFactorFailed
    user.password_hash = passwords.hash_password(new_password, hash_profile)
    auth.set_totp_secret(keyring, user, secret)
    user.second_factor = SecondFactor.TOTP
    user.last_totp_step = matched
    user.setup_expires_at = None
    audit.record(session, keyring, "account.setup_completed", actor=actor, subject_id=user.id,
                 now=now)
    auth.complete_login(session, keyring, user, actor=actor, now=now)


# --- The person's own changes ------------------------------------------------------------

def change_password(session: Session, keyring: Keyring, user: User, *, current: str,
                    code: str, challenge: auth.SmsChallenge | None, new_password: str,
                    keep_session: str | None, actor: audit.Actor,
                    policy: sign_in.DelayPolicy, hash_profile: str = "standard",
                    now: datetime | None = None) -> int:
    """A new password, after the current one and a second-factor code: every other session
    ends (whoever knew the old password is out). Returns how many sessions ended.

    Raises WeakPassword before anything is checked (no code is spent on a refused
    password); then what auth.check_password() raises, CodesWaiting while codes wait, and
    SecondFactorFailed for a wrong code, with the sign-in's waits and audit."""
    now = now or utcnow()
    _check_new_password(user, new_password)
    confirm_identity(session, keyring, user, password=current, code=code, sms=challenge,
                     factor_lost=False, purpose=CHANGE_PASSWORD, actor=actor, policy=policy,
                     hash_profile=hash_profile, now=now)
    user.password_hash = passwords.hash_password(new_password, hash_profile)
    ended = drop_sessions(session, user.id, keep=keep_session)
    audit.record(session, keyring, "account.password_changed", actor=actor, subject_id=user.id,
                 details={"sessions_ended": ended}, now=now)
    return ended


def confirm_identity(session: Session, keyring: Keyring, user: User, *, password: str,
                     code: str, sms: auth.SmsChallenge | None, factor_lost: bool,
                     purpose: str, actor: audit.Actor, policy: sign_in.DelayPolicy,
                     hash_profile: str = "standard", now: datetime | None = None) -> None:
    """A signed-in person proves it is them before a change to how they sign in: the
    password, then a code from the current second factor — unless this session was opened
    with a recovery code or a letter's code (`factor_lost`: the phone is gone). Checked as
    at sign-in (the same waits and audit). Raises what auth.check_password() raises,
    CodesWaiting while codes wait, and SecondFactorFailed for a wrong code."""
    auth.check_password(session, keyring, user, password, actor=actor, policy=policy,
                        purpose=purpose, hash_profile=hash_profile, now=now)
    if factor_lost:
        return
    try:
        auth.verify_second_factor(session, keyring, user, code, challenge=sms, actor=actor,
                                  policy=policy, now=now)
    except auth.SignInDelayed as delayed:
        raise CodesWaiting(delayed.until, isinstance(delayed, auth.SecondFactorLocked)) from None


def change_authenticator(session: Session, keyring: Keyring, user: User, *, current: str,
                         current_code: str, sms: auth.SmsChallenge | None, factor_lost: bool,
                         secret: str, code: str, keep_session: str | None,
                         actor: audit.Actor, policy: sign_in.DelayPolicy,
                         hash_profile: str = "standard", now: datetime | None = None) -> int:
    """A new phone: who it is (confirm_identity: the old phone's code too, unless it is
    lost), then a first code from the app the new secret was added to. The old secret
    stops working and every other session ends; returns how many.

    Raises what confirm_identity() raises, and NewCodeFailed when the code is not the new
    secret's."""
    now = now or utcnow()
    confirm_identity(session, keyring, user, password=current, code=current_code, sms=sms,
                     factor_lost=factor_lost, purpose=CHANGE_AUTHENTICATOR, actor=actor,
                     policy=policy, hash_profile=hash_profile, now=now)
    matched = auth.new_secret_step(secret, code, now)
    if matched is None:
        audit.record(session, keyring, "account.second_factor_change_failed", actor=actor,
                     outcome="failure", subject_id=user.id,
                     details={"reason": "new_code_wrong"}, now=now)
        raise NewCodeFailed
    auth.set_totp_secret(keyring, user, secret)
    user.second_factor = SecondFactor.TOTP
    user.last_totp_step = matched
    ended = drop_sessions(session, user.id, keep=keep_session)
    audit.record(session, keyring, "account.second_factor_changed", actor=actor,
                 subject_id=user.id, details={"method": "totp", "sessions_ended": ended},
                 now=now)
    return ended


CONTACT_KINDS = ("email", "phone")


CONTACT_TRIES = 5
CHANGE_CONTACT = "change_contact"


class ContactChangeDead(Exception):
    """Too many wrong codes for this change of e-mail or phone: start again."""


def start_contact_change(session: Session, keyring: Keyring, user: User, *, kind: str,
                         value: str, password: str, actor: audit.Actor,
                         policy: sign_in.DelayPolicy, hash_profile: str = "standard",
                         now: datetime | None = None) -> tuple[str, dict]:
    """A new e-mail or phone, after the password (checked as at sign-in): the code to send
    there, and what to remember of the change (the code's keyed hash, its deadline, the
    tries). Raises what auth.check_password() raises."""
    auth.check_password(session, keyring, user, password, actor=actor, policy=policy,
                        purpose=CHANGE_CONTACT, hash_profile=hash_profile, now=now)
    code, stored = contact_codes.challenge(keyring, f"account:{user.id}", kind, value,
                                           now or utcnow())
    return code, {**stored, "tries": 0}


def change_contact(session: Session, keyring: Keyring, user: User, *, kind: str, value: str,
                   code: str, stored: dict | None, actor: audit.Actor,
                   keep_session: str | None = None,
                   now: datetime | None = None) -> str | None:
    """The new e-mail or phone, once the code sent there comes back. Returns the old value
    (to tell it); raises auth.SecondFactorFailed for a wrong or expired code (counted in
    `stored`), ContactChangeDead after CONTACT_TRIES of them. A phone that
    gives the sign-in codes (SMS) changes with it (the code just proved it), and then every
    other session ends, as for a new authenticator."""
    now = now or utcnow()
    if stored is None or stored.get("tries", 0) >= CONTACT_TRIES:
        raise ContactChangeDead
    if kind not in CONTACT_KINDS or not contact_codes.code_ok(
            keyring, f"account:{user.id}", kind, value, code, stored, now):
        stored["tries"] = stored.get("tries", 0) + 1  # the caller keeps `stored`
        audit.record(session, keyring, "account.contact_change_failed", actor=actor,
                     outcome="failure", subject_id=user.id,
                     details={"kind": kind, "tries": stored["tries"]}, now=now)
        if stored["tries"] >= CONTACT_TRIES:
            raise ContactChangeDead
        raise auth.SecondFactorFailed
    old = getattr(user, kind)
    setattr(user, kind, value)
    factor = kind == "phone" and user.second_factor == SecondFactor.SMS
    ended = drop_sessions(session, user.id, keep=keep_session) if factor else 0
    audit.record(session, keyring, "account.contact_changed", actor=actor, subject_id=user.id,
                 details={"kind": kind, "had_one": old is not None,
                          "second_factor": factor, "sessions_ended": ended}, now=now)
    return old


# --- The operator's controls -------------------------------------------------------------

def by_login(session: Session, login: str) -> User:
    """The account with this login; AccountProblem("unknown") when there is none."""
    user = auth.find_by_login(session, login)
    if user is None:
        raise AccountProblem("unknown")
    return user


def disable(session: Session, keyring: Keyring, user: User, *, reason: str,
            actor: audit.Actor) -> int:
    """Nobody signs in to this account until it is enabled again; its sessions end now.
    Returns how many ended."""
    if not user.enabled:
        raise AccountProblem("already_disabled")
    user.enabled = False
    ended = drop_sessions(session, user.id)
    audit.record(session, keyring, "account.disabled", actor=actor, subject_id=user.id,
                 target_type="user", target_id=user.id,
                 details={"reason": reason, "sessions_ended": ended})
    return ended


def enable(session: Session, keyring: Keyring, user: User, *, reason: str,
           actor: audit.Actor) -> None:
    """Undo disable(). A closed space is not reopened here: its holder asks for a
    provisional code and activates again (domain/closing.py)."""
    if user.enabled:
        raise AccountProblem("already_enabled")
    if auth.space_closed(session, user):
        raise AccountProblem("space_closed")
    user.enabled = True
    audit.record(session, keyring, "account.enabled", actor=actor, subject_id=user.id,
                 target_type="user", target_id=user.id, details={"reason": reason})


def unlock(session: Session, keyring: Keyring, user: User, *, actor: audit.Actor) -> int:
    """Forget the waits and counts left by wrong passwords and codes (every address).
    Returns how many were forgotten."""
    forgotten = session.execute(delete(SignInDelay).where(
        SignInDelay.user_id == user.id)).rowcount or 0
    audit.record(session, keyring, "account.unlocked", actor=actor, subject_id=user.id,
                 target_type="user", target_id=user.id, details={"forgotten": forgotten})
    return forgotten


def reset_second_factor(session: Session, keyring: Keyring, user: User, *,
                        actor: audit.Actor, hash_profile: str = "standard",
                        now: datetime | None = None) -> str:
    """A professional's (or adviser's) lost phone, after an identity check outside the
    system: a set-up password (issue_setup_password). Patients are refused: their own
    identity proves it, through the insurer's records, not an operator's word."""
    if user.role == Role.PATIENT or user.role is None:
        raise AccountProblem("patient")
    return issue_setup_password(session, keyring, user, reason="second_factor_reset",
                                actor=actor, hash_profile=hash_profile, now=now)


def sessions_of(session: Session, user: User) -> list[WebSession]:
    """The account's sessions, most recently active first."""
    return list(session.scalars(select(WebSession).where(WebSession.user_id == user.id)
                                .order_by(WebSession.last_seen.desc())))


def end_sessions(session: Session, keyring: Keyring, user: User, *,
                 actor: audit.Actor) -> int:
    """End every session of the account (lost or stolen device); returns how many."""
    ended = drop_sessions(session, user.id)
    audit.record(session, keyring, "account.sessions_ended", actor=actor, subject_id=user.id,
                 target_type="user", target_id=user.id, details={"sessions_ended": ended})
    return ended

