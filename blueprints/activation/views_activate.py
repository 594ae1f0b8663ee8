"""Activate a space, step by step. Every step is a plain form; nothing needs JavaScript."""

from __future__ import annotations

from flask import abort, current_app, flash, request, session, url_for
from sqlalchemy.exc import IntegrityError

from blueprints.activation import bp, forms
from blueprints.activation import flow as steps
from domain import activation
from domain.identity import mask_email, mask_phone
from domain.insured import read_field, representatives
from domain.models import SecondFactor, SpaceStatus, User
from domain.models.base import utcnow
from domain.policy import Area
from extensions import db, keys, limiter
from web import sealed_session
from web.access import actor, allow
from web.delivery import deliver_code, rehearse_code
from web.i18n import gettext as _
from web.outgoing import send_email, send_sms
from web.page_cache import form_for_visitors
from web.render import redirect_to, render_landing, render_page
from web.totp import new_secret, provisioning_qr, provisioning_uri

anyone = allow(Area.PUBLIC)


# Choosing a login, per activation: enough for a person who retries a refused password a
# few times, too few to sweep logins (the per-address limit applies as well).
CREDENTIALS_LIMIT_PER_FLOW = "20 per hour;40 per day"


def _ip_limit() -> str:
    return current_app.config["ACTIVATION_LIMIT_PER_IP"]


def _page(template: str, flow, step: str, errors=(), **context):
    """A step's page; reached by a boosted form after its redirect, with its address."""
    return render_landing(template, status=422 if errors else 200, errors=list(errors),
                          has_errors=bool(errors), flow=flow, step=step,
                          step_number=flow.number(step) if flow else 1,
                          step_total=len(flow.steps) if flow else len(steps.ADULT_STEPS),
                          **context)


def _next(flow, step: str):
    flow.save(step)
    return redirect_to(url_for(steps.ENDPOINTS[flow.next_step(step)]))


@bp.route("", methods=["GET", "POST"])
@anyone
@limiter.limit(_ip_limit, methods=["POST"])
@form_for_visitors
def code():
    """Step 1: the 12-character code (paste allowed; case, spaces and dashes ignored)."""
    errors, typed = [], ""
    if request.method == "POST":
        filled = forms.CODE.read()
        typed, errors = filled.typed["code"], filled.errors
        if filled.ok:
            record, errors = steps.lookup_code(filled.values["code"])
            if record is not None:
                steps.start(record)
                return redirect_to(url_for("activation.identity"))
    return _page("activation/code.html", None, "code", errors, typed=typed)


@bp.route("/identite", methods=["GET", "POST"])
@anyone
@limiter.limit(_ip_limit, methods=["POST"])
@steps.step("identity")
def identity(flow):
    """Step 2: NIR and date of birth; 5 mismatches block the code."""
    errors, typed = [], forms.IDENTITY.blank()
    if request.method == "POST":
        filled = forms.IDENTITY.read()
        errors, typed = filled.errors, filled.typed
        if filled.ok:
            try:
                activation.confirm_identity(db.session, keys.ring, flow.record,
                                            filled.values["nir"], filled.values["birth"],
                                            utcnow(), actor())
            except activation.CodeProblem as problem:
                db.session.commit()
                if problem.reason == "blocked":
                    steps.finish()
                    flash(str(steps.CODE_MESSAGES["blocked"]), "error")
                    return redirect_to(url_for("activation.provisional"))
                left = activation.MAX_IDENTITY_ATTEMPTS - flow.record.failed_attempts
                errors = [("nir", _("Ces informations ne correspondent pas à ce code. Vérifiez "
                                    "le numéro et la date de naissance. Essais restants : "
                                    "%(left)s.", left=left))]
            else:
                steps.mark_identity_ok()
                flow.save("identity")
                return redirect_to(url_for(steps.ENDPOINTS[flow.resume_step()]))
    return _page("activation/identity.html", flow, "identity", errors, typed=typed)


@bp.route("/reprise", methods=["GET", "POST"])
@anyone
@steps.step("takeover")
def takeover(flow):
    """Step 3 of a space kept by the parents until 18: take it over (the next steps) or,
    the second form, close it."""
    if request.method == "POST":
        return _next(flow, "takeover")
    return _page("activation/takeover.html", flow, "takeover",
                 typed=forms.CLOSE_INSTEAD.blank())


@bp.post("/reprise/fermer")
@anyone
@steps.step("takeover")
def close_instead(flow):
    """Close the space instead of taking it over: archived 10 years, or deleted now."""
    filled = forms.CLOSE_INSTEAD.read()
    if not filled.ok:
        return _page("activation/takeover.html", flow, "takeover", filled.errors,
                     typed=filled.typed)
    activation.close_handed_over(db.session, keys.ring, flow.record, utcnow(), actor(),
                                 delete_now=filled.values["retention"] == "delete")
    db.session.commit()
    steps.finish()
    return redirect_to(url_for("pages.space_closed"))


