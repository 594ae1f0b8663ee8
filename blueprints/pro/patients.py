"""The professional portal's patient pages: find a patient (NIR + birth date, with the
statement that the patient was informed and did not object), read what the policy allows,
deposit a document, record a vaccination."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from blueprints.pro import bp
from domain import (
    access_matrix,
    audit,
    care,
    emergency,
    measures,
    policy,
    profile,
    uploads,
    vault,
)
from domain.errors import NotAllowed
from domain.models.base import utcnow
from domain.policy import Area, DocumentAction, ProfileAction
from extensions import db, keys
from web.access import actor, allow
from web.care import actor_for, emergency_actor, patient_or_404
from web.files import stream_document
from web.form_reading import read_date, read_nir
from web.labels.access import PROFESSION_NAMES
from web.labels.documents import CATEGORY_LABELS, human_size, kind_label
from web.labels.profile import MEASURES, VACCINES, message
from web.labels.profile_display import helpers, measure_text
from web.outgoing import notify_emergency, notify_new_document, notify_professional_access
from web.render import render_page
from web.uploads import store_upload, upload_message

pro = allow(Area.PRO_PORTAL)
REASON_MESSAGES = {
    "missing": _l("Donnez la raison de cet accès en urgence."),
    "too_short": _l("Décrivez la situation en au moins 10 caractères."),
    "too_long": _l("La raison doit faire au plus 500 caractères."),
}


def _identity(typed: dict) -> tuple[str | None, date | None, list[tuple[str, str]]]:
    """The patient's NIR and birth date from the form (kept in `typed` as typed)."""
    typed["nir"] = (request.form.get("nir") or "")[:40]
    nir, errors = read_nir(request.form, missing=_(
        "Saisissez le numéro de sécurité sociale du patient (15 caractères), par exemple "
        "2 88 03 75 108 021 50."))
    born, typed["born"], date_errors = read_date(request.form, "born", _(
        "Saisissez la date de naissance du patient, par exemple 14 3 1988."))
    return nir, born, errors + date_errors


