"""Type detection from the bytes (magic numbers): the kind a file really is, whatever its
name says, including the refused kinds named like their usual extension ("docx", "exe",
"heic"…) so the message can say what was sent."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path


def sniff(head: bytes, source: Path) -> str | None:
    """The kind the bytes announce: one of KINDS, a refused kind named like its usual
    extension ("docx", "exe", "heic", "dcm"…), or None when no signature is known (maybe
    plain text). The signatures are tried in a fixed order, the first match wins."""
    return (
        _allowed_kind(head)
        or _office_or_program_kind(head, source)
        or _refused_image_kind(head)
        or _other_refused_kind(head)
        or _markup_kind(head)
    )


def _allowed_kind(head: bytes) -> str | None:
    """PDF, JPEG, PNG or TIFF."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    return None


def _office_or_program_kind(head: bytes, source: Path) -> str | None:
    """ZIP archives (and the office documents made of one), Word 97 documents, executables."""
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _zip_kind(source)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "doc"
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head.startswith(b"MZ") and _is_dos_executable(head):
        return "exe"
    return None


def _refused_image_kind(head: bytes) -> str | None:
    """Images and videos that are not taken: GIF, HEIC, AVIF, MP4, WebP, BMP, JPEG 2000,
    DICOM."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "heic"
        return "avif" if brand in (b"avif", b"avis") else "mp4"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp"
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "jp2"
    if head[128:132] == b"DICM":
        return "dcm"
    return None


def _other_refused_kind(head: bytes) -> str | None:
    """RTF, PostScript and compressed archives."""
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"%!PS"):
        return "ps"
    if head.startswith(b"\x1f\x8b"):
        return "gz"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    return None


def _is_dos_executable(head: bytes) -> bool:
    if len(head) < 64:
        return False
    pe_offset = int.from_bytes(head[60:64], "little")
    if head[pe_offset : pe_offset + 4] == b"PE\x00\x00":
        return True
    return b"\x00" in head[:64]  # a DOS header is binary; "MZ…" plain text is not


def _zip_kind(source: Path) -> str:
    """Name ZIP-based office documents (docx, xlsx, pptx, odt, ods, odp, epub); else zip.
    Only the central directory and at most 128 bytes of the "mimetype" entry are read."""
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" in names:
                for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
                    if any(entry.startswith(prefix) for entry in names):
                        return kind
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    mimetype = entry.read(128).decode("ascii", "replace").strip()
                return {
                    "application/vnd.oasis.opendocument.text": "odt",
                    "application/vnd.oasis.opendocument.spreadsheet": "ods",
                    "application/vnd.oasis.opendocument.presentation": "odp",
                    "application/epub+zip": "epub",
                }.get(mimetype, "zip")
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        KeyError,
        EOFError,
        RuntimeError,
        NotImplementedError,
    ):
        return "zip"
    return "zip"


def _markup_kind(head: bytes) -> str | None:
    """Return "html" or "svg" when the file starts (after a BOM and blanks) with markup."""
    start = head[:1024].removeprefix(codecs.BOM_UTF8).lstrip().lower()
    if not start.startswith(b"<"):
        return None
    if b"<svg" in start:
        return "svg"
    for marker in (b"<html", b"<!doctype html", b"<script", b"<body", b"<head", b"<iframe"):
        if marker in start:
            return "html"
    return None
