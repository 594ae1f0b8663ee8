"""Password hashing (argon2id) and the password rules of SECURITY.md "Authentication"."""

from __future__ import annotations

import re
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 256
_DATA = Path(__file__).parent / "data"

# "standard" is argon2-cffi's RFC 9106 low-memory profile (argon2id, 64 MiB, t=3).
# "fast" exists only so the test suite can create hundreds of accounts; config.py
# refuses it in production.
_PROFILES = {
    "standard": PasswordHasher(),
    "fast": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}


def hasher(profile: str = "standard") -> PasswordHasher:
    """The argon2id hasher of this profile ("standard", or "fast" for tests only)."""
    return _PROFILES[profile]


def hash_password(password: str, profile: str = "standard") -> str:
    """The password's argon2id hash (salt and parameters included), as stored."""
    return hasher(profile).hash(password)


def verify_password(stored_hash: str, password: str, profile: str = "standard") -> bool:
    """Whether the password matches the stored hash; a wrong password or an unreadable
    hash is False, never an exception."""
    try:
        return hasher(profile).verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash(profile: str) -> str:
    return hasher(profile).hash("carnet-dummy-password-for-timing")


def burn_time(password: str, profile: str = "standard") -> None:
    """Spend the cost of one verification, so unknown accounts answer in similar time."""
    verify_password(_dummy_hash(profile), password, profile)


@cache
def common_passwords() -> frozenset[str]:
    """Common and breached passwords: zxcvbn's 30,000 list plus a French list we ship."""
    french = (_DATA / "common-passwords-fr.txt").read_text(encoding="utf-8").split()
    return frozenset(FREQUENCY_LISTS["passwords"]) | {word.lower() for word in french}


def _core(password: str) -> str:
    """The word under common decorations: case, trailing digits and symbols, repeats."""
    lowered = password.lower()
    stripped = re.sub(r"[\d\W_]+$", "", lowered)
    stripped = re.sub(r"^[\d\W_]+", "", stripped)
    return stripped


def password_problems(password: str, personal: tuple[str, ...] = ()) -> list[str]:
    """Reasons a password is refused, as codes the views translate. Empty when fine."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    lowered = password.lower()
    common = common_passwords()
    core = _core(password)
    if lowered in common or (len(core) >= 4 and core in common) or len(set(lowered)) < 4:
        problems.append("common")
    for value in personal:
        value = (value or "").lower()
        if len(value) >= 3 and value in lowered:
            problems.append("personal")
            break
    return problems


_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no I, L, O, 0, 1: nothing to confuse


def generate() -> str:
    """A one-time password for an operator to hand over: 16 characters from an alphabet
    without look-alikes, in groups of four (79 bits: nobody guesses it within its time),
    easy to read out and type."""
    characters = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(characters[index:index + 4] for index in range(0, 16, 4))
