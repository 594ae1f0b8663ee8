"""The professional portal's patient pages: find a patient (NIR + birth date, with the
statement that the patient was informed and did not object), read what the policy allows,
deposit a document, record a vaccination."""

from __future__ import annotations

from flask import abort, current_app, flash, request, url_for
from flask_login import current_user

from blueprints.pro import bp
from domain import (
    care,
    emergency,
    measures,
    policy,
    profile,
    uploads,
    vault,
)
from domain.errors import NotAllowed
from domain.forms import Field, Problem
from domain.models.base import utcnow
from domain.policy import Area, ProfileAction
from domain.representation import today_in_france
from extensions import blobs, db, keys
from web.access import actor, allow
from web.care import emergency_actor, open_or_404
from web.document_form import DEPOSIT
from web.files import send_download
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.labels.access import PROFESSION_NAMES
from web.labels.documents import CATEGORY_LABELS, human_size, kind_label
from web.labels.profile import MEASURES, VACCINES, message
from web.labels.profile_display import helpers, measure_text
from web.outgoing import notify_emergency, notify_new_document, notify_professional_access
from web.render import render_page, see_other
from web.uploads import deposit, upload_message

pro = allow(Area.PRO_PORTAL)
# The patient page's documents come by pages of vault.PER_PAGE; a page number beyond this
# is taken as this one (it would only read the whole list to show nothing).
MAX_PAGE = 10_000
_IDENTITY = (Field("nir", "nir", required=True), Field("born", "past_date", required=True))
_IDENTITY_MESSAGES = {
    ("nir", "required"): _l("Saisissez le numéro de sécurité sociale du patient (15 "
                            "caractères), par exemple 2 88 03 75 108 021 50."),
    ("born", "required"): _l("Saisissez la date de naissance du patient, par exemple "
                             "14 3 1988."),
}
# Finding a patient: who, and the statement that they were informed and did not object.
SEARCH = Form(*_IDENTITY, Field("informed", "yes", required=True), messages={
    **_IDENTITY_MESSAGES,
    "informed": _l("Confirmez que le patient a été informé et ne s’est pas opposé à votre "
                   "accès.")})
# An emergency access: who, and why (emergency.clean_reason says what a reason needs).
EMERGENCY = Form(*_IDENTITY, Field("reason", "longtext", max_length=20_000),
                 messages=_IDENTITY_MESSAGES)
REASON_MESSAGES = {
    "missing": _l("Donnez la raison de cet accès en urgence."),
    "too_short": _l("Décrivez la situation en au moins 10 caractères."),
    "too_long": _l("La raison doit faire au plus 500 caractères."),
}


@bp.route("/pro/patients", methods=["GET", "POST"])
@pro
def patient_search():
    if request.method == "GET":
        return render_page("pro/search.html", errors=[], has_errors=False,
                           typed=SEARCH.blank(), blank="search")  # kept once made
    filled = SEARCH.read()
    errors = filled.errors
    if filled.ok:
        try:
            patient = care.find_patient(db.session, keys.ring, current_user,
                                        filled.values["nir"], filled.values["born"], actor())
            before = care.relation(db.session, patient.id, current_user.id)
            first_today = before is None or before.declared_at is None or (
                before.declared_at.date() != utcnow().date())
            care.declare(db.session, keys.ring, current_user, patient, actor())
        except care.PatientNotFound:
            errors.append(("nir", _("Aucun espace santé ouvert ne correspond à ce numéro "
                                    "et à cette date de naissance.")))
        except care.Blocked:
            errors.append(("nir", _("Ce patient ne vous permet pas d’accéder à son "
                                    "espace santé.")))
        else:
            if first_today:  # one e-mail a day per professional (said in /acces)
                notify_professional_access(patient,
                                           str(PROFESSION_NAMES[current_user.profession]))
            db.session.commit()
            return see_other(url_for("pro.patient_show", patient_id=patient.id))
        db.session.commit()
    return render_page("pro/search.html", status=422, errors=errors, has_errors=True,
                       typed=filled.typed)


