"""The signed-in person's own account: active sessions, password, closing the space."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from blueprints.account import password, views  # noqa: E402,F401
