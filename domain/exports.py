"""A copy of everything a space holds, for the person to keep (ZIP, built in memory)."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.models import User
from domain.models.base import utcnow
from domain.people import represented_by


def space_archive(session: Session, user: User, keyring=None, store=None) -> bytes:
    """The account's identity and contact details, the spaces it manages and every document
    of the vault, decrypted, one file each under documents/<category>/, the medical
    profile (every section, vaccinations and measures) as JSON with its codes, and every
    conversation with its messages (attachments are named; the vault keeps those saved)."""
    identity = {
        "given_name": user.given_name,
        "family_name": user.family_name,
        "birth_date": user.birth_date.isoformat() if user.birth_date else None,
        "login": user.login,
        "email": user.email,
        "phone": user.phone,
        "space_created_at": user.created_at.isoformat(),
        "managed_spaces": [f"{person.given_name} {person.family_name}"
                           for person, _relationship in represented_by(session, user.id)],
        "exported_at": utcnow().isoformat(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mon-espace/identite.json",
                         json.dumps(identity, ensure_ascii=False, indent=2))
        if keyring is not None and user.wrapped_key is not None:
            archive.writestr("mon-espace/profil-medical.json", json.dumps(
                _profile(session, user, keyring), ensure_ascii=False, indent=2))
            archive.writestr("mon-espace/messages.json", json.dumps(
                _messages(session, user, keyring), ensure_ascii=False, indent=2))
        if keyring is not None and store is not None:
            _add_documents(archive, session, user, keyring, store)
    return buffer.getvalue()


def _profile(session: Session, user: User, keyring) -> dict:
    from domain import measures, profile

    sections = profile.load(session, keyring, user)
    return {
        "sections": {key: {"not_concerned": view.not_concerned,
                           "entries": [{**item.values, "locked": item.entry.locked}
                                       for item in view.entries]}
                     for key, view in sections.items()},
        "measures": {kind.key: [{"date": item.day.isoformat(), **item.values}
                                for item in measures.history(session, keyring, user, kind)]
                     for kind in measures.KINDS},
    }


def _messages(session: Session, user: User, keyring) -> list[dict]:
    from domain import messaging
    from domain.models import Conversation

    result = []
    for conversation in session.scalars(select(Conversation).where(
            Conversation.patient_id == user.id).order_by(Conversation.created_at)):
        summary = messaging.view(session, keyring, user, conversation)
        items, _older = messaging.messages(session, keyring, user, conversation,
                                           limit=10**6)
        result.append({
            "subject": summary.subject,
            "professional": summary.professional.display_name,
            "closed_at": conversation.closed_at.isoformat() if conversation.closed_at else None,
            "messages": [{"from": "patient" if item.from_patient else "professional",
                          "sent_at": item.message.sent_at.isoformat(), "text": item.body,
                          "attachments": [file.file_name for file in item.attachments]}
                         for item in items]})
    return result


def _add_documents(archive: zipfile.ZipFile, session: Session, user: User, keyring,
                   store) -> None:
    from domain import vault
    from domain.models import Document

    used: set[str] = set()
    rows = session.execute(select(Document).where(Document.patient_id == user.id)
                           .order_by(Document.document_date)).scalars()
    for document in rows:
        item = vault.view(keyring, user, document)
        name = f"mon-espace/documents/{document.category.value}/" \
               f"{document.document_date.isoformat()} {item.file_name}"
        while name in used:
            stem, dot, extension = name.rpartition(".")
            name = f"{stem} (bis).{extension}" if dot else f"{name} (bis)"
        used.add(name)
        # Streams each document into the archive without holding it whole.
        with archive.open(name, "w") as target:
            for piece in vault.open_content(keyring, store, user, document):
                target.write(piece)
