"""Outgoing e-mails and SMS waiting to be sent (domain/outbox.py sends them)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime, new_id, str_enum, utcnow


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class OutgoingMessage(Base):
    """One e-mail or SMS. Its content (addresses, codes, text) is sealed with the server
    key, so codes are never in clear, not even in a backup; the row is deleted once sent.
    A message given up on keeps its row, without content, for the operator to count."""

    __tablename__ = "outbox"
    # The worker's question: what is due now, oldest first.
    __table_args__ = (Index("ix_outbox_due", "failed_at", "next_attempt_at"),)

    # Also the SMS gateway's idempotency key: a retried request never sends twice.
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "outbox_channel"))
    payload_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set while a worker sends it; a worker that died leaves it, and it is due again after.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    # Why the last attempt failed, in words that never hold content ("SMTP 451", "timeout").
    last_error: Mapped[str | None] = mapped_column(String(200))
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
