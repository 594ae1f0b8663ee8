"""The signed-in person's own account: active sessions."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from blueprints.account import views  # noqa: E402,F401
