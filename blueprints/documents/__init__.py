"""The patient's document vault: list, add, read, download, change, hide, delete."""

from flask import Blueprint

bp = Blueprint("documents", __name__, url_prefix="/documents")

from blueprints.documents import views  # noqa: E402,F401
