"""Public pages: home, fraud warning, help, accessibility, sitemap, legal notice, language."""

from flask import Blueprint

bp = Blueprint("pages", __name__)

import blueprints.pages.menu  # noqa: E402,F401
from blueprints.pages import views  # noqa: E402,F401
