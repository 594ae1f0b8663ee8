"""The signed-in person's own account: active sessions, password, second
factor and recovery codes, e-mail and phone, closing the space."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from blueprints.account import contact, passkeys, password, security, views  # noqa: E402,F401
