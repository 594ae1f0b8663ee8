"""The patient's side of access control: who may see what (more pages join with the
access-control issue: blocks, attending doctor, emergency settings, history)."""

from flask import Blueprint

bp = Blueprint("access", __name__, url_prefix="/acces")

from blueprints.access import history, views  # noqa: E402,F401
