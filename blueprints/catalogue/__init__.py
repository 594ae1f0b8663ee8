"""The catalogue of referenced health services: the list by category, and each service's
page (who publishes it, what it asks for and why)."""

from flask import Blueprint

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")

from blueprints.catalogue import views  # noqa: E402,F401
