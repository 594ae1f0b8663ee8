import math
from datetime import datetime, timedelta

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from blueprints.auth import bp
from blueprints.auth.forms import LoginForm, SecondFactorForm
from domain import audit, auth, sign_in
from domain import sessions as web_sessions
from domain.models import SecondFactor, User
from domain.models.base import utcnow
from domain.policy import Area
from extensions import db, htmx, keys, limiter
from web.access import actor, allow, safe_next
from web.context import home_endpoint
from web.outgoing import notify_second_factor_lockout, queue_sms
from web.render import render_page

PENDING = "pending_login"
PENDING_MINUTES = 10


def _ip_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _account_key() -> str:
    """Per (identifier, address) throttle key, shared with every form that checks a
    password; unknown identifiers are throttled exactly the same way. Not per identifier
    alone: anyone could then use up a person's allowance from anywhere (lockout on demand);
    guessing from many addresses still meets the per-address waits of domain/sign_in.py."""
    login = auth.normalise_login(request.form.get("login", ""))
    return sign_in.limit_key(keys.ring, login, request.remote_addr)


def _pending_key() -> str:
    return "second-factor:" + str((session.get(PENDING) or {}).get("user_id"))


def _delay_policy() -> sign_in.DelayPolicy:
    return sign_in.DelayPolicy.from_settings(current_app.config)


def _wait_page(until: datetime):
    """The page after too many wrong codes: what happened, and when to try again."""
    seconds = max(1, math.ceil((until - utcnow()).total_seconds()))
    response = render_page("auth/wait.html", status=429, minutes=math.ceil(seconds / 60))
    response.headers["Retry-After"] = str(seconds)
    return response


def _form_errors(form, order) -> list[tuple[str, str]]:
    return [(name, str(form.errors[name][0])) for name in order if name in form.errors]


@bp.route("/connexion", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_account_key,
                      methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint()))
    form = LoginForm()
    suivant = safe_next(request.values.get("suivant"))
    errors: list[tuple[str, str]] = []
    if request.method == "POST":
        if not form.validate():
            errors = _form_errors(form, ("login", "password"))
        else:
            try:
                user = auth.authenticate(db.session, keys.ring, form.login.data, form.password.data,
                                         actor=actor(), policy=_delay_policy(),
                                         hash_profile=current_app.config["PASSWORD_HASH_PROFILE"])
            except auth.SignInDelayed as delayed:
                # The password was right (nothing to hide): codes wait after wrong ones.
                db.session.commit()
                return _wait_page(delayed.until)
            except auth.InvalidCredentials:
                db.session.commit()
                errors = [("login", _("Identifiant ou mot de passe incorrect. Vérifiez-les et "
                                      "réessayez. Après plusieurs erreurs, attendez "
                                      "%(minutes)s minutes.",
                                      minutes=current_app.config["ACCOUNT_LOCK_MINUTES"]))]
            else:
                pending = {"user_id": user.id, "started": utcnow().isoformat()}
                if user.second_factor == SecondFactor.SMS:
                    pending.update(_send_sms(user))
                session[PENDING] = pending
                db.session.commit()
                return redirect(url_for("auth.second_factor", suivant=suivant), 303)
    return render_page("auth/login.html", status=422 if errors else 200, form=form,
                       errors=errors, has_errors=bool(errors), suivant=suivant,
                       expired=request.args.get("raison") == "expiree")


def _send_sms(user: User) -> dict:
    challenge = auth.send_sms_code(keys.ring, queue_sms, user)
    return {"sms_hash": challenge.code_hash, "sms_expires": challenge.expires_at.isoformat()}


def _pending_user() -> tuple[dict | None, User | None]:
    pending = session.get(PENDING)
    if not pending:
        return None, None
    started = datetime.fromisoformat(pending["started"])
    user = db.session.get(User, pending["user_id"])
    if user is None or utcnow() - started > timedelta(minutes=PENDING_MINUTES):
        session.pop(PENDING, None)
        return None, None
    return pending, user


def _restart_login():
    # A notice in the address, not flash(): a visitor without a session gets none made.
    return redirect(url_for("auth.login", avis="recommencer"), 303)


@bp.route("/connexion/code", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit, methods=["POST"])
def second_factor():
    pending, user = _pending_user()
    if user is None:
        return _restart_login()
    form = SecondFactorForm()
    suivant = safe_next(request.values.get("suivant"))
    errors: list[tuple[str, str]] = []
    if request.method == "POST":
        if not form.validate():
            errors = _form_errors(form, ("code",))
        else:
            challenge = None
            if pending.get("sms_hash"):
                challenge = auth.SmsChallenge(pending["sms_hash"],
                                              datetime.fromisoformat(pending["sms_expires"]))
            try:
                auth.verify_second_factor(db.session, keys.ring, user, form.code.data,
                                          challenge=challenge, actor=actor(user),
                                          policy=_delay_policy())
            except auth.SignInDelayed as delayed:
                # Wrong codes count per account: this sign-in ends, and the next waits.
                if isinstance(delayed, auth.SecondFactorLocked):
                    notify_second_factor_lockout(user)
                session.pop(PENDING, None)
                db.session.commit()
                return _wait_page(delayed.until)
            except auth.SecondFactorFailed:
                db.session.commit()
                errors = [("code", _("Ce code ne fonctionne pas. Saisissez le code affiché en ce "
                                     "moment (il change toutes les 30 secondes) ou le dernier "
                                     "code reçu par SMS."))]
            else:
                auth.complete_login(db.session, keys.ring, user, actor=actor(user))
                session.pop(PENDING)
                session.pop("csrf_token", None)
                session.rotate()
                login_user(user)
                db.session.commit()
                return redirect(suivant or url_for(home_endpoint()), 303)
    return render_page("auth/second_factor.html", status=422 if errors else 200, form=form,
                       errors=errors, has_errors=bool(errors), suivant=suivant,
                       method=user.second_factor.value, phone_end=(user.phone or "")[-2:])


@bp.post("/connexion/code/renvoyer")
@allow(Area.SIGN_IN)
@limiter.limit("3 per 10 minutes", key_func=_pending_key)
def second_factor_resend():
    pending, user = _pending_user()
    if user is None:
        return _restart_login()
    until = auth.second_factor_waiting_until(db.session, user)
    if until is not None:  # no new code while codes wait
        session.pop(PENDING, None)
        return _wait_page(until)
    if user.second_factor == SecondFactor.SMS:
        pending.update(_send_sms(user))
        session[PENDING] = pending
        flash(_("Un nouveau code vous a été envoyé par SMS."), "success")
    return redirect(url_for("auth.second_factor",
                            suivant=safe_next(request.form.get("suivant"))), 303)


@bp.post("/deconnexion")
@allow(Area.ACCOUNT)
def logout():
    audit.record(db.session, keys.ring, "auth.logout", actor=actor(), subject_id=current_user.id)
    logout_user()
    session.destroy()
    db.session.commit()
    response = redirect(url_for("pages.signed_out"), 303)
    # Nothing of the person stays on a shared tablet: cache, cookies, storage.
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.post("/session/prolonger")
@allow(Area.ACCOUNT)
def session_extend():
    web_sessions.extend(session.record)
    db.session.commit()
    message = _("Votre session est prolongée.")
    target = safe_next(request.form.get("suivant")) or url_for(home_endpoint())
    if htmx:
        return render_page("auth/_session_extended.html", message=message)
    flash(message, "success")
    return redirect(target, 303)
