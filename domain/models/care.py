"""Care relations: a professional who stated that the patient was informed and did not
object, and the patient's blocks. Only care can hold one, by construction: the row copies
the professional's sector under a CHECK that it is "care", and a composite foreign key
ties that copy to the account's real sector, so no insert, update or later change of
sector can give an insurer, a mutuelle, occupational medicine or an employer a way in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime, new_id, utcnow


class CareRelation(Base):
    __tablename__ = "care_relations"
    __table_args__ = (
        UniqueConstraint("patient_id", "professional_id"),
        ForeignKeyConstraint(["professional_id", "professional_sector"],
                             ["users.id", "users.sector"],
                             name="fk_care_relations_professional_sector_users",
                             ondelete="CASCADE"),
        CheckConstraint("professional_sector = 'care'", name="care_only"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            index=True)
    professional_id: Mapped[str] = mapped_column(String(32), index=True)
    professional_sector: Mapped[str] = mapped_column(String(20), default="care")
    # The last time the professional stated "informed and did not object".
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blocked: Mapped[bool] = mapped_column(default=False)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Blocked while the patient's attending doctor: unblocking gives the designation back.
    was_attending: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EmergencyAccess(Base):
    """A "break the glass" access: a professional opened a space in an emergency, for a
    stated reason (sealed with the patient key), until `ends_at`."""

    __tablename__ = "emergency_accesses"
    __table_args__ = (
        ForeignKeyConstraint(["professional_id", "professional_sector"],
                             ["users.id", "users.sector"],
                             name="fk_emergency_accesses_professional_sector_users",
                             ondelete="CASCADE"),
        CheckConstraint("professional_sector = 'care'", name="care_only"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            index=True)
    professional_id: Mapped[str] = mapped_column(String(32), index=True)
    professional_sector: Mapped[str] = mapped_column(String(20), default="care")
    reason_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
