"""Plain text: recognised when no signature matched, then checked as UTF-8 without control
characters and copied without its BOM."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from domain.uploads.kinds import CHUNK, UploadRejected

_FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def looks_like_text(head: bytes) -> bool:
    """Whether the first bytes decode as UTF-8 without control characters (maybe text)."""
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return not _FORBIDDEN_TEXT.search(text)


def copy_text(source: Path, target: Path) -> tuple[str, ...]:
    """UTF-8 (a BOM is dropped), no NUL nor C0 control character but tab, CR and LF."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    with source.open("rb") as reader, target.open("wb") as writer:
        while True:
            chunk = reader.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise UploadRejected("text_not_utf8", {"problem": "encoding"}) from exc
            bad = _FORBIDDEN_TEXT.search(text)
            if bad:
                raise UploadRejected(
                    "text_not_utf8",
                    {"problem": "control_character", "character": f"U+{ord(bad.group()):04X}"},
                )
            writer.write(text.encode("utf-8"))
            if not chunk:
                return ()
