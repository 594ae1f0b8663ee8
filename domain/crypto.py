"""The one crypto module: keys, key wrapping, sealed values, keyed hashes.

Envelope encryption (SECURITY.md "Cryptography"): a versioned key-encryption key (KEK)
wraps each patient's 256-bit key with AES key wrap (RFC 3394); small values (profile
entries, secrets such as TOTP seeds) are sealed with AES-256-GCM and associated data that
binds them to their table, column and row. The audit chain and blind indexes use their own
HMAC keys, kept in the same key file but never derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

KEY_BYTES = 32
NONCE_BYTES = 12
SEAL_VERSION = b"\x01"

_log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class _Keks:
    """The KEK versions and the current one, replaced as one value when the file changes."""

    keys: dict[int, bytes] = field(repr=False)
    current: int


def _keks(keys: dict[int, bytes], current: int) -> _Keks:
    if current not in keys:
        raise CryptoError("the current KEK version is not in the key file")
    if any(len(key) != KEY_BYTES for key in keys.values()):
        raise CryptoError("every key must be 256 bits")
    return _Keks(dict(keys), current)


def _read_key_file(path: Path) -> tuple[tuple, bytes]:
    """The file's identity (what a stat sees) and its bytes, from one open file: an atomic
    replace between the two cannot pair new content with the old identity."""
    with open(path, "rb") as handle:
        identity = _identity(os.fstat(handle.fileno()))
        return identity, handle.read()


def _identity(status: os.stat_result) -> tuple:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns,
            status.st_ctime_ns)


def _parse_key_file(raw: bytes) -> dict:
    try:
        data = json.loads(raw)
        return {
            "keks": {int(version): _unb64(key) for version, key in data["kek"].items()},
            "current": int(data["kek_current"]),
            "audit_key": _unb64(data["audit_key"]),
            "index_key": _unb64(data["index_key"]),
            "server_key": _unb64(data["server_key"]),
        }
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        # `from None`: a JSON error carries the whole document, keys included.
        raise CryptoError(f"the key file is malformed ({type(exc).__name__})") from None


class KeyedHash:
    """HMAC under one key, keyed once: each message is hashed on a copy. `hmac.new()` and
    `hmac.digest()` ask OpenSSL 3 for the algorithm and key it on every call: 13 to 17 µs
    inside a request here (1.7 µs in a loop, where OpenSSL's tables stay in the processor's
    caches), against 4 to 7 µs for a copy. Copies of an object nobody updates are safe from
    several threads."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes, digest=hashlib.sha256) -> None:
        self._keyed = hmac.new(key, digestmod=digest)

    def digest(self, message: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.digest()

    def hexdigest(self, message: bytes) -> str:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.hexdigest()


class Keyring:
    """Keys loaded from the key file. Never logged, never rendered.

    A keyring read from a file follows it while the process runs, so that `keys rotate` and
    `keys retire` in another process need no restart: refresh() stats the file at most once
    a second and reloads it when it changed; unwrap() re-reads it on a KEK version it does
    not know; wrap() checks it first, so new keys get the version the file makes current.
    The audit, blind-index and server keys never change on a reload: a file that changes
    them, changes the bytes of a KEK version already loaded or moves the current version
    back is refused loudly (CryptoError, until the file changes again); the loaded keys
    stay. A file that cannot be read or parsed is logged and the loaded keys stay."""

    REFRESH_SECONDS = 1.0

    def __init__(self, keks: dict[int, bytes], current: int, audit_key: bytes,
                 index_key: bytes, server_key: bytes):
        self._state = _keks(keks, current)
        if any(len(key) != KEY_BYTES for key in (audit_key, index_key, server_key)):
            raise CryptoError("every key must be 256 bits")
        self._audit_key = audit_key
        self._index_key = index_key
        self._server_key = server_key
        self._audit_mac, self._index_mac = KeyedHash(audit_key), KeyedHash(index_key)
        self._source: Path | None = None  # None: built in memory, nothing to follow
        self._identity: tuple | None = None  # of the file last read
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._unreadable: str | None = None  # the file changed and could not be loaded
        self._refused: str | None = None  # the file changed to keys this process refuses

    @classmethod
    def from_file(cls, path: str | Path) -> Keyring:
        identity, raw = _read_key_file(Path(path))
        data = _parse_key_file(raw)
        ring = cls(data["keks"], data["current"], data["audit_key"], data["index_key"],
                   data["server_key"])
        ring._source, ring._identity = Path(path), identity
        ring._checked_at = time.monotonic()
        return ring

    def __repr__(self) -> str:  # keys must never end up in a log or a traceback
        return f"<Keyring versions={self.versions} current={self.current_version}>"

    @property
    def current_version(self) -> int:
        return self._state.current

    @property
    def versions(self) -> list[int]:
        return sorted(self._state.keys)

    # Following the key file -----------------------------------------------------------------
    def refresh(self, *, force: bool = False, strict: bool = False) -> None:
        """Reload the key file if it changed: one stat, at most once per REFRESH_SECONDS
        unless `force`. Raises CryptoError while the file holds keys this process refuses;
        with `strict`, also while a changed file cannot be loaded."""
        if self._source is not None and (
                force or time.monotonic() - self._checked_at >= self.REFRESH_SECONDS):
            with self._lock:
                self._checked_at = time.monotonic()
                try:
                    changed = _identity(os.stat(self._source)) != self._identity
                except OSError as exc:
                    changed = False
                    if self._identity is not None:  # logged once, not every second
                        self._identity = None
                        self._set_unreadable(exc)
                if changed:
                    self._load()
        if self._refused is not None:
            raise CryptoError(self._refused)
        if strict and self._unreadable is not None:
            raise CryptoError(f"{self._unreadable}: no key is wrapped until it can be")

    def _load(self) -> None:
        """Read the file and adopt its KEKs; the caller holds the lock. Versions it no
        longer has are dropped (`keys retire` removes them once no patient key uses them)."""
        try:
            self._identity, raw = _read_key_file(self._source)
            data = _parse_key_file(raw)
            fresh = _keks(data["keks"], data["current"])
        except (OSError, CryptoError) as exc:
            self._set_unreadable(exc)
            return
        loaded = self._state
        changed = [name for name in ("audit_key", "index_key", "server_key")
                   if not hmac.compare_digest(data[name], getattr(self, f"_{name}"))]
        changed += [f"KEK version {version}" for version, key in sorted(fresh.keys.items())
                    if version in loaded.keys
                    and not hmac.compare_digest(key, loaded.keys[version])]
        self._unreadable = None
        if changed:
            self._refused = (f"the key file now has another {', '.join(changed)}: "
                             "refusing to load it (was another key file put there?)")
        elif fresh.current < loaded.current:
            self._refused = (f"the key file moves the current KEK version back from "
                             f"{loaded.current} to {fresh.current}: refusing to load it "
                             "(was an old copy put back?)")
        else:
            self._refused = None
            self._state = fresh
            _log.info("key file reloaded: KEK versions %s, current %s", self.versions,
                      self.current_version)
            return
        _log.error("%s", self._refused)

    def _set_unreadable(self, exc: Exception) -> None:
        self._unreadable = (str(exc) if isinstance(exc, CryptoError)
                            else f"the key file cannot be read ({type(exc).__name__})")
        _log.warning("%s: keeping the keys loaded", self._unreadable)

    # Patient keys -----------------------------------------------------------------------
    def new_patient_key(self) -> WrappedKey:
        """Create a random 256-bit patient key and return it wrapped by the current KEK."""
        return self.wrap(secrets.token_bytes(KEY_BYTES))

    def wrap(self, key: bytes) -> WrappedKey:
        """Wrap with the KEK the key file makes current now (one stat first): a process
        never wraps a new key with a version another process rotated away from."""
        self.refresh(force=True, strict=True)
        state = self._state
        return WrappedKey(state.current, aes_key_wrap(state.keys[state.current], key))

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        kek = self._state.keys.get(wrapped.kek_version)
        if kek is None and self._source is not None:
            # Perhaps rotated by another process: re-read the file once, in one thread.
            with self._lock:
                if wrapped.kek_version not in self._state.keys:
                    self._load()
            self.refresh()  # raises if the file was refused
            kek = self._state.keys.get(wrapped.kek_version)
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
        return self._audit_mac.hexdigest(message)

    def blind_index(self, purpose: str, value: str) -> str:
        """A keyed hash for looking a value up without storing it in clear."""
        message = purpose.encode() + b"\x00" + value.encode()
        return self._index_mac.hexdigest(message)

    def checkpoint_mac(self, message: bytes) -> str:
        """MAC of an audit checkpoint (kept outside the database) under a key derived from
        the audit key for that purpose only, so a checkpoint never passes for a chain MAC."""
        derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                       info=b"carnet-sante audit checkpoint v1").derive(self._audit_key)
        return hmac.new(derived, message, hashlib.sha256).hexdigest()

    def fingerprint(self) -> str:
        """Names this key file without revealing a key: an HMAC of a constant under the keys
        that never change (KEKs rotate), recorded in backups so a restore under another
        key file is refused."""
        return hmac.new(self._audit_key + self._index_key + self._server_key,
                        b"carnet-sante key file fingerprint v1", hashlib.sha256).hexdigest()


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