@bp.route("/pro/urgence", methods=["GET", "POST"])
@pro
def emergency_start():
    """Emergency access ("bris de glace"): NIR, birth date and a mandatory reason; only if
    the patient's emergency settings allow it; the patient and the attending doctor are
    told at once."""
    filled = EMERGENCY.read() if request.method == "POST" else None
    errors = filled.errors if filled else []
    typed = filled.typed if filled else EMERGENCY.blank()
    if filled:
        try:
            emergency.clean_reason(typed["reason"])
        except emergency.InvalidReason as problem:
            errors.append(("reason", str(REASON_MESSAGES[problem.reason])))
        if not errors:
            try:
                patient = care.find_patient(db.session, keys.ring, current_user,
                                            filled.values["nir"], filled.values["born"],
                                            emergency_actor())
                access = emergency.start(
                    db.session, keys.ring, current_user, patient, typed["reason"],
                    now=utcnow(), hours=current_app.config["EMERGENCY_HOURS"],
                    actor=emergency_actor())
            except care.PatientNotFound:
                errors.append(("nir", _("Aucun espace santé ouvert ne correspond à ce numéro "
                                        "et à cette date de naissance.")))
            except NotAllowed:
                errors.append(("nir", _("Les paramètres d’urgence de ce patient ne permettent "
                                        "pas cet accès.")))
            else:
                notify_emergency(patient, current_user,
                                 str(PROFESSION_NAMES[current_user.profession]),
                                 access.ends_at)
                db.session.commit()
                return see_other(url_for("pro.patient_show", patient_id=patient.id))
            db.session.commit()
    return render_page("pro/emergency.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors), typed=typed,
                       hours=current_app.config["EMERGENCY_HOURS"])


