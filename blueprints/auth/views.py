import math
from datetime import datetime, timedelta

from flask import abort, current_app, flash, request, session, url_for
from flask_login import current_user, login_user, logout_user

from blueprints.auth import bp
from domain import accounts, auth, recovery, sign_in
from domain import sessions as web_sessions
from domain.forms import Field
from domain.models import Role, SecondFactor, User
from domain.models.base import utcnow
from domain.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from domain.policy import Area
from extensions import db, keys, limiter
from web import assist as assisted_session
from web import passkeys as passkey_glue
from web import sealed_session
from web.access import actor, allow, safe_next
from web.context import home_endpoint
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.i18n import ngettext
from web.outgoing import notify_recovery_code_used, notify_second_factor_lockout, queue_sms
from web.page_cache import form_for_visitors
from web.render import redirect_to, render_page, swap_or_see_other
from web.sessions import FACTOR_LOST
from web.totp import new_secret, provisioning_qr, provisioning_uri

PENDING = "pending_login"
SETUP_SECRET = "setup_totp_secret"  # noqa: S105 - a session key; the secret is sealed
# What an earlier person's unfinished flows may have left in this device's session.
LEFT_OVERS = (SETUP_SECRET, "password_reset_attempt", "activation_recovery_codes")
PENDING_MINUTES = 10

LOGIN_FORM = Form(
    Field("login", required=True, max_length=64),
    Field("password", "password", required=True, max_length=PASSWORD_MAX_LENGTH),
    messages={
        ("login", "required"): _l("Saisissez votre identifiant, par exemple camille.martin"),
        ("login", "too_long"): _l("L’identifiant fait au plus 64 caractères"),
    })
# The first sign-in with a set-up password: one's own password, and a first code from the
# authenticator app just added.
SETUP_FORM = Form(
    Field("password", "new_password"),
    Field("password_confirm", "password_confirm", related="password"),
    Field("code", "one_time_code", required=True),
    messages={("code", "required"): _l("Saisissez le code à 6 chiffres affiché par "
                                       "l’application, par exemple 123456")})
RECOVERY_FORM = Form(
    Field("code", required=True, max_length=20),
    messages={("code", "required"): _l("Saisissez un de vos codes de secours, par exemple "
                                       "ABCDE-FGH23")})
SECOND_FACTOR_FORM = Form(
    Field("code", "one_time_code", required=True),
    messages={
        ("code", "required"): _l("Saisissez le code à 6 chiffres, par exemple 123456"),
        ("code", "code_format"): _l("Le code contient 6 chiffres, sans lettres, par exemple "
                                    "123456"),
    })


def _ip_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _account_key() -> str:
    """Per (identifier, address) throttle key, shared with every form that checks a
    password; unknown identifiers are throttled exactly the same way. Not per identifier
    alone: anyone could then use up a person's allowance from anywhere (lockout on demand);
    guessing from many addresses still meets the per-address waits of domain/sign_in.py."""
    login = auth.normalise_login(LOGIN_FORM.only("login").read().values.get("login", ""))
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


