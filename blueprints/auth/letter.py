"""A lost phone without recovery codes: a code by post to the insurer's address, asked for
after the right password, then typed in its place (domain/factor_reset.py)."""

from flask import flash, request, session, url_for

from blueprints.auth import bp
from blueprints.auth.views import (
    PENDING,
    _delay_policy,
    _open_session,
    _pending_user,
    _restart_login,
    code_step,
)
from domain import factor_reset
from domain.forms import Field
from domain.policy import Area
from extensions import db, keys, limiter
from web.access import actor, allow
from web.delivery import factor_reset_letter_pdf, post_letter
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.outgoing import notify_factor_reset_requested, notify_factor_reset_used
from web.render import render_page

LETTER_FORM = Form(Field("code", required=True, max_length=20),
                   messages={("code", "required"): _l("Saisissez le code du courrier, par "
                                                      "exemple ABCDE-FGH23")})


def _letter_key() -> str:
    return "factor-letter:" + str((session.get(PENDING) or {}).get("user_id"))


@bp.post("/connexion/courrier")
@allow(Area.SIGN_IN)
@limiter.limit("2 per day", key_func=_letter_key)
def letter_request():
    pending, user = _pending_user()
    if user is None or pending.get("setup"):
        return _restart_login()
    try:
        letter = factor_reset.request_letter(db.session, keys.ring, user, actor=actor(user))
    except factor_reset.NoPostalAddress:
        db.session.commit()
        return render_page("auth/letter_sent.html", sent=False, waiting=False)
    except factor_reset.LetterOnItsWay:
        db.session.commit()
        return render_page("auth/letter_sent.html", sent=False, waiting=True)
    notify_factor_reset_requested(user, letter.expires_at)
    pdf = factor_reset_letter_pdf(letter)
    session.pop(PENDING, None)
    db.session.commit()
    post_letter(f"changement-telephone-{user.id}.pdf", pdf)
    return render_page("auth/letter_sent.html", sent=True, waiting=False)


def _letter_used(user):
    def done(_result):
        notify_factor_reset_used(user)
        flash(_("Vous êtes connecté avec le code du courrier. Ajoutez dès maintenant votre "
                "nouveau téléphone."), "success")
        return _open_session(user, url_for("account.second_factor"), factor_lost=True)
    return done


@bp.route("/connexion/courrier-recu", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit("10 per 10 minutes", key_func=_letter_key, methods=["POST"])
def letter_code():
    pending, user = _pending_user()
    if user is None or pending.get("setup"):
        return _restart_login()
    typed, errors = LETTER_FORM.blank(), []
    if request.method == "POST":
        filled = LETTER_FORM.read()
        typed, errors = filled.typed, filled.errors
        if filled.ok:
            outcome = code_step(
                user, lambda: factor_reset.sign_in_with(
                    db.session, keys.ring, user, filled.values["code"], actor=actor(user),
                    policy=_delay_policy()),
                _("Ce code ne fonctionne pas : il est faux, a expiré, a été annulé ou a déjà "
                  "servi. Vérifiez-le, par exemple ABCDE-FGH23."), _letter_used(user))
            if not isinstance(outcome, list):
                return outcome
            errors = outcome
    return render_page("auth/letter_code.html", status=422 if errors else 200, typed=typed,
                       errors=errors, has_errors=bool(errors))
