"""What may be uploaded and how a refusal is told: the allowed kinds with their file-name
extensions and MIME types, the reason codes (REASONS) and UploadRejected, plus the read size
every step shares."""

from __future__ import annotations

from typing import Any

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

CHUNK = 64 * 1024


class UploadRejected(Exception):
    """`reason` is one of REASONS; `details` carries what the message needs, e.g.
    {"detected": "docx", "extension": "pdf"} or {"limit_mb": 5}."""

    def __init__(self, reason: str, details: dict[str, Any] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.details: dict[str, Any] = dict(details or {})
