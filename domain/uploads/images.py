"""Images (JPEG, PNG, TIFF): decoded within a pixel limit checked from the headers first,
turned upright from the EXIF orientation and re-encoded in the same format without their
metadata (only resolution, colour profile and transparency are kept)."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, ImageOps, TiffImagePlugin

from domain.uploads.kinds import UploadRejected

MAX_FRAMES = 100
"""Pages of a multi-page TIFF (scanners produce them); each page must fit in max_pixels."""
TOTAL_PIXELS_FACTOR = 5
"""All the pages of a TIFF together may hold at most this many times max_pixels."""

_PIL_FORMATS = {"jpeg": ["JPEG", "MPO"], "png": ["PNG"], "tiff": ["TIFF"]}
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


def clean_image(source: Path, kind: str, target: Path, max_pixels: int) -> tuple[str, ...]:
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
