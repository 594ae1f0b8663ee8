"""Secure messaging between care professionals and patients: the patient's inbox under
/messagerie, the professional's under /pro/messagerie."""

from flask import Blueprint, current_app, request
from flask_login import current_user

from domain.messaging import MAX_ATTACHMENTS

bp = Blueprint("messages", __name__)


@bp.url_value_preprocessor
def _room_for_every_file(_endpoint, _values) -> None:
    """A message carries up to MAX_ATTACHMENTS files of MAX_UPLOAD_MB each (the form says
    so), but the app-wide request limit holds one file: raise it for a signed-in person's
    message. Set here because this runs before any before_request, and the CSRF check
    reads the body in one."""
    if request.method == "POST" and current_user.is_authenticated:
        request.max_content_length = (
            MAX_ATTACHMENTS * current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024 + 64 * 1024)


from blueprints.messages import patient, pro  # noqa: E402,F401
