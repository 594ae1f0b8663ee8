"""Where Flask-WTF's raw CSRF token lives while a visitor has no server-side session.

Flask-WTF (`extensions.csrf`) is the only CSRF mechanism. `generate_csrf` keeps a random raw
token in `session["csrf_token"]` and puts in the page a copy signed with
WTF_CSRF_SECRET_KEY (an HMAC bound to that raw token); `validate_csrf` accepts a form field
or an `X-CSRFToken` header only when its signature holds and it carries the session's raw
token.

For a signed-in person, or an anonymous flow that has written server state (a pending
sign-in, an activation under way), that session is the web_sessions row. A visitor who is
only shown a form gets no row: web/sessions.py keeps the raw token in the cookie below
instead, which makes it a signed double-submit token. Another site can neither read the
cookie nor, under its `__Host-` name over HTTPS, plant one; SameSite=Lax keeps it off
cross-site posts altogether.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import Flask, Request, Response

# Flask-WTF's raw tokens are 40 hex digits today; anything URL-safe and long enough to be
# random is taken, junk is not (it counts as no cookie, so the request is refused).
RAW_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,128}")
KEY_PURPOSE = b"carnet-sante/csrf-token/v1"


def signing_key(secret_key: str | bytes) -> str:
    """The key that signs CSRF tokens, derived from SECRET_KEY for this purpose only."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(secret, KEY_PURPOSE, hashlib.sha256).hexdigest()


def field_name(app: Flask) -> str:
    """The session key under which Flask-WTF keeps its raw token."""
    return app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def read_cookie(app: Flask, request: Request) -> str | None:
    """The raw token from the visitor's CSRF cookie, when it is well formed."""
    value = request.cookies.get(app.config["CSRF_COOKIE_NAME"], "")
    return value if RAW_TOKEN_RE.fullmatch(value) else None


def has_cookie(app: Flask, request: Request) -> bool:
    return app.config["CSRF_COOKIE_NAME"] in request.cookies


def set_cookie(app: Flask, response: Response, raw_token: str) -> None:
    # No Max-Age: it goes with the browser session, and with Clear-Site-Data at sign-out.
    response.set_cookie(app.config["CSRF_COOKIE_NAME"], raw_token, path="/",
                        secure=app.config["SESSION_COOKIE_SECURE"], httponly=True,
                        samesite=app.config["SESSION_COOKIE_SAMESITE"])


def delete_cookie(app: Flask, response: Response) -> None:
    response.delete_cookie(app.config["CSRF_COOKIE_NAME"], path="/",
                           secure=app.config["SESSION_COOKIE_SECURE"], httponly=True,
                           samesite=app.config["SESSION_COOKIE_SAMESITE"])


def init_app(app: Flask) -> None:
    """Sign tokens with a key of their own unless one is configured (read at each request
    by Flask-WTF, so setting it after CSRFProtect.init_app is fine)."""
    app.config.setdefault("WTF_CSRF_SECRET_KEY", signing_key(app.config["SECRET_KEY"]))