@bp.route("/conditions", methods=["GET", "POST"])
@anyone
@steps.step("terms")
def terms(flow):
    """Step 3: the terms of use, in full, and their acceptance."""
    errors = []
    if request.method == "POST":
        filled = forms.TERMS.read()
        errors = filled.errors
        if filled.ok:
            flow.data["terms"] = True
            return _next(flow, "terms")
    return _page("activation/terms.html", flow, "terms", errors)


def _send_contact_codes(flow, email: str | None, phone: str | None) -> None:
    now = utcnow()
    if email:
        code, stored = activation.contact_challenge(keys.ring, flow.record, "email", email, now)
        steps.remember("email_otp", stored)
        send_email(email, lambda: _("Confirmez votre adresse e-mail"), "email/contact_code.txt",
                   code=code)
    if phone:
        code, stored = activation.contact_challenge(keys.ring, flow.record, "phone", phone, now)
        steps.remember("phone_otp", stored)
        send_sms(phone, lambda: _("Votre code de confirmation est %(code)s. Ne le donnez à "
                                  "personne.", code=code))


@bp.route("/coordonnees", methods=["GET", "POST"])
@anyone
@limiter.limit(_ip_limit, methods=["POST"])
@steps.step("contacts")
def contacts(flow):
    """Step 4: the e-mail and phone of the account, each confirmed with a 6-digit code."""
    errors = []
    email = flow.data.get("email", read_field(keys.ring, flow.person, "email") or "")
    phone = flow.data.get("phone", read_field(keys.ring, flow.person, "phone") or "")
    if request.method == "POST":
        filled = forms.CONTACTS.read()
        email, phone, errors = filled.typed["email"], filled.typed["phone"], filled.errors
        if filled.ok:
            clean_email, clean_phone = filled.values.get("email"), filled.values.get("phone")
            flow.data.update(email=clean_email, phone=clean_phone, email_ok=False, phone_ok=False)
            flow.save("terms")
            _send_contact_codes(flow, clean_email, clean_phone)
            return redirect_to(url_for("activation.contacts_check"))
    return _page("activation/contacts.html", flow, "contacts", errors, email=email, phone=phone)


@bp.route("/coordonnees/verification", methods=["GET", "POST"])
@anyone
@limiter.limit(_ip_limit, methods=["POST"])
@steps.step("contacts")
def contacts_check(flow):
    """Step 4 (continued): type the codes received by e-mail and SMS."""
    if "email" not in flow.data:
        return redirect_to(url_for("activation.contacts"))
    errors = []
    if request.method == "POST":
        now = utcnow()
        waiting = [kind for kind in ("email", "phone")
                   if flow.data.get(kind) and not flow.data.get(f"{kind}_ok")]
        filled = forms.CONTACT_CODES.only(*(f"{kind}_code" for kind in waiting)).read()
        for kind in waiting:
            field = f"{kind}_code"
            error = filled.error(field)
            if error:
                errors.append(error)
            elif activation.contact_code_ok(keys.ring, flow.record, kind, flow.data[kind],
                                            filled.values[field], steps.recall(f"{kind}_otp"),
                                            now):
                flow.data[f"{kind}_ok"] = True
            else:
                errors.append((field, _("Ce code ne correspond pas ou a expiré (15 minutes). "
                                        "Vérifiez-le, ou demandez un nouveau code.")))
        flow.save("terms")
        if not errors:
            return _next(flow, "contacts")
    return _page("activation/contacts_check.html", flow, "contacts", errors,
                 masked_email=mask_email(flow.data["email"]) if flow.data.get("email") else None,
                 masked_phone=mask_phone(flow.data["phone"]) if flow.data.get("phone") else None)


@bp.post("/coordonnees/renvoyer")
@anyone
@limiter.limit("5 per 15 minutes")
@steps.step("contacts")
def contacts_resend(flow):
    _send_contact_codes(flow, None if flow.data.get("email_ok") else flow.data.get("email"),
                        None if flow.data.get("phone_ok") else flow.data.get("phone"))
    flash(_("Nous vous avons envoyé de nouveaux codes."), "success")
    return redirect_to(url_for("activation.contacts_check"))


def _personal(flow) -> tuple[str, ...]:
    return (flow.person.birth_name, *flow.person.given_names.split())


def _flow_key() -> str:
    """Throttle key for one activation (its code), whatever the address or the session: a
    new session with the same code shares the count."""
    code_id = (session.get(steps.STATE) or {}).get("code_id")
    return f"activation-flow:{code_id}" if code_id else f"activation-no-flow:{request.remote_addr}"


