"""Public pages: home, fraud warning, help, accessibility, sitemap, legal notice, language."""

from flask import Blueprint

bp = Blueprint("pages", __name__)

from blueprints.pages import views  # noqa: E402,F401
