"""Passkeys' request glue: the relying party from the configuration, the challenge kept in
the session between the options and the answer, and JSON answers for the page's script."""

from __future__ import annotations

import base64
import ipaddress
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, jsonify, session

from domain.models.base import utcnow
from domain.passkeys import RelyingParty

CEREMONY = "passkey_ceremony"
CEREMONY_MINUTES = 5


def relying_party() -> RelyingParty | None:
    """The site as passkeys know it (PUBLIC_URL's host and origin), or None where passkeys
    cannot work: WebAuthn refuses an IP address as the site's id."""
    url = urlsplit(current_app.config["PUBLIC_URL"])
    host = url.hostname or ""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if not host:
        return None
    return RelyingParty(name=current_app.config["SITE_NAME"], id=host,
                        origin=f"{url.scheme}://{url.netloc}")


def remember(purpose: str, challenge: bytes, **extra) -> None:
    """Keep the challenge (and what goes with it) until the answer, a few minutes."""
    session[CEREMONY] = {"purpose": purpose,
                         "challenge": base64.b64encode(challenge).decode(),
                         "until": (utcnow() + timedelta(minutes=CEREMONY_MINUTES)).isoformat(),
                         **extra}


def take(purpose: str) -> dict | None:
    """The ceremony kept for `purpose`, once (a challenge answers one try), or None when
    there is none or it is stale. Its challenge comes back as bytes."""
    kept = session.pop(CEREMONY, None)
    if not kept or kept.get("purpose") != purpose or datetime.fromisoformat(
            kept["until"]) < utcnow():
        return None
    return {**kept, "challenge": base64.b64decode(kept["challenge"])}


def answer(status: int = 200, **body):
    """A JSON answer for passkey.js (never cached)."""
    response = jsonify(body)
    response.status_code = status
    return response
