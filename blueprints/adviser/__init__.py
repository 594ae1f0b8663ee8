"""The adviser's desk (CPAM, France Services): assisted sessions on shared tablets."""

from flask import Blueprint

bp = Blueprint("adviser", __name__)

from blueprints.adviser import handover, views  # noqa: E402,F401
