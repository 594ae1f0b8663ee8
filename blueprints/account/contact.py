"""Changing one's e-mail address or phone number: the password again, then a code sent to
the new one; the old one is told (domain/accounts.py change_contact)."""

from flask import current_app, flash, request, session, url_for
from flask_login import current_user

from blueprints.account import bp
from blueprints.account.views import _account_limit, _ip_limit, _password_key
from domain import accounts, auth, sign_in
from domain.forms import Field
from domain.identity import mask_email, mask_phone
from domain.models import SecondFactor
from domain.models.base import utcnow
from domain.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from domain.policy import Area
from extensions import db, keys, limiter
from web import sealed_session
from web.access import actor, allow
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.outgoing import (
    notify_contact_changed,
    notify_second_factor_changed,
    send_email,
    send_sms,
)
from web.reauth import wait_message, wrong_password_message
from web.render import redirect_to, render_page
from web.space import account

PENDING = "contact_change"  # sealed: the kind, the new value, the code's hash
PASSWORD = Field("password", "password", required=True, max_length=PASSWORD_MAX_LENGTH)
PASSWORD_MISSING = {("password", "required"): _l("Saisissez le mot de passe de votre compte.")}
FORMS = {
    "email": Form(Field("email", "email", required=True), PASSWORD,
                  messages={**PASSWORD_MISSING,
                            ("email", "required"): _l("Saisissez votre nouvelle adresse e-mail, "
                                                      "par exemple nom@example.org")}),
    "phone": Form(Field("phone", "french_phone", required=True), PASSWORD,
                  messages={**PASSWORD_MISSING,
                            ("phone", "required"): _l("Saisissez votre nouveau numéro de "
                                                      "portable, par exemple 06 12 34 56 78")}),
}
CODE_FORM = Form(Field("code", "one_time_code", required=True),
                 messages={("code", "required"): _l("Saisissez le code à 6 chiffres reçu, par "
                                                    "exemple 123456")})


def _sends_key() -> str:
    return f"contact-code:{current_user.id}"


@bp.route("/mon-compte/coordonnees", methods=["GET", "POST"])
@allow(Area.ACCOUNT)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_password_key,
                      methods=["POST"])
@limiter.limit("5 per hour", key_func=_sends_key, methods=["POST"])
def contact():
    user = account()
    kind = request.form.get("kind") if request.method == "POST" else None
    errors, typed = [], {name: form.blank() for name, form in FORMS.items()}
    if kind in FORMS:
        filled = FORMS[kind].read()
        typed[kind], errors = filled.typed, list(filled.errors)
        if not errors:
            value = filled.values[kind]
            try:
                code, stored = accounts.start_contact_change(
                    db.session, keys.ring, user, kind=kind, value=value,
                    password=filled.values["password"], actor=actor(),
                    policy=sign_in.DelayPolicy.from_settings(current_app.config),
                    hash_profile=current_app.config["PASSWORD_HASH_PROFILE"])
            except auth.SignInDelayed as delayed:
                errors = [("password", wait_message(delayed.until))]
            except auth.InvalidCredentials:
                errors = [("password", wrong_password_message())]
        if not errors:
            if kind == "email":
                send_email(value, lambda: _("Votre code pour confirmer votre adresse e-mail"),
                           "email/contact_code.txt", code=code)
            else:
                send_sms(value, lambda: _("Carnet santé : votre code pour confirmer ce numéro "
                                          "est %(code)s. Ne le donnez à personne.", code=code))
            sealed_session.put(PENDING, {"kind": kind, "value": value, "stored": stored})
            db.session.commit()
            return redirect_to(url_for("account.contact_confirm"))
        db.session.commit()  # the password check's count and audit stay
    return render_page("account/contact.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors), typed=typed, kind=kind,
                       email=user.email, phone=user.phone)


@bp.route("/mon-compte/coordonnees/confirmer", methods=["GET", "POST"])
@allow(Area.ACCOUNT)
@limiter.limit(_ip_limit, methods=["POST"])
def contact_confirm():
    pending = sealed_session.get(PENDING)
    if pending is None:
        return redirect_to(url_for("account.contact"))
    user = account()
    typed, errors = CODE_FORM.blank(), []
    if request.method == "POST":
        filled = CODE_FORM.read()
        typed, errors = filled.typed, list(filled.errors)
        if filled.ok:
            try:
                old = accounts.change_contact(
                    db.session, keys.ring, user, kind=pending["kind"], value=pending["value"],
                    code=filled.values["code"], stored=pending["stored"], actor=actor(),
                    keep_session=session.record.id if session.record is not None else None,
                    now=utcnow())
            except accounts.ContactChangeDead:
                session.pop(PENDING, None)
                db.session.commit()
                flash(_("Trop de codes faux : recommencez le changement."), "error")
                return redirect_to(url_for("account.contact"))
            except auth.SecondFactorFailed:
                sealed_session.put(PENDING, pending)  # with its count of tries
                db.session.commit()  # the audit row of the wrong code stays
                errors = [("code", _("Ce code ne fonctionne pas, ou a expiré (15 minutes). "
                                     "Saisissez le dernier code reçu."))]
            else:
                session.pop(PENDING, None)
                notify_contact_changed(user, pending["kind"], old)
                if pending["kind"] == "phone" and user.second_factor == SecondFactor.SMS:
                    notify_second_factor_changed(user)  # the codes now go to this phone
                db.session.commit()
                flash(_("Votre adresse e-mail est changée.") if pending["kind"] == "email"
                      else _("Votre numéro de téléphone est changé."), "success")
                return redirect_to(url_for("account.contact"))
    destination = (mask_email(pending["value"]) if pending["kind"] == "email"
                   else mask_phone(pending["value"]))
    return render_page("account/contact_confirm.html", status=422 if errors else 200,
                       errors=errors, has_errors=bool(errors), typed=typed,
                       kind=pending["kind"], destination=destination)
