"""Checking and cleaning an uploaded file before it is encrypted and stored (SECURITY.md
"Uploads", DESIGN.md §2 "Documents").

The type is decided from the bytes (magic numbers) and must match both the file name's
extension and the allowed list: PDF, JPEG, PNG, TIFF, plain text. Every accepted file is
rewritten into a new file: images are decoded within a pixel limit and re-encoded without
their metadata, PDFs are stripped of JavaScript, automatic actions and embedded files,
text is checked as UTF-8 and copied without its BOM. A refused file raises UploadRejected
with a reason code (REASONS) and details the views turn into a message that says what to do.
"""

from __future__ import annotations

import codecs
import os
import re
import struct
import tempfile
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pikepdf
from PIL import Image, ImageFile, ImageOps, TiffImagePlugin

REASONS = (
    "empty",
    "too_large",
    "extension_not_allowed",
    "type_not_allowed",
    "type_mismatch",
    "unreadable",
    "image_too_large",
    "pdf_unsafe",
    "text_not_utf8",
    "polyglot",
)

KINDS = ("pdf", "jpeg", "png", "tiff", "txt")
EXTENSIONS = {
    "pdf": "pdf",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    "tif": "tiff",
    "tiff": "tiff",
    "txt": "txt",
}
"""Allowed file-name extensions (lower case, no dot) and the kind each one announces."""
CANONICAL_EXTENSIONS = {"pdf": "pdf", "jpeg": "jpg", "png": "png", "tiff": "tif", "txt": "txt"}
MIMETYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "txt": "text/plain; charset=utf-8",
}

MAX_DISPLAY_NAME = 120
MAX_FRAMES = 100
"""Pages of a multi-page TIFF (scanners produce them); each page must fit in max_pixels."""
TOTAL_PIXELS_FACTOR = 5
"""All the pages of a TIFF together may hold at most this many times max_pixels."""

CHUNK = 64 * 1024
HEAD = 8 * 1024
ZIP_TAIL = 22 + 65_535  # end-of-central-directory record plus its longest comment

_PIL_FORMATS = {"jpeg": ["JPEG", "MPO"], "png": ["PNG"], "tiff": ["TIFF"]}
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
_FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_HIDDEN_IN_NAMES = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\ufeff"
)
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
)

# PDF: actions that run code, open other files or programs, or send data somewhere.
_PDF_DANGEROUS_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToE",
        "/GoToR",
        "/Rendition",
        "/RichMediaExecute",
        "/Movie",
        "/Sound",
    }
)
_PDF_REMOVED_ANNOTATIONS = frozenset(
    {
        "/FileAttachment",
        "/RichMedia",
        "/Screen",
        "/Movie",
        "/Sound",
        "/3D",
    }
)


