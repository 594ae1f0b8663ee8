"""Files to the browser: decrypted content streamed under its own name, sandboxed (vault
documents and message attachments alike, for patients and professionals)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, stream_with_context

from domain import vault


def _disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII fallback and the exact UTF-8 name (accents kept)."""
    fallback = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def send_download(download: vault.Download, inline: bool) -> Response:
    """A document from vault.download() to the browser as it is decrypted."""
    return stream_file(download.chunks, mimetype=download.mimetype, size=download.size,
                       file_name=download.name, inline=inline)


def stream_file(chunks, *, mimetype: str, size: int, file_name: str,
                inline: bool) -> Response:
    """Clear content to the browser as it is decrypted, under its own name, sandboxed:
    vault documents and message attachments alike."""
    # As stored, parameters included: werkzeug's `mimetype=` would add a second charset
    # to a text type that has one.
    response = Response(stream_with_context(chunks), content_type=mimetype,
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = _disposition(
        "inline" if inline else "attachment", file_name)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"
    return response
