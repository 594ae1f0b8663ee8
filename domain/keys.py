"""Patient keys: unwrapping one for a request, and rotation (a new KEK re-wraps every
patient key; documents are never touched)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit
from domain.crypto import CryptoError, Keyring, WrappedKey
from domain.models import User


def patient_key(keyring: Keyring, patient: User) -> bytes:
    """The patient's own key, unwrapped by the KEK; gone once the space is shredded."""
    if patient.wrapped_key is None or patient.kek_version is None:
        raise CryptoError("this space's key was destroyed")
    return keyring.unwrap(WrappedKey(patient.kek_version, patient.wrapped_key))


def rewrap_patient_keys(session: Session, keyring: Keyring, batch: int = 500) -> int:
    """Re-wrap, with the current KEK, every patient key wrapped by an older one. Safe to
    stop and run again: each key is readable before, during and after."""
    done = 0
    while True:
        users = session.execute(select(User).where(
            User.wrapped_key.is_not(None), User.kek_version != keyring.current_version)
            .limit(batch)).scalars().all()
        if not users:
            break
        for user in users:
            rewrapped = keyring.wrap(keyring.unwrap(WrappedKey(user.kek_version,
                                                               user.wrapped_key)))
            user.wrapped_key, user.kek_version = rewrapped.wrapped, rewrapped.kek_version
        audit.record(session, keyring, "keys.rewrapped", details={"count": len(users),
                                                                  "kek": keyring.current_version})
        session.commit()
        done += len(users)
    return done
