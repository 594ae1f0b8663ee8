"""Where encrypted document blobs live: local files (the default) or S3-compatible storage.

The bytes handed to a store are already ciphertext (domain/crypto.py); a store never sees
clear data, so it adds no encryption of its own. Both stores stream in both directions,
and a write is atomic: a reader sees the old blob or the whole new one, never a part.

Keys come from our random ids (`new_id()`, optionally with a short extension), never from
file names; anything else is refused with ValueError before the disk or S3 is touched.

Settings (read from the environment by config.py, given to make_blob_store):

- ``BLOB_STORE``: where blobs go.
  ``""`` or ``"file"``: files under ``<instance>/blobs`` (default);
  ``"file:///absolute/path"``: files under that folder;
  ``"s3://bucket"``: objects ``blobs/<key>`` in that bucket;
  ``"s3://bucket/some/prefix"``: objects ``some/prefix/<key>``.
- ``S3_ENDPOINT_URL``: the S3-compatible service (MinIO, Garage, Scaleway, OVH…), e.g.
  ``https://s3.fr-par.scw.cloud``; empty for AWS itself. With an endpoint, requests use
  path-style addressing (``https://endpoint/bucket/key``).
- ``S3_REGION``: e.g. ``fr-par`` or ``eu-west-3``; empty lets boto3 decide.
- ``S3_ACCESS_KEY_ID`` and ``S3_SECRET_ACCESS_KEY``: both or neither; with neither, boto3's
  usual chain applies (AWS_* variables, ~/.aws, instance role).

The bucket is never created by the application: create it beforehand (``ensure_bucket()``
is for tests and development). The credentials need s3:GetObject, s3:PutObject,
s3:DeleteObject, s3:AbortMultipartUpload and s3:ListBucket on the bucket (without
ListBucket, S3 answers 403 instead of 404 for a missing key). No server-side encryption
header is sent: the data are encrypted before they leave the process. A lifecycle rule
that aborts incomplete multipart uploads after a day is advisable (an upload cut by a
crash of the whole process is aborted by nobody; it is invisible to readers and to
keys(), but the provider keeps the parts).
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

KEY_RE = re.compile(r"[0-9a-f]{32}(\.[a-z0-9]{1,8})?")
DEFAULT_CHUNK_SIZE = 64 * 1024
PART_SIZE = 8 * 1024 * 1024  # S3 multipart: at least 5 MiB for every part but the last
TEMP_PREFIX = ".tmp-"
DEFAULT_S3_PREFIX = "blobs/"
_SHARD_RE = re.compile(r"[0-9a-f]{2}")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def check_key(key: object) -> str:
    """Return the key if it is one of ours (32 hex digits, optional short extension),
    else raise ValueError: a key like "../x" never reaches the file system or S3."""
    if not isinstance(key, str) or KEY_RE.fullmatch(key) is None:
        raise ValueError(f"invalid blob key: {key!r:.80}")
    return key


def _check_chunk_size(chunk_size: int) -> int:
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError("chunk_size must be a positive integer")
    return chunk_size


class BlobReader(Iterator[bytes]):
    """The chunks of one blob, read on demand (never the whole blob in memory).

    The file or HTTP stream is released when the chunks run out, on close(), or when a
    `with` block ends; Werkzeug calls close() on a streamed response body, so a reader can
    be handed to a Response as it is. Chunks are at most chunk_size bytes (possibly fewer).
    """

    def __init__(self, read: Callable[[int], bytes], close: Callable[[], None],
                 chunk_size: int):
        self._read = read
        self._close = close
        self._chunk_size = chunk_size
        self.closed = False

    def __iter__(self) -> BlobReader:
        return self

    def __next__(self) -> bytes:
        if self.closed:
            raise StopIteration
        try:
            chunk = self._read(self._chunk_size)
        except BaseException:
            self.close()
            raise
        if not chunk:
            self.close()
            raise StopIteration
        return bytes(chunk)

    def close(self) -> None:
        """Release the file or HTTP stream (idempotent)."""
        if not self.closed:
            self.closed = True
            self._close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class BlobStore(ABC):
    """A flat namespace of immutable-looking blobs addressed by validated keys.

    Every method validates the key first (ValueError). A missing key raises KeyError in
    open() and size(), is False for exists(), and is not an error for delete(). Other
    failures surface as OSError (local) or botocore exceptions (S3).
    """

    @abstractmethod
    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the chunks under key (replacing any blob there) and return the number of
        bytes written. Atomic: if chunks raises, or the write fails, nothing new is
        visible and a previous blob under the same key is left as it was."""

    @abstractmethod
    def open(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> BlobReader:
        """The blob's bytes as a stream of chunks; KeyError if there is no such blob."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; a missing key is fine."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a complete blob is stored under key."""

    @abstractmethod
    def listing(self) -> Iterator[tuple[str, datetime]]:
        """Every stored key with when its blob was last written (UTC), in lexicographic
        order of keys (for the job that looks for orphans: a young blob may belong to an
        upload whose row is not committed yet). Anything that is not a complete blob with
        a valid key is left out."""

    def keys(self) -> Iterator[str]:
        """Every stored key, in lexicographic order (as listing())."""
        for key, _written in self.listing():
            yield key

    @abstractmethod
    def size(self, key: str) -> int:
        """The blob's size in bytes; KeyError if there is no such blob."""

    @abstractmethod
    def reachable(self) -> bool:
        """Whether blobs can be written now (the readiness probe asks; never raises)."""


class LocalBlobStore(BlobStore):
    """Blobs as files under root/<first two characters of the key>/<key>.

    Folders are created on demand with mode 0700, files with mode 0600. put() writes a
    temporary file ".tmp-<random>" in the target folder, flushes it to disk and renames it
    over the final name (os.replace), then syncs the folder. A temporary file left by a
    crash is not a blob: keys() and exists() ignore it.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"<LocalBlobStore {self.root}>"

    def _path(self, key: str) -> Path:
        key = check_key(key)
        return self.root / key[:2] / key

    @staticmethod
    def _make_private_dir(path: Path) -> None:
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            return
        os.chmod(path, 0o700)  # whatever the umask

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        path = self._path(key)
        if not self.root.is_dir():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            self._make_private_dir(self.root)
        self._make_private_dir(path.parent)
        temp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        written = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                for chunk in chunks:
                    written += handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_path(path.parent)
        return written

    def open(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> BlobReader:
        path = self._path(key)
        _check_chunk_size(chunk_size)
        flags = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags)
        except (FileNotFoundError, NotADirectoryError):
            raise KeyError(key) from None
        handle = os.fdopen(fd, "rb", buffering=0)
        return BlobReader(handle.read, handle.close, chunk_size)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        path = self._path(key)
        try:
            status = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise KeyError(key) from None
        if not stat.S_ISREG(status.st_mode):
            raise KeyError(key)
        return status.st_size

    def reachable(self) -> bool:
        """The folder exists and this process may write in it, or it can be created."""
        folder = self.root
        while not folder.exists():
            if folder.parent == folder:
                return False
            folder = folder.parent
        return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)

    def listing(self) -> Iterator[tuple[str, datetime]]:
        if not self.root.is_dir():
            return
        shards = sorted(entry.name for entry in os.scandir(self.root)
                        if entry.is_dir(follow_symlinks=False)
                        and _SHARD_RE.fullmatch(entry.name))
        for shard in shards:
            try:
                entries = list(os.scandir(self.root / shard))
            except FileNotFoundError:
                continue
            for entry in sorted(entries, key=lambda entry: entry.name):
                name = entry.name
                if not (KEY_RE.fullmatch(name) and name.startswith(shard)):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    written = entry.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:  # deleted meanwhile
                    continue
                yield name, datetime.fromtimestamp(written, UTC)


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries (a rename in it), to disk; best effort where
    folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class S3BlobStore(BlobStore):
    """Blobs as objects <prefix><key> in an S3-compatible bucket (boto3, signature v4).

    put() sends a blob smaller than one part (8 MiB) with a single PutObject; a larger one
    goes through a multipart upload in parts of 8 MiB (the last one shorter), which S3
    makes visible only when it is completed at the end, and which is aborted if the chunks
    or an upload fail. At most one part is held in memory. Blobs up to 78 GiB (10,000
    parts).
    """

    def __init__(self, bucket: str, *, endpoint_url: str | None = None,
                 region: str | None = None, access_key: str | None = None,
                 secret_key: str | None = None, prefix: str = DEFAULT_S3_PREFIX):
        if not _BUCKET_RE.fullmatch(bucket):
            raise ValueError(f"invalid S3 bucket name: {bucket!r:.80}")
        if (access_key is None) != (secret_key is None):
            raise ValueError("S3 access key and secret key go together")
        prefix = prefix.strip("/")
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                # Newer botocore adds CRC checksums many S3-compatible services refuse;
                # the ciphertext is authenticated by AES-GCM and checksummed in the database.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=10,
                read_timeout=60,
                retries={"max_attempts": 4, "mode": "standard"},
            ),
        )

    def __repr__(self) -> str:  # no credentials here
        return f"<S3BlobStore s3://{self.bucket}/{self.prefix}>"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (tests and development only)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _NOT_FOUND | {"NoSuchBucket"}:
                raise
        arguments: dict[str, Any] = {"Bucket": self.bucket}
        region = self.client.meta.region_name
        if region and region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**arguments)
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":
                raise

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        name = self._name(key)
        buffer = bytearray()
        written = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []

        def send_part(body: bytearray) -> None:
            number = len(parts) + 1
            answer = self.client.upload_part(Bucket=self.bucket, Key=name, UploadId=upload_id,
                                             PartNumber=number, Body=body)
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        try:
            for chunk in chunks:
                buffer += chunk
                written += len(chunk)
                if len(buffer) >= PART_SIZE:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=name,
                            ContentType="application/octet-stream")["UploadId"]
                    while len(buffer) >= PART_SIZE:
                        part, buffer = buffer, buffer[PART_SIZE:]
                        del part[PART_SIZE:]
                        send_part(part)
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(buffer),
                                       ContentType="application/octet-stream")
                return written
            if buffer:
                send_part(buffer)
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id,
                MultipartUpload={"Parts": parts})
        except BaseException:
            if upload_id is not None:
                try:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=name,
                                                       UploadId=upload_id)
                except Exception:  # noqa: S110 - the first error is the one to report
                    pass
            raise
        return written

    def open(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> BlobReader:
        name = self._name(key)
        _check_chunk_size(chunk_size)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                raise KeyError(key) from None
            raise
        body = answer["Body"]
        return BlobReader(body.read, body.close, chunk_size)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise KeyError(key)
        return int(head["ContentLength"])

    def reachable(self) -> bool:
        """The bucket answers HEAD with these credentials."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False
        return True

    def listing(self) -> Iterator[tuple[str, datetime]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix):]
                if KEY_RE.fullmatch(key):
                    yield key, item["LastModified"].astimezone(UTC)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _setting(options: Mapping[str, Any], name: str) -> str | None:
    value = options.get(name)
    return str(value) if value else None


