"""Requests as the site sees them behind a reverse proxy: the client's address and scheme
from the trusted hops only, a request id for logs, audit rows and error pages, and the
origin check that stands in for Flask-WTF's Referer check.

Why not the Referer: every page sends `Referrer-Policy: no-referrer` (SECURITY.md), so
browsers send no Referer, and Flask-WTF's strict HTTPS mode refuses every POST without
one. Browsers do tell where a request comes from in `Sec-Fetch-Site` (set by the browser,
never by a page). Under `no-referrer` they send `Origin: null` on a POST, so Origin only
helps when it names a real origin. A request is refused when either header proves it came
from another site; the CSRF token (bound to the server-side session, or for a visitor
without one to a random value in its own cookie: web/csrf.py) is still required of every
state-changing request, so an old browser that sends neither header is as safe as before.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from domain.audit import REQUEST_ID
from web import access

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")
REQUEST_ID_HEADER = "X-Request-ID"


def trust_proxies(app: Flask, hops: int) -> None:
    """Believe X-Forwarded-For/-Proto/-Host/-Port from exactly `hops` proxies in front of
    the app (0: none, the default). A client can write these headers too: with one nginx
    in front, only the last value, the one nginx set, is taken."""
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_port=hops, x_prefix=0)


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins() -> set[str]:
    """This site's origin as the request reached it, and as PUBLIC_URL names it."""
    origins = {_origin(request.host_url)}
    origins.add(_origin(current_app.config["PUBLIC_URL"]))
    return {origin for origin in origins if origin}


def cross_site_reason() -> str | None:
    """Why this state-changing request comes from another site, or None."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {fetch_site}"
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and origin.lower() not in allowed_origins():
        return "Origin is another site"
    return None


def check_origin() -> None:
    if request.method in SAFE_METHODS or access.for_apps():
        return  # the app API takes no cookie: a cross-site call carries no ambient right
    reason = cross_site_reason()
    if reason is not None:
        raise CSRFError(f"The request comes from another site ({reason}).")


def start_request() -> None:
    """Give the request its id: the proxy's when a trusted proxy sent a well-formed one,
    else a new random one."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    trusted = current_app.config["TRUSTED_PROXY_HOPS"] > 0
    if trusted and REQUEST_ID_RE.fullmatch(incoming):
        request_id = incoming
    else:
        request_id = secrets.token_hex(16)
    g.request_id = request_id
    g.request_id_token = REQUEST_ID.set(request_id)


def end_request(_exc=None) -> None:
    token = g.pop("request_id_token", None)
    if token is None:
        return
    try:
        REQUEST_ID.reset(token)
    except ValueError:  # torn down in another context (a streamed body): just forget it
        REQUEST_ID.set(None)


def tag_response(response):
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


def init_app(app: Flask) -> None:
    trust_proxies(app, app.config["TRUSTED_PROXY_HOPS"])
    # First of all before_request functions: every later one, and every audit row and log
    # line, sees the request id.
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.before_request(check_origin)
    app.after_request(tag_response)
    app.teardown_request(end_request)
