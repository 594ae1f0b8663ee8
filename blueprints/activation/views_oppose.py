"""Oppose the creation of a space, with the code or without it, and get a proof."""

from __future__ import annotations

import re

from flask import Response, current_app, request, session, url_for

from blueprints.activation import bp, forms
from blueprints.activation import flow as steps
from domain import activation
from domain.insured import read_field
from domain.models import ActivationCode, InsuredPerson, SpaceStatus
from domain.models.base import utcnow
from domain.policy import Area
from extensions import db, keys, limiter
from web.access import actor, allow
from web.delivery import (
    PROOF_FILENAME,
    opposition_proof_pdf,
    post_letter,
    tell_opposition,
)
from web.i18n import gettext as _
from web.outgoing import send_email
from web.page_cache import form_for_visitors
from web.render import redirect_to, render_page

anyone = allow(Area.PUBLIC)
OPPOSITION = "opposition"
OPPOSABLE = (SpaceStatus.PENDING, SpaceStatus.AUTO_CREATED)
# Per person typed (a keyed hash of the NIR, known or not): bounds the messages a stranger
# holding someone's carte Vitale can make us send them.
IDENTITY_LIMIT = "5 per day"


def _ip_limit() -> str:
    return current_app.config["ACTIVATION_LIMIT_PER_IP"]


def _identity_key() -> str:
    """Throttle key: a keyed hash of the NIR as typed, whether or not anyone has it."""
    typed = re.sub(r"[\s.\-]", "", forms.IDENTITY_CARD.only("nir").read().typed["nir"]).upper()
    return "opposition-identity:" + keys.ring.blind_index("throttle-nir", typed)


def _state_problem(person: InsuredPerson) -> str | None:
    if person.space_status in OPPOSABLE:
        return None
    if person.space_status == SpaceStatus.OPPOSED:
        return _("Vous vous êtes déjà opposé à la création de cet espace.")
    return _("Cet espace a déjà été activé. Pour le supprimer, connectez-vous puis choisissez "
             "« Fermer mon espace ».")


@bp.route("/opposition", methods=["GET", "POST"])
@anyone
@limiter.limit(_ip_limit, methods=["POST"])
@form_for_visitors
def oppose_with_code():
    errors, typed = [], ""
    if request.method == "POST":
        filled = forms.CODE.read()
        typed, errors = filled.typed["code"], filled.errors
        record = None
        if filled.ok:
            record, errors = steps.lookup_code(filled.values["code"])
        if record is not None:
            person = db.session.get(InsuredPerson, record.insured_id)
            problem = _state_problem(person)
            if problem:
                errors = [("code", problem)]
            else:
                session[OPPOSITION] = {"person_id": person.id, "code_id": record.id}
                return redirect_to(url_for("activation.oppose_confirm"))
    return render_page("activation/oppose.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors), typed=typed)


@bp.route("/opposition/sans-code", methods=["GET", "POST"])
@anyone
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit("30 per hour", methods=["POST"])
@limiter.limit(IDENTITY_LIMIT, key_func=_identity_key, methods=["POST"])
@form_for_visitors
def oppose_without_code():
    """Opposition with the NIR, the carte Vitale serial and the birth date. Recorded at once
    when they match a space not yet activated; the page answers the same whatever happened
    (unknown person, active space, pending, already opposed), and the outcome goes to the
    person through the contact details on file, or by post."""
    errors, typed = [], forms.IDENTITY_CARD.blank()
    if request.method == "POST":
        filled = forms.IDENTITY_CARD.read()
        errors, typed = filled.errors, filled.typed
        if filled.ok:
            now, birth = utcnow(), filled.values["birth"]
            result = activation.oppose_without_code(db.session, keys.ring, filled.values["nir"],
                                                    filled.values["vitale"], birth, now, actor())
            letter = tell_opposition(result, birth, now)
            db.session.commit()
            if letter:
                post_letter(*letter)
            return render_page("activation/oppose_received.html")
    return render_page("activation/oppose_without_code.html", status=422 if errors else 200,
                       errors=errors, has_errors=bool(errors), typed=typed)


def _pending_opposition():
    state = session.get(OPPOSITION)
    if not state:
        return None, None
    person = db.session.get(InsuredPerson, state["person_id"])
    record = db.session.get(ActivationCode, state["code_id"]) if state.get("code_id") else None
    return person, record


@bp.route("/opposition/confirmer", methods=["GET", "POST"])
@anyone
def oppose_confirm():
    person, record = _pending_opposition()
    if person is None:
        return redirect_to(url_for("activation.oppose_with_code"))
    if request.method == "POST":
        now = utcnow()
        try:
            activation.oppose(db.session, keys.ring, person, now, actor(), record)
        except (activation.NotAllowed, activation.CodeProblem):
            session.pop(OPPOSITION, None)
            return redirect_to(url_for("activation.oppose_with_code"))
        db.session.commit()
        email = read_field(keys.ring, person, "email")
        if email:
            send_email(email, lambda: _("Votre opposition est enregistrée"),
                       "email/opposition.txt", reference=person.opposition_reference,
                       attachments=((PROOF_FILENAME, "application/pdf",
                                     opposition_proof_pdf(person)),))
        session[OPPOSITION] = {"person_id": person.id, "done": True}
        return redirect_to(url_for("activation.oppose_done"))
    return render_page("activation/oppose_confirm.html", person=person)


@bp.get("/opposition/attestation")
@anyone
def oppose_done():
    person, _record = _pending_opposition()
    if person is None or person.space_status != SpaceStatus.OPPOSED:
        return redirect_to(url_for("activation.oppose_with_code"))
    return render_page("activation/oppose_done.html", person=person,
                       emailed=person.email_sealed is not None)


@bp.get("/opposition/attestation.pdf")
@anyone
def oppose_proof():
    person, _record = _pending_opposition()
    if person is None or person.space_status != SpaceStatus.OPPOSED:
        return redirect_to(url_for("activation.oppose_with_code"))
    response = Response(opposition_proof_pdf(person), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        "attachment; filename=\"attestation-opposition.pdf\"; "
        "filename*=UTF-8''attestation-opposition.pdf")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

