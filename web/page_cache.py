"""Public pages rendered once per language for visitors, then served from memory.

Only views marked `@for_visitors` (content pages: home, help, the scam warning…) are
cached, and only for a request that cannot be anyone's: a GET without a query string and
without any cookie but the language's (no session, no CSRF token, no adviser's hand-over).
A response is kept only when it is a 200 that set no cookie, left the session empty and
holds no form token, so nothing of a person can be cached and served to another. The cache
lives in the application (one per process), holds the page as rendered and, once asked
for, its brotli and gzip bodies; it empties when the process restarts (a new release, new
translations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Flask, Response, current_app, make_response, request, session
from flask_babel import get_locale

from web.i18n import LANG_COOKIE
from web.security import MIN_COMPRESS_BYTES, choose_encoding, compress

EXTENSION = "carnet_page_cache"
MAX_PAGES = 256
# Headers a cached page is served with again (the rest is the same for every response and
# added by web/security.py and web/proxy.py).
KEPT_HEADERS = ("Content-Type", "Content-Language", "Vary")


@dataclass
class Page:
    body: bytes
    headers: list[tuple[str, str]]
    encoded: dict[str, bytes] = field(default_factory=dict)


def for_visitors(view: Callable) -> Callable:
    """Serve this view's page from memory to visitors (see the module's rules)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _anyones():
            return view(*args, **kwargs)
        pages: dict = current_app.extensions[EXTENSION]
        key = (request.path, str(get_locale()))
        page = pages.get(key)
        if page is None:
            response = make_response(view(*args, **kwargs))
            if _keepable(response) and len(pages) < MAX_PAGES:
                pages[key] = Page(response.get_data(), [
                    (name, value) for name, value in response.headers.items()
                    if name in KEPT_HEADERS])
            return response
        return _serve(page)

    wrapper.carnet_visitor_cache = True
    return wrapper


def _anyones() -> bool:
    """Whether the request could be anyone's: nothing in it but the path and a language."""
    return (request.method == "GET" and not request.query_string
            and set(request.cookies) <= {LANG_COOKIE})


def _keepable(response: Response) -> bool:
    return (response.status_code == 200 and not response.headers.getlist("Set-Cookie")
            and not response.direct_passthrough and not response.is_streamed
            and "Content-Encoding" not in response.headers and not session
            and b'name="csrf_token"' not in response.get_data())


def _serve(page: Page) -> Response:
    response = Response(page.body)
    response.headers.clear()
    response.headers.extend(page.headers)
    encoding = choose_encoding(request.headers.get("Accept-Encoding", ""))
    if encoding is not None and len(page.body) >= MIN_COMPRESS_BYTES:
        if encoding not in page.encoded:
            page.encoded[encoding] = compress(page.body, encoding)
        response.set_data(page.encoded[encoding])
        response.headers["Content-Encoding"] = encoding
        response.vary.add("Accept-Encoding")
    return response


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = {}
