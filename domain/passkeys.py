"""Passkeys (WebAuthn, with the maintained `webauthn` library): a sign-in that cannot be
phished. The authenticator (the phone, a security key, the computer) keeps a private key for
this site only, checks the person (PIN, fingerprint, face: user verification, required) and
signs a fresh challenge; the browser writes the page's origin into what is signed, so a
look-alike site gets nothing usable, and nothing can be read out on the phone.

A discoverable credential: signing in needs no identifier. User verification plus the key
held by the device count as two factors, so a passkey replaces the password and the code.
The relying party (site name, id, origin) comes from the configuration (PUBLIC_URL), never
from the request: a proxy in the middle cannot make a look-alike origin acceptable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from domain import accounts, audit, auth
from domain.crypto import Keyring
from domain.db import Prepared, mapped_columns
from domain.models import AccountRow, Passkey, User
from domain.models.base import utcnow
from domain.sign_in import DelayPolicy

NAME_MAX = 60
ADD_PASSKEY = "add_passkey"
TIMEOUT_MS = 120_000


class PasskeyRefused(Exception):
    """The passkey's answer is not valid here (wrong site, stale challenge, unknown or
    removed credential, no user verification, a disabled account)."""


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the site's name, its domain (the RP id), its origin."""

    name: str
    id: str
    origin: str


@dataclass(frozen=True)
class Ceremony:
    """Options for the browser (JSON) and the challenge to remember until the answer."""

    options_json: str
    challenge: bytes


# Only read (the list page, the credentials a new one must not repeat): rows of the
# columns, so that the page showing them makes no ORM session.
_OF = Prepared(select(*mapped_columns(Passkey)).where(Passkey.user_id == bindparam("user_id"))
               .order_by(Passkey.created_at.desc()))


def of(session: Session, user: User | AccountRow) -> list[tuple]:
    """The account's passkeys, newest first, as rows (Passkey's attributes by name)."""
    return _OF.all(session, {"user_id": user.id})


def registration_options(session: Session, user: User, rp: RelyingParty) -> Ceremony:
    """Options to make a new passkey for this account (its existing ones excluded)."""
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_id=user.id.encode(), user_name=user.login or "",
        user_display_name=user.login or "", timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=key.credential_id)
                             for key in of(session, user)])
    return Ceremony(options_to_json(options), options.challenge)


def begin_registration(session: Session, keyring: Keyring, user: User, *, password: str,
                       code: str, sms: auth.SmsChallenge | None, rp: RelyingParty,
                       actor: audit.Actor, policy: DelayPolicy,
                       hash_profile: str = "standard") -> Ceremony:
    """Adding a passkey starts with the password and a second-factor code (as at sign-in:
    the same waits and audit); then the options for the browser. Raises what
    auth.check_password() raises, accounts.CodesWaiting while codes wait, and
    SecondFactorFailed."""
    accounts.confirm_identity(session, keyring, user, password=password, code=code, sms=sms,
                              factor_lost=False, purpose=ADD_PASSKEY, actor=actor,
                              policy=policy, hash_profile=hash_profile)
    return registration_options(session, user, rp)


def register(session: Session, keyring: Keyring, user: User, *, credential: str,
             challenge: bytes, rp: RelyingParty, name: str, actor: audit.Actor) -> Passkey:
    """Keep the new passkey once its answer checks out; PasskeyRefused otherwise."""
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, require_user_verification=True)
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as problem:
        audit.record(session, keyring, "account.passkey_refused", actor=actor,
                     outcome="failure", subject_id=user.id, details={"step": "register"})
        raise PasskeyRefused from problem
    if session.scalars(select(Passkey.id).where(
            Passkey.credential_id == verified.credential_id)).first():
        raise PasskeyRefused
    passkey = Passkey(user_id=user.id, credential_id=verified.credential_id,
                      public_key=verified.credential_public_key,
                      sign_count=verified.sign_count, name=name.strip()[:NAME_MAX])
    session.add(passkey)
    session.flush()
    audit.record(session, keyring, "account.passkey_added", actor=actor, subject_id=user.id,
                 target_type="passkey", target_id=passkey.id)
    return passkey


def authentication_options(rp: RelyingParty) -> Ceremony:
    """Options to sign in with any passkey of this site (discoverable: no identifier)."""
    options = generate_authentication_options(
        rp_id=rp.id, timeout=TIMEOUT_MS,
        user_verification=UserVerificationRequirement.REQUIRED)
    return Ceremony(options_to_json(options), options.challenge)


def _credential_id(credential: str) -> bytes:
    try:
        return base64url_to_bytes(json.loads(credential)["rawId"])
    except (ValueError, KeyError, TypeError) as problem:
        raise PasskeyRefused from problem


def sign_in_with(session: Session, keyring: Keyring, *, credential: str,
                 challenge: bytes, rp: RelyingParty, actor: audit.Actor,
                 now: datetime | None = None) -> User:
    """Sign in with a passkey's answer: both factors at once, then auth.complete_login().
    Raises PasskeyRefused, or what complete_login() raises (a closed space, a disabled
    account)."""
    now = now or utcnow()
    passkey = session.scalars(select(Passkey).where(
        Passkey.credential_id == _credential_id(credential))).one_or_none()
    user = session.get(User, passkey.user_id) if passkey else None
    try:
        if passkey is None or user is None:
            raise PasskeyRefused
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True)
    except (PasskeyRefused, InvalidAuthenticationResponse, ValueError, KeyError,
            TypeError) as problem:
        audit.record(session, keyring, "auth.passkey_failed", actor=actor, outcome="failure",
                     subject_id=user.id if user else None, details={"step": "sign_in"},
                     now=now)
        raise PasskeyRefused from problem
    passkey.sign_count, passkey.last_used_at = verified.new_sign_count, now
    audit.record(session, keyring, "auth.passkey_used", actor=actor, subject_id=user.id,
                 target_type="passkey", target_id=passkey.id, now=now)
    auth.complete_login(session, keyring, user, actor=actor, now=now)
    return user


def remove(session: Session, keyring: Keyring, user: User, passkey_id: str, *,
           actor: audit.Actor) -> bool:
    """Remove one of the account's passkeys (another person's id finds nothing)."""
    passkey = session.scalars(select(Passkey).where(
        Passkey.id == passkey_id, Passkey.user_id == user.id)).one_or_none()
    if passkey is None:
        return False
    session.delete(passkey)
    audit.record(session, keyring, "account.passkey_removed", actor=actor, subject_id=user.id,
                 target_type="passkey", target_id=passkey_id)
    return True
