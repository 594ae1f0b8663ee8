"""The patient's own space: home page and the sections of the menu."""

from flask import Blueprint

bp = Blueprint("space", __name__)

from blueprints.space import views  # noqa: E402,F401
