from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from domain.crypto import (
    CryptoError,
    KeyedHash,
    Keyring,
    WrappedKey,
    add_kek_version,
    generate_key_file,
    kek_versions,
    open_sealed,
    remove_kek_version,
    seal,
)


@pytest.fixture
def ring(tmp_path):
    generate_key_file(tmp_path / "keys.json")
    return Keyring.from_file(tmp_path / "keys.json")


def test_key_file_is_private_and_complete(tmp_path):
    path = tmp_path / "keys.json"
    generate_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        generate_key_file(path)


def test_patient_keys_wrap_and_unwrap(ring):
    key = secrets.token_bytes(32)
    assert ring.unwrap(ring.wrap(key)) == key


def test_another_kek_cannot_unwrap(ring, tmp_path):
    generate_key_file(tmp_path / "other.json")
    other = Keyring.from_file(tmp_path / "other.json")
    with pytest.raises(CryptoError):
        other.unwrap(ring.new_patient_key())
    with pytest.raises(CryptoError):
        ring.unwrap(WrappedKey(99, b"\0" * 40))


def test_sealed_values_are_bound_to_their_place():
    key = secrets.token_bytes(32)
    sealed = seal(key, b"allergie: arachide", "profile.value.1")
    assert open_sealed(key, sealed, "profile.value.1") == b"allergie: arachide"
    with pytest.raises(CryptoError):
        open_sealed(key, sealed, "profile.value.2")
    flipped = bytearray(sealed)
    flipped[20] ^= 1
    with pytest.raises(CryptoError):
        open_sealed(key, bytes(flipped), "profile.value.1")
    with pytest.raises(CryptoError):
        open_sealed(secrets.token_bytes(32), sealed, "profile.value.1")


def test_a_keyed_hash_is_hmac_and_keeps_its_key_for_every_message():
    """KeyedHash is HMAC (RFC 2104) under its key, whatever was hashed before, from any
    thread; the audit chain's MACs and the blind indexes are the HMAC-SHA256 they always
    were, so rows written before it still verify and are still found."""
    key = secrets.token_bytes(32)
    mac = KeyedHash(key)
    messages = [b"", b"a", b"event" * 100, os.urandom(1000)]
    for message in messages * 2:
        assert mac.digest(message) == hmac.digest(key, message, "sha256")
        assert mac.hexdigest(message) == hmac.new(key, message, hashlib.sha256).hexdigest()
    assert KeyedHash(key, hashlib.sha1).digest(b"a") == hmac.digest(key, b"a", "sha1")
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(mac.hexdigest, messages * 50))
    assert found == [hmac.new(key, m, hashlib.sha256).hexdigest() for m in messages * 50]
    ring = Keyring({1: secrets.token_bytes(32)}, 1, key, key[::-1], secrets.token_bytes(32))
    assert ring.audit_mac(b"chain") == hmac.new(key, b"chain", hashlib.sha256).hexdigest()
    assert ring.blind_index("login", "camille") == hmac.new(
        key[::-1], b"login\x00camille", hashlib.sha256).hexdigest()


def test_keys_never_show_in_repr(ring):
    assert "versions=[1]" in repr(ring)
    assert ring._audit_key.hex() not in repr(ring)


def test_blind_indexes_are_keyed_and_separated_by_purpose(ring, tmp_path):
    generate_key_file(tmp_path / "other.json")
    other = Keyring.from_file(tmp_path / "other.json")
    assert ring.blind_index("login", "a") == ring.blind_index("login", "a")
    assert ring.blind_index("login", "a") != ring.blind_index("nir", "a")
    assert ring.blind_index("login", "a") != other.blind_index("login", "a")


# Following the key file while the process runs -----------------------------------------------

def _secrets_of(path) -> list[str]:
    content = json.loads(path.read_text())
    keys = [*content["kek"].values(), content["audit_key"], content["index_key"],
            content["server_key"]]
    return keys + [base64.b64decode(key).hex() for key in keys]


def _put_back(path, content: bytes) -> None:
    """Replace the file atomically, as the commands do (a new inode)."""
    temporary = path.with_name("replacement")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def test_a_keyring_follows_a_rotation_by_another_process(ring, tmp_path):
    path = tmp_path / "keys.json"
    key = secrets.token_bytes(32)
    assert add_kek_version(path) == 2
    rotated = Keyring.from_file(path).wrap(key)
    assert rotated.kek_version == 2
    assert ring.unwrap(rotated) == key  # an unknown version: the file is read again
    assert ring.versions == [1, 2] and ring.current_version == 2
    assert add_kek_version(path) == 3
    assert ring.wrap(key).kek_version == 3  # wrapping looks at the file first


