"""Files and folders only the service's own user may read: the database, development
e-mails and SMS (codes in clear), letters for the post, uploads being checked."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create the folder and any missing parent with mode 0700 (whatever the umask); an
    existing folder of ours that others could enter is closed to them."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        os.chmod(folder, 0o700)
    if path.is_dir() and path.stat().st_uid == os.geteuid() and path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> None:
    """Create an empty file with mode 0600 if it does not exist (SQLite would create its
    database with the process umask, 0644 under `make run`; its -wal and -shm files take
    the database file's mode)."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return


def write_private(folder: Path, name: str, data: bytes, replace: bool = False) -> Path:
    """Write a file only its owner can read (0600) in a folder only its owner can enter
    (0700). Without `replace`, never overwrites an existing file."""
    private_dir(folder)
    path = folder / name
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_TRUNC if replace else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)
    return path
