"""What failed sign-in attempts leave behind: the count and the wait they impose."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime, new_id, str_enum, utcnow


class SignInStep(enum.StrEnum):
    PASSWORD = "password"  # noqa: S105 - the name of a step, not a secret
    SECOND_FACTOR = "second_factor"


class SignInDelay(Base):
    """Failures of one sign-in step and the wait they impose.

    Wrong passwords count per (account, client address), so failures from elsewhere never
    delay the person (no lockout on demand); wrong second-factor codes count per account,
    with an empty address key (whoever types them knows the password). The address is
    only ever stored as a keyed hash (domain/sign_in.py address_key()).
    """

    __tablename__ = "sign_in_delays"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    step: Mapped[SignInStep] = mapped_column(str_enum(SignInStep, "sign_in_step"),
                                             primary_key=True)
    address_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Failures since the last success (or since the row was forgotten, see sign_in.py).
    failures: Mapped[int] = mapped_column(default=0)
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecoveryCode(Base):
    """One of an account's single-use recovery codes, for signing in without the second
    factor (a lost phone). Only a keyed hash is stored (domain/recovery.py); the codes are
    shown once, when they are made."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasswordReset(Base):
    """A forgotten password's reset in progress: a code sent to the contact the insurer
    knows (domain/password_reset.py). Only the code's keyed hash is kept; it expires, allows
    a few tries, and is spent once the new password is set."""

    __tablename__ = "password_resets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(5))  # "email" or "sms"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FactorReset(Base):
    """A lost phone without recovery codes: a code sent by post to the address the insurer
    knows, which signs in once instead of the second factor (domain/factor_reset.py). Until
    used it can be cancelled from any signed-in session; it is announced by e-mail."""

    __tablename__ = "factor_resets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(default=0)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Passkey(Base):
    """A passkey (WebAuthn discoverable credential) that signs in to the account without a
    password or code: the authenticator checks the person (PIN, fingerprint, face), and it
    only answers the site it was made for, so it cannot be phished (domain/passkeys.py)."""

    __tablename__ = "passkeys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
