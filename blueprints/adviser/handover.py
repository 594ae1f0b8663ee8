"""The person's side of an accompaniment: the welcome page after the hand-over, the end
(button, idle time, sign-out), and the end page, where only the adviser's desk PIN or
password gives the desk back."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, request, session, url_for
from flask_login import login_user

from blueprints.adviser import bp
from domain import assist, auth, sessions, sign_in
from domain.forms import Field
from domain.models import Accompaniment, User
from domain.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from domain.policy import Area
from extensions import db, keys, limiter
from web import assist as assisted_session
from web.access import actor, allow
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import ngettext
from web.labels import desk as labels
from web.reauth import wait_message, wrong_password_message
from web.render import redirect_to, render_page, swap_or_see_other

anyone = allow(Area.PUBLIC)

RESUME = Form(Field("pin", "password", max_length=20),
              Field("password", "password", max_length=PASSWORD_MAX_LENGTH, required=False))
RESUME_LIMIT = "20 per 15 minutes"


def _running_or_404() -> Accompaniment:
    running = assisted_session.accompaniment()
    if running is None:
        abort(404)
    return running


@bp.get("/accompagnement")
@anyone
def welcome():
    """The person's first page: who helps them, what they came for, where to start (the
    home page outside an accompaniment)."""
    running = assisted_session.accompaniment()
    if running is None:
        return redirect_to(url_for("pages.home"), 302)
    return render_page("adviser/welcome.html", purpose=running.purpose,
                       purpose_label=labels.PURPOSES[running.purpose])


# Shown to browsers without JavaScript only (in <noscript>): after `seconds`, every part
# of the page is hidden and the idle panel (templates/base.html) takes the screen.
IDLE_CSS = """body > .assist-idle-end {{ display: block; visibility: hidden; position: fixed;
  inset: 0; z-index: 100; overflow: auto; padding-top: 2rem; background: var(--bg);
  animation: assist-idle-show 0s linear {seconds}s forwards; }}
body > :not(.assist-idle-end) {{ animation: assist-idle-hide 0s linear {seconds}s forwards; }}
@keyframes assist-idle-show {{ to {{ visibility: visible; }} }}
@keyframes assist-idle-hide {{ to {{ visibility: hidden; }} }}
"""


@bp.get("/accompagnement/inactivite.css")
@anyone
def idle_css():
    try:
        seconds = min(max(int(request.args.get("seconds", "300")), 60), 3600)
    except ValueError:
        seconds = 300
    response = current_app.response_class(IDLE_CSS.format(seconds=seconds),
                                          mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.post("/accompagnement/terminer")
@anyone
def finish():
    """"Terminer l'accompagnement", on every page of an assisted session."""
    _running_or_404()
    return assisted_session.end_response("button")


@bp.post("/accompagnement/prolonger")
@anyone
def extend():
    """"Rester" in the idle warning of an assisted session, signed in or not."""
    _running_or_404()
    sessions.extend(db.session, session.record)
    db.session.commit()
    message = _("L’accompagnement continue.")
    return swap_or_see_other(
        lambda: render_page("auth/_session_extended.html", message=message),
        url_for("adviser.welcome"), message)


def _end_page(accompaniment_id: str, errors=(), status=200):
    waiting = db.session.get(Accompaniment, (accompaniment_id or "")[:32])
    if waiting is None:
        abort(404)
    adviser = db.session.get(User, waiting.adviser_id)
    pin_field = (adviser is not None and adviser.desk_pin_hash is not None
                 and waiting.pin_failures < assist.PIN_ATTEMPTS)
    # Without a PIN field on the page, what was said of the PIN is said of the password.
    errors = [("password" if name == "pin" and not pin_field else name, text)
              for name, text in errors]
    return render_page("adviser/ended.html", status=status, errors=errors,
                       has_errors=bool(errors), accompaniment_id=waiting.id,
                       resumable=waiting.resumed_at is None, pin_field=pin_field,
                       idle=request.args.get("raison") == assisted_session.IDLE_ENDED)


@bp.get("/accompagnement/fin/<string:accompaniment_id>")
@anyone
def ended(accompaniment_id: str):
    """Where an accompaniment ends: the person's session, if this browser still holds it,
    is destroyed and the device cleared (the idle time's refresh lands here too)."""
    running = assisted_session.accompaniment()
    idle = request.args.get("raison") == assisted_session.IDLE
    if running is not None and running.id == accompaniment_id:
        return assisted_session.end_response("idle" if idle else "button")
    if idle:
        # The session expired on the server first: the accompaniment ends with it, and the
        # browser is cleared by a redirect (the end page itself sets the resume form's
        # CSRF cookie, which a Clear-Site-Data in the same response could wipe).
        assist.idle_out(db.session, keys.ring, accompaniment_id, timedelta(
            minutes=current_app.config["SESSION_ASSISTED_IDLE_MINUTES"]), actor())
        db.session.commit()
        response = redirect_to(url_for("adviser.ended", accompaniment_id=accompaniment_id,
                                       raison=assisted_session.IDLE_ENDED))
        response.headers["Clear-Site-Data"] = assisted_session.CLEAR_SITE_DATA
        return response
    return _end_page(accompaniment_id)


@bp.post("/accompagnement/fin/<string:accompaniment_id>/reprendre")
@anyone
@limiter.limit(RESUME_LIMIT)
def resume(accompaniment_id: str):
    """The adviser takes the desk back: the desk PIN, or their password; then the outcome."""
    filled = RESUME.read()
    pin, password = filled.values.get("pin"), filled.values.get("password")
    hash_profile = current_app.config["PASSWORD_HASH_PROFILE"]
    try:
        if pin:
            adviser = assist.resume_with_pin(db.session, keys.ring, accompaniment_id, pin,
                                             actor(), hash_profile)
        elif password:
            adviser = assist.resume_with_password(
                db.session, keys.ring, accompaniment_id, password, actor(),
                sign_in.DelayPolicy.from_settings(current_app.config), hash_profile)
        else:
            return _end_page(accompaniment_id, [("pin", _(
                "Saisissez le code du guichet ou votre mot de passe."))], 422)
    except assist.ResumeRefused as refused:
        db.session.commit()
        if refused.reason == "pin_locked":
            flash(_("Cinq codes faux : connectez-vous avec votre mot de passe et votre code "
                    "de sécurité."), "error")
            return redirect_to(url_for("auth.login"))
        if refused.reason == "wrong_pin":
            return _end_page(accompaniment_id, [("pin", ngettext(
                "Ce code ne convient pas. Encore %(num)s essai, puis il faudra vous "
                "reconnecter.", "Ce code ne convient pas. Encore %(num)s essais, puis il "
                "faudra vous reconnecter.", refused.left))], 422)
        if refused.reason == "no_pin":
            return _end_page(accompaniment_id, [("pin", _(
                "Aucun code de guichet n’est choisi : saisissez votre mot de passe."))], 422)
        flash(_("Ce guichet ne peut plus être repris : connectez-vous."), "error")
        return redirect_to(url_for("auth.login"))
    except auth.SignInDelayed as delayed:
        db.session.commit()
        return _end_page(accompaniment_id, [("password", wait_message(delayed.until))], 422)
    except auth.InvalidCredentials:
        db.session.commit()
        return _end_page(accompaniment_id, [("password", wrong_password_message())], 422)
    session.clear()
    session.rotate()
    login_user(adviser)
    db.session.commit()
    flash(_("Le guichet est repris. Notez le résultat de l’accompagnement."), "success")
    return redirect_to(url_for("adviser.home"))


