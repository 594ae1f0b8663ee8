"""The medical profile: entries of each section, the section's own state ("non concerné"),
and measures. Every health value is sealed with the patient key; only what is needed to
find and order rows (section, measure kind, date) stays clear."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime, new_id, str_enum, utcnow
from domain.models.document import AuthorKind


class ProfileEntry(Base):
    """One entry of a profile section: an illness, a treatment, a vaccination, a contact…"""

    __tablename__ = "profile_entries"
    __table_args__ = (Index("ix_profile_entries_patient_section", "patient_id", "section"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    section: Mapped[str] = mapped_column(String(30))
    payload_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_kind: Mapped[AuthorKind] = mapped_column(str_enum(AuthorKind, "author_kind"))
    # Added or confirmed by a professional: the patient can no longer change it.
    locked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProfileSection(Base):
    """A section's state for one patient: when it last changed and, sealed, whether the
    patient said "Non concerné" (an explicit statement, unlike an empty section)."""

    __tablename__ = "profile_sections"

    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            primary_key=True)
    section: Mapped[str] = mapped_column(String(30), primary_key=True)
    state_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Measure(Base):
    """One measure (weight, blood pressure…) on a day; the value itself is sealed."""

    __tablename__ = "measures"
    # A kind's measures in the history's order (day, then when entered): a page or the
    # latest measure reads the index from its end, however many there are.
    __table_args__ = (Index("ix_measures_patient_kind_listed", "patient_id", "kind",
                            "measured_on", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    measured_on: Mapped[date]
    value_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SummaryPdf(Base):
    """The profile's PDF summary, built off the request and kept until what it shows
    changes: `fingerprint` names the profile, the day and the language it was built from.
    The PDF is sealed with the patient key (it holds the whole profile)."""

    __tablename__ = "summary_pdfs"

    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # "preparing" (a worker holds it until lease_until), "ready" or "failed".
    state: Mapped[str] = mapped_column(String(10))
    # What it is (to be) made for, with the profile as it is: the language and the day.
    language: Mapped[str] = mapped_column(String(10))
    day: Mapped[date]
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    content_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
