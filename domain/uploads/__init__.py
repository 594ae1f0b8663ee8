"""Checking and cleaning an uploaded file before it is encrypted and stored (SECURITY.md
"Uploads", DESIGN.md §2 "Documents").

The type is decided from the bytes (magic numbers) and must match both the file name's
extension and the allowed list: PDF, JPEG, PNG, TIFF, plain text. Every accepted file is
rewritten into a new file: images are decoded within a pixel limit and re-encoded without
their metadata, PDFs are stripped of JavaScript, automatic actions and embedded files,
text is checked as UTF-8 and copied without its BOM. A refused file raises UploadRejected
with a reason code (REASONS) and details the views turn into a message that says what to do.

The work is shared by the modules of this package: `kinds` (allowed kinds, reason codes,
UploadRejected), `sniffing` (type from the bytes), `polyglots` (hidden second formats),
`text`, `images` and `pdf` (checking and rewriting each kind). This module is the entry
point: inspect_and_clean() and safe_display_name().
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from domain.uploads.images import MAX_FRAMES, TOTAL_PIXELS_FACTOR, clean_image
from domain.uploads.kinds import (
    CANONICAL_EXTENSIONS,
    CHUNK,
    EXTENSIONS,
    KINDS,
    MIMETYPES,
    REASONS,
    UploadRejected,
)
from domain.uploads.pdf import clean_pdf
from domain.uploads.polyglots import polyglot_payload
from domain.uploads.sniffing import sniff
from domain.uploads.text import copy_text, looks_like_text

__all__ = [
    "CANONICAL_EXTENSIONS",
    "CHUNK",
    "EXTENSIONS",
    "HEAD",
    "KINDS",
    "MAX_DISPLAY_NAME",
    "MAX_FRAMES",
    "MIMETYPES",
    "REASONS",
    "TOTAL_PIXELS_FACTOR",
    "ZIP_TAIL",
    "CleanFile",
    "UploadRejected",
    "inspect_and_clean",
    "safe_display_name",
]

MAX_DISPLAY_NAME = 120
HEAD = 8 * 1024
ZIP_TAIL = 22 + 65_535  # end-of-central-directory record plus its longest comment
_HIDDEN_IN_NAMES = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\ufeff"
)


@dataclass(frozen=True)
class CleanFile:
    """The cleaned copy, ready to be encrypted. `extension` is the canonical one for the
    kind, without the dot ("jpg" for JPEG); `size` is the cleaned file's size; `removed`
    names what was stripped (PDF active content, image metadata such as "EXIF", "GPS")."""

    path: Path
    kind: str
    mimetype: str
    size: int
    extension: str
    display_name: str
    removed: tuple[str, ...] = ()


def inspect_and_clean(
    source: Path,
    filename: str,
    max_bytes: int,
    work_dir: Path,
    max_pixels: int = 40_000_000,
) -> CleanFile:
    """Check the spooled upload `source` (named `filename` by the person) and write a
    cleaned copy to a new private file in `work_dir`; raise UploadRejected otherwise.

    Order of the checks: size (before reading anything), type from the bytes (a known
    refused type is named whatever the extension), extension, type against extension,
    polyglots, then the cleaning itself. The source is never modified nor deleted, and on
    rejection nothing is left in `work_dir`. Large files are read in chunks; only decoded
    images sit in memory, bounded by `max_pixels` (per page).
    """
    size = source.stat().st_size
    if size == 0:
        raise UploadRejected("empty")
    if size > max_bytes:
        raise UploadRejected(
            "too_large", {"size": size, "limit_bytes": max_bytes, "limit_mb": _mb(max_bytes)}
        )

    extension = _extension(filename)
    with source.open("rb") as handle:
        head = handle.read(HEAD)
        handle.seek(max(0, size - ZIP_TAIL))
        tail_start = handle.tell()
        tail = handle.read()

    detected = sniff(head, source)
    if detected is not None and detected not in KINDS:
        raise UploadRejected("type_not_allowed", {"detected": detected, "extension": extension})
    if extension not in EXTENSIONS:
        raise UploadRejected(
            "extension_not_allowed",
            {"extension": extension, "allowed": sorted(EXTENSIONS), "detected": detected},
        )
    announced = EXTENSIONS[extension]
    if detected is None:
        if announced == "txt" or looks_like_text(head):
            detected = "txt"  # checked as UTF-8 below, or a mismatch with the extension
        else:
            raise UploadRejected("unreadable", {"detected": "unknown", "extension": extension})
    if detected != announced:
        raise UploadRejected("type_mismatch", {"detected": detected, "extension": extension})

    if detected != "txt":
        payload = polyglot_payload(source, detected, head, tail, tail_start, size)
        if payload:
            raise UploadRejected("polyglot", {"detected": detected, "payload": payload})

    fd, name = tempfile.mkstemp(
        prefix="upload-", suffix="." + CANONICAL_EXTENSIONS[detected], dir=work_dir
    )
    os.close(fd)
    target = Path(name)
    try:
        if detected == "txt":
            removed: tuple[str, ...] = copy_text(source, target)
        elif detected == "pdf":
            removed = clean_pdf(source, target)
        else:
            removed = clean_image(source, detected, target, max_pixels)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return CleanFile(
        path=target,
        kind=detected,
        mimetype=MIMETYPES[detected],
        size=target.stat().st_size,
        extension=CANONICAL_EXTENSIONS[detected],
        display_name=safe_display_name(filename, detected),
        removed=removed,
    )


def safe_display_name(filename: str, kind: str) -> str:
    """The name shown to people and sent in Content-Disposition (the view encodes it as
    RFC 6266 requires). Never use it as a path: stored files get random names.

    Keeps only the last part after any "/" or "\\", drops control characters, lone
    surrogates and bidirectional overrides/isolates/marks (which can make "gpj.exe" look
    like "exe.jpg"), turns every kind of whitespace into one space, keeps accents (NFC),
    replaces a known document extension by the canonical one for `kind` (".pdf", ".jpg",
    ".png", ".tif", ".txt") and fits in 120 characters; "document" when nothing is left.
    """
    suffix = "." + CANONICAL_EXTENSIONS[kind]
    name = re.split(r"[/\\]", filename or "")[-1]
    name = "".join(
        " " if char.isspace() else char
        for char in name
        if char.isspace()
        or (unicodedata.category(char) not in ("Cc", "Cs") and char not in _HIDDEN_IN_NAMES)
    )
    name = unicodedata.normalize("NFC", " ".join(name.split()))  # after removals
    stem, dot, ext = name.rpartition(".")
    if dot and ext.strip().lower() in EXTENSIONS:
        name = stem
    name = name.strip(" .")[: MAX_DISPLAY_NAME - len(suffix)].rstrip(" .")
    return (name or "document") + suffix


def _mb(value: int) -> int | float:
    megabytes = round(value / (1024 * 1024), 1)
    return int(megabytes) if megabytes.is_integer() else megabytes


def _extension(filename: str) -> str:
    name = re.split(r"[/\\]", filename or "")[-1].strip().rstrip(". ")
    _, dot, extension = name.rpartition(".")
    return extension.strip().lower()[:16] if dot else ""
