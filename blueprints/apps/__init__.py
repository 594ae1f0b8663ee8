"""Connected apps: the OAuth consent page, the token and revocation endpoints, and the
space's "Services connectés" (withdrawal in one step)."""

from flask import Blueprint

bp = Blueprint("apps", __name__)

from blueprints.apps import views  # noqa: E402,F401
