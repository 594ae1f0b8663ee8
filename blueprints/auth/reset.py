"""A forgotten password (patients): who they are, a code sent to the contact the insurer
knows, then their second factor and a new password (domain/password_reset.py). The first
step answers the same page whatever happened."""


from flask import current_app, flash, request, session, url_for

from blueprints.auth import bp
from domain import accounts, auth, password_reset, sign_in
from domain.forms import Field
from domain.models import SecondFactor
from domain.policy import Area
from extensions import db, keys, limiter
from web.access import actor, allow
from web.delivery import deliver_reset_code
from web.forms import IDENTITY_CARD, Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.outgoing import notify_password_changed
from web.page_cache import form_for_visitors
from web.reauth import kept_sms_code, send_sms_code
from web.render import redirect_to, render_page

ATTEMPT = "password_reset_attempt"
SMS_CHALLENGE = "password_reset_sms"
CODE_FORM = Form(Field("code", required=True, max_length=20),
                 messages={("code", "required"): _l("Saisissez le code à 8 chiffres reçu, par "
                                                    "exemple 12345678")})
NEW_PASSWORD_FORM = Form(
    Field("code", "one_time_code", required=True),
    Field("password", "new_password"),
    Field("password_confirm", "password_confirm", related="password"),
    messages={("code", "required"): _l("Saisissez le code à 6 chiffres de votre téléphone, "
                                       "par exemple 123456")})


def _ip_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _attempt_key() -> str:
    return f"password-reset:{session.get(ATTEMPT) or request.remote_addr}"


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit("30 per hour", methods=["POST"])
@form_for_visitors
def forgotten_password():
    errors, typed = [], IDENTITY_CARD.blank()
    if request.method == "POST":
        filled = IDENTITY_CARD.read()
        errors, typed = filled.errors, filled.typed
        if filled.ok:
            requested = password_reset.request(
                db.session, keys.ring, filled.values["nir"], filled.values["vitale"],
                filled.values["birth"], actor=actor())
            deliver_reset_code(requested)
            session[ATTEMPT] = requested.attempt
            session.pop(SMS_CHALLENGE, None)
            db.session.commit()
            return redirect_to(url_for("auth.forgotten_password_code"))
    return render_page("auth/forgotten_password.html", status=422 if errors else 200,
                       errors=errors, has_errors=bool(errors), typed=typed)


@bp.route("/mot-de-passe-oublie/code", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit("10 per 10 minutes", key_func=_attempt_key, methods=["POST"])
def forgotten_password_code():
    """The same page whatever the first step found; a code that matches nothing is wrong."""
    if not session.get(ATTEMPT):
        return redirect_to(url_for("auth.forgotten_password"))
    typed, errors = CODE_FORM.blank(), []
    if request.method == "POST":
        filled = CODE_FORM.read()
        typed, errors = filled.typed, filled.errors
        if filled.ok:
            try:
                password_reset.check_code(db.session, keys.ring, session.get(ATTEMPT),
                                          filled.values["code"], actor=actor())
            except password_reset.ResetRefused:
                errors = [("code", _("Ce code ne fonctionne pas : il est faux, a expiré (30 "
                                     "minutes) ou a été essayé trop de fois. Vérifiez-le, ou "
                                     "recommencez la demande."))]
            else:
                db.session.commit()
                return redirect_to(url_for("auth.forgotten_password_new"))
            db.session.commit()
    return render_page("auth/forgotten_password_code.html", status=422 if errors else 200,
                       errors=errors, has_errors=bool(errors), typed=typed)


def _verified():
    return password_reset.verified_account(db.session, session.get(ATTEMPT))


@bp.route("/mot-de-passe-oublie/nouveau", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit, methods=["POST"])
def forgotten_password_new():
    user = _verified()
    if user is None:
        return redirect_to(url_for("auth.forgotten_password"))
    typed, errors, problems = NEW_PASSWORD_FORM.blank(), [], None
    if request.method == "POST":
        filled = NEW_PASSWORD_FORM.read(personal=accounts.personal_words(user))
        typed, errors = filled.typed, list(filled.errors)
        problem = filled.problem("password")
        problems = list(problem.params["problems"]) if problem else []
        if filled.ok:
            challenge = kept_sms_code(SMS_CHALLENGE)
            try:
                password_reset.complete(
                    db.session, keys.ring, session.get(ATTEMPT), code=filled.values["code"],
                    challenge=challenge, new_password=filled.values["password"],
                    actor=actor(user), policy=sign_in.DelayPolicy.from_settings(
                        current_app.config),
                    hash_profile=current_app.config["PASSWORD_HASH_PROFILE"])
            except auth.SignInDelayed:
                errors = [("code", _("Trop de codes faux : pendant quelques minutes, aucun "
                                     "code n’est accepté. Attendez, puis réessayez."))]
            except auth.SecondFactorFailed:
                errors = [("code", _("Ce code ne fonctionne pas. Saisissez le code affiché en "
                                     "ce moment par votre application de codes, ou le "
                                     "dernier code reçu par SMS."))]
            except password_reset.ResetRefused:
                return redirect_to(url_for("auth.forgotten_password"))
            else:
                notify_password_changed(user)
                session.pop(ATTEMPT, None)
                session.pop(SMS_CHALLENGE, None)
                db.session.commit()
                flash(_("Votre nouveau mot de passe est enregistré. Connectez-vous avec lui."),
                      "success")
                return redirect_to(url_for("auth.login"))
        db.session.commit()
    return render_page("auth/forgotten_password_new.html", status=422 if errors else 200,
                       errors=errors, has_errors=bool(errors), typed=typed,
                       problems=problems, sms=user.second_factor == SecondFactor.SMS,
                       sms_sent=session.get(SMS_CHALLENGE) is not None)


@bp.post("/mot-de-passe-oublie/code-sms")
@allow(Area.SIGN_IN)
@limiter.limit("3 per 10 minutes", key_func=_attempt_key)
def forgotten_password_sms():
    """The second factor's code by SMS, once the emailed code was right."""
    user = _verified()
    if user is None:
        return redirect_to(url_for("auth.forgotten_password"))
    if user.second_factor == SecondFactor.SMS:
        send_sms_code(user, SMS_CHALLENGE)
        db.session.commit()
        flash(_("Nous vous avons envoyé un code par SMS."), "success")
    return redirect_to(url_for("auth.forgotten_password_new") + "#code")
