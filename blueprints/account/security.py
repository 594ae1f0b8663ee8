"""A new phone for the codes at each sign-in, and new recovery codes: both after the
password is typed again; the person is told by e-mail."""

from flask import current_app, flash, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from blueprints.account import bp
from blueprints.account.views import _account_limit, _ip_limit, _password_key
from domain import accounts, auth, recovery, sign_in
from domain.forms import Field
from domain.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from domain.policy import Area
from extensions import db, keys, limiter
from web import sealed_session
from web.access import actor, allow
from web.forms import Form
from web.outgoing import notify_second_factor_changed
from web.reauth import wait_message, wrong_password_message
from web.render import redirect_to, render_page
from web.totp import new_secret, provisioning_qr, provisioning_uri

NEW_SECRET = "new_totp_secret"  # noqa: S105 - a session key; the secret is sealed
PASSWORD_FIELD = Field("password", "password", required=True, max_length=PASSWORD_MAX_LENGTH)
PASSWORD_REQUIRED = {("password", "required"): _l("Saisissez le mot de passe de votre compte.")}
AUTHENTICATOR_FORM = Form(
    PASSWORD_FIELD, Field("code", "one_time_code", required=True),
    messages={**PASSWORD_REQUIRED,
              ("code", "required"): _l("Saisissez le code à 6 chiffres affiché par "
                                       "l’application, par exemple 123456")})
RENEW_FORM = Form(PASSWORD_FIELD, messages=PASSWORD_REQUIRED)

@bp.route("/mon-compte/second-facteur", methods=["GET", "POST"])
@allow(Area.ACCOUNT)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_password_key,
                      methods=["POST"])
def second_factor():
    """Add a new phone's authenticator app (after a lost phone, or to change phones)."""
    user = current_user._get_current_object()
    secret = sealed_session.get(NEW_SECRET)
    if secret is None:
        secret = new_secret()
        sealed_session.put(NEW_SECRET, secret)
    typed, errors = AUTHENTICATOR_FORM.blank(), []
    if request.method == "POST":
        filled = AUTHENTICATOR_FORM.read()
        typed, errors = filled.typed, list(filled.errors)
        if filled.ok:
            try:
                accounts.change_authenticator(
                    db.session, keys.ring, user, current=filled.values["password"],
                    secret=secret, code=filled.values["code"],
                    keep_session=session.record.id if session.record is not None else None,
                    actor=actor(), policy=sign_in.DelayPolicy.from_settings(current_app.config),
                    hash_profile=current_app.config["PASSWORD_HASH_PROFILE"])
            except auth.SignInDelayed as delayed:
                errors = [("password", wait_message(delayed.until))]
            except auth.InvalidCredentials:
                errors = [("password", wrong_password_message())]
            except auth.SecondFactorFailed:
                errors = [("code", _("Ce code ne fonctionne pas. Saisissez le code affiché en ce "
                                     "moment par l’application où vous venez d’ajouter la "
                                     "clé."))]
            else:
                session.pop(NEW_SECRET, None)
                notify_second_factor_changed(user)
                db.session.commit()
                flash(_("Votre nouveau téléphone est enregistré : l’ancien ne donne plus de "
                        "code valable. Créez aussi de nouveaux codes de secours."), "success")
                return redirect_to(url_for("account.recovery_codes"))
        db.session.commit()  # failure counts and their audit rows stay
    return render_page("account/second_factor.html", status=422 if errors else 200,
                       typed=typed, errors=errors, has_errors=bool(errors), secret=secret,
                       qr=provisioning_qr(secret, user.login or ""),
                       app_link=provisioning_uri(secret, user.login or ""))


@bp.route("/mon-compte/codes-de-secours", methods=["GET", "POST"])
@allow(Area.ACCOUNT)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_password_key,
                      methods=["POST"])
def recovery_codes():
    """How many recovery codes are left; new ones (shown on this answer only)."""
    user = current_user._get_current_object()
    errors, codes = [], []
    if request.method == "POST":
        filled = RENEW_FORM.read()
        errors = list(filled.errors)
        if filled.ok:
            try:
                codes = recovery.renew(
                    db.session, keys.ring, user, password=filled.values["password"],
                    actor=actor(), policy=sign_in.DelayPolicy.from_settings(current_app.config),
                    hash_profile=current_app.config["PASSWORD_HASH_PROFILE"])
            except auth.SignInDelayed as delayed:
                errors = [("password", wait_message(delayed.until))]
            except auth.InvalidCredentials:
                errors = [("password", wrong_password_message())]
        db.session.commit()
    return render_page("account/recovery_codes.html", status=422 if errors else 200,
                       errors=errors, has_errors=bool(errors), codes=codes,
                       left=recovery.remaining(db.session, user))
