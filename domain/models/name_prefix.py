"""The blind index that lets a patient find a professional by the start of a family name.

Names are sealed in `users` (domain/models/user.py), so SQL cannot compare them. Each
professional instead gets one row per prefix of their normalised family name, 2 letters
and longer (the whole name too, whatever its length), each a keyed hash under the key file's
index key (`Keyring.blind_index`): a search hashes what was typed and looks for that hash.
Without the key file the rows tell nothing but which professionals share a prefix.
Patients have no rows: nobody looks a patient up by name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.crypto import Keyring
from domain.models.base import Base

PURPOSE = "family-name-prefix"
SHORTEST_PREFIX = 2
LONGEST_NAME = 100  # what the family name could hold when it was a clear column


def normalise_name(text: str) -> str:
    """Compared without case, accents or extra spaces: "  LEFÈVRE " and "lefevre" meet."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def prefix_digest(keyring: Keyring, typed: str) -> str | None:
    """The hash to look for when someone typed `typed` (None: nothing could match)."""
    wanted = normalise_name(typed)
    if not wanted or len(wanted) > LONGEST_NAME:
        return None
    return keyring.blind_index(PURPOSE, wanted)


def prefix_digests(keyring: Keyring, family_name: str) -> Iterator[str]:
    """The hashes a professional with this family name is found by."""
    name = normalise_name(family_name)[:LONGEST_NAME]
    for length in range(min(SHORTEST_PREFIX, len(name)), len(name) + 1):
        if length:
            yield keyring.blind_index(PURPOSE, name[:length])


class FamilyNamePrefix(Base):
    """One searchable prefix of a professional's family name, as a keyed hash. Kept by the
    User model itself (its family_name and role setters), removed with the account."""

    __tablename__ = "family_name_prefixes"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