@bp.route("/pro/patients", methods=["GET", "POST"])
@pro
def patient_search():
    errors: list[tuple[str, str]] = []
    typed = {"nir": "", "born": {"day": "", "month": "", "year": ""}, "informed": False}
    if request.method == "POST":
        typed["informed"] = request.form.get("informed") == "oui"
        nir, born, errors = _identity(typed)
        if not typed["informed"]:
            errors.append(("informed", _("Confirmez que le patient a été informé et ne s’est "
                                         "pas opposé à votre accès.")))
        if not errors:
            try:
                patient = care.find_patient(db.session, keys.ring, current_user, nir, born,
                                            actor())
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
                    notify_professional_access(
                        patient, str(PROFESSION_NAMES[current_user.profession]))
                db.session.commit()
                return redirect(url_for("pro.patient_show", patient_id=patient.id), 303)
            db.session.commit()
    return render_page("pro/search.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors), typed=typed)


@bp.route("/pro/urgence", methods=["GET", "POST"])
@pro
def emergency_start():
    """Emergency access ("bris de glace"): NIR, birth date and a mandatory reason; only if
    the patient's emergency settings allow it; the patient and the attending doctor are
    told at once."""
    errors: list[tuple[str, str]] = []
    typed = {"nir": "", "born": {"day": "", "month": "", "year": ""}, "reason": ""}
    if request.method == "POST":
        typed["reason"] = (request.form.get("reason") or "")[:2000]
        nir, born, errors = _identity(typed)
        try:
            emergency.clean_reason(typed["reason"])
        except emergency.InvalidReason as problem:
            errors.append(("reason", str(REASON_MESSAGES[problem.reason])))
        if not errors:
            try:
                patient = care.find_patient(db.session, keys.ring, current_user, nir, born,
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
                return redirect(url_for("pro.patient_show", patient_id=patient.id), 303)
            db.session.commit()
    return render_page("pro/emergency.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors), typed=typed,
                       hours=current_app.config["EMERGENCY_HOURS"])


@bp.get("/pro/patients/<string:patient_id>")
@pro
def patient_show(patient_id: str):
    """What this professional may see of the patient's space."""
    patient = patient_or_404(patient_id)
    known = care.facts(db.session, current_user, patient)
    actor_now = actor_for(patient)
    documents = vault.documents_for_professional(db.session, keys.ring, current_user,
                                                 patient, known)
    sections = profile.load_for_professional(db.session, keys.ring, current_user, patient,
                                             known, actor_now, first=20)
    latest = measures.latest_for_professional(db.session, keys.ring, current_user, patient,
                                              known, actor_now)
    db.session.commit()
    return render_template(
        "pro/patient.html", patient=patient, documents=documents,
        views=list(sections.values()), category_labels=CATEGORY_LABELS, latest=latest,
        kind_label=kind_label, human_size=human_size,
        measure_kinds=measures.KINDS, measure_labels=MEASURES, measure_text=measure_text,
        may_deposit=bool(access_matrix.document_rights(current_user.profession, "deposit")),
        may_vaccinate=policy.profile_allowed(ProfileAction.ADD, current_user.role,
                                             is_owner=False, locked=False,
                                             section="vaccinations", care=known),
        **helpers())


@bp.get("/pro/patients/<string:patient_id>/documents/<string:document_id>")
@pro
def patient_document(patient_id: str, document_id: str):
    patient = patient_or_404(patient_id)
    try:
        owner, document = vault.get_document(db.session, keys.ring, current_user,
                                             document_id, DocumentAction.DOWNLOAD,
                                             actor_for(patient))
    except vault.DocumentNotFound:
        db.session.commit()
        abort(404)
    if owner.id != patient.id:  # another patient's document under this patient's address
        db.session.rollback()
        audit.record(db.session, keys.ring, "document.download", actor=actor_for(patient),
                     outcome="denied", subject_id=owner.id, target_type="document",
                     target_id=document_id[:64])
        db.session.commit()
        abort(404)
    db.session.commit()
    return stream_document(owner, document, inline=False)


@bp.route("/pro/patients/<string:patient_id>/deposer", methods=["GET", "POST"])
@pro
def patient_deposit(patient_id: str):
    """Deposit a document: same checks and encryption as the vault; the patient is told
    by e-mail (never the title) and can hide it, not delete it."""
    patient = patient_or_404(patient_id)
    allowed = [category for category in CATEGORY_LABELS if policy.matrix_allows(
        current_user.profession, current_user.sector, category, "deposit")]
    if not allowed:
        audit.record(db.session, keys.ring, "document.deposit", actor=actor_for(patient),
                     outcome="denied", subject_id=patient.id)
        db.session.commit()
        abort(404)
    errors: list[tuple[str, str]] = []
    typed = {"title": "", "category": "",
             "date": {"day": "", "month": "", "year": ""}}
    if request.method == "POST":
        typed["title"] = (request.form.get("title") or "")[:300]
        typed["category"] = request.form.get("category") or ""
        document_date, typed["date"], errors = read_date(request.form, "date", _(
            "Saisissez la date du document, par exemple 3 3 2026."),
            not_past=_("La date du document ne peut pas être dans le futur, par exemple "
                       "3 3 2026."))
        category = next((item for item in allowed if item.value == typed["category"]), None)
        if category is None:
            errors.append(("category", _("Choisissez une catégorie que votre profession peut "
                                         "déposer.")))
            if typed["category"]:  # a category the matrix refuses this profession
                audit.record(db.session, keys.ring, "document.deposit",
                             actor=actor_for(patient), outcome="denied",
                             subject_id=patient.id, details={"category": typed["category"][:20]})
                db.session.commit()
        try:
            vault.clean_title(typed["title"])
        except vault.InvalidDocument:
            errors.insert(0, ("title", _("Donnez un titre au document (200 caractères au "
                                         "plus).")))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors.insert(0, ("file", _("Choisissez un fichier.")))
        if not errors:
            try:
                store_upload(upload, patient=patient, author=current_user,
                             title=typed["title"], category=category,
                             document_date=document_date, hidden=None, source="professional",
                             on_saved=lambda _document: notify_new_document(patient))
            except uploads.UploadRejected as problem:
                errors.append(("file", upload_message(problem)))
            except vault.InvalidDocument:
                errors.append(("date", _("La date du document ne peut pas être dans le "
                                         "futur.")))
            else:
                flash(_("Le document est déposé dans l’espace santé du patient."), "success")
                return redirect(url_for("pro.patient_show", patient_id=patient.id), 303)
    return render_page("pro/deposit.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors), typed=typed, patient=patient,
                       categories=[(item, CATEGORY_LABELS[item]) for item in allowed])


@bp.route("/pro/patients/<string:patient_id>/vaccinations", methods=["GET", "POST"])
@pro
def patient_vaccination(patient_id: str):
    """Record a vaccination given: it is locked for the patient."""
    patient = patient_or_404(patient_id)
    known = care.facts(db.session, current_user, patient)
    section = profile.BY_KEY["vaccinations"]
    if not policy.profile_allowed(ProfileAction.ADD, current_user.role, is_owner=False,
                                  locked=False, section=section.key, care=known):
        audit.record(db.session, keys.ring, "profile.entry_add", actor=actor_for(patient),
                     outcome="denied", subject_id=patient.id,
                     details={"section": section.key})
        db.session.commit()
        abort(404)
    errors: list[tuple[str, str]] = []
    typed = {"vaccinator": current_user.display_name}
    if request.method == "POST":
        reading = profile.validate(section, request.form, date.today(), patient.birth_date)
        typed = reading.typed
        if reading.ok:
            try:
                profile.add_entry(db.session, keys.ring, patient, section, reading.values,
                                  author=current_user, actor=actor_for(patient))
            except profile.SectionFull:
                errors = [("vaccine", _("Le carnet de vaccination de ce patient est complet "
                                        "(500 vaccinations)."))]
            else:
                db.session.commit()
                flash(_("La vaccination est inscrite dans le carnet du patient."), "success")
                return redirect(url_for("pro.patient_show", patient_id=patient.id), 303)
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
    patient = patient_or_404(patient_id)
    known = care.facts(db.session, current_user, patient)
    try:
        item = profile.get_entry(db.session, keys.ring, current_user, patient,
                                 profile.BY_KEY["vaccinations"], entry_id,
                                 ProfileAction.CONFIRM, actor_for(patient), care=known)
    except profile.EntryNotFound:
        db.session.commit()
        abort(404)
    profile.confirm_entry(db.session, keys.ring, patient, item, actor_for(patient))
    db.session.commit()
    flash(_("La vaccination est confirmée : le patient ne peut plus la modifier."), "success")
    return redirect(url_for("pro.patient_show", patient_id=patient.id), 303)
