"""Accompaniments at an adviser's desk (DESIGN.md §2 "Assisted access"): what the person
came for, when the tablet was handed over and back, and the outcome the adviser records.
Never the person: no name, no id, nothing of their health; the audit trail links their
actions to the adviser through `assisted_by_id`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime, new_id, utcnow


class Accompaniment(Base):
    __tablename__ = "accompaniments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    adviser_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            index=True)
    # The adviser's structure when it started (the monthly figures group by it).
    structure: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The adviser's own session, parked on the server while the person holds the tablet.
    parked_session_id: Mapped[str | None] = mapped_column(String(32))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_reason: Mapped[str | None] = mapped_column(String(20))  # button, idle, sign_out…
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Wrong desk PINs typed to resume: from 5, only the password and second factor do.
    pin_failures: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(20))
