"""Chunked document encryption: round trips, tampering, wrong keys, bounded memory."""

from __future__ import annotations

import hashlib
import secrets
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.crypto import (
    CHUNK_SIZE,
    CryptoError,
    decrypt_chunks,
    document_binding,
    encrypt_chunks,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)

BINDING = document_binding("d" * 32, "p" * 32)


def _roundtrip(data: bytes, piece: int = 1000, chunk_size: int = 256) -> bytes:
    key = new_data_key()
    pieces = [data[i:i + piece] for i in range(0, len(data), piece)] or [b""]
    blob = b"".join(encrypt_chunks(key, BINDING, pieces, len(data), chunk_size))
    return b"".join(decrypt_chunks(key, BINDING, [blob[i:i + 333] for i in
                                                  range(0, len(blob), 333)]))


@settings(deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 700), st.sampled_from([16, 256, 1024]))
def test_any_content_round_trips(data, piece, chunk_size):
    assert _roundtrip(data, piece, chunk_size) == data


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 512, 513])
def test_chunk_boundaries(size):
    data = secrets.token_bytes(size)
    assert _roundtrip(data) == data


def _blob(data=b"x" * 1000, key=None, binding=BINDING):
    key = key or new_data_key()
    return key, b"".join(encrypt_chunks(key, binding, [data], len(data), 256))


def test_a_flipped_bit_fails():
    key, blob = _blob()
    for position in (0, 5, 20, len(blob) // 2, len(blob) - 1):
        damaged = bytearray(blob)
        damaged[position] ^= 1
        with pytest.raises(CryptoError):
            b"".join(decrypt_chunks(key, BINDING, [bytes(damaged)]))


def test_the_recorded_size_path_rejects_changes_too():
    key, blob = _blob(b"z" * 1000)
    assert b"".join(decrypt_chunks(key, BINDING, [blob], len(blob))) == b"z" * 1000
    for variant, size in ((blob[:-1], len(blob) - 1), (blob + b"x", len(blob) + 1),
                          (blob + b"x", len(blob)), (blob[:-20], len(blob))):
        with pytest.raises(CryptoError):
            b"".join(decrypt_chunks(key, BINDING, [variant], size))


def test_decryption_memory_stays_within_two_chunks_with_the_recorded_size():
    key = new_data_key()
    total = 20 * 1024 * 1024
    piece = secrets.token_bytes(CHUNK_SIZE)
    sealed = list(encrypt_chunks(key, BINDING, (piece for _ in range(total // CHUNK_SIZE)),
                                 total))
    size = sum(len(part) for part in sealed)
    tracemalloc.start()
    for plain in decrypt_chunks(key, BINDING, iter(sealed), size):
        assert len(plain) == CHUNK_SIZE
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak <= 2 * CHUNK_SIZE + 16 * 1024, peak


def test_a_swapped_binding_fails():
    key, blob = _blob()
    with pytest.raises(CryptoError):
        b"".join(decrypt_chunks(key, document_binding("e" * 32, "p" * 32), [blob]))
    with pytest.raises(CryptoError):
        b"".join(decrypt_chunks(key, document_binding("d" * 32, "q" * 32), [blob]))


def test_a_wrong_key_fails():
    _key, blob = _blob()
    with pytest.raises(CryptoError):
        b"".join(decrypt_chunks(new_data_key(), BINDING, [blob]))


def test_truncation_reordering_and_extension_fail():
    key, blob = _blob(b"y" * 1000)
    header, sealed = blob[:16], blob[16:]
    size = 256 + 16
    chunks = [sealed[i:i + size] for i in range(0, len(sealed), size)]
    for variant in (header + b"".join(chunks[:-1]),          # last chunk dropped
                    header + chunks[1] + chunks[0] + b"".join(chunks[2:]),  # reordered
                    blob + chunks[-1]):                        # a chunk appended
        with pytest.raises(CryptoError):
            b"".join(decrypt_chunks(key, BINDING, [variant]))


def test_the_announced_size_must_match():
    key = new_data_key()
    with pytest.raises(CryptoError):
        b"".join(encrypt_chunks(key, BINDING, [b"abc"], 4))
    with pytest.raises(CryptoError):
        b"".join(encrypt_chunks(key, BINDING, [b"abcde"], 4))


def test_data_keys_are_wrapped_by_the_patient_key():
    patient, other = new_data_key(), new_data_key()
    data_key = new_data_key()
    wrapped = wrap_data_key(patient, data_key)
    assert unwrap_data_key(patient, wrapped) == data_key
    with pytest.raises(CryptoError):
        unwrap_data_key(other, wrapped)


def test_memory_stays_within_two_chunks_for_a_large_stream():
    key = new_data_key()
    piece = secrets.token_bytes(CHUNK_SIZE)
    total = 40 * 1024 * 1024

    def source():
        for _ in range(total // CHUNK_SIZE):
            yield piece

    digest = hashlib.sha256()
    tracemalloc.start()
    for sealed in encrypt_chunks(key, BINDING, source(), total):
        digest.update(sealed)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak <= 2 * CHUNK_SIZE + 16 * 1024, peak
