"""An assisted session's request glue: the accompaniment a person's session belongs to,
what the layout shows of it (the adviser's name and structure, the end button, the idle
end), and ending it so that nothing of the person stays on the tablet."""

from __future__ import annotations

from types import SimpleNamespace

from flask import current_app, g, redirect, session, url_for
from flask_login import current_user, logout_user

from domain import assist
from domain.models import Accompaniment, User
from extensions import db, keys
from web.access import actor
from web.sessions import ACCOMPANIMENT

# Everything of the origin: the page cache, cookies (the person's session), storage.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'
# ?raison= of the end page: the idle time's refresh asks for "inactivite" (it ends the
# accompaniment), and the page then says it ended that way.
IDLE = "inactivite"
IDLE_ENDED = "inactivite-terminee"


def accompaniment() -> Accompaniment | None:
    """The running accompaniment of this request's session, or None (once per request)."""
    state = g._get_current_object()  # see web/i18n.py's _chosen_language
    if "accompaniment" not in state:
        state.accompaniment = assist.running(db.session, session.get(ACCOMPANIMENT)) if (
            session) else None
    return state.accompaniment


def assisted() -> bool:
    return accompaniment() is not None


def banner() -> SimpleNamespace | None:
    """What every page of an assisted session shows: who helps, from which structure,
    and when the idle end comes (seconds)."""
    running = accompaniment()
    if running is None:
        return None
    adviser = db.session.get(User, running.adviser_id)
    return SimpleNamespace(
        id=running.id, adviser=adviser.display_name if adviser else "",
        structure=running.structure or "",
        idle_seconds=current_app.config["SESSION_ASSISTED_IDLE_MINUTES"] * 60,
        end_url=url_for("adviser.ended", accompaniment_id=running.id))


def end_response(reason: str):
    """End the running accompaniment: the person's session destroyed on the server, the
    browser told to clear everything of the site, and the end page, where the adviser
    resumes the desk."""
    running = accompaniment()
    idle = IDLE_ENDED if reason == "idle" else None
    target = url_for("adviser.ended", accompaniment_id=running.id, raison=idle) if (
        running) else url_for("pages.home")
    if running is not None:
        assist.end(db.session, keys.ring, running, reason, actor())
    if current_user.is_authenticated:
        logout_user()
    session.destroy()
    db.session.commit()
    response = redirect(target, 303)
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response
