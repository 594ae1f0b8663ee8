"""My passkeys: add one (after the password and a code; never at a desk), see and remove
them (domain/passkeys.py)."""

import json

from flask import abort, current_app, flash, request, session, url_for

from blueprints.account import bp
from blueprints.account.password import SMS_CHALLENGE
from blueprints.account.views import _account_limit, _ip_limit, _password_key
from domain import accounts, auth, passkeys, sign_in
from domain.forms import Field
from domain.models import SecondFactor
from domain.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from domain.policy import Area
from extensions import db, keys, limiter
from web import assist as assisted_session
from web import passkeys as glue
from web.access import actor, allow
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.outgoing import notify_passkey_added, notify_second_factor_lockout
from web.reauth import kept_sms_code, wait_message, wrong_password_message
from web.render import redirect_to, render_page
from web.space import account

REGISTER = "register"
ADD_FORM = Form(
    Field("name", required=True, max_length=passkeys.NAME_MAX),
    Field("password", "password", required=True, max_length=PASSWORD_MAX_LENGTH),
    Field("code", "one_time_code", required=True),
    messages={("name", "required"): _l("Donnez un nom à cette clé, par exemple « Mon "
                                       "téléphone »."),
              ("password", "required"): _l("Saisissez le mot de passe de votre compte."),
              ("code", "required"): _l("Saisissez le code à 6 chiffres, par exemple 123456")})


def _page(status=200, **context):
    user = account()
    for name, default in (("typed", ADD_FORM.blank()), ("errors", []), ("has_errors", False),
                          ("ready", None), ("name", None)):
        context.setdefault(name, default)
    return render_page("account/passkeys.html", status=status,
                       items=passkeys.of(db.session, user),
                       available=glue.relying_party() is not None,
                       assisted=assisted_session.assisted(),
                       sms=user.second_factor == SecondFactor.SMS, **context)


@bp.route("/mon-compte/cles-d-acces", methods=["GET", "POST"])
@allow(Area.ACCOUNT)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_password_key,
                      methods=["POST"])
def passkey_list():
    typed, errors = ADD_FORM.blank(), []
    rp = glue.relying_party()
    if request.method == "POST":
        if rp is None or assisted_session.assisted():
            abort(403)  # never at a desk: a passkey made there would stay on the tablet
        filled = ADD_FORM.read()
        typed, errors = filled.typed, list(filled.errors)
        if filled.ok:
            errors, ceremony = _begin(filled.values, rp)
            if ceremony is not None:
                glue.remember(REGISTER, ceremony.challenge, name=filled.values["name"])
                db.session.commit()
                return _page(ready=json.loads(ceremony.options_json),
                             name=filled.values["name"])
        db.session.commit()  # failure counts and their audit rows stay
    return _page(status=422 if errors else 200, typed=typed, errors=errors,
                 has_errors=bool(errors))


def _begin(values: dict, rp):
    """Check the password and the code; the errors, or the ceremony to start."""
    user = account()
    sms = kept_sms_code(SMS_CHALLENGE)
    try:
        ceremony = passkeys.begin_registration(
            db.session, keys.ring, user, password=values["password"], code=values["code"],
            sms=sms, rp=rp, actor=actor(),
            policy=sign_in.DelayPolicy.from_settings(current_app.config),
            hash_profile=current_app.config["PASSWORD_HASH_PROFILE"])
    except accounts.CodesWaiting as waiting:
        if waiting.locked:
            notify_second_factor_lockout(user)
        return [("code", _("Trop de codes faux : pendant quelques minutes, aucun code n’est "
                           "accepté. Attendez, puis réessayez."))], None
    except auth.SignInDelayed as delayed:
        return [("password", wait_message(delayed.until))], None
    except auth.InvalidCredentials:
        return [("password", wrong_password_message())], None
    except auth.SecondFactorFailed:
        return [("code", _("Ce code ne fonctionne pas. Saisissez le code affiché en ce moment "
                           "par votre application de codes, ou le dernier code reçu par "
                           "SMS."))], None
    session.pop(SMS_CHALLENGE, None)
    return [], ceremony


@bp.post("/mon-compte/cles-d-acces/enregistrer")
@allow(Area.ACCOUNT)
@limiter.limit(_ip_limit)
def passkey_register():
    """The browser's answer (passkey.js): keep the new passkey."""
    rp = glue.relying_party()
    kept = glue.take(REGISTER)
    if rp is None or kept is None or assisted_session.assisted():
        return glue.answer(400, error=_("Le délai est passé : recommencez l’ajout de la clé."))
    user = account()
    try:
        passkeys.register(db.session, keys.ring, user,
                          credential=request.get_data(as_text=True),
                          challenge=kept["challenge"], rp=rp, name=kept["name"], actor=actor())
    except passkeys.PasskeyRefused:
        db.session.commit()
        return glue.answer(400, error=_("La clé n’a pas pu être créée. Recommencez, ou "
                                        "essayez un autre appareil."))
    notify_passkey_added(user)
    db.session.commit()
    flash(_("Votre clé d’accès « %(name)s » est ajoutée. La prochaine fois, choisissez « Se "
            "connecter avec une clé d’accès ».", name=kept["name"]), "success")
    return glue.answer(redirect=url_for("account.passkey_list"))


@bp.post("/mon-compte/cles-d-acces/<string:passkey_id>/supprimer")
@allow(Area.ACCOUNT)
def passkey_remove(passkey_id: str):
    """Remove one of my passkeys; someone else's id answers 404."""
    if not passkeys.remove(db.session, keys.ring, account(),
                           passkey_id, actor=actor()):
        abort(404)
    db.session.commit()
    flash(_("La clé d’accès est supprimée : elle ne permet plus de se connecter."), "success")
    return redirect_to(url_for("account.passkey_list"))
