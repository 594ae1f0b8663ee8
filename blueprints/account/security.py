"""A new phone for the codes at each sign-in, and new recovery codes: both after the
password and the current phone's code (unless this session was opened with a recovery code
or a letter's code: the phone is gone); the person is told by e-mail."""


from flask import abort, current_app, flash, request, session, url_for

from blueprints.account import bp
from blueprints.account.password import SMS_CHALLENGE
from blueprints.account.views import _account_limit, _ip_limit, _password_key
from domain import accounts, auth, recovery, sign_in
from domain.forms import Field
from domain.models import SecondFactor
from domain.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from domain.policy import Area
from extensions import db, keys, limiter
from web import sealed_session
from web.access import actor, allow
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.outgoing import (
    notify_recovery_codes_renewed,
    notify_second_factor_changed,
    notify_second_factor_lockout,
)
from web.reauth import kept_sms_code, wait_message, wrong_password_message
from web.render import redirect_to, render_page
from web.sessions import FACTOR_LOST
from web.space import account
from web.totp import new_secret, provisioning_qr, provisioning_uri

NEW_SECRET = "new_totp_secret"  # noqa: S105 - a session key; the secret is sealed
PASSWORD = Field("password", "password", required=True, max_length=PASSWORD_MAX_LENGTH)
CURRENT_CODE = Field("current_code", "one_time_code", required=True)
NEW_CODE = Field("code", "one_time_code", required=True)
MESSAGES = {("password", "required"): _l("Saisissez le mot de passe de votre compte."),
            ("current_code", "required"): _l("Saisissez le code à 6 chiffres de votre "
                                             "téléphone actuel, par exemple 123456"),
            ("code", "required"): _l("Saisissez le code à 6 chiffres affiché par la nouvelle "
                                     "application, par exemple 123456")}
# Which fields, by whether the phone is lost (no current code to ask for).
AUTHENTICATOR_FORMS = {False: Form(PASSWORD, CURRENT_CODE, NEW_CODE, messages=MESSAGES),
                       True: Form(PASSWORD, NEW_CODE, messages=MESSAGES)}
RENEW_FORMS = {False: Form(PASSWORD, CURRENT_CODE, messages=MESSAGES),
               True: Form(PASSWORD, messages=MESSAGES)}


def _context(user) -> dict:
    """What both pages say about how the person proves it is them."""
    lost = bool(session.get(FACTOR_LOST))
    return {"factor_lost": lost, "sms": user.second_factor == SecondFactor.SMS and not lost}


def _confirmed(user, call) -> tuple[list, object]:
    """Run the domain call; the errors to show (a wrong password or code), or its result."""
    try:
        return [], call()
    except accounts.CodesWaiting as waiting:
        if waiting.locked:
            notify_second_factor_lockout(user)
        return [("current_code", _("Trop de codes faux : pendant quelques minutes, aucun code "
                                   "n’est accepté. Attendez, puis réessayez."))], None
    except auth.SignInDelayed as delayed:
        return [("password", wait_message(delayed.until))], None
    except auth.InvalidCredentials:
        return [("password", wrong_password_message())], None
    except auth.SecondFactorFailed:
        return [("current_code", _("Ce code ne fonctionne pas. Saisissez le code affiché en ce "
                                   "moment par votre application de codes, ou le dernier "
                                   "code reçu par SMS."))], None
    except accounts.NewCodeFailed:
        return [("code", _("Ce code ne fonctionne pas. Saisissez le code affiché en ce moment "
                           "par l’application où vous venez d’ajouter la clé."))], None


def _common() -> dict:
    return {"sms": kept_sms_code(SMS_CHALLENGE), "factor_lost": bool(session.get(FACTOR_LOST)),
            "actor": actor(), "policy": sign_in.DelayPolicy.from_settings(current_app.config),
            "hash_profile": current_app.config["PASSWORD_HASH_PROFILE"]}


@bp.route("/mon-compte/second-facteur", methods=["GET", "POST"])
@allow(Area.ACCOUNT)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_password_key,
                      methods=["POST"])
def second_factor():
    """Add a new phone's authenticator app (after a lost phone, or to change phones)."""
    user = account()
    secret = sealed_session.get(NEW_SECRET)
    if secret is None:
        secret = new_secret()
        sealed_session.put(NEW_SECRET, secret)
    form = AUTHENTICATOR_FORMS[bool(session.get(FACTOR_LOST))]
    typed, errors = form.blank(), []
    if request.method == "POST":
        filled = form.read()
        typed, errors = filled.typed, list(filled.errors)
        if filled.ok:
            errors, _ended = _confirmed(user, lambda: accounts.change_authenticator(
                db.session, keys.ring, user, current=filled.values["password"],
                current_code=filled.values.get("current_code", ""), secret=secret,
                code=filled.values["code"],
                keep_session=session.record.id if session.record is not None else None,
                **_common()))
            if not errors:
                for key in (NEW_SECRET, SMS_CHALLENGE, FACTOR_LOST):
                    session.pop(key, None)
                notify_second_factor_changed(user)
                db.session.commit()
                flash(_("Votre nouveau téléphone est enregistré : l’ancien ne donne plus de "
                        "code valable. Créez aussi de nouveaux codes de secours."), "success")
                return redirect_to(url_for("account.recovery_codes"))
        db.session.commit()  # failure counts and their audit rows stay
    return render_page("account/second_factor.html", status=422 if errors else 200,
                       typed=typed, errors=errors, has_errors=bool(errors), secret=secret,
                       qr_url=url_for("account.second_factor_qr"),
                       app_link=provisioning_uri(secret, user.login or ""), **_context(user))


@bp.get("/mon-compte/second-facteur/qr-code.svg")
@allow(Area.ACCOUNT)
def second_factor_qr():
    """The QR code of the key the page above made (none before it did)."""
    secret = sealed_session.get(NEW_SECRET)
    if secret is None:
        abort(404)
    return provisioning_qr(secret, account().login or "")


@bp.route("/mon-compte/codes-de-secours", methods=["GET", "POST"])
@allow(Area.ACCOUNT)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_password_key,
                      methods=["POST"])
def recovery_codes():
    """How many recovery codes are left; new ones (shown on this answer only)."""
    user = account()
    form = RENEW_FORMS[bool(session.get(FACTOR_LOST))]
    typed, errors, codes = form.blank(), [], []
    if request.method == "POST":
        filled = form.read()
        typed, errors = filled.typed, list(filled.errors)
        if filled.ok:
            errors, codes = _confirmed(user, lambda: recovery.renew(
                db.session, keys.ring, user, password=filled.values["password"],
                code=filled.values.get("current_code", ""), **_common()))
            if not errors:
                session.pop(SMS_CHALLENGE, None)
                notify_recovery_codes_renewed(user)
        db.session.commit()
    return render_page("account/recovery_codes.html", status=422 if errors else 200,
                       errors=errors, has_errors=bool(errors), codes=codes or [],
                       typed=typed, left=recovery.remaining(db.session, user), **_context(user))
