"""Signing in (password, then second factor), signing out, staying signed in."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from blueprints.auth import letter, passkey, reset, views  # noqa: E402,F401
