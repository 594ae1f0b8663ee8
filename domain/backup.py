"""Backups: the database and every document blob in one folder, never the key file.

A backup folder (mode 0700, files 0600) holds:

- ``database.sqlite3``: a consistent online copy made with the SQLite backup API in one
  step (one read snapshot; in WAL mode the site goes on writing meanwhile), switched to a
  self-contained rollback journal; or ``database.pgdump``: ``pg_dump --format=custom``
  run inside a snapshot exported by our own transaction, so the dump, the row counts and
  the Alembic revision in the manifest describe the same moment;
- ``blobs/<first two characters>/<key>``: every blob of the store, streamed through the
  BlobStore interface (local folder or S3), copied as stored (ciphertext);
- ``manifest.json``: format, date, database kind, Alembic revision, row counts per table,
  the KEK versions that wrap patient keys, size and SHA-256 of every file, the key file's
  fingerprint, and a MAC of all that under the audit key. A restore therefore refuses a
  backup made under another key file and any altered, missing or swapped file.

The key file is never copied: documents, profile entries and messages are encrypted under
keys it holds, so a backup is useless to whoever takes it without the key file. Restoring
needs the key file the backup was made with, or a later one that still has the KEK versions
wrapping the backup's patient keys. An erased (shredded) space is still readable in the
backups made before its erasure until the KEK that wrapped its key is rotated away and
retired (`keys rotate`, then `keys retire N`): from then on those backups are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, column, create_engine, func, inspect, select, table
from sqlalchemy import text as sql_text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from domain import audit
from domain.crypto import CryptoError, Keyring
from domain.db import SQLITE_BUSY_TIMEOUT_MS
from domain.storage import BlobStore, LocalBlobStore, check_key, fsync_path

FORMAT = "carnet-sante-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
BLOB_FOLDER = "blobs"
READ_SIZE = 1024 * 1024
_MANIFEST_MAC_PREFIX = b"carnet-sante backup manifest v1|"
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_CONNINFO_NAME_RE = re.compile(r"[a-z_]+")
_LABELS = {"users": "account(s)", "documents": "document(s)", "messages": "message(s)",
           "audit_events": "audit event(s)"}


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why (never health data)."""


class DatabaseNotEmpty(BackupError):
    """Restoring would erase data that is there now; the message says how much."""


@dataclass(frozen=True)
class Snapshot:
    """What the manifest says about the database copy (counts only, no content)."""

    revision: str | None
    tables: dict[str, int]
    kek_versions: list[int]


@dataclass(frozen=True)
class BackupReport:
    """The outcome of create_backup(), for the operator and the audit trail."""

    folder: Path
    kind: str
    snapshot: Snapshot
    database_bytes: int
    blobs: int
    blob_bytes: int
    vanished: int
    fingerprint: str


@dataclass(frozen=True)
class RestoreReport:
    """The outcome of restore_backup(), for the operator and the audit trail."""

    kind: str
    created_at: str
    revision: str | None
    tables: dict[str, int]
    blobs_written: int
    blobs_unchanged: int
    blobs_deleted: int
    blobs_left: int
    erased: dict[str, int]


# Files and folders ------------------------------------------------------------------------

def _private_dir(path: Path) -> None:
    """Create a folder with mode 0700 whatever the umask (an existing one is set to 0700)."""
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def _private_file(path: Path) -> int:
    """Create a new file with mode 0600 whatever the umask; never follows or overwrites."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                 | getattr(os, "O_NOFOLLOW", 0), 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _write_stream(path: Path, chunks: Iterable[bytes]) -> tuple[int, str]:
    """Write chunks to a new 0600 file, one chunk in memory at a time; size and SHA-256."""
    digest, size = hashlib.sha256(), 0
    with os.fdopen(_private_file(path), "wb") as handle:
        for chunk in chunks:
            digest.update(chunk)
            size += handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    return size, digest.hexdigest()


def _read_chunks(path: Path) -> Iterator[bytes]:
    """A file's bytes in pieces of READ_SIZE."""
    with open(path, "rb") as handle:
        while piece := handle.read(READ_SIZE):
            yield piece


