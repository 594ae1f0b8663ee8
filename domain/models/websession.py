"""Server-side web sessions: the cookie holds a random token; only its hash is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, UTCDateTime, new_id, utcnow


class WebSession(Base):
    __tablename__ = "web_sessions"

    # Public id, shown in "my sessions" forms; never the cookie value.
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    assisted_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    data: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    # An adviser's desk session while a person holds the tablet: no cookie opens it; only
    # the adviser's secret resumes the desk (domain/assist.py).
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
