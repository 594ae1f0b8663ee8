"""The medical agenda: appointments and reminders, list and month views, suggestions from
the vaccination schedule, calendar export and private subscription."""

from flask import Blueprint

bp = Blueprint("agenda", __name__, url_prefix="/agenda")

from blueprints.agenda import export, views  # noqa: E402,F401
