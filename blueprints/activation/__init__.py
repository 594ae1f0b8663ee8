"""Activation, opposition and provisional codes: the anonymous side of a space's life."""

from flask import Blueprint

bp = Blueprint("activation", __name__, url_prefix="/activation")

from blueprints.activation import views_activate, views_oppose  # noqa: E402,F401
