"""A copy of everything a space holds, for the person to keep (ZIP, built in memory)."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy.orm import Session

from domain.models import User
from domain.models.base import utcnow
from domain.people import represented_by


def space_archive(session: Session, user: User) -> bytes:
    """The account's identity and contact details and the spaces it manages. Documents and
    profile entries join the archive as those features store them."""
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
    return buffer.getvalue()
