"""Blob stores: the same tests against local files and against moto's S3 server on loopback.

Moto runs in server mode (real HTTP on 127.0.0.1) in a child process started for this
module: a ThreadedMotoServer on port 0 prints the port the kernel gave it and stops when
its stdin closes. A child process rather than a thread of the test process, so that
tracemalloc measures the client alone (moto keeps and copies whole objects in memory).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.storage import (
    PART_SIZE,
    BlobReader,
    BlobStore,
    LocalBlobStore,
    S3BlobStore,
    make_blob_store,
)

BUCKET = "carnet-test"
MiB = 1024 * 1024
CHUNK = 64 * 1024
BIG = 20 * MiB

MOTO_SERVER = """
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.WARNING)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""

CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}


@pytest.fixture(autouse=True)
def _clean():
    """Overrides the conftest fixture: these tests use no app and no database."""
    yield


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-c", MOTO_SERVER], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdin is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            pytest.fail(f"moto's server did not start (exit code {process.poll()})")
        port = int(line)
        endpoint = f"http://127.0.0.1:{port}"
        S3BlobStore(BUCKET, endpoint_url=endpoint, **CREDENTIALS).ensure_bucket()
        yield endpoint
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("moto_endpoint")
    # a fresh prefix per test: keys() sees this test's blobs only
    return S3BlobStore(BUCKET, endpoint_url=endpoint, prefix=f"t-{secrets.token_hex(6)}/",
                       **CREDENTIALS)


def new_key(extension: str = "") -> str:
    return secrets.token_hex(16) + extension


class Source:
    """Random chunks, generated on demand, with the sha256 of what was handed out."""

    def __init__(self, size: int, chunk: int = CHUNK, fail_after: int | None = None):
        self.size, self.chunk, self.fail_after = size, chunk, fail_after
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        while sent < self.size:
            if self.fail_after is not None and sent >= self.fail_after:
                raise RuntimeError("the upload broke")
            piece = os.urandom(min(self.chunk, self.size - sent))
            self.sha256.update(piece)
            sent += len(piece)
            yield piece


def read_sha256(store: BlobStore, key: str) -> tuple[int, str]:
    digest, total = hashlib.sha256(), 0
    for chunk in store.open(key):
        digest.update(chunk)
        total += len(chunk)
    return total, digest.hexdigest()


def pending_uploads(store: S3BlobStore) -> list[str]:
    answer = store.client.list_multipart_uploads(Bucket=store.bucket)
    return [upload["Key"] for upload in answer.get("Uploads", ())
            if upload["Key"].startswith(store.prefix)]


# Both stores --------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"\x00", b"chiffr\xe9" * 1000])
def test_small_round_trip(store, content):
    key = new_key(".bin")
    assert not store.exists(key)
    assert store.put(key, [content]) == len(content)
    assert store.exists(key)
    assert store.size(key) == len(content)
    assert b"".join(store.open(key)) == content
    assert list(store.keys()) == [key]


def test_big_blob_streams_both_ways(store):
    key = new_key()
    source = Source(BIG)
    assert store.put(key, source) == BIG
    assert store.size(key) == BIG
    assert read_sha256(store, key) == (BIG, source.sha256.hexdigest())
    if isinstance(store, S3BlobStore):  # went through a 3-part multipart upload (8+8+4 MiB)
        head = store.client.head_object(Bucket=store.bucket, Key=store.prefix + key)
        assert head["ETag"].strip('"').endswith("-3")
        assert pending_uploads(store) == []


@pytest.mark.parametrize("size", [PART_SIZE, PART_SIZE + 1])
def test_part_boundaries(store, size):
    key = new_key()
    source = Source(size, chunk=1024 * 1024)
    assert store.put(key, source) == size
    assert read_sha256(store, key) == (size, source.sha256.hexdigest())


def test_reading_a_big_blob_keeps_memory_small(store):
    key, warm_up = new_key(), new_key()
    store.put(key, Source(BIG))
    store.put(warm_up, [b"x"])
    assert b"".join(store.open(warm_up)) == b"x"  # lazy client set-up happens outside
    tracemalloc.start()
    try:
        total = 0
        for chunk in store.open(key):
            assert len(chunk) <= CHUNK
            total += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == BIG
    assert peak < 2 * MiB, f"peak {peak / MiB:.1f} MiB"


