"""Headers on every response, no-store for dynamic pages, and response compression."""

from __future__ import annotations

import gzip

import brotli
from flask import Flask, Response, request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")

COMPRESSIBLE = {"text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
                "application/json", "application/fhir+json", "image/svg+xml", "text/calendar",
                "text/csv"}
MIN_COMPRESS_BYTES = 256
# Brotli quality. A page made for one request: 2. Inside a request (its tables cold in the
# processor's cache) quality 3 took 30 to 45 µs more on a 7-8 KB page, 3 to 4 % of a
# signed-in page's time, for 1 % fewer bytes (a 7 KB dashboard: 2,608 bytes instead of
# 2,567; 4 would make 2,383 in twice the time). Every page stays well within the first
# round trip's 14.6 KB. A body compressed once and then served many times (static files,
# public pages kept in memory): the smallest, 11.
PER_REQUEST_QUALITY = 2
ONCE_QUALITY = 11


def choose_encoding(accept_encoding: str) -> str | None:
    """Pick br, then gzip, among those the client accepts with a non-zero weight."""
    accepted = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        accepted[name.strip().lower()] = weight
    for encoding in ("br", "gzip"):
        if accepted.get(encoding, 0) > 0:
            return encoding
    return None


def compress(body: bytes, encoding: str, quality: int = PER_REQUEST_QUALITY) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=quality)
    return gzip.compress(body, compresslevel=6, mtime=0)


# Every response: set over whatever the view said.
FIXED = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
         ("Cross-Origin-Opener-Policy", "same-origin"),
         ("Cross-Origin-Resource-Policy", "same-origin"), ("X-Frame-Options", "DENY"),
         ("Permissions-Policy",
          "camera=(), microphone=(), geolocation=(), interest-cohort=()"))
# Unless the view said otherwise. Dynamic pages may show a person's data: nothing stays on
# a shared tablet (no-store).
DEFAULTS = (("Content-Security-Policy", CSP),
            ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
            ("Cache-Control", "no-store"))


def add_headers(response: Response) -> Response:
    headers = response.headers
    # The headers the view set, read once: werkzeug's `in`, get and setdefault raise (and
    # catch) an HTTP exception for each missing header, four times a response here. A
    # header not there is added (werkzeug's set looks through every header for it first).
    present = {name.lower() for name, _value in headers.items()}
    for name, value in FIXED:
        if name.lower() in present:
            headers[name] = value
        else:
            headers.add(name, value)
    for name, value in DEFAULTS:
        if name.lower() not in present:
            headers.add(name, value)
    if "content-encoding" not in present:
        _compress_response(response)
    return response


def _compress_response(response: Response) -> None:
    if (response.direct_passthrough or response.is_streamed or response.status_code < 200
            or response.status_code in (204, 304) or response.mimetype not in COMPRESSIBLE):
        return
    encoding = choose_encoding(request.headers.get("Accept-Encoding", ""))
    response.vary.add("Accept-Encoding")
    body = response.get_data()
    if encoding is None or len(body) < MIN_COMPRESS_BYTES:
        return
    response.set_data(compress(body, encoding))
    response.headers["Content-Encoding"] = encoding


def init_app(app: Flask) -> None:
    app.after_request(add_headers)
