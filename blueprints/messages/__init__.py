"""Secure messaging between care professionals and patients: the patient's inbox under
/messagerie, the professional's under /pro/messagerie."""

from flask import Blueprint

bp = Blueprint("messages", __name__)

from blueprints.messages import patient, pro  # noqa: E402,F401
