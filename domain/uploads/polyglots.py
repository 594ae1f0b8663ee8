"""Polyglots: a second format hidden in a PDF or an image (markup a browser would run, a ZIP
an unzip tool would open, a PDF header, a DICOM preamble, an executable after the end of the
image), found by reading the head, the tail and what follows the format's end marker."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO

from domain.uploads.kinds import CHUNK

_MARKUP = (
    (b"<script", "html"),
    (b"<html", "html"),
    (b"<!doctype html", "html"),
    (b"<iframe", "html"),
    (b"<body", "html"),
    (b"<object", "html"),
    (b"<embed", "html"),
    (b"<svg", "svg"),
    (b"<?php", "php"),
)


def polyglot_payload(
    source: Path, kind: str, head: bytes, tail: bytes, tail_start: int, size: int
) -> str | None:
    """The second format hidden in a PDF or an image where a browser, an unzip tool or a
    DICOM viewer would find it, or None."""
    found = _markup_in(head[:1024])
    if found:
        return found
    if kind != "pdf" and b"%PDF-" in head[:1024]:
        return "pdf"  # PDF readers accept the header anywhere in the first 1024 bytes
    if head[128:132] == b"DICM":
        return "dicom"
    if _zip_directory_at_end(tail, size - tail_start):
        return "zip"
    if kind == "tiff":  # no end marker: look at the end of the file
        return _markup_in(tail)
    with source.open("rb") as handle:
        if kind == "pdf":
            end = tail.rfind(b"%%EOF")
            payload_start = tail_start + end + 5 if end >= 0 else None
        elif kind == "png":
            payload_start = _png_end(handle, size)
        else:
            payload_start = _jpeg_end(handle)
        if payload_start is None:
            return None
        return _trailing_payload(handle, payload_start, size)


def _markup_in(data: bytes) -> str | None:
    lowered = data.lower()
    for marker, kind in _MARKUP:
        if marker in lowered:
            return kind
    return None


def _zip_directory_at_end(tail: bytes, tail_length: int) -> bool:
    """A ZIP end-of-central-directory record that zip readers would use: it ends the file
    exactly (with its comment), or the central directory it describes sits right before."""
    index = tail.rfind(b"PK\x05\x06")
    while index >= 0:
        record = tail[index : index + 22]
        if len(record) == 22:
            directory_size, _, comment_length = struct.unpack("<IIH", record[12:22])
            directory = index - directory_size
            if index + 22 + comment_length == tail_length:
                return True
            if directory >= 0 and tail[directory : directory + 4] == b"PK\x01\x02":
                return True
        index = tail.rfind(b"PK\x05\x06", 0, index)
    return False


def _trailing_payload(handle: IO[bytes], start: int, size: int) -> str | None:
    """What follows the end of an image or PDF: a ZIP, PDF or executable right after it,
    or markup anywhere in it. Other trailing bytes (phone "motion photo" videos, padding)
    are dropped by the re-encoding."""
    if start >= size:
        return None
    handle.seek(start)
    previous = b""
    first = True
    while chunk := handle.read(CHUNK):
        if first:
            lead = chunk.lstrip(b"\x00\t\r\n ")
            if lead.startswith((b"PK\x03\x04", b"PK\x05\x06")):
                return "zip"
            if lead.startswith(b"%PDF-"):
                return "pdf"
            if lead.startswith((b"MZ", b"\x7fELF")):
                return "executable"
            first = False
        found = _markup_in(previous[-16:] + chunk)
        if found:
            return found
        previous = chunk
    return None


def _png_end(handle: IO[bytes], size: int) -> int | None:
    """Offset just after the IEND chunk, walking chunk headers only."""
    position = 8
    while position + 12 <= size:
        handle.seek(position)
        length, chunk_type = struct.unpack(">I4s", handle.read(8))
        position += 12 + length
        if chunk_type == b"IEND":
            return position
    return None


def _jpeg_end(handle: IO[bytes]) -> int | None:
    """Offset just after the EOI marker: segment lengths are followed and entropy-coded
    data is scanned for the next marker, so an 0xFFD9 inside a segment does not count."""
    reader = _Reader(handle)
    if reader.read(2) != b"\xff\xd8":
        return None
    while True:
        byte = reader.read(1)
        if byte != b"\xff":
            return None
        marker = reader.read(1)
        while marker == b"\xff":
            marker = reader.read(1)
        if not marker:
            return None
        code = marker[0]
        if code == 0xD9:
            return reader.position
        if code == 0x01 or 0xD0 <= code <= 0xD7:
            continue
        length_bytes = reader.read(2)
        if len(length_bytes) < 2:
            return None
        length = int.from_bytes(length_bytes, "big")
        if length < 2:
            return None
        reader.skip(length - 2)
        if code == 0xDA and not reader.skip_entropy_coded_data():
            return None


class _Reader:
    """Buffered forward reading of a file, for the JPEG walk."""

    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        handle.seek(0)
        self.buffer = b""
        self.base = 0
        self.index = 0

    @property
    def position(self) -> int:
        return self.base + self.index

    def _fill(self, needed: int) -> bool:
        while len(self.buffer) - self.index < needed:
            more = self.handle.read(CHUNK)
            if not more:
                return False
            self.buffer = self.buffer[self.index :] + more
            self.base += self.index
            self.index = 0
        return True

    def read(self, count: int) -> bytes:
        self._fill(count)
        data = self.buffer[self.index : self.index + count]
        self.index += len(data)
        return data

    def skip(self, count: int) -> None:
        target = self.position + count
        self.handle.seek(target)
        self.buffer, self.base, self.index = b"", target, 0

    def skip_entropy_coded_data(self) -> bool:
        """Stop before the next marker (0xFF not followed by 0x00, a restart or 0xFF)."""
        while True:
            found = self.buffer.find(b"\xff", self.index)
            if found < 0:
                self.index = len(self.buffer)
                if not self._fill(1):
                    return False
                continue
            self.index = found
            if not self._fill(2):
                return False
            following = self.buffer[self.index + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                self.index += 2
            elif following == 0xFF:
                self.index += 1
            else:
                return True