def _digest(chunks: Iterable[bytes]) -> tuple[int, str]:
    """Size and SHA-256 of a stream of chunks."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    """Whether path is folder itself or somewhere under it (both resolved)."""
    return path == folder or folder in path.parents


def _blob_path(folder: Path, key: str) -> Path:
    """Where a blob lives in a backup folder (the key is checked first)."""
    key = check_key(key)
    return folder / BLOB_FOLDER / key[:2] / key


# The database -----------------------------------------------------------------------------

def database_kind(engine: Engine) -> str:
    """"sqlite" or "postgresql"; BackupError for any other database."""
    kind = engine.url.get_backend_name()
    if kind not in DATABASE_FILES:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {kind}")
    return kind


def _sqlite_path(url: URL) -> Path:
    """The database file of a SQLite URL; BackupError for an in-memory database."""
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("only a SQLite database file (sqlite:///path) can be backed up")
    return Path(url.database).resolve()


def _read_only_uri(path: Path) -> str:
    """A SQLite URI opening the file read-only (creates no journal beside it)."""
    return path.resolve().as_uri() + "?mode=ro"


def _table_counts(connection: Connection) -> dict[str, int]:
    """Rows per table (every table but Alembic's), by name; table names come from the
    database's own catalogue and are quoted by SQLAlchemy."""
    names = sorted(set(inspect(connection).get_table_names()) - {"alembic_version"})
    return {name: int(connection.scalar(select(func.count()).select_from(table(name))))
            for name in names}


def _snapshot(connection: Connection) -> Snapshot:
    """Revision, row counts and KEK versions in use, read through one connection."""
    names = set(inspect(connection).get_table_names())
    revision = None
    if "alembic_version" in names:
        heads = connection.scalars(select(column("version_num"))
                                   .select_from(table("alembic_version"))).all()
        revision = ",".join(sorted(heads)) or None
    versions: list[int] = []
    if "users" in names:
        # A shredded space keeps its kek_version but has no wrapped key left.
        kek, wrapped = column("kek_version"), column("wrapped_key")
        versions = sorted(int(v) for v in connection.scalars(
            select(kek).select_from(table("users"))
            .where(kek.is_not(None), wrapped.is_not(None)).distinct()))
    return Snapshot(revision, _table_counts(connection), versions)


def _sqlite_snapshot(path: Path) -> Snapshot:
    """The Snapshot of a SQLite copy, opened read-only."""
    engine = create_engine("sqlite://", poolclass=NullPool,
                           creator=lambda: sqlite3.connect(_read_only_uri(path), uri=True))
    try:
        with engine.connect() as connection:
            return _snapshot(connection)
    finally:
        engine.dispose()


def database_contents(engine: Engine) -> dict[str, int]:
    """Rows per table in the live database (an empty dict when there are no tables)."""
    with engine.connect() as connection:
        return _table_counts(connection)


def _copy_sqlite(engine: Engine, target: Path) -> Snapshot:
    """Copy the live SQLite database to target while the site may be writing."""
    source_path = _sqlite_path(engine.url)
    if not source_path.is_file():
        raise BackupError("the SQLite database file does not exist")
    os.close(_private_file(target))
    source = sqlite3.connect(source_path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        copy = sqlite3.connect(target)
        try:
            # One step (pages=-1) reads a single snapshot: in WAL mode writers are not
            # blocked, and a stepwise copy would restart after each of their commits.
            source.backup(copy)
            # A self-contained file: no -wal or -shm beside it, stable checksum.
            copy.execute("PRAGMA journal_mode=DELETE")
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("the copy of the SQLite database failed its integrity check")
        finally:
            copy.close()
    finally:
        source.close()
    fsync_path(target)
    return _sqlite_snapshot(target)


def pg_connection(url: URL) -> tuple[str, dict[str, str]]:
    """libpq connection parameters for pg_dump and pg_restore from a SQLAlchemy URL
    (``postgresql+psycopg://user:pass@host:port/db?sslmode=…``): a conninfo string without
    the password, and the environment with the password in PGPASSWORD, so it never shows
    on a command line."""
    params: dict[str, str] = {}
    for name, value in (("host", url.host), ("port", url.port), ("user", url.username),
                        ("dbname", url.database)):
        if value not in (None, ""):
            params[name] = str(value)
    for name, value in url.query.items():
        if not _CONNINFO_NAME_RE.fullmatch(name):
            raise BackupError("DATABASE_URL has a query parameter libpq does not know")
        params[name] = value if isinstance(value, str) else value[-1]
    password = params.pop("password", None) or url.password
    environment = dict(os.environ)
    if password:
        environment["PGPASSWORD"] = str(password)

    def quote(value: str) -> str:
        """A conninfo value in single quotes, backslashes and quotes escaped."""
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{name}={quote(value)}" for name, value in params.items()), environment


def _pg_tool(name: str) -> str:
    """The absolute path of pg_dump or pg_restore; BackupError when it is not installed."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools "
                          f"(the server's major version or newer)")
    return path


def _tool_error(stderr: bytes) -> str:
    """The first error line of pg_dump or pg_restore, shortened; DETAIL lines (which can
    quote row values) are never shown."""
    for line in stderr.decode("utf-8", "replace").splitlines():
        if "error" in line.lower() and "DETAIL" not in line:
            return line.strip()[:200]
    return "see the PostgreSQL server log"


def _dump_postgresql(engine: Engine, target: Path) -> Snapshot:
    """pg_dump the database into target, inside a snapshot this transaction exports."""
    conninfo, environment = pg_connection(engine.url)
    command = [_pg_tool("pg_dump"), "--format=custom", "--no-password"]
    fd = _private_file(target)
    with os.fdopen(fd, "wb") as output, engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot_id = connection.scalar(sql_text("SELECT pg_export_snapshot()"))
            facts = _snapshot(connection)
            done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                [*command, f"--snapshot={snapshot_id}", f"--dbname={conninfo}"],
                stdout=output, stderr=subprocess.PIPE, env=environment, check=False)
        output.flush()
        os.fsync(output.fileno())
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {_tool_error(done.stderr)}")
    return facts


def _restore_sqlite(source: Path, url: URL) -> None:
    """Copy the backup into the live SQLite database with the backup API (the other way
    round): it writes through SQLite's own locking and journal, so the live file's -wal and
    -shm stay consistent and other connections see the new content; deleting or replacing
    those files under a connection could corrupt the database."""
    target = _sqlite_path(url)
    if not target.exists():
        os.close(_private_file(target))
    backup = sqlite3.connect(_read_only_uri(source), uri=True)
    try:
        live = sqlite3.connect(target, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            backup.backup(live)
            live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            live.close()
    finally:
        backup.close()


def _restore_postgresql(source: Path, url: URL) -> None:
    """pg_restore the dump over the live database in one transaction (all or nothing)."""
    conninfo, environment = pg_connection(url)
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
         "--single-transaction", "--exit-on-error", "--no-password", f"--dbname={conninfo}",
         str(source)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment, check=False)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed, the database is as it was: "
                          f"{_tool_error(done.stderr)}")


# Creating a backup ------------------------------------------------------------------------

def check_target(target: Path, *, key_file: Path,
                 private_folders: Iterable[Path] = ()) -> Path:
    """The resolved backup folder, or BackupError when it must not hold a backup: it holds
    the key file, lies in the key file's folder or in a private folder (the instance
    folder, the blob store), already holds a backup, is not an empty folder, or its parent
    does not exist."""
    folder = Path(target).expanduser().resolve()
    key = Path(key_file).resolve()
    if _inside(key, folder):
        raise BackupError(f"{target} contains the key file: a backup never holds it")
    if _inside(folder, key.parent):
        raise BackupError(f"{target} is in the key file's folder: keep backups apart from "
                          f"the key file")
    for private in private_folders:
        if _inside(folder, Path(private).resolve()):
            raise BackupError(f"{target} is inside {private}, which is what gets backed "
                              f"up: choose a folder elsewhere (another disk or machine)")
    if folder.exists():
        if not folder.is_dir():
            raise BackupError(f"{target} is not a folder")
        if (folder / MANIFEST).exists():
            raise BackupError(f"{target} already holds a backup: choose a new folder")
        if any(folder.iterdir()):
            raise BackupError(f"{target} is not empty: choose a new or empty folder")
    elif not folder.parent.is_dir():
        raise BackupError(f"the parent folder of {target} does not exist")
    return folder


def _copy_blobs(store: BlobStore, folder: Path) -> tuple[list[dict], int]:
    """Copy every blob of the store under folder, streamed; the manifest entries and the
    number of blobs deleted between the listing and the copy."""
    _private_dir(folder)
    entries: list[dict] = []
    vanished = 0
    shards: set[Path] = set()
    for key in store.keys():
        try:
            reader = store.open(key)
        except KeyError:  # its document was deleted while the backup ran
            vanished += 1
            continue
        path = _blob_path(folder.parent, key)
        if path.parent not in shards:
            _private_dir(path.parent)
            shards.add(path.parent)
        with reader:
            size, digest = _write_stream(path, reader)
        entries.append({"key": key, "size": size, "sha256": digest})
    for shard in shards:
        fsync_path(shard)
    return entries, vanished


def _manifest_mac(manifest: dict, keyring: Keyring) -> str:
    """The MAC of the manifest's canonical JSON (without its "mac") under the audit key;
    the prefix keeps it apart from audit-chain MACs, which start with a hex MAC."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return keyring.audit_mac(_MANIFEST_MAC_PREFIX + canonical.encode())


def _discard(folder: Path, created: bool) -> None:
    """Remove what a failed backup wrote (the folder was empty or absent before)."""
    if created:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def create_backup(target: Path, *, engine: Engine, store: BlobStore, keyring: Keyring,
                  key_file: Path, private_folders: Iterable[Path] = (),
                  now: datetime | None = None) -> BackupReport:
    """Write a backup of the database and of every blob into target (new or empty folder,
    see check_target()); the manifest is written last, so a folder without one is not a
    backup, and a failure removes what was written. The database is copied first: a
    document added meanwhile only leaves an orphan blob in the backup, never a row
    without its blob."""
    kind = database_kind(engine)
    private = list(private_folders)
    if isinstance(store, LocalBlobStore):
        private.append(store.root)
    folder = check_target(target, key_file=key_file, private_folders=private)
    created = not folder.exists()
    _private_dir(folder)
    try:
        database_file = folder / DATABASE_FILES[kind]
        copy = _copy_sqlite if kind == "sqlite" else _dump_postgresql
        snapshot = copy(engine, database_file)
        database_bytes, database_sha = _digest(_read_chunks(database_file))
        blobs, vanished = _copy_blobs(store, folder / BLOB_FOLDER)
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "database": {"kind": kind, "file": database_file.name, "size": database_bytes,
                         "sha256": database_sha, "alembic_revision": snapshot.revision,
                         "tables": snapshot.tables, "kek_versions": snapshot.kek_versions},
            "blobs": blobs,
            "counts": {"tables": len(snapshot.tables), "rows": sum(snapshot.tables.values()),
                       "blobs": len(blobs), "blob_bytes": sum(b["size"] for b in blobs)},
            "key_fingerprint": keyring.fingerprint(),
            "key_file": "not included: it is kept apart and restored separately",
        }
        manifest["mac"] = _manifest_mac(manifest, keyring)
        temporary = folder / f".{MANIFEST}.tmp"
        _write_stream(temporary, [json.dumps(manifest, indent=1, sort_keys=True).encode()])
        os.replace(temporary, folder / MANIFEST)
        fsync_path(folder / BLOB_FOLDER)
        fsync_path(folder)
    except BaseException:
        _discard(folder, created)
        raise
    return BackupReport(folder, kind, snapshot, database_bytes, len(blobs),
                        manifest["counts"]["blob_bytes"], vanished, manifest["key_fingerprint"])


