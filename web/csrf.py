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

Pages ask for the signed copy through form_token() below: Flask-WTF's generate_csrf, the
same token (itsdangerous's URLSafeTimedSerializer format, which validate_csrf reads), signed
by a signer whose key is derived once per secret. The copy is signed anew on every request
(it carries the time): a token that stayed the same page after page, compressed next to
what the request brought (the way back, the language links), could be read from response
sizes alone (BREACH) on browsers that ignore SameSite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time

from flask import Flask, Request, Response, current_app, g, session

from domain.crypto import KeyedHash

# Flask-WTF's raw tokens are 40 hex digits today; anything URL-safe and long enough to be
# random is taken, junk is not (it counts as no cookie, so the request is refused).
RAW_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,128}")
KEY_PURPOSE = b"carnet-sante/csrf-token/v1"
SALT = "wtf-csrf-token"  # Flask-WTF's: its validate_csrf checks copies signed with it
SIGNERS = "carnet_csrf_signers"  # app.extensions: signing key -> TokenSigner


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


class TokenSigner:
    """What itsdangerous's URLSafeTimedSerializer(secret, salt=SALT).dumps(raw) makes, and
    Flask-WTF's validate_csrf loads: the raw token as compact JSON in URL-safe base64, the
    time in seconds, and an HMAC-SHA1 of both under a key derived from the secret as
    itsdangerous derives it ("django-concat"). The serializer derived that key, and tried
    to compress the payload, on every call: 19 µs a token in a loop, 60 to 80 µs inside a
    request; this, 5 µs in a loop.

    The payload is never compressed: the serializer keeps its zlib form only when that is
    shorter, which a random token's never is, and its loads() reads both forms."""

    def __init__(self, secret: str | bytes) -> None:
        secret = secret.encode() if isinstance(secret, str) else secret
        self.key = hashlib.sha1(SALT.encode() + b"signer" + secret).digest()  # noqa: S324 - as itsdangerous
        self._mac = KeyedHash(self.key, hashlib.sha1)

    def sign(self, raw: str, now: int | None = None) -> str:
        stamp = int(time.time()) if now is None else now
        value = b".".join((_base64(json.dumps(raw, ensure_ascii=False,
                                                       separators=(",", ":")).encode()),
                           _base64(stamp.to_bytes((stamp.bit_length() + 7) // 8, "big"))))
        return (value + b"." + _base64(self._mac.digest(value))).decode()


def _base64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def form_token() -> str:
    """The request's signed CSRF token, as Flask-WTF's generate_csrf makes it: a raw token
    in the session (made when there is none), a copy signed with it and the time, kept in
    `g` for the rest of the request (where Flask-WTF's generate_csrf finds it too)."""
    app = current_app._get_current_object()
    name = field_name(app)
    token = g.get(name)
    if token is None:
        if name not in session:
            session[name] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - as Flask-WTF
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        signers = app.extensions[SIGNERS]
        signer = signers.get(secret)
        if signer is None:
            signer = signers[secret] = TokenSigner(secret)
        token = signer.sign(session[name])
        setattr(g, name, token)
    return token


def init_app(app: Flask) -> None:
    """Sign tokens with a key of their own unless one is configured (read at each request
    by Flask-WTF, so setting it after CSRFProtect.init_app is fine); templates' csrf_token()
    is form_token() (after CSRFProtect.init_app, which installs generate_csrf)."""
    app.config.setdefault("WTF_CSRF_SECRET_KEY", signing_key(app.config["SECRET_KEY"]))
    app.extensions[SIGNERS] = {}
    # Both: a macro imported without context (components/forms.html's csrf()) sees only
    # the globals; a page's own context holds Flask-WTF's generate_csrf from its context
    # processor, which this one, registered after it, replaces.
    app.jinja_env.globals["csrf_token"] = form_token
    app.context_processor(lambda: {"csrf_token": form_token})
