"""Adding an entry to the operator's catalogue file (`flask catalogue add`): checked alone,
with a new slug, then the merged file checked again and written at once, so neither a
running site nor a crash ever sees half of it."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

from domain.catalogue import App, CatalogueError, parse, read_file


def _locked(path: Path):
    """The catalogue file opened and locked against another `add`; if that other one
    replaced the file while this one waited, the new file is locked instead."""
    while True:
        try:
            handle = path.open("rb")
        except FileNotFoundError as problem:
            raise CatalogueError(f"{path}: no such file") from problem
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if os.fstat(handle.fileno()).st_ino == path.stat().st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()


def add_entry(catalogue_path: Path | str, entry_path: Path | str) -> App:
    """Append the one [[apps]] entry of `entry_path` to the catalogue file: the entry is
    checked alone, its slug must be new, and the merged file must load. The file is then
    replaced at once (a temporary file renamed over it), so a running site or a crash never
    sees half of it. Returns the added app."""
    catalogue_path, entry_path = Path(catalogue_path), Path(entry_path)
    entry_text = read_file(entry_path)
    try:
        entry = parse(entry_text)
    except CatalogueError as problem:
        raise CatalogueError(f"{entry_path}: {problem}") from problem
    if len(entry) != 1:
        raise CatalogueError(f"{entry_path}: must hold exactly one [[apps]] entry, not "
                             f"{len(entry)}")
    app = entry.apps[0]
    with _locked(catalogue_path) as handle:
        try:
            current = handle.read().decode("utf-8")
        except UnicodeDecodeError as problem:
            raise CatalogueError(f"{catalogue_path}: not UTF-8 text") from problem
        try:
            existing = parse(current)
        except CatalogueError as problem:
            raise CatalogueError(f"{catalogue_path}: {problem}") from problem
        if existing.get(app.slug) is not None:
            raise CatalogueError(f'{catalogue_path}: an entry with the slug "{app.slug}" is '
                                 "there already")
        merged = current + ("" if current.endswith("\n") or not current else "\n") + \
            "\n" + entry_text
        try:
            parse(merged)
        except CatalogueError as problem:
            raise CatalogueError(f"{catalogue_path} with {entry_path}: {problem}") from problem
        try:
            _replace(catalogue_path, merged)
        except OSError as problem:
            raise CatalogueError(f"{catalogue_path}: cannot be written "
                                 f"({problem.strerror})") from problem
    return app


def _replace(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), path.stat().st_mode & 0o7777)
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
