"""The authenticator QR code a set-up page shows: an image of its own, holding the key the
page shows in text, never kept by the browser."""

from __future__ import annotations

import io
from urllib.parse import quote

import segno
from bs4 import BeautifulSoup

# The QR image of a key a set-up page made: it answers only in that flow (404 otherwise),
# so the tests that walk every route leave it to the flows' own tests, which check_qr.
QR_IMAGE_ENDPOINTS = frozenset({"auth.first_sign_in_qr", "activation.factor_qr",
                                "account.second_factor_qr"})


def expected_svg(secret: str, login: str) -> bytes:
    """The otpauth:// link written out here as the Key Uri Format has it (not through the
    app's code), drawn as the app draws it."""
    issuer = quote("Carnet santé")
    uri = (f"otpauth://totp/{issuer}:{quote(login)}?secret={secret}&issuer={issuer}")
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False,
                                     svgns=True, dark="#000", light="#fff")
    return buffer.getvalue()


def check_qr(client, html: str, secret: str, login: str) -> str:
    """The page's QR image answers, as an SVG of this key and login, no-store; its URL."""
    image = BeautifulSoup(html, "html.parser").select_one("img.qr")
    source = image["src"]
    assert source.startswith("/") and "data:" not in html
    assert image["alt"] and image["width"] == image["height"] == "200"
    response = client.get(source)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data() == expected_svg(secret, login)
    return source
