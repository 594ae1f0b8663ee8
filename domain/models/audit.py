"""The tamper-evident audit trail: each row's MAC chains to the previous one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # A person's history, newest first, read page by page from a sequence number.
    __table_args__ = (Index("ix_audit_events_subject_seq", "subject_id", "seq"),
                      Index("ix_audit_events_subject_actor_seq", "subject_id", "actor_id",
                            "seq"))

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    action: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(32), index=True)
    acting_as: Mapped[str | None] = mapped_column(String(30))
    assisted_by_id: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(32), index=True)
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    # The request (or command run) that wrote it: the same id is in the logs and on the
    # error page the person saw.
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the last sequence number and MAC. Updating it serialises writers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    last_mac: Mapped[str] = mapped_column(String(64), default="0" * 64)
