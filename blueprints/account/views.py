
from flask import (
    Response,
    abort,
    current_app,
    flash,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user, logout_user

from blueprints.account import bp
from domain import auth, closing, exports, factor_reset, sign_in
from domain import sessions as web_sessions
from domain.errors import NotAllowed
from domain.forms import Field
from domain.models.base import utcnow
from domain.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from domain.policy import Area
from extensions import blobs, db, keys, limiter
from web.access import actor, allow
from web.devices import describe_device
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.labels import export as export_labels
from web.reauth import password_error
from web.render import redirect_to, render_page, swap_or_see_other
from web.space import account, owner_account, represented
from web.space import owner as space_owner

# Closing the space: what becomes of the data, that the person understood, and their
# password (checked like at sign-in: same waits, same audit).
CLOSE_FORM = Form(
    Field("retention", "choice", required=True, choices=("archive", "delete")),
    Field("understood", "yes", required=True),
    Field("password", "password", required=True, max_length=PASSWORD_MAX_LENGTH),
    messages={
        "retention": _l("Choisissez ce que deviennent vos données."),
        "understood": _l("Cochez la case pour confirmer que vous avez compris."),
    })


def _list_context(message: str | None = None) -> dict:
    records = web_sessions.for_user(db.session, current_user.id)
    current_id = session.record.id if session.record is not None else None
    rows = [{"id": r.id, "current": r.id == current_id, "created_at": r.created_at,
             "last_seen": r.last_seen, "device": describe_device(r.user_agent),
             "assisted": r.assisted_by_id is not None} for r in records]
    return {"rows": rows, "message": message,
            "letter_asked": factor_reset.pending_asked(db.session,
                                                       current_user._get_current_object())}


@bp.get("/mon-compte/sessions")
@allow(Area.ACCOUNT)
def sessions_list():
    return render_page("account/sessions.html", **_list_context())


@bp.post("/mon-compte/sessions/<string:session_id>/terminer")
@allow(Area.ACCOUNT)
def session_end(session_id: str):
    """End one of my other sessions; someone else's id answers 404."""
    if session.record is not None and session_id == session.record.id:
        abort(400)  # the current session ends with "Se déconnecter", which clears the device
    ended = web_sessions.end_other(db.session, keys.ring, current_user.id, session_id,
                                   actor=actor())
    if ended is None:
        abort(404)
    db.session.commit()
    message = _("La session a été terminée.")
    return swap_or_see_other(
        lambda: render_page("account/sessions.html", fragment="account/_session_list.html",
                            target="session-list", **_list_context(message)),
        url_for("account.sessions_list"), message)


@bp.post("/mon-compte/courrier/annuler")
@allow(Area.ACCOUNT)
def letter_cancel():
    """Cancel a letter asked for to change phones: someone else knew the password."""
    if factor_reset.cancel(db.session, keys.ring, account(),
                           actor=actor()):
        flash(_("Le courrier est annulé : son code ne fonctionnera pas. Changez aussi votre mot "
                "de passe, que quelqu’un d’autre connaît."), "success")
    db.session.commit()
    return redirect_to(url_for("account.change_password"))


def _ip_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _password_key() -> str:
    """The sign-in page's key (one identifier from one address), in the same shared scope:
    a password guessed here uses up the same allowance as one guessed at sign-in."""
    login = getattr(current_user, "login", None) or ""
    return sign_in.limit_key(keys.ring, auth.normalise_login(login), request.remote_addr)


def _password_error(password: str) -> tuple[str, str] | None:
    """Check the re-entered password like the sign-in page does (same waits, same audit)."""
    return password_error(account(), password, auth.CLOSE_SPACE)


@bp.route("/mon-compte/fermer", methods=["GET", "POST"])
@allow(Area.PATIENT_SPACE)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_password_key,
                      methods=["POST"])
def close():
    """Close my space after re-entering my password; archive 10 years or delete now."""
    errors, typed = [], CLOSE_FORM.blank()
    if request.method == "POST":
        filled = CLOSE_FORM.read()
        errors, typed = list(filled.errors), filled.typed
        if "password" in filled.values:
            password_error = _password_error(filled.values["password"])
            if password_error is not None:
                errors.append(password_error)
        if not errors:
            try:
                closing.close_space(db.session, keys.ring, owner_account(),
                                    delete_now=filled.values["retention"] == "delete",
                                    now=utcnow(), actor=actor())
            except NotAllowed:
                abort(409)
            if represented() is not None:  # a child's space: the parent stays signed in
                db.session.commit()
                flash(_("L’espace santé de %(name)s est fermé.",
                        name=represented().person.given_name), "success")
                return redirect_to(url_for("space.dashboard", space_id=None))
            logout_user()
            session.destroy()
            db.session.commit()
            response = redirect_to(url_for("pages.space_closed"))
            response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
            return response
        db.session.commit()  # the failure count and its audit row stay
    return render_page("account/close.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors), choice=typed["retention"],
                       understood=typed["understood"])


@bp.get("/mon-compte/export.zip")
@allow(Area.PATIENT_SPACE)
def export():
    """Everything my space holds, as a ZIP I can keep before closing it, streamed as it is
    written (never whole in memory)."""
    chunks = exports.export_space(db.session, keys.ring, blobs.store, space_owner(),
                                  actor=actor(), standards=export_labels.standards())
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = (
        "attachment; filename=\"mon-espace-sante.zip\"; filename*=UTF-8''mon-espace-sante.zip")
    return response
