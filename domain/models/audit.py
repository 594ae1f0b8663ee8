"""The tamper-evident audit trail: each row's MAC chains to the previous one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime

# The only rows of ix_audit_events_sign_ins.
SIGN_IN_ACTION = "auth.login"
SIGN_IN_ONLY = f"action = '{SIGN_IN_ACTION}'"


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # A person's history, newest first, read page by page from a sequence number.
    __table_args__ = (Index("ix_audit_events_subject_seq", "subject_id", "seq"),
                      Index("ix_audit_events_subject_actor_seq", "subject_id", "actor_id",
                            "seq"),
                      # A person's sign-ins only (the dashboard's "since your last visit",
                      # domain/news.py): found without reading every event of theirs in
                      # between. The query names the action as written here, not as a
                      # parameter, so that both databases know the index applies.
                      Index("ix_audit_events_sign_ins", "actor_id", "subject_id", "seq",
                            sqlite_where=text(SIGN_IN_ONLY),
                            postgresql_where=text(SIGN_IN_ONLY)))

    # Which chain the row belongs to (its head is audit_head.id): the trail is sharded by
    # subject (domain/audit.py chain_for) so unrelated transactions never wait on one lock.
    # Each chain numbers its own rows: the key is (chain, seq).
    chain: Mapped[int] = mapped_column(primary_key=True, default=1, server_default="1",
                                       autoincrement=False)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # How the row is written out for its MAC (domain/audit.py CANONICAL): rows keep the
    # format they were written in, so a later change never breaks older rows.
    fmt: Mapped[int] = mapped_column(default=2, server_default="1")
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
    """One row per chain: its last sequence number and MAC. Updating it serialises the
    chain's writers. `head_mac` authenticates the row itself (the audit key over chain,
    seq and last MAC): rewriting the head after deleting the newest events is detected.
    `first_seq` is the number before the chain's first row (0, or the single chain's last
    number for chains opened when the trail was sharded)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    first_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    last_mac: Mapped[str] = mapped_column(String(64), default="0" * 64)
    head_mac: Mapped[str | None] = mapped_column(String(64))
