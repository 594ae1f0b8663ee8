"""Signing in with a passkey: the page's script asks for options, the browser asks the
authenticator, the script sends the answer (domain/passkeys.py). Without JavaScript, or
where the site's address is an IP, the password path is the only one offered."""

import json

from flask import abort, current_app, request

from blueprints.auth import bp
from blueprints.auth.views import _open_session
from domain import auth, passkeys
from domain.policy import Area
from extensions import db, keys, limiter
from web import assist as assisted_session
from web import passkeys as glue
from web.access import actor, allow, safe_next
from web.i18n import gettext as _

SIGN_IN = "sign_in"


def _ip_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _relying_party():
    rp = glue.relying_party()
    if rp is None or assisted_session.assisted():  # at the desk: the usual sign-in only
        abort(404)
    return rp


@bp.post("/connexion/cle/options")
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit)
def passkey_options():
    ceremony = passkeys.authentication_options(_relying_party())
    # Where to land afterwards, as the sign-in form would (the script sends the page's).
    asked = request.get_json(silent=True)
    suivant = safe_next(asked.get("suivant") if isinstance(asked, dict) else None)
    glue.remember(SIGN_IN, ceremony.challenge, suivant=suivant)
    return glue.answer(options=json.loads(ceremony.options_json))


@bp.post("/connexion/cle")
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit)
def passkey_sign_in():
    rp = _relying_party()
    kept = glue.take(SIGN_IN)
    refused = _("Cette clé d’accès n’a pas fonctionné. Réessayez, ou connectez-vous avec "
                "votre mot de passe.")
    if kept is None:
        return glue.answer(400, error=refused)
    try:
        user = passkeys.sign_in_with(db.session, keys.ring,
                                     credential=request.get_data(as_text=True),
                                     challenge=kept["challenge"], rp=rp, actor=actor())
    except (passkeys.PasskeyRefused, auth.InvalidCredentials):
        db.session.commit()
        return glue.answer(400, error=refused)
    except auth.SpaceClosed:  # both factors at once: the person may learn why
        db.session.commit()
        return glue.answer(400, error=_("Cet espace santé est fermé. Pour le rouvrir, "
                                        "demandez un code provisoire."))
    response = _open_session(user, kept.get("suivant"))
    return glue.answer(redirect=response.headers["Location"])
