"""Secrets that must live in the web session for a step or two (an authenticator secret
being added, recovery codes on their way to the page that shows them once): sealed under the
server key (domain/crypto.py), so the session row never holds them in clear."""

from __future__ import annotations

import base64
import json

from flask import session

from extensions import keys


def _associated(key: str) -> str:
    return f"web_session.{key}"


def put(key: str, value) -> None:
    """Keep `value` (anything JSON can hold) sealed in the session under `key`."""
    sealed = keys.ring.seal_server(json.dumps(value).encode(), _associated(key))
    session[key] = base64.b64encode(sealed).decode()


def get(key: str, default=None):
    """The value kept under `key`, or `default`."""
    stored = session.get(key)
    if not stored:
        return default
    return json.loads(keys.ring.open_server(base64.b64decode(stored), _associated(key)))


def pop(key: str, default=None):
    """The value kept under `key` (or `default`), forgotten from the session."""
    value = get(key, default)
    session.pop(key, None)
    return value
