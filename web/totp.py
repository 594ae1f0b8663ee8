"""Setting up an authenticator app: a new secret, its QR code (an SVG image of its own),
checking a first code."""

from __future__ import annotations

import io

import pyotp
import segno
from flask import Response, current_app


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, login: str) -> str:
    """The otpauth:// link an authenticator app on the same phone opens (a QR code cannot
    be scanned by the phone that shows it)."""
    return pyotp.TOTP(secret).provisioning_uri(name=login or "compte",
                                               issuer_name=current_app.config["SITE_NAME"])


def provisioning_qr(secret: str, login: str) -> Response:
    """The QR code of provisioning_uri, an SVG image answered at a URL of its own. Making it
    (segno tries the eight masks) costs several times a whole page: the page that shows it
    arrives, and can be read and filled in, without waiting for it, and it no longer carries
    the image as base64. Like every dynamic answer it is no-store (web/security.py): it holds
    the key."""
    buffer = io.BytesIO()
    segno.make(provisioning_uri(secret, login), error="m").save(
        buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, dark="#000",
        light="#fff")
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


def code_matches(secret: str, code: str) -> bool:
    return pyotp.TOTP(secret).verify(code, valid_window=1)
