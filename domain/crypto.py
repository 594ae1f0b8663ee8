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
from collections import deque
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


# Documents: a data key per document, content in AES-256-GCM chunks --------------------------

STREAM_MAGIC = b"CSD1"
CHUNK_SIZE = 64 * 1024
PREFIX_BYTES = 8
TAG_BYTES = 16


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def wrap_data_key(patient_key: bytes, data_key: bytes) -> bytes:
    """A document's key, wrapped by its patient's key (RFC 3394)."""
    return aes_key_wrap(patient_key, data_key)


def unwrap_data_key(patient_key: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(patient_key, wrapped)
    except InvalidUnwrap as exc:
        raise CryptoError("the document key cannot be unwrapped with this patient key") from exc


def _chunk_associated(binding: str, index: int, last: bool) -> bytes:
    return f"{binding}|chunk={index}|last={int(last)}".encode()


def document_binding(document_id: str, patient_id: str, scheme: int = 1) -> str:
    """Associated data shared by every chunk: the ciphertext only opens for this document
    of this patient, under this scheme version (swapping blobs between records fails)."""
    return f"doc={document_id}|patient={patient_id}|v={scheme}"


def encrypt_chunks(data_key: bytes, binding: str, pieces, total_size: int,
                   chunk_size: int = CHUNK_SIZE):
    """Encrypt `total_size` bytes arriving as pieces of any size; yields the header then one
    sealed chunk per `chunk_size` bytes. Knowing the size up front (the upload is spooled
    to disk first) tells which chunk is the last without reading ahead, so only the chunk
    being sealed and its ciphertext are in memory."""
    aead = AESGCM(data_key)
    prefix = secrets.token_bytes(PREFIX_BYTES)
    yield STREAM_MAGIC + prefix + chunk_size.to_bytes(4, "big")
    reader = _Reassembler(pieces)
    count = max(1, -(-total_size // chunk_size))
    for index in range(count):
        plain = reader.read(min(chunk_size, total_size - index * chunk_size))
        if len(plain) != min(chunk_size, total_size - index * chunk_size):
            raise CryptoError("the content is shorter than announced")
        yield _seal_chunk(aead, prefix, binding, index, plain, last=index == count - 1)
    if reader.read(1):
        raise CryptoError("the content is longer than announced")


def _seal_chunk(aead: AESGCM, prefix: bytes, binding: str, index: int, plain: bytes,
                last: bool) -> bytes:
    if index >= 2**32:
        raise CryptoError("too many chunks for one document")
    nonce = prefix + index.to_bytes(4, "big")
    return aead.encrypt(nonce, plain, _chunk_associated(binding, index, last))


def decrypt_chunks(data_key: bytes, binding: str, blob_pieces, blob_size: int | None = None):
    """Decrypt a stream made by encrypt_chunks(); raises CryptoError on any alteration,
    truncation, reordering, extension or wrong binding. Yields plaintext chunks.

    With `blob_size` (kept in the database) the last chunk is known in advance, so only the
    sealed chunk being opened and its plaintext are in memory; without it, one chunk is
    read ahead to learn which is the last."""
    aead = AESGCM(data_key)
    reader = _Reassembler(blob_pieces)
    header_size = len(STREAM_MAGIC) + PREFIX_BYTES + 4
    header = reader.read(header_size)
    if len(header) != header_size or not header.startswith(STREAM_MAGIC):
        raise CryptoError("not an encrypted document")
    prefix = header[len(STREAM_MAGIC):len(STREAM_MAGIC) + PREFIX_BYTES]
    chunk_size = int.from_bytes(header[-4:], "big")
    if not 0 < chunk_size <= 16 * 1024 * 1024:
        raise CryptoError("bad chunk size")
    sealed_size = chunk_size + TAG_BYTES

    def open_chunk(index: int, sealed: bytes, last: bool) -> bytes:
        try:
            return aead.decrypt(prefix + index.to_bytes(4, "big"), sealed,
                                _chunk_associated(binding, index, last))
        except InvalidTag as exc:
            raise CryptoError("the document was altered or belongs elsewhere") from exc

    if blob_size is not None:
        body = blob_size - header_size
        count = max(1, -(-body // sealed_size))
        for index in range(count):
            expected = sealed_size if index < count - 1 else body - (count - 1) * sealed_size
            sealed = reader.read(expected)
            if expected < TAG_BYTES or len(sealed) != expected:
                raise CryptoError("truncated document")
            yield open_chunk(index, sealed, last=index == count - 1)
        if reader.read(1):
            raise CryptoError("the document is longer than recorded")
        return
    index = 0
    current = reader.read(sealed_size)
    while True:
        following = reader.read(sealed_size)
        last = not following
        if len(current) < TAG_BYTES or (not last and len(current) != sealed_size):
            raise CryptoError("truncated document")
        yield open_chunk(index, current, last)
        if last:
            return
        current, index = following, index + 1


class _Reassembler:
    """Reads exact sizes from an iterator of byte pieces of any size, copying each byte
    once: pieces are kept as views and dropped as soon as they are consumed."""

    def __init__(self, pieces):
        self._pieces = iter(pieces)
        self._views: deque[memoryview] = deque()
        self._buffered = 0

    def read(self, size: int) -> bytes:
        while self._buffered < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            if not self._views and len(piece) == size:
                return bytes(piece)  # the common case: pieces already of the right size
            if piece:
                self._views.append(memoryview(piece))
                self._buffered += len(piece)
        wanted, parts = size, []
        while wanted and self._views:
            view = self._views[0]
            if len(view) <= wanted:
                parts.append(self._views.popleft())
                wanted -= len(view)
            else:
                parts.append(view[:wanted])
                self._views[0] = view[wanted:]
                wanted = 0
        out = b"".join(parts)
        self._buffered -= len(out)
        return out


def add_kek_version(path: str | Path) -> int:
    """Add a new KEK to the key file and make it current; older versions stay so that keys
    wrapped with them keep opening until they are re-wrapped. Written atomically, 0600."""
    path = Path(path)
    content = json.loads(path.read_text())
    version = max(int(number) for number in content["kek"]) + 1
    content["kek"][str(version)] = _b64(secrets.token_bytes(KEY_BYTES))
    content["kek_current"] = version
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(content, handle, indent=2)
    os.replace(temporary, path)
    return version


def attachment_binding(attachment_id: str, patient_id: str, scheme: int = 1) -> str:
    """Associated data of a message attachment's chunks (as document_binding, for another
    kind of record, so a document's blob never opens as an attachment or the reverse)."""
    return f"att={attachment_id}|patient={patient_id}|v={scheme}"
