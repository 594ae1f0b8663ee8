"""Audit checkpoints: where each chain stood, written outside the database.

The head MAC (domain/audit.py) catches a head rewritten to match deleted rows, but not the
head deleted with the rows, nor an older head put back with the rows that followed it
deleted: both look like a shorter, intact chain. A checkpoint, written every few minutes
by `flask audit checkpoint` to a place the database's users cannot write (a folder on
another machine or mount, or an object store with object lock), records each chain's last
sequence number and MAC under a key derived from the audit key: `audit verify` fails when
a chain ends before the newest checkpoint or differs from it. What a checkpoint cannot
cover is the window since the last one: events written after it can still be removed
unnoticed by someone who can write to the database (the README says so).

File format (version 1), one JSON object per checkpoint, named by its UTC time so that
names sort in time order:

    {"format": 1, "written_at": "...", "reason": "timer",
     "heads": [{"chain": 1, "seq": 1234, "mac": "..."}], "mac": "..."}

`mac` is the checkpoint MAC of the canonical JSON of everything else.
"""

from __future__ import annotations

import json
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session

from domain import audit
from domain.crypto import Keyring
from domain.storage import fsync_path

FORMAT = 1
SUFFIX = ".json"


class CheckpointError(Exception):
    """A checkpoint is altered, unreadable or of an unknown format."""


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint read or written: its file name, when and why it was written, and each
    chain's mark (last sequence number and MAC), by chain number."""

    name: str
    written_at: datetime
    reason: str
    marks: dict[int, audit.Mark]


class CheckpointStore(ABC):
    """Somewhere outside the database that keeps small files, listed in name order."""

    @abstractmethod
    def put(self, name: str, data: bytes) -> None:
        """Write a new file; never overwrites one."""

    @abstractmethod
    def names(self) -> list[str]:
        """Every checkpoint's name, oldest first."""

    @abstractmethod
    def get(self, name: str) -> bytes:
        """A checkpoint's bytes."""


class FolderCheckpoints(CheckpointStore):
    """Files in a folder (mode 0700), each 0600, written once and synced to disk."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"<FolderCheckpoints {self.folder}>"

    def put(self, name: str, data: bytes) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        fsync_path(self.folder)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(entry.name for entry in os.scandir(self.folder)
                      if entry.is_file(follow_symlinks=False) and entry.name.endswith(SUFFIX))

    def get(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()


class S3Checkpoints(CheckpointStore):
    """Objects under a prefix of an S3 bucket (give the bucket versioning or object lock,
    and these credentials no right to delete)."""

    def __init__(self, bucket: str, prefix: str, client):
        self.bucket, self.prefix, self.client = bucket, prefix, client

    def __repr__(self) -> str:
        return f"<S3Checkpoints s3://{self.bucket}/{self.prefix}>"

    def put(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data,
                               IfNoneMatch="*")

    def names(self) -> list[str]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            found += [item["Key"][len(self.prefix):] for item in page.get("Contents", ())
                      if item["Key"].endswith(SUFFIX)]
        return sorted(found)

    def get(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read()


def make_store(url: str, instance_path: Path, s3_options: Mapping[str, Any]) -> \
        CheckpointStore | None:
    """The store AUDIT_CHECKPOINTS names: "" for none, "file:///absolute/path", or
    "s3://bucket/prefix" (with the S3_* settings). Anything else raises ValueError."""
    url = (url or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ValueError("AUDIT_CHECKPOINTS file URLs need an absolute path: file:///path")
        return FolderCheckpoints(Path(path))
    if parts.scheme == "s3":
        from domain.storage import S3BlobStore

        s3 = S3BlobStore(parts.netloc, endpoint_url=s3_options.get("S3_ENDPOINT_URL"),
                         region=s3_options.get("S3_REGION"),
                         access_key=s3_options.get("S3_ACCESS_KEY_ID"),
                         secret_key=s3_options.get("S3_SECRET_ACCESS_KEY"),
                         prefix=(unquote(parts.path).strip("/") or "audit-checkpoints") + "/")
        return S3Checkpoints(s3.bucket, s3.prefix, s3.client)
    raise ValueError("AUDIT_CHECKPOINTS must be file:///path or s3://bucket/prefix")


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


RESTORE = "restore"


def write(store: CheckpointStore, session: Session, keyring: Keyring, now: datetime,
          reason: str = "timer") -> Checkpoint:
    """Record where every chain stands now. Refuses (ValueError) when a head does not
    authenticate, and, unless the chain was just restored from a backup (`reason`
    "restore"), when the chain no longer holds the previous checkpoint's events or the
    rows since do not verify: a checkpoint must never bless a chain cut short or forged,
    or the next `audit verify` would take it for the truth."""
    if reason != RESTORE:
        previous = newest(store, keyring)
        if previous is not None:
            result = audit.verify(session, keyring, since=previous.marks)
            if not result.ok:
                raise ValueError(f"chain {result.chain}: {result.reason} (event "
                                 f"{result.first_broken_seq}); no checkpoint written, run "
                                 "`flask audit verify`")
    marks = audit.marks_now(session, keyring)
    body = {"format": FORMAT, "written_at": now.isoformat(timespec="microseconds"),
            "reason": reason,
            "heads": [{"chain": chain, "seq": mark.seq, "mac": mark.mac}
                      for chain, mark in sorted(marks.items())]}
    body["mac"] = keyring.checkpoint_mac(_canonical(body))
    name = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}{SUFFIX}"
    store.put(name, json.dumps(body, indent=1).encode())
    return Checkpoint(name, now, reason, marks)


def newest(store: CheckpointStore, keyring: Keyring) -> Checkpoint | None:
    """The newest checkpoint, checked; None when there is none yet. An altered or
    unreadable newest checkpoint raises CheckpointError (never silently the one before)."""
    names = store.names()
    if not names:
        return None
    name = names[-1]
    try:
        body = json.loads(store.get(name))
        mac = body.pop("mac")
        if body.get("format") != FORMAT:
            raise CheckpointError(f"checkpoint {name} has an unknown format")
        if keyring.checkpoint_mac(_canonical(body)) != mac:
            raise CheckpointError(f"checkpoint {name} was altered")
        marks = {int(item["chain"]): audit.Mark(int(item["seq"]), str(item["mac"]))
                 for item in body["heads"]}
        return Checkpoint(name, datetime.fromisoformat(body["written_at"]),
                          str(body.get("reason", "")), marks)
    except CheckpointError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {name} cannot be read "
                              f"({type(exc).__name__})") from None