@bp.get("/pro/patients/<string:patient_id>")
@pro
def patient_show(patient_id: str):
    """What this professional may see of the patient's space."""
    # The person behind the proxy, once: the use cases below read their role, profession
    # and sector about fifteen times, each a lookup through Flask-Login's proxy otherwise.
    viewer = current_user._get_current_object()
    opened = open_or_404(patient_id)
    patient, known = opened.patient, opened.facts
    try:
        page_number = min(max(1, int(request.args.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page_number = 1
    documents = vault.documents_for_professional(db.session, keys.ring, viewer,
                                                 patient, known, page=page_number)
    sections = profile.load_for_professional(db.session, keys.ring, viewer, patient,
                                             known, opened.actor, first=20)
    latest = measures.latest_for_professional(db.session, keys.ring, viewer, patient,
                                              known, opened.actor)
    db.session.commit()
    return render_page(
        "pro/patient.html", patient=patient, documents=documents,
        views=list(sections.values()), category_labels=CATEGORY_LABELS, latest=latest,
        kind_label=kind_label, human_size=human_size,
        measure_kinds=measures.KINDS, measure_labels=MEASURES, measure_text=measure_text,
        may_deposit=bool(policy.deposit_categories(viewer.profession, viewer.sector)),
        may_vaccinate=policy.profile_allowed(ProfileAction.ADD, viewer.role,
                                             is_owner=False, locked=False,
                                             section="vaccinations", care=known),
        **helpers(professional=True))


@bp.get("/pro/patients/<string:patient_id>/documents/<string:document_id>")
@pro
def patient_document(patient_id: str, document_id: str):
    opened = open_or_404(patient_id)
    try:
        download = vault.download(db.session, keys.ring, blobs.store, current_user,
                                  document_id, opened.actor, opened=opened)
    except vault.DocumentNotFound:
        db.session.commit()  # the refusal stays in the audit trail
        abort(404)
    db.session.commit()
    return send_download(download, inline=False)


@bp.route("/pro/patients/<string:patient_id>/deposer", methods=["GET", "POST"])
@pro
def patient_deposit(patient_id: str):
    """Deposit a document: same checks and encryption as the vault; the patient is told
    by e-mail (never the title) and can hide it, not delete it."""
    opened = open_or_404(patient_id)
    patient = opened.patient
    filled = DEPOSIT.read() if request.method == "POST" else None
    try:
        allowed, category = care.deposit_choices(
            db.session, keys.ring, current_user, opened,
            filled.typed["category"][:40] if filled else "")
    except NotAllowed:
        db.session.commit()  # the refusal stays in the audit trail
        abort(404)
    if filled is None:
        return render_page("pro/deposit.html", errors=[], has_errors=False,
                           typed=DEPOSIT.blank(), patient=patient,
                           minor=profile.is_minor(patient, today_in_france()),
                           categories=[(item, CATEGORY_LABELS[item]) for item in allowed])
    errors, typed = filled.errors, filled.typed
    minor = profile.is_minor(patient, today_in_france())
    if category is None and not filled.problem("category"):
        errors.append(("category", DEPOSIT.message(Problem("category", "choice"))))
    if category is None:
        db.session.commit()  # a category refused to this profession stays audited
    if not errors:
        try:
            document = deposit(
                filled.values["file"], patient=patient, author=current_user,
                title=filled.values["title"], category=category,
                document_date=filled.values["date"], hidden=None, source="professional",
                acting=opened.actor,
                secret_from_representatives=minor and bool(filled.values.get("secret")))
        except uploads.UploadRejected as problem:
            errors.append(("file", upload_message(problem)))
        except vault.InvalidDocument:
            errors.append(("date", _("La date du document ne peut pas être dans le futur.")))
        else:
            notify_new_document(patient, document)
            db.session.commit()
            flash(_("Le document est déposé dans l’espace santé du patient."), "success")
            return see_other(url_for("pro.patient_show", patient_id=patient.id))
    return render_page("pro/deposit.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors), typed=typed, patient=patient, minor=minor,
                       categories=[(item, CATEGORY_LABELS[item]) for item in allowed])


@bp.route("/pro/patients/<string:patient_id>/vaccinations", methods=["GET", "POST"])
@pro
def patient_vaccination(patient_id: str):
    """Record a vaccination given: it is locked for the patient."""
    opened = open_or_404(patient_id)
    patient = opened.patient
    section = profile.BY_KEY["vaccinations"]
    try:
        profile.may_add(db.session, keys.ring, current_user, patient, section, opened.facts,
                        opened.actor)
    except NotAllowed:
        db.session.commit()  # the refusal stays in the audit trail
        abort(404)
    errors: list[tuple[str, str]] = []
    typed = {"vaccinator": current_user.display_name}
    if request.method == "POST":
        reading = profile.validate(section, request.form, today_in_france(), patient.birth_date)
        typed = reading.typed
        if reading.ok:
            try:
                profile.add_entry(db.session, keys.ring, patient, section, reading.values,
                                  author=current_user, actor=opened.actor)
            except profile.SectionFull:
                errors = [("vaccine", _("Le carnet de vaccination de ce patient est complet "
                                        "(500 vaccinations)."))]
            else:
                db.session.commit()
                flash(_("La vaccination est inscrite dans le carnet du patient."), "success")
                return see_other(url_for("pro.patient_show", patient_id=patient.id))
        else:
            errors = [(problem.field, message(section.key, problem))
                      for problem in reading.problems]
    return render_page("pro/vaccination.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors), typed=typed, patient=patient,
                       vaccines=VACCINES, **{k: v for k, v in helpers(section).items()
                                             if k != "vaccines"})


@bp.post("/pro/patients/<string:patient_id>/vaccinations/<string:entry_id>/confirmer")
@pro
def vaccination_confirm(patient_id: str, entry_id: str):
    """Confirm a vaccination the patient recorded: it becomes locked for the patient."""
    opened = open_or_404(patient_id)
    patient = opened.patient
    try:
        item = profile.get_entry(db.session, keys.ring, current_user, patient,
                                 profile.BY_KEY["vaccinations"], entry_id,
                                 ProfileAction.CONFIRM, opened.actor, care=opened.facts)
    except profile.EntryNotFound:
        db.session.commit()
        abort(404)
    profile.confirm_entry(db.session, keys.ring, patient, item, opened.actor)
    db.session.commit()
    flash(_("La vaccination est confirmée : le patient ne peut plus la modifier."), "success")
    return see_other(url_for("pro.patient_show", patient_id=patient.id))