def test_chunk_size_is_respected(store):
    key = new_key()
    store.put(key, [b"a" * 1000])
    chunks = list(store.open(key, chunk_size=300))
    assert b"".join(chunks) == b"a" * 1000
    assert max(map(len, chunks)) <= 300
    with pytest.raises(ValueError):
        store.open(key, chunk_size=0)


def test_reader_closes_early(store):
    key = new_key()
    store.put(key, [b"abc" * 100_000])
    with store.open(key, chunk_size=10) as reader:
        assert isinstance(reader, BlobReader)
        assert next(reader) == b"abc" * 3 + b"a"
    assert reader.closed
    assert list(reader) == []


def test_missing_keys(store):
    key = new_key()
    with pytest.raises(KeyError):
        store.open(key)
    with pytest.raises(KeyError):
        store.size(key)
    assert not store.exists(key)
    store.delete(key)
    store.delete(key)
    assert list(store.keys()) == []


def test_put_replaces_and_delete_removes(store):
    key = new_key(".pdf")
    store.put(key, [b"first"])
    store.put(key, [b"second", b" version"])
    assert b"".join(store.open(key)) == b"second version"
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(KeyError):
        store.open(key)


def test_keys_lists_exactly_the_blobs(store):
    stored = sorted([new_key(), new_key(".pdf"), new_key(".jpeg"), new_key()])
    for key in stored:
        store.put(key, [key.encode()])
    store.delete(stored.pop())
    assert list(store.keys()) == stored  # lexicographic order


def test_listing_tells_when_each_blob_was_written(store):
    before = datetime.now(UTC) - timedelta(seconds=2)  # S3 times are to the second
    key = new_key()
    store.put(key, [b"x"])
    ((listed, written),) = list(store.listing())
    assert listed == key and written.tzinfo is not None
    assert before <= written <= datetime.now(UTC) + timedelta(seconds=2)


@pytest.mark.parametrize("fail_after", [0, CHUNK, PART_SIZE + CHUNK])
def test_a_broken_put_leaves_nothing(store, fail_after):
    key = new_key()
    with pytest.raises(RuntimeError, match="the upload broke"):
        store.put(key, Source(BIG, fail_after=fail_after))
    assert list(store.keys()) == []
    assert not store.exists(key)
    if isinstance(store, S3BlobStore):
        assert pending_uploads(store) == []  # the multipart upload was aborted
    else:
        root = store.root
        assert [path for path in root.rglob("*") if path.is_file()] == []


def test_a_broken_put_keeps_the_previous_blob(store):
    key = new_key()
    store.put(key, [b"kept"])
    with pytest.raises(RuntimeError):
        store.put(key, Source(PART_SIZE * 2, fail_after=PART_SIZE + CHUNK))
    assert b"".join(store.open(key)) == b"kept"
    assert list(store.keys()) == [key]


INVALID_KEYS = [
    "", "../x", "../" + "a" * 32, "a" * 31, "a" * 33, "A" * 32, "g" * 32, "a" * 32 + "\n",
    "a" * 32 + ".", "a" * 32 + ".PDF", "a" * 32 + ".toolong12", "a" * 32 + ".p f",
    "a" * 32 + ".pdf.gz", "aa/" + "a" * 32, "/etc/passwd", "a" * 32 + "/", "a" * 32 + "\x00",
    "０" * 32, None, 42, b"a" * 32,
]


@pytest.mark.parametrize("key", INVALID_KEYS, ids=repr)
def test_invalid_keys_are_refused(store, key):
    def never():
        raise AssertionError("the chunks must not be read")
        yield b""

    for call in (lambda: store.put(key, never()), lambda: store.open(key),
                 lambda: store.delete(key), lambda: store.exists(key),
                 lambda: store.size(key)):
        with pytest.raises(ValueError, match="invalid blob key"):
            call()
    if isinstance(store, LocalBlobStore):
        assert not store.root.exists()


# Local files --------------------------------------------------------------------------------
def test_local_layout_and_modes(tmp_path):
    store = LocalBlobStore(tmp_path / "instance" / "blobs")
    key = new_key(".bin")
    store.put(key, [b"data"])
    path = tmp_path / "instance" / "blobs" / key[:2] / key
    assert path.read_bytes() == b"data"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700


