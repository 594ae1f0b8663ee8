"""The professional portal (health professionals)."""

from flask import Blueprint

bp = Blueprint("pro", __name__)

from blueprints.pro import patients, views  # noqa: E402,F401
