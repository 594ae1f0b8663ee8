"""The medical agenda: appointments and reminders. The day and time stay clear (lists,
the month view, the ten-a-day limit and the reminder run need them); what, where, with whom
and the note are sealed with the patient key."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime, new_id, str_enum, utcnow


class ItemKind(enum.StrEnum):
    APPOINTMENT = "appointment"
    REMINDER = "reminder"


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    # The patient's items by day (lists, month, the next one); their reminders alone (the
    # vaccinations already planned, read on the agenda and each suggestion); the night's
    # reminders by day.
    __table_args__ = (Index("ix_agenda_items_patient_day", "patient_id", "day", "at"),
                      Index("ix_agenda_items_patient_kind_day", "patient_id", "kind", "day"),
                      Index("ix_agenda_items_day_reminded", "day", "reminded_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind, "agenda_item_kind"))
    day: Mapped[date]
    at: Mapped[time | None]
    # One sealed JSON object: title, place, professional, note.
    payload_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # Set by `flask agenda remind` once the e-mail of the day before went out.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CalendarFeed(Base):
    """The private subscription address of a patient's agenda: only the token's SHA-256 is
    looked up; the token itself is sealed so the patient can see the address again.
    Regenerating replaces the row, which revokes the old address."""

    __tablename__ = "calendar_feeds"

    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