# Restoring --------------------------------------------------------------------------------

def load_manifest(folder: Path, keyring: Keyring) -> dict:
    """Read and check a backup's manifest: format and version, the key fingerprint (same
    key file as the running one), its MAC (not altered) and the shape of every entry."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} holds no backup ({MANIFEST} is missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{MANIFEST} is not readable") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{folder} does not hold a Carnet santé backup")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"backup format {manifest.get('version')!r} is not supported "
                          f"(this version reads {FORMAT_VERSION})")
    if manifest.get("key_fingerprint") != keyring.fingerprint():
        raise BackupError("this backup was made under another key file: restore it with "
                          "the key file it was made with")
    mac = manifest.pop("mac", None)
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _manifest_mac(manifest,
                                                                              keyring)):
        raise BackupError(f"{MANIFEST} was altered: its MAC does not match")
    database = manifest.get("database")
    if (not isinstance(database, dict) or database.get("kind") not in DATABASE_FILES
            or database.get("file") != DATABASE_FILES[database["kind"]]):
        raise BackupError(f"{MANIFEST} does not describe a database copy")
    entries = manifest.get("blobs")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BackupError(f"{MANIFEST} does not list the blobs")
    for entry in [database, *entries]:
        if not (isinstance(entry.get("size"), int)
                and _SHA256_RE.fullmatch(str(entry.get("sha256")))):
            raise BackupError(f"{MANIFEST} has an entry without size or checksum")
    try:
        for entry in manifest["blobs"]:
            check_key(entry.get("key"))
    except ValueError as exc:
        raise BackupError(f"{MANIFEST} names a blob with an invalid key") from exc
    return manifest


def verify_files(folder: Path, manifest: dict) -> int:
    """Check the size and SHA-256 of every file the manifest lists; BackupError naming
    the first missing or altered file. Returns the number of files checked."""
    folder = Path(folder)
    database = manifest["database"]
    expected = [(folder / database["file"], database)]
    expected += [(_blob_path(folder, entry["key"]), entry) for entry in manifest["blobs"]]
    for path, entry in expected:
        name = path.relative_to(folder)
        if not path.is_file() or path.is_symlink():
            raise BackupError(f"{name} is missing from the backup")
        if _digest(_read_chunks(path)) != (entry["size"], entry["sha256"]):
            raise BackupError(f"{name} does not match its checksum: the backup was altered "
                              f"or damaged")
    return len(expected)


def _checked_chunks(path: Path, entry: dict) -> Iterator[bytes]:
    """A backed-up blob's chunks, checked again while they are read: a mismatch raises
    before the last chunk is handed over, so the store's atomic put() keeps nothing."""
    digest, size = hashlib.sha256(), 0
    pending = None
    for piece in _read_chunks(path):
        digest.update(piece)
        size += len(piece)
        if pending is not None:
            yield pending
        pending = piece
    if (size, digest.hexdigest()) != (entry["size"], entry["sha256"]):
        raise BackupError(f"{path.name} changed while it was restored")
    if pending is not None:
        yield pending


