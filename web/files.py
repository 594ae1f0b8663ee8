"""Files to the browser: decrypted content streamed under its own name, sandboxed (vault
documents and message attachments alike, for patients and professionals)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, stream_with_context

from domain import vault
from extensions import blobs, keys


def _disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII fallback and the exact UTF-8 name (accents kept)."""
    fallback = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"



def stream_document(owner, document, inline: bool) -> Response:
    """Decrypt a document to the browser as it streams."""
    item = vault.view(keys.ring, owner, document)
    try:
        chunks = vault.open_content(keys.ring, blobs.store, owner, document)
    except KeyError:  # deleted, blob included, by another request since it was loaded
        abort(404)
    return stream_file(chunks, mimetype=document.mimetype, size=document.size,
                       file_name=item.file_name, inline=inline)


def stream_file(chunks, *, mimetype: str, size: int, file_name: str,
                inline: bool) -> Response:
    """Clear content to the browser as it is decrypted, under its own name, sandboxed:
    vault documents and message attachments alike."""
    response = Response(stream_with_context(chunks), mimetype=mimetype,
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = _disposition(
        "inline" if inline else "attachment", file_name)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"
    return response
