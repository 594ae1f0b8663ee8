"""Connected apps: a person's consent for a catalogue app, and what the OAuth flow issues.

An app itself is not stored here: it exists only as an entry of the operator's catalogue
file (domain/catalogue.py), whose slug is its OAuth client id. Codes and tokens are stored
as keyed hashes only (domain/apps.py), never as themselves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, EncryptedFile, UTCDateTime, new_id, utcnow


class AppConnection(Base):
    """One app allowed into one space, with the scopes the person ticked. Withdrawing it
    (revoked_at) ends every token issued under it at once."""

    __tablename__ = "app_connections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    app_slug: Mapped[str] = mapped_column(String(60))
    # Whose data the app reaches (the space), and who agreed: the holder, or a legal
    # representative for a child's or a protected adult's space.
    space_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                          index=True)
    granted_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    scopes: Mapped[str] = mapped_column(Text)  # space-separated SMART scopes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AppAuthorizationCode(Base):
    """An authorisation code on its way from the consent page to the token endpoint: one
    use, a few minutes, bound to the app, the redirect URI and the PKCE challenge."""

    __tablename__ = "app_authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("app_connections.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AppToken(Base):
    """An access token and the refresh token issued with it. Refresh tokens rotate: each
    use spends the row's refresh token (refresh_used_at) and issues a new row in the same
    family; a spent one presented again revokes the whole family."""

    __tablename__ = "app_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("app_connections.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    # The code the family started from: a code presented twice revokes what it issued.
    code_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refresh_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AppUpload(EncryptedFile, Base):
    """A file an app sent (FHIR Binary), checked and sealed like any upload, waiting for
    the DocumentReference that files it in the vault. Its id is the document's to be (the
    blob is bound to it); unclaimed, it is deleted after UPLOAD_LIFETIME."""

    __tablename__ = "app_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("app_connections.id", ondelete="CASCADE"), index=True)
    file_name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
