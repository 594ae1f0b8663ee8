"""Changing one's password: the current one and a second-factor code, then the new one;
every other session ends and an e-mail tells the person."""


from flask import current_app, flash, request, session, url_for
from flask_login import current_user

from blueprints.account import bp
from blueprints.account.views import _account_limit, _ip_limit, _password_key
from domain import accounts, auth, sign_in
from domain.forms import Field
from domain.models import SecondFactor
from domain.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from domain.policy import Area
from extensions import db, keys, limiter
from web.access import actor, allow
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.outgoing import notify_password_changed, notify_second_factor_lockout
from web.reauth import kept_sms_code, send_sms_code, wait_message, wrong_password_message
from web.render import redirect_to, render_page
from web.space import account

SMS_CHALLENGE = "change_password_sms"
CHANGE_FORM = Form(
    Field("current_password", "password", required=True, max_length=PASSWORD_MAX_LENGTH),
    Field("password", "new_password"),
    Field("password_confirm", "password_confirm", related="password"),
    Field("code", "one_time_code", required=True),
    messages={("current_password", "required"): _l("Saisissez votre mot de passe actuel."),
              ("code", "required"): _l("Saisissez le code à 6 chiffres, par exemple 123456")})


def _user_key() -> str:
    return f"change-password-sms:{current_user.id}"


@bp.route("/mon-compte/mot-de-passe", methods=["GET", "POST"])
@allow(Area.ACCOUNT)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_password_key,
                      methods=["POST"])
def change_password():
    user = account()
    typed, errors, problems = CHANGE_FORM.blank(), [], None
    if request.method == "POST":
        filled = CHANGE_FORM.read(personal=accounts.personal_words(user))
        typed, errors = filled.typed, list(filled.errors)
        problem = filled.problem("password")
        problems = list(problem.params["problems"]) if problem else []
        if filled.ok:
            errors = _change(user, filled.values)
            if not errors:
                session.pop(SMS_CHALLENGE, None)
                notify_password_changed(user)
                db.session.commit()
                flash(_("Votre mot de passe est changé. Vos autres sessions sont terminées."),
                      "success")
                return redirect_to(url_for("account.sessions_list"))
        db.session.commit()  # failure counts and their audit rows stay
    return render_page("account/password.html", status=422 if errors else 200, typed=typed,
                       errors=errors, has_errors=bool(errors), problems=problems,
                       sms=user.second_factor == SecondFactor.SMS)


def _change(user, values: dict) -> list[tuple[str, str]]:
    """Change the password; the errors to show when it could not be."""
    try:
        accounts.change_password(
            db.session, keys.ring, user, current=values["current_password"],
            code=values["code"], challenge=kept_sms_code(SMS_CHALLENGE),
            new_password=values["password"],
            keep_session=session.record.id if session.record is not None else None,
            actor=actor(), policy=sign_in.DelayPolicy.from_settings(current_app.config),
            hash_profile=current_app.config["PASSWORD_HASH_PROFILE"])
    except accounts.CodesWaiting as waiting:
        if waiting.locked:
            notify_second_factor_lockout(user)
        return [("code", _("Trop de codes faux : pendant quelques minutes, aucun code n’est "
                           "accepté. Attendez, puis réessayez."))]
    except auth.SignInDelayed as delayed:
        return [("current_password", wait_message(delayed.until))]
    except auth.InvalidCredentials:
        return [("current_password", wrong_password_message())]
    except auth.SecondFactorFailed:
        return [("code", _("Ce code ne fonctionne pas. Saisissez le code affiché en ce moment "
                           "par votre application de codes, ou le dernier code reçu par SMS."))]
    except accounts.WeakPassword:
        return [("password", _("Ce mot de passe ne respecte pas les règles ci-dessus."))]
    return []


@bp.post("/mon-compte/mot-de-passe/code-sms")
@allow(Area.ACCOUNT)
@limiter.limit("3 per 10 minutes", key_func=_user_key)
def change_password_sms():
    """Send a code by SMS to confirm a change (accounts whose second factor is SMS): of the
    password, or (`retour`) adding a passkey, a new phone, new recovery codes."""
    user = account()
    if user.second_factor == SecondFactor.SMS:
        send_sms_code(user, SMS_CHALLENGE)
        db.session.commit()
        flash(_("Nous vous avons envoyé un code par SMS."), "success")
    back = {"cles": "account.passkey_list", "telephone": "account.second_factor",
            "secours": "account.recovery_codes"}.get(request.form.get("retour"),
                                                     "account.change_password")
    return redirect_to(url_for(back))
