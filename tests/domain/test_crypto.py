from __future__ import annotations

import secrets

import pytest

from domain.crypto import CryptoError, Keyring, WrappedKey, generate_key_file, open_sealed, seal


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


def test_keys_never_show_in_repr(ring):
    assert "versions=[1]" in repr(ring)
    assert ring._audit_key.hex() not in repr(ring)


def test_blind_indexes_are_keyed_and_separated_by_purpose(ring, tmp_path):
    generate_key_file(tmp_path / "other.json")
    other = Keyring.from_file(tmp_path / "other.json")
    assert ring.blind_index("login", "a") == ring.blind_index("login", "a")
    assert ring.blind_index("login", "a") != ring.blind_index("nir", "a")
    assert ring.blind_index("login", "a") != other.blind_index("login", "a")
