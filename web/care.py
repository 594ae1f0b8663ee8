"""A professional's request in a patient's space: the opened space if the policy lets them
in (a 404 otherwise; domain/care.py audits the refusal), and the actor of an emergency
access. Shared by the portal and the professional's messaging."""

from __future__ import annotations

from dataclasses import replace

from flask import abort
from flask_login import current_user

from domain import audit, care
from domain.errors import NotAllowed
from extensions import db, keys
from web.access import actor


def open_or_404(patient_id: str, refusal: str = "care.patient_open") -> care.OpenPatient:
    """The patient's space as this professional may open it; a 404 otherwise, the refusal
    kept in the audit trail as `refusal`."""
    try:
        return care.open_patient(db.session, keys.ring, current_user, patient_id, actor(),
                                 refusal=refusal)
    except NotAllowed:
        db.session.commit()
        abort(404)


def emergency_actor() -> audit.Actor:
    """The audit actor of a professional starting an emergency access."""
    return replace(actor(), acting_as="professional_emergency")

