"""Declarative base with a naming convention, and a UTC datetime type."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, LargeBinary, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A random, unguessable 128-bit identifier for rows people can name in a URL."""
    return secrets.token_hex(16)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(kind: type[enum.Enum], name: str) -> Enum:
    """A Python enum stored by value as a short string (no native database type, so adding
    a value needs no migration of an ENUM type)."""
    return Enum(kind, name=name, native_enum=False, length=20,
                values_callable=lambda members: [member.value for member in members])


class EncryptedFile:
    """Columns of a file kept encrypted in the blob store: its type and clear size, the blob
    and its checksum, the data key wrapped by the patient key, the scheme version. Vault
    documents and message attachments alike."""

    kind: Mapped[str] = mapped_column(String(10))
    mimetype: Mapped[str] = mapped_column(String(60))
    size: Mapped[int]
    blob_key: Mapped[str] = mapped_column(String(40), unique=True)
    blob_size: Mapped[int]
    checksum: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    scheme: Mapped[int] = mapped_column(default=1)
