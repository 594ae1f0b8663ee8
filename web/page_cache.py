"""Public pages rendered once per language for visitors, then served from memory.

Only views marked `@for_visitors` (content pages: home, help, the scam warning…) are
cached, and only for a request that cannot be anyone's: a GET without a query string and
without any cookie but the language's (no session, no CSRF token, no adviser's hand-over).
A response is kept only when it is a 200 that set no cookie, left the session empty and
holds no form token, so nothing of a person can be cached and served to another. The cache
lives in the application (one per process), holds the page as rendered and, once asked
for, its brotli and gzip bodies; it empties when the process restarts (a new release, new
translations).

A form shown to visitors (`@form_for_visitors`: the sign-in page, the activation code's
page) is kept the same way
with its CSRF token taken out: each visitor's page gets its own token put back
(web.csrf.form_token: from the visitor's CSRF cookie or a new one, as rendering it
would). The visitor's CSRF cookie is the only other cookie allowed. A response is kept only
when the token is the one thing of the request in it: a 200 whose only cookie is the CSRF
cookie and whose session holds only the raw token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Flask, Response, current_app, g, make_response, request, session

from web import csrf
from web.i18n import LANG_COOKIE, language
from web.security import MIN_COMPRESS_BYTES, ONCE_QUALITY, choose_encoding, compress

EXTENSION = "carnet_page_cache"
MAX_PAGES = 256
# Headers a cached page is served with again (the rest is the same for every response and
# added by web/security.py and web/proxy.py).
KEPT_HEADERS = ("Content-Type", "Content-Language", "Vary")
# Stands for the visitor's CSRF token in a kept form page (never a valid token).
FORM_KEY_PLACE = "\x00carnet-csrf-place\x00"


@dataclass
class Page:
    body: bytes
    headers: list[tuple[str, str]]
    encoded: dict[str, bytes] = field(default_factory=dict)


def for_visitors(view: Callable) -> Callable:
    """Serve this view's page from memory to visitors (see the module's rules)."""
    return _from_memory(view, form=False)


def form_for_visitors(view: Callable) -> Callable:
    """Serve this form page from memory to visitors, each with their own CSRF token."""
    return _from_memory(view, form=True)


def _from_memory(view: Callable, *, form: bool) -> Callable:
    """The view, its page kept per path and language for requests that could be anyone's
    (a form's visitors may bring their CSRF cookie)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _anyones({current_app.config["CSRF_COOKIE_NAME"]} if form else set()):
            return view(*args, **kwargs)
        pages: dict = current_app.extensions[EXTENSION]
        key = (request.path, language())
        page = pages.get(key)
        if page is None:
            response = make_response(view(*args, **kwargs))
            body = _form_keepable(response) if form else _keepable(response)
            if body is not None and len(pages) < MAX_PAGES:
                pages[key] = Page(body, [(name, value) for name, value
                                         in response.headers.items() if name in KEPT_HEADERS])
            return response
        return _serve_form(page) if form else _serve(page)

    return wrapper


def _form_keepable(response: Response) -> bytes | None:
    """The page with its token taken out, when the token is all of the request in it."""
    token = g.get(csrf.field_name(current_app))
    cookies = response.headers.getlist("Set-Cookie")
    csrf_cookie = current_app.config["CSRF_COOKIE_NAME"] + "="
    if (response.status_code != 200 or response.direct_passthrough or response.is_streamed
            or "Content-Encoding" in response.headers or not token
            or set(session) - {csrf.field_name(current_app)}
            or any(not cookie.startswith(csrf_cookie) for cookie in cookies)):
        return None
    body = response.get_data()
    if token.encode() not in body:
        return None
    return body.replace(token.encode(), FORM_KEY_PLACE.encode())


def _anyones(allowed: frozenset | set = frozenset()) -> bool:
    """Whether the request could be anyone's: nothing in it but the path and a language
    (and `allowed` cookies); an htmx request may get other headers, so it is rendered."""
    return (request.method == "GET" and not request.query_string
            and "HX-Request" not in request.headers
            and set(request.cookies) <= {LANG_COOKIE, *allowed})


def _keepable(response: Response) -> bytes | None:
    """The page, when nothing of the request is in it."""
    if (response.status_code == 200 and not response.headers.getlist("Set-Cookie")
            and not response.direct_passthrough and not response.is_streamed
            and "Content-Encoding" not in response.headers and not session
            and b'name="csrf_token"' not in response.get_data()):
        return response.get_data()
    return None


def _serve_form(page: Page) -> Response:
    """The kept form with this visitor's token (compressed afterwards, like any page)."""
    response = Response(page.body.replace(FORM_KEY_PLACE.encode(), csrf.form_token().encode()))
    response.headers.clear()
    response.headers.extend(page.headers)
    return response


def _serve(page: Page) -> Response:
    response = Response(page.body)
    response.headers.clear()
    response.headers.extend(page.headers)
    encoding = choose_encoding(request.headers.get("Accept-Encoding", ""))
    if encoding is not None and len(page.body) >= MIN_COMPRESS_BYTES:
        if encoding not in page.encoded:
            page.encoded[encoding] = compress(page.body, encoding, quality=ONCE_QUALITY)
        response.set_data(page.encoded[encoding])
        response.headers["Content-Encoding"] = encoding
        response.vary.add("Accept-Encoding")
    return response


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = {}
