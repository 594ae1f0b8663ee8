"""Re-entering one's password to confirm an action (closing a space, choosing a desk PIN,
taking the desk back): checked like at sign-in (same waits, same audit), and the sentence
the form shows when it fails; and the SMS code such a form may ask for."""

from __future__ import annotations

import math
from datetime import datetime

from flask import current_app, session

from domain import auth, sign_in
from domain.models import User
from domain.models.base import utcnow
from extensions import db, keys
from web.access import actor
from web.i18n import gettext as _
from web.i18n import ngettext
from web.outgoing import queue_sms


def wait_message(until: datetime) -> str:
    minutes = max(1, math.ceil((until - utcnow()).total_seconds() / 60))
    return ngettext("Trop d’essais de mot de passe. Attendez %(num)s minute, puis réessayez.",
                    "Trop d’essais de mot de passe. Attendez %(num)s minutes, puis réessayez.",
                    minutes)


def wrong_password_message() -> str:
    return _("Mot de passe incorrect. Saisissez le mot de passe de votre compte.")


def password_error(user: User, password: str, purpose: str) -> tuple[str, str] | None:
    """None when `password` is `user`'s; else the ("password", sentence) error."""
    try:
        auth.check_password(db.session, keys.ring, user, password, actor=actor(),
                            purpose=purpose,
                            policy=sign_in.DelayPolicy.from_settings(current_app.config),
                            hash_profile=current_app.config["PASSWORD_HASH_PROFILE"])
    except auth.SignInDelayed as delayed:
        return ("password", wait_message(delayed.until))
    except auth.InvalidCredentials:
        return ("password", wrong_password_message())
    return None


def send_sms_code(user: User, key: str) -> None:
    """Send the account's second-factor code by SMS for a form that asks for it, and keep
    what checks it (a keyed hash and a deadline) in the session under `key`."""
    challenge = auth.send_sms_code(keys.ring, queue_sms, user)
    session[key] = {"hash": challenge.code_hash, "expires": challenge.expires_at.isoformat()}


def kept_sms_code(key: str) -> auth.SmsChallenge | None:
    """What send_sms_code() kept under `key`, or None."""
    stored = session.get(key)
    if not stored:
        return None
    return auth.SmsChallenge(stored["hash"], datetime.fromisoformat(stored["expires"]))
