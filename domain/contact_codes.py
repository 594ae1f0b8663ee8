"""Confirming an e-mail address or a phone number: a 6-digit code sent there, remembered
only as a keyed hash bound to who asked (`scope`: an activation, an account), the kind and
the destination, with a deadline."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from domain.crypto import Keyring

MINUTES = 15


def _digest(keyring: Keyring, scope: str, kind: str, destination: str, code: str) -> str:
    return keyring.blind_index("contact-otp", f"{scope}:{kind}:{destination}:{code}")


def challenge(keyring: Keyring, scope: str, kind: str, destination: str,
              now: datetime) -> tuple[str, dict]:
    """A 6-digit code for `destination`; returns it (to send) and what to remember of it:
    a keyed hash bound to the scope and destination, never the destination itself."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    return code, {"hash": _digest(keyring, scope, kind, destination, code),
                  "expires": (now + timedelta(minutes=MINUTES)).isoformat()}


def code_ok(keyring: Keyring, scope: str, kind: str, destination: str, code: str,
            stored: dict | None, now: datetime) -> bool:
    """Whether `code` is the one challenge() issued for this scope, kind and destination,
    not yet expired; compared in constant time."""
    if not stored or datetime.fromisoformat(stored["expires"]) < now:
        return False
    expected = _digest(keyring, scope, kind, destination, "".join(code.split()))
    return secrets.compare_digest(expected, stored["hash"])