def _unusable_login(suggestions: tuple[str, ...]) -> str:
    first, second, third = (suggestions + ("", "", ""))[:3]
    return _("Cet identifiant ne peut pas être utilisé. Choisissez-en un autre, par exemple "
             "%(first)s, %(second)s ou %(third)s.", first=first, second=second, third=third)


@bp.route("/identifiants", methods=["GET", "POST"])
@anyone
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit(CREDENTIALS_LIMIT_PER_FLOW, key_func=_flow_key, methods=["POST"])
@steps.step("credentials")
def credentials(flow):
    """Step 5: a login and a password (rules shown before typing, checked as typed). A login
    that cannot be used gets one answer, whatever the reason, with free ones to choose."""
    errors, login, problems, typed = [], flow.data.get("login", ""), None, False
    if request.method == "POST":
        filled = forms.CREDENTIALS.read(personal=_personal(flow))
        errors, login, typed = filled.errors, filled.typed["login"], filled.typed["password"]
        problems = _password_problems(filled)
        if filled.ok:
            login = filled.values["login"]
            try:
                password_hash = activation.choose_login(
                    db.session, flow.person, login, filled.values["password"],
                    current_app.config["PASSWORD_HASH_PROFILE"])
            except activation.LoginUnavailable as unavailable:
                errors = [("login", _unusable_login(unavailable.suggestions))]
            else:
                flow.data.update(login=login, password_hash=password_hash)
                return _next(flow, "credentials")
    return _page("activation/credentials.html", flow, "credentials", errors, login=login,
                 problems=problems, typed=typed)


def _password_problems(filled) -> list[str]:
    """Every rule the typed password breaks (the rules list ticks the others)."""
    problem = filled.problem("password")
    return list(problem.params["problems"]) if problem else []


@bp.post("/identifiants/verifier")
@anyone
@limiter.limit("120 per minute")
@steps.step("credentials")
def credentials_check(flow):
    """htmx: the password rules, ticked as the person types (announced politely)."""
    filled = forms.CREDENTIALS.only("login", "password").read(personal=_personal(flow))
    return render_page("components/password_rules.html", problems=_password_problems(filled),
                       typed=filled.typed["password"])


@bp.route("/second-facteur", methods=["GET", "POST"])
@anyone
@limiter.limit(_ip_limit, methods=["POST"])
@steps.step("factor")
def factor(flow):
    """Step 6: an authenticator app (QR code and the secret in text) or SMS, confirmed by a
    first code."""
    if not flow.data.get("totp_secret"):
        flow.data["totp_secret"] = new_secret()
        flow.save("credentials")
    method = flow.data.get("second_factor", "totp")
    errors = []
    if request.method == "POST":
        filled = forms.FACTOR.read()
        method = filled.values.get("method") or filled.typed["method"]
        if filled.problem("method"):
            errors = [filled.error("method")]
        elif method == "sms" and not flow.data.get("phone_ok"):
            errors = [("method", _("Le SMS demande un numéro de téléphone confirmé. Choisissez "
                                   "l’application, ou revenez à l’étape 4 pour ajouter un "
                                   "numéro."))]
        elif filled.values.get("action") == "send-sms":
            if method != "sms":
                errors = [("method", _("Choisissez d’abord « Par SMS »."))]
            else:
                code_value, stored = activation.contact_challenge(
                    keys.ring, flow.record, "factor", flow.data["phone"], utcnow())
                steps.remember("factor_otp", stored)
                send_sms(flow.data["phone"], lambda: _("Votre code de confirmation est "
                                                       "%(code)s. Ne le donnez à personne.",
                                                       code=code_value))
                flow.data["second_factor"] = "sms"
                flow.save("credentials")
                flash(_("Nous vous avons envoyé un code par SMS."), "success")
                return redirect_to(url_for("activation.factor"))
        else:
            errors = [filled.error("code")] if filled.problem("code") else []
            if not errors and not _factor_code_ok(flow, method, filled.values["code"]):
                errors = [("code", _("Ce code ne fonctionne pas. Saisissez le code affiché en "
                                     "ce moment par l’application, ou le dernier code reçu "
                                     "par SMS."))]
            if not errors:
                flow.data.update(second_factor=method, factor_ok=True)
                return _next(flow, "factor")
    secret = flow.data["totp_secret"]
    return _page("activation/factor.html", flow, "factor", errors, method=method,
                 secret=secret, qr_url=url_for("activation.factor_qr"),
                 app_link=provisioning_uri(secret, flow.data.get("login", "")),
                 phone_ok=bool(flow.data.get("phone_ok")),
                 masked_phone=mask_phone(flow.data["phone"]) if flow.data.get("phone") else None)


