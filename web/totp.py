"""Setting up an authenticator app: a new secret, its QR code (SVG), checking a first code."""

from __future__ import annotations

import base64
import io

import pyotp
import segno
from flask import current_app


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, login: str) -> str:
    """The otpauth:// link an authenticator app on the same phone opens (a QR code cannot
    be scanned by the phone that shows it)."""
    return pyotp.TOTP(secret).provisioning_uri(name=login or "compte",
                                               issuer_name=current_app.config["SITE_NAME"])


def provisioning_qr(secret: str, login: str) -> str:
    """A data: URI of an SVG QR code (allowed by the CSP's img-src)."""
    uri = provisioning_uri(secret, login)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False,
                                     svgns=True, dark="#000", light="#fff")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def code_matches(secret: str, code: str) -> bool:
    return pyotp.TOTP(secret).verify(code, valid_window=1)
