"""A professional's request in a patient's space: the patient if they may open it (404
otherwise, the refusal audited), and who acts for the audit trail (under an emergency
access when nothing else lets them in). Shared by the portal and the professional's
messaging."""

from __future__ import annotations

from dataclasses import replace

from flask import abort
from flask_login import current_user

from domain import audit, care
from domain.models import User
from extensions import db, keys
from web.access import actor


def patient_or_404(patient_id: str, refusal: str = "care.patient_open") -> User:
    """The patient, if this professional may open their page; a 404 otherwise, audited as
    `refusal`."""
    patient = db.session.get(User, patient_id) if len(patient_id) <= 32 else None
    if patient is None or not care.may_open(db.session, current_user, patient):
        audit.record(db.session, keys.ring, refusal, actor=actor(),
                     outcome="denied", subject_id=patient.id if patient else None)
        db.session.commit()
        abort(404)
    return patient


def emergency_actor() -> audit.Actor:
    """The audit actor of a professional acting under an emergency access."""
    return replace(actor(), acting_as="professional_emergency")


def actor_for(patient: User) -> audit.Actor:
    known = care.facts(db.session, current_user, patient)
    return emergency_actor() if known.emergency and not known.declared else actor()