def test_the_file_is_looked_at_about_once_a_second(ring, tmp_path, monkeypatch):
    calls = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda *args, **kw: calls.append(1) or real_stat(*args, **kw))
    add_kek_version(tmp_path / "keys.json")
    calls.clear()
    for _ in range(100):
        ring.refresh()
    assert len(calls) <= 1 and ring.current_version == 1
    ring.REFRESH_SECONDS = 0
    ring.refresh()
    assert ring.current_version == 2


def test_a_retired_version_is_dropped_on_reload(ring, tmp_path):
    path = tmp_path / "keys.json"
    old = ring.wrap(secrets.token_bytes(32))
    add_kek_version(path)
    with pytest.raises(CryptoError, match="is the current one"):
        remove_kek_version(path, 2)
    with pytest.raises(CryptoError, match="not in the key file"):
        remove_kek_version(path, 9)
    remove_kek_version(path, 1)
    assert path.stat().st_mode & 0o777 == 0o600
    assert kek_versions(path) == ([2], 2, [1])
    ring.refresh(force=True)
    assert ring.versions == [2]
    with pytest.raises(CryptoError, match="KEK version 1 is not in the key file"):
        ring.unwrap(old)
    assert add_kek_version(path) == 3  # a retired number is never given again


def test_a_key_file_with_other_keys_is_refused_loudly(ring, tmp_path, caplog):
    path = tmp_path / "keys.json"
    original = path.read_bytes()
    mine = ring.wrap(secrets.token_bytes(32))
    generate_key_file(tmp_path / "other.json")
    _put_back(path, (tmp_path / "other.json").read_bytes())
    with pytest.raises(CryptoError, match="audit_key, index_key, server_key, KEK version 1"):
        ring.refresh(force=True)
    with pytest.raises(CryptoError, match="refusing"):
        ring.refresh()  # still refused, without reading the file again
    with pytest.raises(CryptoError, match="refusing"):
        ring.new_patient_key()  # nothing is wrapped with keys the file no longer has
    assert len(ring.unwrap(mine)) == 32  # what was loaded keeps working
    shown = " ".join([repr(ring), repr(ring._state), caplog.text,
                      *(str(error) for error in _errors(ring.refresh, force=True))])
    for secret in _secrets_of(path) + _secrets_of(tmp_path / "other.json"):
        assert secret not in shown
    _put_back(path, original)
    ring.refresh(force=True)
    assert ring.unwrap(ring.new_patient_key())


def _errors(call, **kwargs) -> list[Exception]:
    try:
        call(**kwargs)
    except Exception as error:  # noqa: BLE001 - collected for the test
        return [error]
    return []


def test_a_current_version_going_back_is_refused(ring, tmp_path):
    path = tmp_path / "keys.json"
    before = path.read_bytes()
    add_kek_version(path)
    ring.refresh(force=True)
    _put_back(path, before)  # an old copy of the key file
    with pytest.raises(CryptoError, match="back from 2 to 1"):
        ring.refresh(force=True)


def test_an_unreadable_key_file_keeps_the_loaded_keys(ring, tmp_path, caplog):
    path = tmp_path / "keys.json"
    original, known = path.read_bytes(), _secrets_of(path)
    mine = ring.wrap(secrets.token_bytes(32))
    path.write_bytes(original[: len(original) // 2])  # an editor saving in place
    ring.refresh(force=True)  # logged, not raised: reading keeps working
    assert len(ring.unwrap(mine)) == 32
    assert "malformed" in caplog.text
    with pytest.raises(CryptoError, match="malformed"):
        ring.new_patient_key()  # but no new key until the file is sound again
    for secret in known:
        assert secret not in caplog.text
    path.write_bytes(original + b"\n")
    ring.refresh(force=True)
    assert ring.new_patient_key().kek_version == 1


def test_rotations_at_the_same_time_never_share_a_version(ring, tmp_path):
    path = tmp_path / "keys.json"
    with ThreadPoolExecutor(4) as pool:
        added = sorted(pool.map(lambda _n: add_kek_version(path), range(4)))
    assert added == [2, 3, 4, 5]
    assert kek_versions(path) == ([1, 2, 3, 4, 5], 5, [])
    assert path.stat().st_mode & 0o777 == 0o600
    ring.refresh(force=True)
    assert ring.versions == [1, 2, 3, 4, 5]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_rotation_run_as_root_keeps_the_key_file_readable_by_the_site(tmp_path):
    path = tmp_path / "keys.json"
    generate_key_file(path)
    os.chown(path, 65534, 65534)  # the site's user
    add_kek_version(path)
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)
    assert path.stat().st_mode & 0o777 == 0o600