def make_blob_store(url: str, instance_path: Path, options: Mapping[str, Any]) -> BlobStore:
    """The store named by BLOB_STORE (see the module docstring for every setting).

    "" or "file": LocalBlobStore(instance_path / "blobs"); "file:///abs/path":
    LocalBlobStore(/abs/path); "s3://bucket" or "s3://bucket/prefix": S3BlobStore with
    S3_ENDPOINT_URL, S3_REGION, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY from options
    (empty values count as unset). Anything else raises ValueError.
    """
    url = (url or "").strip()
    if url in ("", "file"):
        return LocalBlobStore(Path(instance_path) / "blobs")
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError("BLOB_STORE takes no query string or fragment")
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ValueError("BLOB_STORE file URLs need an absolute path: file:///path")
        return LocalBlobStore(Path(path))
    if parts.scheme == "s3":
        if "@" in parts.netloc or ":" in parts.netloc:
            raise ValueError("BLOB_STORE takes no credentials or port: use the S3_* settings")
        prefix = unquote(parts.path).strip("/")
        return S3BlobStore(
            parts.netloc,
            endpoint_url=_setting(options, "S3_ENDPOINT_URL"),
            region=_setting(options, "S3_REGION"),
            access_key=_setting(options, "S3_ACCESS_KEY_ID"),
            secret_key=_setting(options, "S3_SECRET_ACCESS_KEY"),
            prefix=prefix or DEFAULT_S3_PREFIX,
        )
    raise ValueError(f"BLOB_STORE must be file, file:///path or s3://bucket[/prefix], "
                     f"not a {parts.scheme or 'bare'!r} URL")
