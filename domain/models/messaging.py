"""Secure messaging between a care professional and a patient. Subjects, bodies and
attachment names are sealed with the patient key; only what orders and counts rows stays
clear. Like a care relation, a conversation copies the professional's sector under a CHECK
that it is "care", tied by a composite foreign key to the account's real sector."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, EncryptedFile, UTCDateTime, new_id, str_enum, utcnow
from domain.models.document import AuthorKind


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        ForeignKeyConstraint(["professional_id", "professional_sector"],
                             ["users.id", "users.sector"],
                             name="fk_conversations_professional_sector_users",
                             ondelete="CASCADE"),
        CheckConstraint("professional_sector = 'care'", name="care_only"),
        Index("ix_conversations_patient_last", "patient_id", "last_message_at"),
        Index("ix_conversations_professional_last", "professional_id", "last_message_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    professional_id: Mapped[str] = mapped_column(String(32))
    professional_sector: Mapped[str] = mapped_column(String(20), default="care")
    subject_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Messages the other side has not opened yet, kept as counters so the inbox is one query.
    patient_unread: Mapped[int] = mapped_column(default=0)
    professional_unread: Mapped[int] = mapped_column(default=0)
    patient_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    professional_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_id", "conversation_id", "id"),)

    # An integer key: messages are ordered by it and never named alone in a URL.
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sender_kind: Mapped[AuthorKind] = mapped_column(str_enum(AuthorKind, "author_kind"))
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MessageAttachment(EncryptedFile, Base):
    """A file sent with a message: encrypted like a vault document, under its own data key
    wrapped by the patient key."""

    __tablename__ = "message_attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"),
                                            index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            index=True)
    file_name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The vault document the patient saved it as, if they did.
    saved_document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))