def _restore_blobs(folder: Path, manifest: dict, store: BlobStore) -> tuple[int, int]:
    """Put every backed-up blob back; a blob already stored with the same bytes is left
    alone. Returns (written, unchanged)."""
    written = unchanged = 0
    for entry in manifest["blobs"]:
        key = entry["key"]
        if store.exists(key) and store.size(key) == entry["size"]:
            with store.open(key) as reader:
                if _digest(reader) == (entry["size"], entry["sha256"]):
                    unchanged += 1
                    continue
        store.put(key, _checked_chunks(_blob_path(folder, key), entry))
        written += 1
    return written, unchanged


def describe_contents(tables: dict[str, int], extra_blobs: int) -> str:
    """Counts of what a restore would erase, in words (no content)."""
    parts = [f"{tables[name]} {label}" for name, label in _LABELS.items() if tables.get(name)]
    rows = sum(tables.values())
    text = ", ".join(parts) + (" " if parts else "")
    text += f"({rows} rows in {sum(1 for n in tables.values() if n)} tables)"
    if extra_blobs:
        text += f" and {extra_blobs} blob(s) that are not in the backup"
    return text


def restore_backup(folder: Path, *, engine: Engine, store: BlobStore, keyring: Keyring,
                   force: bool = False,
                   known_revisions: Collection[str] | None = None) -> RestoreReport:
    """Restore a backup: check the manifest and every file first, refuse to replace a
    database holding data unless `force`, then put the blobs back (a failure there leaves
    the database untouched), replace the database (engine disposed before and after), and
    with `force` delete the blobs the backup does not have. The caller closes its sessions
    first, and records the restore in the restored database afterwards."""
    folder = Path(folder)
    manifest = load_manifest(folder, keyring)
    kind = database_kind(engine)
    database = manifest["database"]
    if database["kind"] != kind:
        raise BackupError(f"this backup holds a {database['kind']} database and the site "
                          f"uses {kind}")
    revision = database.get("alembic_revision")
    if known_revisions is not None and revision and any(
            head not in known_revisions for head in revision.split(",")):
        raise BackupError(f"this backup's database is at revision {revision}, which this "
                          f"version of Carnet santé does not know: upgrade the code first")
    try:
        keyring.refresh(force=True)
    except CryptoError as exc:
        raise BackupError(f"the key file cannot be used: {exc}") from exc
    missing = sorted(set(database.get("kek_versions") or []) - set(keyring.versions))
    if missing:
        raise BackupError(f"the key file no longer has KEK version(s) "
                          f"{', '.join(map(str, missing))} (retired): the patient keys of "
                          f"this backup cannot be opened")
    verify_files(folder, manifest)
    wanted = {entry["key"] for entry in manifest["blobs"]}
    existing = {name: rows for name, rows in database_contents(engine).items() if rows}
    extra = sum(1 for key in store.keys() if key not in wanted)
    if existing and not force:
        raise DatabaseNotEmpty(f"the database is not empty: restoring would erase "
                               f"{describe_contents(existing, extra)}")
    written, unchanged = _restore_blobs(folder, manifest, store)
    engine.dispose()
    if kind == "sqlite":
        _restore_sqlite(folder / database["file"], engine.url)
    else:
        _restore_postgresql(folder / database["file"], engine.url)
    engine.dispose()
    deleted = left = 0
    for key in [key for key in store.keys() if key not in wanted]:
        if force:
            store.delete(key)
            deleted += 1
        else:
            left += 1
    return RestoreReport(kind, manifest["created_at"], revision, database["tables"], written,
                         unchanged, deleted, left, existing)


def record_created(session: Session, keyring: Keyring, report: BackupReport,
                   actor: audit.Actor) -> None:
    """The audit row of a backup written: what it holds, never any content."""
    snapshot = report.snapshot
    audit.record(session, keyring, "backup.created", actor=actor, target_type="backup",
                 details={"database": report.kind, "revision": snapshot.revision,
                          "tables": len(snapshot.tables), "rows": sum(snapshot.tables.values()),
                          "blobs": report.blobs, "blob_bytes": report.blob_bytes})


def record_restored(session: Session, keyring: Keyring, report: RestoreReport, *,
                    forced: bool, actor: audit.Actor) -> None:
    """The audit row of a restore, written in the restored database: its chain goes on
    from the backup's."""
    audit.record(session, keyring, "backup.restored", actor=actor, target_type="backup",
                 details={"backup_created_at": report.created_at, "database": report.kind,
                          "revision": report.revision, "rows": sum(report.tables.values()),
                          "forced": forced, "blobs_written": report.blobs_written,
                          "blobs_unchanged": report.blobs_unchanged,
                          "blobs_deleted": report.blobs_deleted})
