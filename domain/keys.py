"""Key rotation: a new KEK re-wraps every patient key; documents are never touched."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit
from domain.crypto import Keyring, WrappedKey
from domain.models import User


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
