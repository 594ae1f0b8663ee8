"""Patient keys: unwrapping one for a request, and the life of the key-encryption keys
(rotation re-wraps every patient key with a new KEK; documents are never touched;
retirement removes a KEK nothing uses any more).

What a KEK protects: only `users.wrapped_key` (with `users.kek_version` naming the
version). Everything else is one level down or beside it: the data keys of documents and
message attachments (`wrapped_key` of `documents` and `message_attachments`) are wrapped by
the patient key; the `*_sealed` columns are sealed with the patient key (profile entries and
sections, measures, agenda items, calendar feed tokens, conversation subjects, message
bodies and attachment names, document titles and file names, emergency reasons) or with the
server key (TOTP seeds, insured people's identity and contact data, activation progress);
the audit chain and blind indexes use their own HMAC keys. So counting `users` rows is
enough to know whether a KEK version is still needed by the database.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from domain import audit
from domain.crypto import CryptoError, Keyring, WrappedKey, kek_versions, remove_kek_version
from domain.models import User

REWRAP_PASSES = 5


class RetireRefused(Exception):
    """`keys retire` is refused: the version is unknown, current, or still in use."""

    def __init__(self, reason: str, version: int, count: int = 0,
                 versions: list[int] | None = None):
        super().__init__(reason)
        self.reason, self.version, self.count = reason, version, count
        self.versions = versions or []


def patient_key(keyring: Keyring, patient: User) -> bytes:
    """The patient's own key, unwrapped by the KEK; gone once the space is shredded."""
    if patient.wrapped_key is None or patient.kek_version is None:
        raise CryptoError("this space's key was destroyed")
    return keyring.unwrap(WrappedKey(patient.kek_version, patient.wrapped_key))


def keys_by_version(session: Session) -> dict[int, int]:
    """How many patient keys each KEK version wraps. A shredded space (no wrapped key)
    keeps its old `kek_version` but holds nothing under it: not counted."""
    return {version: count for version, count in session.execute(
        select(User.kek_version, func.count()).where(User.wrapped_key.is_not(None))
        .group_by(User.kek_version))}


def rewrap_patient_keys(session: Session, keyring: Keyring, batch: int = 500) -> int:
    """Re-wrap, with the current KEK, every patient key wrapped by an older one; returns
    how many. Safe while the site serves and safe to stop and run again: each key is
    readable before, during and after, each batch is committed, and a key is only replaced
    if its row still holds what was read (compare-and-set), so a space shredded or a key
    re-wrapped by another run meanwhile is left as it is. Passes over the table until one
    finds nothing left (keys wrapped during a pass by a process that had not yet seen the
    new version are caught by the next), at most REWRAP_PASSES."""
    done = 0
    for _pass in range(REWRAP_PASSES):
        found, after = 0, ""
        while True:
            current = keyring.current_version
            rows = session.execute(
                select(User.id, User.kek_version, User.wrapped_key)
                .where(User.wrapped_key.is_not(None), User.kek_version != current,
                       User.id > after)
                .order_by(User.id).limit(batch)).all()
            if not rows:
                break
            found, after, changed = found + len(rows), rows[-1].id, 0
            for row in rows:
                rewrapped = keyring.wrap(keyring.unwrap(WrappedKey(row.kek_version,
                                                                   row.wrapped_key)))
                changed += session.execute(
                    update(User).where(User.id == row.id, User.kek_version == row.kek_version,
                                       User.wrapped_key == row.wrapped_key)
                    .values(wrapped_key=rewrapped.wrapped, kek_version=rewrapped.kek_version)
                    .execution_options(synchronize_session=False)).rowcount
            if changed:
                audit.record(session, keyring, "keys.rewrapped",
                             details={"count": changed, "kek": keyring.current_version})
            session.commit()
            done += changed
        if not found:
            break
    session.expire_all()  # rows loaded before now may hold the old wrapped keys
    return done


def retire_kek(session: Session, keyring: Keyring, key_file: str | Path, version: int) -> None:
    """Remove KEK `version` from the key file, audited, and commit. Refused (RetireRefused)
    while it is the current version, not in the file, or still wraps a patient key (see
    the module docstring: nothing else in the database depends on a KEK). Running
    processes drop it at their next look at the file.

    The audit row is written first: on SQLite that takes the write lock, so no new patient
    key can be committed between the count and the file change. Elsewhere, every process
    wraps new keys with the version the file makes current at that moment (Keyring.wrap),
    which is never the retired one; only a transaction that wrapped a key before the
    rotation and committed after this retirement could slip through, so retire once the
    rotation is done rather than in the same second."""
    versions, current, _retired = kek_versions(key_file)
    if version not in versions:
        raise RetireRefused("unknown", version, versions=versions)
    if version == current:
        raise RetireRefused("current", version, versions=versions)
    audit.record(session, keyring, "keys.retired", details={"kek": version})
    count = session.execute(select(func.count()).select_from(User).where(
        User.wrapped_key.is_not(None), User.kek_version == version)).scalar_one()
    if count:
        session.rollback()
        raise RetireRefused("in_use", version, count=count, versions=versions)
    try:
        remove_kek_version(key_file, version)
    except BaseException:
        session.rollback()
        raise
    session.commit()