@bp.get("/second-facteur/qr-code.svg")
@anyone
@steps.step("factor")
def factor_qr(flow):
    """The QR code of the key the step's page made (none before it did)."""
    if not flow.data.get("totp_secret"):
        abort(404)
    return provisioning_qr(flow.data["totp_secret"], flow.data.get("login", ""))


def _factor_code_ok(flow, method: str, code_value: str) -> bool:
    if method == "sms":
        return activation.contact_code_ok(keys.ring, flow.record, "factor", flow.data["phone"],
                                          code_value, steps.recall("factor_otp"), utcnow())
    from web.totp import code_matches

    return code_matches(flow.data["totp_secret"], code_value)


def _representative_user(flow) -> User | None:
    for representative in representatives(db.session, flow.person):
        if representative.user_id and representative.space_status == SpaceStatus.ACTIVE:
            return db.session.get(User, representative.user_id)
    return None


@bp.route("/recapitulatif", methods=["GET", "POST"])
@anyone
@steps.step("summary")
def summary(flow):
    """Step 7: everything at a glance before the space is created."""
    representative = _representative_user(flow) if flow.minor else None
    errors = []
    if request.method == "POST":
        if flow.minor and representative is None:
            errors = [("summary", _("Activez d’abord votre propre espace, puis revenez avec ce "
                                    "code pour activer celui de l’enfant."))]
        else:
            credentials = None if flow.minor else activation.Credentials(
                login=flow.data["login"], password_hash=flow.data["password_hash"],
                second_factor=SecondFactor(flow.data["second_factor"]),
                totp_secret=flow.data["totp_secret"] if flow.data["second_factor"] == "totp"
                else None,
                email=flow.data.get("email") if flow.data.get("email_ok") else None,
                phone=flow.data.get("phone") if flow.data.get("phone_ok") else None)
            try:
                activated = activation.activate(db.session, keys.ring, flow.record,
                                                credentials, utcnow(), actor(),
                                                representative_user=representative)
                flow.record.progress_sealed = None
                db.session.commit()
            except activation.NotAllowed:
                errors = [("summary", _("Cet espace est déjà actif. Connectez-vous."))]
            except (activation.LoginTaken, IntegrityError):
                # Someone took the same login since the login step, perhaps at this very
                # moment (the unique constraint decides): nothing was created.
                db.session.rollback()
                errors = [("summary", _("Quelqu’un vient de prendre cet identifiant. Choisissez-en "
                                        "un autre avec le lien « Modifier l’identifiant »."))]
            else:
                steps.remember("done_login", flow.data.get("login"))
                steps.remember("done_minor", flow.minor)
                sealed_session.put(DONE_CODES, activated.recovery_codes)
                return redirect_to(url_for("activation.done"))
    return _page("activation/summary.html", flow, "summary", errors,
                 representative=representative)


DONE_CODES = "activation_recovery_codes"


@bp.get("/termine")
@anyone
def done():
    """Step 8: the space exists; what to do next."""
    if steps.recall("done_login") is None and not steps.recall("done_minor"):
        return redirect_to(url_for("activation.code"))
    login, minor = steps.recall("done_login"), steps.recall("done_minor")
    codes = sealed_session.pop(DONE_CODES, [])  # the recovery codes are shown this once
    steps.finish()
    return render_page("activation/done.html", login=login, minor=minor, codes=codes,
                       step_number=len(steps.MINOR_STEPS if minor else steps.ADULT_STEPS),
                       step_total=len(steps.MINOR_STEPS if minor else steps.ADULT_STEPS))


@bp.route("/code-provisoire", methods=["GET", "POST"])
@anyone
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit("30 per hour", methods=["POST"])
@form_for_visitors
def provisional():
    """A provisional code, sent only to the e-mail or phone already on file; the answer is
    one fixed page whatever happened, with no destination shown."""
    errors, typed = [], forms.IDENTITY_CARD.blank()
    if request.method == "POST":
        filled = forms.IDENTITY_CARD.read()
        errors, typed = filled.errors, filled.typed
        if filled.ok:
            now = utcnow()
            issued = activation.request_provisional_code(
                db.session, keys.ring, filled.values["nir"], filled.values["vitale"],
                filled.values["birth"], now, actor())
            if issued is None or issued.channel.value != "email":
                rehearse_code(now + activation.PROVISIONAL_VALIDITY)  # the same work
            if issued is not None:
                deliver_code(issued)
            db.session.commit()
            return render_page("activation/provisional_sent.html")
    return render_page("activation/provisional.html", status=422 if errors else 200,
                       errors=errors, has_errors=bool(errors), typed=typed)