def test_local_leftovers_are_not_blobs(tmp_path):
    store = LocalBlobStore(tmp_path)
    key = new_key()
    store.put(key, [b"real"])
    shard = tmp_path / key[:2]
    (shard / ".tmp-0123456789abcdef").write_bytes(b"half a blob")  # a crash mid-put
    (shard / (key[:2] + "f" * 30 + ".tmp")).mkdir()  # a folder with a key's name
    other = new_key()
    (tmp_path / "zz").mkdir()
    (tmp_path / "zz" / other).write_bytes(b"misplaced")  # not in its shard
    (tmp_path / "README").write_text("not a blob")
    assert list(store.keys()) == [key]
    assert not store.exists(key[:2] + "f" * 30 + ".tmp")
    with pytest.raises(KeyError):
        store.size(key[:2] + "f" * 30 + ".tmp")


def test_local_store_on_an_empty_root(tmp_path):
    store = LocalBlobStore(tmp_path / "nowhere")
    assert list(store.keys()) == []
    assert not (tmp_path / "nowhere").exists()


# S3 specifics -------------------------------------------------------------------------------
def test_s3_small_blobs_use_a_single_put(moto_endpoint):
    store = S3BlobStore(BUCKET, endpoint_url=moto_endpoint, prefix="single", **CREDENTIALS)
    assert store.prefix == "single/"
    key = new_key()
    store.put(key, Source(PART_SIZE - 1))
    head = store.client.head_object(Bucket=BUCKET, Key="single/" + key)
    assert "-" not in head["ETag"]
    assert pending_uploads(store) == []
    store.ensure_bucket()  # idempotent
    store.delete(key)


def test_s3_keys_skip_foreign_objects(moto_endpoint):
    store = S3BlobStore(BUCKET, endpoint_url=moto_endpoint, prefix="mixed/", **CREDENTIALS)
    key = new_key()
    store.put(key, [b"x"])
    for foreign in ("mixed/notes.txt", "mixed/sub/" + new_key(), "elsewhere/" + new_key()):
        store.client.put_object(Bucket=BUCKET, Key=foreign, Body=b"?")
    assert list(store.keys()) == [key]


def test_s3_repr_hides_credentials(moto_endpoint):
    store = S3BlobStore(BUCKET, endpoint_url=moto_endpoint, **CREDENTIALS)
    assert "testing" not in repr(store)
    with pytest.raises(ValueError):
        S3BlobStore(BUCKET, access_key="only-one")
    with pytest.raises(ValueError):
        S3BlobStore("Not_A_Bucket")


# make_blob_store ------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["", "file", " file "])
def test_default_store_lives_in_the_instance_folder(url, tmp_path):
    store = make_blob_store(url, tmp_path, {})
    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "blobs"


def test_file_url(tmp_path):
    store = make_blob_store(f"file://{tmp_path}/my%20blobs", Path("/unused"), {})
    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "my blobs"


@pytest.mark.parametrize("url,prefix", [("s3://bucket-1", "blobs/"), ("s3://bucket-1/", "blobs/"),
                                        ("s3://bucket-1/carnet/prod", "carnet/prod/")])
def test_s3_url(url, prefix):
    options = {"S3_ENDPOINT_URL": "http://127.0.0.1:9", "S3_REGION": "fr-par",
               "S3_ACCESS_KEY_ID": "id", "S3_SECRET_ACCESS_KEY": "secret"}
    store = make_blob_store(url, Path("/unused"), options)
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("bucket-1", prefix)
    assert store.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert store.client.meta.region_name == "fr-par"


def test_s3_url_with_empty_options():
    store = make_blob_store("s3://bucket-1", Path("/unused"),
                            {"S3_ENDPOINT_URL": "", "S3_REGION": "eu-west-3",
                             "S3_ACCESS_KEY_ID": "", "S3_SECRET_ACCESS_KEY": ""})
    assert isinstance(store, S3BlobStore)
    assert store.client.meta.endpoint_url.startswith("https://")


@pytest.mark.parametrize("url", [
    "file://relative/path", "file:relative", "ftp://host/x", "s3://", "s3://UPPER",
    "s3://key:secret@bucket-1", "s3://bucket-1:9000", "s3://bucket-1?x=1", "/abs/path",
    "memory://",
])
def test_bad_urls(url):
    with pytest.raises(ValueError):
        make_blob_store(url, Path("/unused"), {})
