from flask import abort, flash, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.account import bp
from domain import audit
from domain import sessions as web_sessions
from domain.policy import Area
from extensions import db, htmx, keys
from web.access import actor, allow
from web.devices import describe_device
from web.render import render_page, see_other


def _list_context(message: str | None = None) -> dict:
    records = web_sessions.for_user(db.session, current_user.id)
    current_id = session.record.id if session.record is not None else None
    rows = [{"id": r.id, "current": r.id == current_id, "created_at": r.created_at,
             "last_seen": r.last_seen, "device": describe_device(r.user_agent),
             "assisted": r.assisted_by_id is not None} for r in records]
    return {"rows": rows, "message": message}


@bp.get("/mon-compte/sessions")
@allow(Area.ACCOUNT)
def sessions_list():
    return render_template("account/sessions.html", **_list_context())


@bp.post("/mon-compte/sessions/<string:session_id>/terminer")
@allow(Area.ACCOUNT)
def session_end(session_id: str):
    """End one of my other sessions; someone else's id answers 404."""
    if session.record is not None and session_id == session.record.id:
        abort(400)  # the current session ends with "Se déconnecter", which clears the device
    ended = web_sessions.end_for_user(db.session, current_user.id, session_id)
    if ended is None:
        abort(404)
    audit.record(db.session, keys.ring, "auth.session_ended", actor=actor(),
                 subject_id=current_user.id, target_type="web_session", target_id=session_id)
    db.session.commit()
    message = _("La session a été terminée.")
    if htmx:
        return render_page("account/sessions.html", fragment="account/_session_list.html",
                           target="session-list", **_list_context(message))
    flash(message, "success")
    return see_other(url_for("account.sessions_list"))