class UploadRejected(Exception):
    """`reason` is one of REASONS; `details` carries what the message needs, e.g.
    {"detected": "docx", "extension": "pdf"} or {"limit_mb": 5}."""

    def __init__(self, reason: str, details: dict[str, Any] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.details: dict[str, Any] = dict(details or {})


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

    detected = _sniff(head, source)
    if detected is not None and detected not in KINDS:
        raise UploadRejected("type_not_allowed", {"detected": detected, "extension": extension})
    if extension not in EXTENSIONS:
        raise UploadRejected(
            "extension_not_allowed",
            {"extension": extension, "allowed": sorted(EXTENSIONS), "detected": detected},
        )
    announced = EXTENSIONS[extension]
    if detected is None:
        if announced == "txt" or _looks_like_text(head):
            detected = "txt"  # checked as UTF-8 below, or a mismatch with the extension
        else:
            raise UploadRejected("unreadable", {"detected": "unknown", "extension": extension})
    if detected != announced:
        raise UploadRejected("type_mismatch", {"detected": detected, "extension": extension})

    if detected != "txt":
        payload = _polyglot_payload(source, detected, head, tail, tail_start, size)
        if payload:
            raise UploadRejected("polyglot", {"detected": detected, "payload": payload})

    fd, name = tempfile.mkstemp(
        prefix="upload-", suffix="." + CANONICAL_EXTENSIONS[detected], dir=work_dir
    )
    os.close(fd)
    target = Path(name)
    try:
        if detected == "txt":
            removed: tuple[str, ...] = _copy_text(source, target)
        elif detected == "pdf":
            removed = _clean_pdf(source, target)
        else:
            removed = _clean_image(source, detected, target, max_pixels)
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


# --- type detection -------------------------------------------------------------------


def _mb(value: int) -> int | float:
    megabytes = round(value / (1024 * 1024), 1)
    return int(megabytes) if megabytes.is_integer() else megabytes


def _extension(filename: str) -> str:
    name = re.split(r"[/\\]", filename or "")[-1].strip().rstrip(". ")
    _, dot, extension = name.rpartition(".")
    return extension.strip().lower()[:16] if dot else ""


def _sniff(head: bytes, source: Path) -> str | None:
    """The kind the bytes announce: one of KINDS, a refused kind named like its usual
    extension ("docx", "exe", "heic", "dcm"…), or None when no signature is known (maybe
    plain text)."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _zip_kind(source)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "doc"
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head.startswith(b"MZ") and _is_dos_executable(head):
        return "exe"
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
    return _markup_kind(head)


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


def _looks_like_text(head: bytes) -> bool:
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return not _FORBIDDEN_TEXT.search(text)


# --- polyglots ------------------------------------------------------------------------


def _polyglot_payload(
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


# --- cleaning -------------------------------------------------------------------------


def _copy_text(source: Path, target: Path) -> tuple[str, ...]:
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


def _clean_image(source: Path, kind: str, target: Path, max_pixels: int) -> tuple[str, ...]:
    """Decode within the pixel limit, apply the EXIF orientation, re-encode in the same
    format without metadata (only resolution, colour profile and transparency are kept).
    Every page of a TIFF is kept; other formats keep their first image."""
    removed: set[str] = set()
    # WeasyPrint (the PDF letters) switches Pillow to accepting truncated images when it is
    # imported; an upload must never be accepted half-read.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=_PIL_FORMATS[kind]) as image:
                if image.format not in _PIL_FORMATS[kind]:
                    raise UploadRejected("unreadable", {"detected": kind})
                frames = _check_pixels(image, kind, max_pixels)
                if kind == "tiff":
                    _save_tiff(image, frames, target, removed)
                else:
                    image.seek(0)
                    clean, options = _clean_frame(image, kind, removed)
                    clean.save(target, format=kind.upper(), **options)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadRejected("image_too_large", {"limit_pixels": max_pixels}) from exc
    except UploadRejected:
        raise
    except _DECODE_ERRORS as exc:
        raise UploadRejected("unreadable", {"detected": kind}) from exc
    return tuple(sorted(removed))


def _check_pixels(image: Image.Image, kind: str, max_pixels: int) -> int:
    """Check sizes from the headers, before any pixel is decoded; return the frame count."""
    frames = 1
    total = 0
    while True:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise UploadRejected("unreadable", {"detected": kind})
        total += width * height
        if width * height > max_pixels:
            raise UploadRejected(
                "image_too_large",
                {
                    "width": width,
                    "height": height,
                    "pixels": width * height,
                    "limit_pixels": max_pixels,
                },
            )
        if total > max_pixels * TOTAL_PIXELS_FACTOR or frames > MAX_FRAMES:
            raise UploadRejected(
                "image_too_large",
                {
                    "frames": frames,
                    "pixels": total,
                    "limit_frames": MAX_FRAMES,
                    "limit_pixels": max_pixels * TOTAL_PIXELS_FACTOR,
                },
            )
        if kind != "tiff":
            return 1
        try:
            image.seek(frames)
        except EOFError:
            return frames
        frames += 1


def _save_tiff(image: Image.Image, frames: int, target: Path, removed: set[str]) -> None:
    """Write the pages one at a time, so only one decoded page is in memory."""
    with target.open("w+b") as handle, TiffImagePlugin.AppendingTiffWriter(handle) as writer:
        for index in range(frames):
            image.seek(index)
            clean, options = _clean_frame(image, "tiff", removed)
            clean.save(writer, format="TIFF", **options)
            writer.newFrame()


def _clean_frame(
    frame: Image.Image, kind: str, removed: set[str]
) -> tuple[Image.Image, dict[str, Any]]:
    removed.update(_metadata_names(frame, kind))
    options: dict[str, Any] = {}
    dpi = frame.info.get("dpi")
    if (
        isinstance(dpi, tuple)
        and len(dpi) == 2
        and all(isinstance(value, int | float) and 0 < value < 100_000 for value in dpi)
    ):
        options["dpi"] = dpi
    if isinstance(frame.info.get("icc_profile"), bytes):
        options["icc_profile"] = frame.info["icc_profile"]
    if kind == "png" and "transparency" in frame.info:
        options["transparency"] = frame.info["transparency"]

    clean = ImageOps.exif_transpose(frame)  # decodes; always a new, plain image
    clean.info = {}
    if kind == "jpeg":
        if clean.mode not in ("L", "RGB", "CMYK"):
            clean = clean.convert("RGB")
        options["quality"] = 90
    elif kind == "png":
        if clean.mode == "I":
            clean = clean.convert("I;16")
        elif clean.mode not in ("1", "L", "LA", "P", "I;16", "RGB", "RGBA"):
            clean = clean.convert("RGBA" if "A" in clean.mode else "RGB")
        options["optimize"] = True
    else:
        if clean.mode not in ("1", "L", "LA", "P", "I", "I;16", "F", "RGB", "RGBA", "CMYK"):
            clean = clean.convert("RGBA" if "A" in clean.mode else "RGB")
        options["compression"] = "tiff_lzw"
    return clean, options


def _metadata_names(frame: Image.Image, kind: str) -> set[str]:
    """What the re-encoding drops, for CleanFile.removed."""
    names: set[str] = set()
    info = frame.info
    exif = frame.getexif()
    if "exif" in info or 0x8769 in exif:
        names.add("EXIF")
    if 0x8825 in exif:
        names.update(("EXIF", "GPS"))
    if "xmp" in info or "XML:com.adobe.xmp" in info or 700 in exif:
        names.add("XMP")
    if "photoshop" in info or 33723 in exif:
        names.add("IPTC")
    if "comment" in info or 270 in exif:
        names.add("comment")
    if kind == "png" and any(isinstance(value, str) for value in info.values()):
        names.add("text")
    return names


def _clean_pdf(source: Path, target: Path) -> tuple[str, ...]:
    """Open with pikepdf (qpdf), remove JavaScript, automatic and launching actions,
    embedded files and XFA forms wherever they are, and save a rewritten copy (which also
    drops unreferenced objects and anything after the last %%EOF). An OpenAction that only
    shows a page (a destination or a GoTo action) is kept. Encrypted PDFs are refused as
    unreadable; a saved copy in which a second look still finds active content is refused
    as "pdf_unsafe". Streams are copied as they are, never decompressed."""
    try:
        with pikepdf.open(source) as pdf:
            if pdf.is_encrypted:
                raise UploadRejected("unreadable", {"detected": "pdf", "encrypted": True})
            if len(pdf.pages) == 0:
                raise UploadRejected("unreadable", {"detected": "pdf"})
            removed = _sweep_pdf(pdf)
            if "EmbeddedFiles" in removed and "/Collection" in pdf.Root:
                del pdf.Root["/Collection"]
            pdf.save(target, stream_decode_level=pikepdf.StreamDecodeLevel.none)
        with pikepdf.open(target) as saved:
            remaining = _sweep_pdf(saved)  # changes discarded: only looking
    except pikepdf.PasswordError as exc:
        raise UploadRejected("unreadable", {"detected": "pdf", "encrypted": True}) from exc
    except UploadRejected:
        raise
    except (
        pikepdf.PdfError,
        pikepdf.ForeignObjectError,
        OSError,
        ValueError,
        RuntimeError,
        KeyError,
        TypeError,
    ) as exc:
        raise UploadRejected("unreadable", {"detected": "pdf"}) from exc
    if remaining:
        raise UploadRejected("pdf_unsafe", {"remaining": sorted(remaining)})
    return tuple(sorted(removed))


def _sweep_pdf(pdf: pikepdf.Pdf) -> set[str]:
    """Strip every object of the document in place; return what was found."""
    removed: set[str] = set()
    for obj in pdf.objects:
        _strip_pdf_object(obj, removed)
    _strip_pdf_object(pdf.trailer, removed)
    return removed


def _action_kind(value: Any) -> str | None:
    """The action's type when it is dangerous ("JavaScript", "Launch"…), else None."""
    if not isinstance(value, pikepdf.Dictionary):
        return None
    action = value.get("/S")
    if isinstance(action, pikepdf.Name) and str(action) in _PDF_DANGEROUS_ACTIONS:
        return str(action)[1:]
    if "/JS" in value:
        return "JavaScript"
    uri = value.get("/URI")
    if isinstance(uri, pikepdf.String) and str(uri).strip().lower().startswith(
        ("javascript:", "file:", "data:")
    ):
        return "JavaScript" if str(uri).strip().lower().startswith("javascript:") else "URI"
    return None


def _actions_inside(value: Any) -> set[str]:
    """Dangerous action types in an /AA dictionary or an /OpenAction, for the report."""
    kinds = set()
    candidates = list(value.values()) if isinstance(value, pikepdf.Dictionary) else []
    for candidate in [value, *candidates]:
        kind = _action_kind(candidate)
        if kind:
            kinds.add(kind)
    return kinds


def _strip_pdf_object(obj: Any, removed: set[str]) -> None:
    """Clean one object and its direct children (indirect ones are visited on their own)."""
    if isinstance(obj, pikepdf.Array):
        for item in obj:
            if isinstance(item, pikepdf.Dictionary | pikepdf.Array) and not item.is_indirect:
                _strip_pdf_object(item, removed)
        return
    if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        return
    for key in list(obj.keys()):
        value = obj[key]
        if key == "/AA":
            removed.add("AA")
            removed.update(_actions_inside(value))
            del obj[key]
        elif key == "/OpenAction":
            shows_a_page = isinstance(value, pikepdf.Array) or (
                isinstance(value, pikepdf.Dictionary) and value.get("/S") == pikepdf.Name.GoTo
            )
            if not shows_a_page:
                removed.add("OpenAction")
                removed.update(_actions_inside(value))
                del obj[key]
        elif key in ("/A", "/PA", "/Next"):
            if isinstance(value, pikepdf.Array):
                keep = [item for item in value if not _action_kind(item)]
                removed.update(kind for item in value if (kind := _action_kind(item)))
                if len(keep) != len(value):
                    obj[key] = pikepdf.Array(keep)
            elif kind := _action_kind(value):
                removed.add(kind)
                del obj[key]
        elif key == "/JS":
            removed.add("JavaScript")
            del obj[key]
        elif key == "/JavaScript" and isinstance(value, pikepdf.Dictionary):
            removed.add("JavaScript")  # the document-level name tree in /Names
            del obj[key]
        elif key in ("/EmbeddedFiles", "/EF", "/AF"):
            removed.add("EmbeddedFiles")
            del obj[key]
        elif key == "/XFA":
            removed.add("XFA")
            del obj[key]
        elif key == "/Annots" and isinstance(value, pikepdf.Array):
            keep = []
            for annotation in value:
                subtype = (
                    annotation.get("/Subtype")
                    if isinstance(annotation, pikepdf.Dictionary)
                    else None
                )
                if isinstance(subtype, pikepdf.Name) and str(subtype) in _PDF_REMOVED_ANNOTATIONS:
                    removed.add(str(subtype)[1:])
                else:
                    keep.append(annotation)
            if len(keep) != len(value):
                obj[key] = pikepdf.Array(keep)
    # A dangerous action still reachable some other way is emptied in place.
    kind = _action_kind(obj) if isinstance(obj, pikepdf.Dictionary) else None
    if kind:
        removed.add(kind)
        for key in list(obj.keys()):
            if key != "/Type":
                del obj[key]
    for key in list(obj.keys()):
        child = obj[key]
        if isinstance(child, pikepdf.Dictionary | pikepdf.Array) and not child.is_indirect:
            _strip_pdf_object(child, removed)