@bp.route("/connexion", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.shared_limit(_account_limit, sign_in.LIMIT_SCOPE, key_func=_account_key,
                      methods=["POST"])
@form_for_visitors
def login():
    if current_user.is_authenticated:
        return redirect_to(url_for(home_endpoint()), 302)
    suivant = safe_next(request.values.get("suivant"))
    typed, errors = LOGIN_FORM.blank(), []
    if request.method == "POST":
        filled = LOGIN_FORM.read()
        typed, errors = filled.typed, filled.errors
        if filled.ok:
            try:
                user = auth.authenticate(db.session, keys.ring, filled.values["login"],
                                         filled.values["password"],
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
                if assisted_session.assisted() and user.role != Role.PATIENT:
                    # At the desk only the person accompanied signs in, to their own space.
                    db.session.commit()
                    errors = [("login", _("Pendant un accompagnement, seule la personne "
                                          "accompagnée se connecte, à son espace santé."))]
                    return render_page("auth/login.html", status=422, typed=typed,
                                       errors=errors, has_errors=True, suivant=suivant,
                                       expired=False, passkeys=False)
                pending = {"user_id": user.id, "started": utcnow().isoformat()}
                for left_over in LEFT_OVERS:
                    session.pop(left_over, None)
                if accounts.setup_pending(user):  # a set-up password: choose one's own
                    session[PENDING] = {**pending, "setup": True}
                    db.session.commit()
                    return redirect_to(url_for("auth.first_sign_in"))
                if user.second_factor == SecondFactor.SMS:
                    pending.update(_send_sms(user))
                session[PENDING] = pending
                db.session.commit()
                return redirect_to(url_for("auth.second_factor", suivant=suivant))
    return render_page("auth/login.html", status=422 if errors else 200, typed=typed,
                       errors=errors, has_errors=bool(errors), suivant=suivant,
                       expired=request.args.get("raison") == "expiree",
                       passkeys=passkey_glue.relying_party() is not None
                       and not assisted_session.assisted())


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
    return redirect_to(url_for("auth.login", avis="recommencer"))


@bp.route("/connexion/code", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit, methods=["POST"])
def second_factor():
    pending, user = _pending_user()
    if user is None:
        return _restart_login()
    if pending.get("setup"):
        return redirect_to(url_for("auth.first_sign_in"))
    suivant = safe_next(request.values.get("suivant"))
    typed, errors = SECOND_FACTOR_FORM.blank(), []
    if request.method == "POST":
        filled = SECOND_FACTOR_FORM.read()
        typed, errors = filled.typed, filled.errors
        if filled.ok:
            challenge = None
            if pending.get("sms_hash"):
                challenge = auth.SmsChallenge(pending["sms_hash"],
                                              datetime.fromisoformat(pending["sms_expires"]))

            def check():
                auth.verify_second_factor(db.session, keys.ring, user, filled.values["code"],
                                          challenge=challenge, actor=actor(user),
                                          policy=_delay_policy())
                auth.complete_login(db.session, keys.ring, user, actor=actor(user))

            outcome = code_step(user, check, _("Ce code ne fonctionne pas. Saisissez le code "
                                               "affiché en ce moment (il change toutes les 30 "
                                               "secondes) ou le dernier code reçu par SMS."),
                                lambda _result: _open_session(user, suivant))
            if not isinstance(outcome, list):
                return outcome
            errors = outcome
    return render_page("auth/second_factor.html", status=422 if errors else 200, typed=typed,
                       errors=errors, has_errors=bool(errors), suivant=suivant,
                       method=user.second_factor.value, phone_end=(user.phone or "")[-2:])


def code_step(user: User, check, wrong: str, done):
    """One try of a code as, or instead of, the second factor: `check()` is the domain call
    that checks it and completes the login. Returns the errors to show (a wrong code), or
    the response: `done(check's result)`, the wait after too many wrong codes (the sign-in
    ends, the next one waits), or a refusal."""
    try:
        result = check()
    except auth.SignInDelayed as delayed:
        if isinstance(delayed, auth.SecondFactorLocked):
            notify_second_factor_lockout(user)
        session.pop(PENDING, None)
        db.session.commit()
        return _wait_page(delayed.until)
    except auth.SecondFactorFailed:
        db.session.commit()
        return [("code", wrong)]
    except (auth.SpaceClosed, auth.InvalidCredentials) as refused:
        return _refused(refused)
    return done(result)


def _recovered(user: User, left: int):
    notify_recovery_code_used(user, left)
    if left:
        flash(ngettext("Vous êtes connecté avec un code de secours. Il vous en reste %(num)s. "
                       "Ajoutez dès maintenant votre nouveau téléphone.",
                       "Vous êtes connecté avec un code de secours. Il vous en reste %(num)s. "
                       "Ajoutez dès maintenant votre nouveau téléphone.", left), "success")
    else:
        flash(_("Vous êtes connecté avec votre dernier code de secours. Ajoutez dès maintenant "
                "votre nouveau téléphone, puis créez de nouveaux codes de secours."), "success")
    return _open_session(user, url_for("account.second_factor"), factor_lost=True)


def _refused(refused: Exception):
    """Both factors were right, yet no session opens: a closed space is told (only now may
    the person learn why); an account disabled meanwhile, or a set-up password past its
    time, starts the sign-in again like any refusal."""
    session.pop(PENDING, None)
    db.session.commit()
    if isinstance(refused, auth.SpaceClosed):
        return render_page("auth/space_closed.html")
    return _restart_login()


def _open_session(user: User, suivant: str | None, factor_lost: bool = False):
    """Both factors passed (or the first sign-in's set-up done, or a passkey): a new
    session. `factor_lost`: opened with a recovery code or a letter's code, so the changes
    that ask for the current second factor do without it (the phone is gone)."""
    session.pop(PENDING, None)
    session.pop("csrf_token", None)
    session.rotate()
    if factor_lost:
        session[FACTOR_LOST] = True
    login_user(user)
    db.session.commit()
    return redirect_to(suivant or url_for(home_endpoint()))


@bp.route("/connexion/premiere-fois", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit, methods=["POST"])
def first_sign_in():
    """Signed in with a set-up password (a professional's first one, or after the operator
    reset the second factor): choose one's own password and add an authenticator app,
    before any page opens."""
    pending, user = _pending_user()
    if user is None or not pending.get("setup"):
        return _restart_login()
    kept = sealed_session.get(SETUP_SECRET)
    if kept is None or kept.get("user_id") != user.id:  # never someone else's on this device
        kept = {"user_id": user.id, "secret": new_secret()}
        sealed_session.put(SETUP_SECRET, kept)
    secret = kept["secret"]
    typed, errors, problems = SETUP_FORM.blank(), [], None
    if request.method == "POST":
        filled = SETUP_FORM.read(personal=accounts.personal_words(user))
        typed, errors = filled.typed, filled.errors
        problem = filled.problem("password")
        problems = list(problem.params["problems"]) if problem else []
        if filled.ok:
            try:
                accounts.complete_setup(
                    db.session, keys.ring, user, new_password=filled.values["password"],
                    secret=secret, code=filled.values["code"], actor=actor(user),
                    policy=_delay_policy(),
                    hash_profile=current_app.config["PASSWORD_HASH_PROFILE"])
            except (accounts.SetupExpired, auth.InvalidCredentials) as refused:
                return _refused(refused)
            except auth.SignInDelayed as delayed:
                session.pop(PENDING, None)
                db.session.commit()
                return _wait_page(delayed.until)
            except auth.SecondFactorFailed:
                db.session.commit()
                errors = [("code", _("Ce code ne fonctionne pas. Saisissez le code affiché en ce "
                                     "moment par votre application de codes (il change toutes "
                                     "les 30 secondes)."))]
            except accounts.WeakPassword:
                errors = [("password", _("Choisissez un mot de passe à vous, différent de celui "
                                         "qui vous a été remis."))]
            else:
                session.pop(SETUP_SECRET, None)
                return _open_session(user, None)
    return render_page("auth/first_sign_in.html", status=422 if errors else 200, typed=typed,
                       errors=errors, has_errors=bool(errors), problems=problems,
                       secret=secret, qr_url=url_for("auth.first_sign_in_qr"),
                       app_link=provisioning_uri(secret, user.login or ""),
                       expires_at=user.setup_expires_at)


@bp.get("/connexion/premiere-fois/qr-code.svg")
@allow(Area.SIGN_IN)
def first_sign_in_qr():
    """The QR code of the key the page above made for this person (none before it did)."""
    pending, user = _pending_user()
    kept = sealed_session.get(SETUP_SECRET) if user is not None else None
    if not (pending or {}).get("setup") or kept is None or kept.get("user_id") != user.id:
        abort(404)
    return provisioning_qr(kept["secret"], user.login or "")


@bp.route("/connexion/code-de-secours", methods=["GET", "POST"])
@allow(Area.SIGN_IN)
@limiter.limit(_ip_limit, methods=["POST"])
def recovery_code():
    """A lost phone: one of the recovery codes instead of the second factor (the password
    was right). The code is spent, the person is told by e-mail, and asked to add a new
    phone."""
    pending, user = _pending_user()
    if user is None or pending.get("setup"):
        return _restart_login()
    typed, errors = RECOVERY_FORM.blank(), []
    if request.method == "POST":
        filled = RECOVERY_FORM.read()
        typed, errors = filled.typed, filled.errors
        if filled.ok:
            outcome = code_step(
                user, lambda: recovery.sign_in_with(db.session, keys.ring, user,
                                                    filled.values["code"], actor=actor(user),
                                                    policy=_delay_policy()),
                _("Ce code de secours ne fonctionne pas, ou a déjà servi. Vérifiez-le, par "
                  "exemple ABCDE-FGH23."), lambda left: _recovered(user, left))
            if not isinstance(outcome, list):
                return outcome
            errors = outcome
    return render_page("auth/recovery_code.html", status=422 if errors else 200, typed=typed,
                       errors=errors, has_errors=bool(errors))


@bp.post("/connexion/code/renvoyer")
@allow(Area.SIGN_IN)
@limiter.limit("3 per 10 minutes", key_func=_pending_key)
def second_factor_resend():
    pending, user = _pending_user()
    if user is None or pending.get("setup"):
        return _restart_login()
    until = auth.second_factor_waiting_until(db.session, user)
    if until is not None:  # no new code while codes wait
        session.pop(PENDING, None)
        return _wait_page(until)
    if user.second_factor == SecondFactor.SMS:
        pending.update(_send_sms(user))
        session[PENDING] = pending
        flash(_("Un nouveau code vous a été envoyé par SMS."), "success")
    return redirect_to(url_for("auth.second_factor",
                               suivant=safe_next(request.form.get("suivant"))))


@bp.post("/deconnexion")
@allow(Area.ACCOUNT)
def logout():
    auth.sign_out(db.session, keys.ring, current_user.id, actor=actor())
    if assisted_session.assisted():  # signing out at the desk ends the accompaniment
        return assisted_session.end_response("sign_out")
    logout_user()
    session.destroy()
    db.session.commit()
    response = redirect_to(url_for("pages.signed_out"))
    # Nothing of the person stays on a shared tablet: cache, cookies, storage.
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.post("/session/prolonger")
@allow(Area.ACCOUNT)
def session_extend():
    web_sessions.extend(db.session, session.record)
    db.session.commit()
    message = _("Votre session est prolongée.")
    target = safe_next(request.form.get("suivant")) or url_for(home_endpoint())
    return swap_or_see_other(lambda: render_page("auth/_session_extended.html", message=message),
                             target, message)
