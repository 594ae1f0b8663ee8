"""The insurer's side: insured people, their legal representatives, activation codes.

NIR, carte Vitale serial and contact data are sealed (AES-GCM, associated data naming
table, column and row); lookups go through keyed hashes (blind indexes), never clear values.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime, new_id, str_enum, utcnow


class SpaceStatus(enum.StrEnum):
    PENDING = "pending"            # no space yet, no decision
    ACTIVE = "active"              # activated by the person
    AUTO_CREATED = "auto_created"  # created after 6 weeks without an answer
    OPPOSED = "opposed"            # the person refused the space
    CLOSED = "closed"              # closed, data archived
    DELETED = "deleted"            # key destroyed, data gone


class CodeChannel(enum.StrEnum):
    EMAIL = "email"
    POST = "post"
    SMS = "sms"



class InsuredPerson(Base):
    __tablename__ = "insured_people"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    nir_index: Mapped[str] = mapped_column(String(64), unique=True)
    nir_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    vitale_index: Mapped[str] = mapped_column(String(64), index=True)
    vitale_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    birth_name: Mapped[str] = mapped_column(String(100))
    given_names: Mapped[str] = mapped_column(String(150))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(1))
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # When an import last changed the e-mail, phone or postal address: no recovery code is
    # sent to a contact changed in the last 30 days (domain/password_reset.py,
    # domain/factor_reset.py). None: never changed.
    contact_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Fingerprint of the imported row, so that re-importing the same file changes nothing.
    source_fingerprint: Mapped[str] = mapped_column(String(64))
    space_status: Mapped[SpaceStatus] = mapped_column(str_enum(SpaceStatus, "space_status"),
                                                      default=SpaceStatus.PENDING, index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                unique=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opposition_reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LegalRepresentative(Base):
    """A minor's legal representative, as the insurer knows it (the code goes to them)."""

    __tablename__ = "legal_representatives"
    __table_args__ = (UniqueConstraint("minor_id", "representative_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    minor_id: Mapped[str] = mapped_column(ForeignKey("insured_people.id", ondelete="CASCADE"),
                                          index=True)
    representative_id: Mapped[str] = mapped_column(
        ForeignKey("insured_people.id", ondelete="CASCADE"), index=True)


class ActivationCode(Base):
    """A 12-character code, stored as a keyed hash; single use, valid 6 weeks from sending."""

    __tablename__ = "activation_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    insured_id: Mapped[str] = mapped_column(ForeignKey("insured_people.id", ondelete="CASCADE"),
                                            index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[CodeChannel] = mapped_column(str_enum(CodeChannel, "code_channel"))
    provisional: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    spent_reason: Mapped[str | None] = mapped_column(String(20))
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_attempts: Mapped[int] = mapped_column(default=0)
    # Where the person stopped in the activation flow, and what they had typed (sealed).
    progress_step: Mapped[int] = mapped_column(default=0)
    progress_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
