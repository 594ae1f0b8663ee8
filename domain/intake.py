"""Files people send, from the request's stream to a checked, cleaned copy on disk.

One way in for every file: the vault's own form, the professional's deposit, the advance
directives and message attachments. The stream is spooled to a private temporary folder
(the file is in clear until it is sealed), checked and cleaned by domain/uploads, and the
folder is removed when the caller is done with the clean copy, whatever happens.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from domain import uploads
from domain.files import private_dir

SPOOL_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What the service accepts: bytes per file, pixels per image page."""

    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class Incoming:
    """A file as it arrives: its stream (read once) and the name the person gave it."""

    stream: BinaryIO
    file_name: str


@contextmanager
def checked(incoming: Incoming, limits: Limits, workdir: Path) -> Iterator[uploads.CleanFile]:
    """The cleaned copy of one incoming file, valid inside the `with` block; raises
    uploads.UploadRejected, leaving nothing behind."""
    private_dir(workdir)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        spooled = Path(folder) / "upload"
        with spooled.open("wb") as target:
            shutil.copyfileobj(incoming.stream, target, SPOOL_CHUNK)
        yield uploads.inspect_and_clean(spooled, incoming.file_name, limits.max_bytes,
                                        Path(folder), max_pixels=limits.max_pixels)
