"""Emergency access ("bris de glace"): a professional opens a space without the usual
statement, for a mandatory reason, only if the patient's emergency settings allow it,
for a limited time; it is recorded and the patient (and the attending doctor) are told at
once by the caller. The reason is sealed with the patient key."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, policy
from domain.crypto import Keyring, open_sealed, seal
from domain.errors import NotAllowed
from domain.forms import clean_text
from domain.keys import patient_key
from domain.models import CareRelation, EmergencyAccess, Role, User
from domain.models.base import new_id

REASON_MIN, REASON_MAX = 10, 500


class InvalidReason(ValueError):
    """`reason`: missing, too_short or too_long."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def clean_reason(text: str) -> str:
    """The stated reason, cleaned (multi-line text); InvalidReason when it is missing or
    outside REASON_MIN..REASON_MAX characters."""
    reason = clean_text(text, multiline=True)
    if not reason:
        raise InvalidReason("missing")
    if len(reason) < REASON_MIN:
        raise InvalidReason("too_short")
    if len(reason) > REASON_MAX:
        raise InvalidReason("too_long")
    return reason


def allowed_by_settings(patient: User, professional: User) -> bool:
    """The patient's emergency settings: emergency services (SAMU), other professionals."""
    return patient.emergency_samu if professional.samu else patient.emergency_others


def start(session: Session, keyring: Keyring, professional: User, patient: User, reason: str,
          *, now: datetime, hours: int, actor: audit.Actor) -> EmergencyAccess:
    """Open an emergency access; raises NotAllowed (audited) when the settings, a block by
    the patient or the professional's sector forbid it."""
    reason = clean_reason(reason)
    blocked = session.scalars(select(CareRelation.id).where(
        CareRelation.patient_id == patient.id, CareRelation.professional_id == professional.id,
        CareRelation.blocked.is_(True))).first() is not None
    if (professional.role != Role.PROFESSIONAL or policy.excluded(professional.sector)
            or blocked or not allowed_by_settings(patient, professional)):
        audit.record(session, keyring, "care.emergency_started", actor=actor,
                     outcome="denied", subject_id=patient.id, now=now)
        raise NotAllowed("emergency access not allowed")
    access_id = new_id()
    access = EmergencyAccess(
        id=access_id, patient_id=patient.id, professional_id=professional.id,
        professional_sector=professional.sector.value, started_at=now,
        ends_at=now + timedelta(hours=hours),
        reason_sealed=seal(patient_key(keyring, patient), reason.encode(),
                           f"emergency_accesses.reason.{access_id}.{patient.id}"))
    session.add(access)
    session.flush()
    audit.record(session, keyring, "care.emergency_started", actor=actor,
                 subject_id=patient.id, target_type="emergency_access", target_id=access_id,
                 details={"hours": hours}, now=now)
    return access


def running(patient_id, professional_id, now) -> tuple:
    """The condition on an emergency access of this professional to this patient running
    at `now` (values, or parameters of a statement built once: domain/care.py's)."""
    return (EmergencyAccess.patient_id == patient_id,
            EmergencyAccess.professional_id == professional_id,
            EmergencyAccess.started_at <= now, EmergencyAccess.ends_at > now)


def active(session: Session, patient_id: str, professional_id: str,
           now: datetime) -> EmergencyAccess | None:
    """The professional's emergency access to this patient still running at `now`."""
    return session.scalars(select(EmergencyAccess).where(
        *running(patient_id, professional_id, now))
        .order_by(EmergencyAccess.ends_at.desc())).first()


def running_for(session: Session, professional_id: str,
                now: datetime) -> list[tuple[EmergencyAccess, User]]:
    """The professional's emergency accesses still running, with their patients; none
    where the patient has blocked them since (the access opens nothing any more)."""
    blocked = select(CareRelation.id).where(
        CareRelation.patient_id == EmergencyAccess.patient_id,
        CareRelation.professional_id == professional_id, CareRelation.blocked.is_(True))
    return [tuple(row) for row in session.execute(
        select(EmergencyAccess, User).join(User, User.id == EmergencyAccess.patient_id)
        .where(EmergencyAccess.professional_id == professional_id,
               EmergencyAccess.started_at <= now, EmergencyAccess.ends_at > now,
               ~blocked.exists())
        .order_by(EmergencyAccess.ends_at))]


def reason_of(keyring: Keyring, patient: User, access: EmergencyAccess) -> str:
    """The reason stated for this emergency access, unsealed with the patient key."""
    return open_sealed(patient_key(keyring, patient), access.reason_sealed,
                       f"emergency_accesses.reason.{access.id}.{patient.id}").decode()


def reasons(session: Session, keyring: Keyring, patient: User,
            access_ids: set[str]) -> dict[str, str]:
    """The stated reasons of these emergency accesses to the patient's space."""
    if not access_ids:
        return {}
    found = session.scalars(select(EmergencyAccess).where(
        EmergencyAccess.id.in_(access_ids), EmergencyAccess.patient_id == patient.id))
    return {access.id: reason_of(keyring, patient, access) for access in found}


def update_settings(session: Session, keyring: Keyring, patient: User, *, samu: bool,
                    others: bool, hidden: bool, actor: audit.Actor) -> None:
    """Save the patient's emergency settings (SAMU, other professionals, whether hidden
    documents show); audited as "access.emergency_settings"."""
    patient.emergency_samu, patient.emergency_others = samu, others
    patient.emergency_hidden = hidden
    audit.record(session, keyring, "access.emergency_settings", actor=actor,
                 subject_id=patient.id,
                 details={"samu": samu, "others": others, "hidden": hidden})
