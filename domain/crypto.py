"""The one crypto module: keys, key wrapping, sealed values, keyed hashes.

Envelope encryption (SECURITY.md "Cryptography"): a versioned key-encryption key (KEK)
wraps each patient's 256-bit key with AES key wrap (RFC 3394); small values (profile
entries, secrets such as TOTP seeds) are sealed with AES-256-GCM and associated data that
binds them to their table, column and row. The audit chain and blind indexes use their own
HMAC keys, kept in the same key file but never derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

KEY_BYTES = 32
NONCE_BYTES = 12
SEAL_VERSION = b"\x01"


class CryptoError(Exception):
    """Decryption or unwrapping failed: wrong key, wrong associated data, or tampering."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def generate_key_file(path: str | Path) -> None:
    """Write a new key file (mode 0600): KEK version 1, audit key, blind-index key, seal key."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {
        "kek_current": 1,
        "kek": {"1": _b64(secrets.token_bytes(KEY_BYTES))},
        "audit_key": _b64(secrets.token_bytes(KEY_BYTES)),
        "index_key": _b64(secrets.token_bytes(KEY_BYTES)),
        "server_key": _b64(secrets.token_bytes(KEY_BYTES)),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(content, handle, indent=2)


@dataclass(frozen=True)
class WrappedKey:
    """A patient key wrapped by the KEK of the given version."""

    kek_version: int
    wrapped: bytes


class Keyring:
    """Keys loaded from the key file. Never logged, never rendered."""

    def __init__(self, keks: dict[int, bytes], current: int, audit_key: bytes,
                 index_key: bytes, server_key: bytes):
        if current not in keks:
            raise CryptoError("the current KEK version is not in the key file")
        for key in (*keks.values(), audit_key, index_key, server_key):
            if len(key) != KEY_BYTES:
                raise CryptoError("every key must be 256 bits")
        self._keks = dict(keks)
        self.current_version = current
        self._audit_key = audit_key
        self._index_key = index_key
        self._server_key = server_key

    @classmethod
    def from_file(cls, path: str | Path) -> Keyring:
        data = json.loads(Path(path).read_text())
        return cls(
            keks={int(version): _unb64(key) for version, key in data["kek"].items()},
            current=int(data["kek_current"]),
            audit_key=_unb64(data["audit_key"]),
            index_key=_unb64(data["index_key"]),
            server_key=_unb64(data["server_key"]),
        )

    def __repr__(self) -> str:  # keys must never end up in a log or a traceback
        return f"<Keyring versions={sorted(self._keks)} current={self.current_version}>"

    # Patient keys -----------------------------------------------------------------------
    def new_patient_key(self) -> WrappedKey:
        """Create a random 256-bit patient key and return it wrapped by the current KEK."""
        return self.wrap(secrets.token_bytes(KEY_BYTES))

    def wrap(self, key: bytes) -> WrappedKey:
        kek = self._keks[self.current_version]
        return WrappedKey(self.current_version, aes_key_wrap(kek, key))

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        kek = self._keks.get(wrapped.kek_version)
        if kek is None:
            raise CryptoError(f"KEK version {wrapped.kek_version} is not in the key file")
        try:
            return aes_key_unwrap(kek, wrapped.wrapped)
        except InvalidUnwrap as exc:
            raise CryptoError("the patient key cannot be unwrapped") from exc

    # Server secrets (TOTP seeds…) ----------------------------------------------------------
    def seal_server(self, plaintext: bytes, associated: str) -> bytes:
        return seal(self._server_key, plaintext, associated)

    def open_server(self, sealed: bytes, associated: str) -> bytes:
        return open_sealed(self._server_key, sealed, associated)

    # Keyed hashes ---------------------------------------------------------------------------
    def audit_mac(self, message: bytes) -> str:
        return hmac.new(self._audit_key, message, hashlib.sha256).hexdigest()

    def blind_index(self, purpose: str, value: str) -> str:
        """A keyed hash for looking a value up without storing it in clear."""
        message = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def seal(key: bytes, plaintext: bytes, associated: str) -> bytes:
    """Encrypt a small value with AES-256-GCM; the associated data must match on opening."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return SEAL_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, associated.encode())


def open_sealed(key: bytes, sealed: bytes, associated: str) -> bytes:
    """Decrypt a value made by seal(); raises CryptoError on any mismatch or tampering."""
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != SEAL_VERSION:
        raise CryptoError("not a sealed value")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, associated.encode())
    except InvalidTag as exc:
        raise CryptoError("the value was altered or belongs elsewhere") from exc


def token_hash(token: str) -> str:
    """Hash a high-entropy bearer token (a session id) before it is stored."""
    return hashlib.sha256(token.encode()).hexdigest()
