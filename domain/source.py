"""The source code of the running installation, for anyone who uses it (AGPL-3.0 §13).

The archive is built from the files this installation actually runs, so an operator's
changes are in it. It is made from an allow-list of the project's folders and files, never
from "everything under the folder": the instance folder (secret key, key file, database,
blobs, outbox) is never on the list, and a key file, an outbox or a blob folder configured
inside an allowed folder is left out by path as well. It streams: nothing is held whole.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

ALLOWED = ("app.py", "config.py", "extensions.py", "gunicorn.conf.py", "pyproject.toml",
           "Makefile", "README.md", "LICENSE", "Dockerfile", ".dockerignore", "compose.yaml",
           "alembic.ini", "babel.cfg", "package.json", "package-lock.json", ".gitignore",
           ".ci", "requirements", "blueprints", "domain", "web", "templates", "static",
           "translations", "migrations", "scripts", "tests", "benchmarks", "deploy")
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", "node_modules", "vendor",
                 "results", ".venv", "instance"}
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".mo", ".db", ".sqlite", ".sqlite3", ".key", ".pem",
                    ".crt", ".p12", ".env", ".eml", ".log", ".swp", ".bak", ".dump"}
SKIPPED_NAMES = {"keys.json", "secret_key", ".env"}
# Data beside a database (its journal, WAL and shared memory) and key files, whatever
# their suffix.
SKIPPED_NAME_PARTS = (".db-", ".sqlite-", ".sqlite3-", "-journal", "keys.json", "secret_key")
PREFIX = "carnet-sante"


def members(root: Path, excluded: Iterable[Path] = ()) -> list[Path]:
    """The files to publish, relative to root, sorted. Symbolic links are never followed,
    nor published; `excluded` paths (files or folders) are left out wherever they are."""
    root = root.resolve()
    refused = [Path(path).resolve() for path in excluded if path]
    found: list[Path] = []

    def keep(path: Path) -> bool:
        relative = path.relative_to(root)
        if path.is_symlink() or not path.is_file():
            return False
        if SKIPPED_PARTS.intersection(relative.parts[:-1]) or path.name in SKIPPED_NAMES:
            return False
        name = path.name.lower()
        if any(part in name for part in SKIPPED_NAME_PARTS):
            return False
        if name.startswith(".env") or name.endswith(".env"):  # environment files, any name
            return False
        if path.suffix.lower() in SKIPPED_SUFFIXES:
            return False
        resolved = path.resolve()
        return not any(resolved == item or item in resolved.parents for item in refused)

    for name in ALLOWED:
        start = root / name
        if start.is_symlink() or not start.exists():
            continue
        if start.is_file():
            candidates: Iterable[Path] = [start]
        else:
            candidates = (path for path in start.rglob("*")
                          if not any(part.is_symlink() for part in _between(root, path)))
        found.extend(path.relative_to(root) for path in candidates if keep(path))
    return sorted(found)


def private_paths(instance_path: str, config) -> list[Path]:
    """Every place the settings name for data or secrets, wherever the operator put it: the
    instance folder, the key file, the outbox, a SQLite database (and its -wal/-shm), a
    local blob store and a local checkpoint folder. Left out of the archive even if it sits
    inside a published folder."""
    from sqlalchemy.engine import make_url

    paths = [Path(instance_path)]
    for name in ("CARNET_KEY_FILE", "OUTBOX_DIR"):
        if config.get(name):
            paths.append(Path(config[name]))
    url = make_url(config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        paths += [database, *(database.with_name(database.name + suffix)
                              for suffix in ("-wal", "-shm", "-journal"))]
    for name in ("BLOB_STORE", "AUDIT_CHECKPOINTS"):
        value = config.get(name) or ""
        if value.startswith("file://"):
            paths.append(Path(unquote(urlsplit(value).path)))
    return paths


def _between(root: Path, path: Path) -> Iterator[Path]:
    for parent in path.relative_to(root).parents:
        if parent != Path("."):
            yield root / parent


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that hands out what was written so far."""

    def __init__(self):
        self.pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.pieces.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.pieces)
        self.pieces.clear()
        return data


def archive(root: Path, files: list[Path], chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """A .tar.gz of `files` (relative to root) under carnet-sante/, as a stream of pieces.
    Owners and modes are normalised so the archive says nothing about the server."""
    sink = _Sink()
    with tarfile.open(fileobj=sink, mode="w|gz", format=tarfile.PAX_FORMAT) as tar:
        for relative in files:
            path = root / relative
            info = tar.gettarinfo(str(path), arcname=f"{PREFIX}/{relative.as_posix()}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            with path.open("rb") as handle:
                tar.addfile(info, handle)
            if sum(len(piece) for piece in sink.pieces) >= chunk_size:
                yield sink.take()
    rest = sink.take()
    if rest:
        yield rest


@lru_cache(maxsize=8)
def version(root: Path) -> str:
    """The version written in pyproject.toml ("" when it cannot be read): read once per
    process, the version of the code it runs (parsing the file took 300 µs, on every view
    of the source code page by someone signed in)."""
    import tomllib

    try:
        return str(tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"])
    except (OSError, KeyError, ValueError):
        return ""