# The process's keyring, for model attributes that seal and open themselves ------------------

_process_keyring: Callable[[], Keyring] | None = None


def use_process_keyring(source: Callable[[], Keyring]) -> None:
    """Name where this process finds its keyring (the app factory does, once, through
    extensions.Keys): sealed model attributes such as `User.email` open and seal through it,
    so the code that reads them needs no keyring in hand."""
    global _process_keyring
    _process_keyring = source


def process_keyring() -> Keyring:
    """The keyring named by use_process_keyring(); CryptoError when no app has set one."""
    if _process_keyring is None:
        raise CryptoError("no keyring in this process: sealed values need the app's key "
                          "file (create the app first)")
    return _process_keyring()


def token_hash(token: str) -> str:
    """Hash a high-entropy bearer token (a session id) before it is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


# Documents: a data key per document, content in AES-256-GCM chunks --------------------------

STREAM_MAGIC = b"CSD1"
CHUNK_SIZE = 64 * 1024
PREFIX_BYTES = 8
TAG_BYTES = 16


def new_data_key() -> bytes:
    """A fresh random key for one document (KEY_BYTES, 256 bits)."""
    return secrets.token_bytes(KEY_BYTES)


def wrap_data_key(patient_key: bytes, data_key: bytes) -> bytes:
    """A document's key, wrapped by its patient's key (RFC 3394)."""
    return aes_key_wrap(patient_key, data_key)


def unwrap_data_key(patient_key: bytes, wrapped: bytes) -> bytes:
    """A document's key, unwrapped with its patient's key; CryptoError when it does not
    unwrap (another patient's key, or altered)."""
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


@contextmanager
def _key_file_lock(path: Path) -> Iterator[None]:
    """Changes to the key file one process at a time: two rotations at once would both
    write version N+1, and the keys wrapped with the lost one could never be opened."""
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _replace_key_file(path: Path, content: dict) -> None:
    """Write the key file atomically (mode 0600, same owner when allowed), on disk before
    it returns: keys are wrapped with a new KEK right after, it must survive a crash."""
    status = os.stat(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
                with suppress(PermissionError):  # run as root: the site must still read it
                    os.fchown(handle.fileno(), status.st_uid, status.st_gid)
            json.dump(content, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def kek_versions(path: str | Path) -> tuple[list[int], int, list[int]]:
    """What the key file holds now: its KEK versions, the current one and those retired."""
    raw = Path(path).read_bytes()
    data = _parse_key_file(raw)
    return sorted(data["keks"]), data["current"], sorted(json.loads(raw).get("kek_retired", []))


def add_kek_version(path: str | Path) -> int:
    """Add a new KEK to the key file and make it current; older versions stay so that keys
    wrapped with them keep opening until they are re-wrapped. A version number is never
    used twice, even once retired. Written atomically, 0600."""
    path = Path(path)
    with _key_file_lock(path):
        content = json.loads(path.read_text())
        used = [int(number) for number in content["kek"]] + content.get("kek_retired", [])
        version = max(*used, int(content["kek_current"])) + 1
        content["kek"][str(version)] = _b64(secrets.token_bytes(KEY_BYTES))
        content["kek_current"] = version
        _replace_key_file(path, content)
    return version


def remove_kek_version(path: str | Path, version: int) -> None:
    """Take KEK `version` out of the key file (atomically, 0600) and list it as retired.
    Refused (CryptoError) for the current version or one the file does not hold; whether
    a patient key still uses it is for the caller to check (domain.keys.retire_kek)."""
    path = Path(path)
    with _key_file_lock(path):
        content = json.loads(path.read_text())
        if str(version) not in content["kek"]:
            raise CryptoError(f"KEK version {version} is not in the key file")
        if int(content["kek_current"]) == version:
            raise CryptoError(f"KEK version {version} is the current one")
        del content["kek"][str(version)]
        content["kek_retired"] = sorted({*content.get("kek_retired", []), version})
        _replace_key_file(path, content)


def attachment_binding(attachment_id: str, patient_id: str, scheme: int = 1) -> str:
    """Associated data of a message attachment's chunks (as document_binding, for another
    kind of record, so a document's blob never opens as an attachment or the reverse)."""
    return f"att={attachment_id}|patient={patient_id}|v={scheme}"
