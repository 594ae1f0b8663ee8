"""The medical profile: sections, measures, vaccinations, entourage and wishes, summary."""

from flask import Blueprint

bp = Blueprint("profile", __name__, url_prefix="/profil")

from blueprints.profile import measures, summary, views, wishes  # noqa: E402,F401
