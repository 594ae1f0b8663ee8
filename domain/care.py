"""Professionals and the patients they care for: finding a patient, the statement that the
patient was informed and did not object, blocks, and what the policy needs to decide.

Nothing here decides access on its own: `document_context` and `profile_context` gather the
facts, domain/policy.py answers.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, insured, policy
from domain.crypto import Keyring
from domain.errors import NotAllowed
from domain.models import CareRelation, Document, Role, SpaceStatus, User
from domain.models.base import utcnow

OPEN_SPACES = (SpaceStatus.ACTIVE, SpaceStatus.AUTO_CREATED)


class PatientNotFound(Exception):
    """No open space for this NIR and birth date (or the professional may not look)."""


class Blocked(Exception):
    """The patient blocked this professional."""


def find_patient(session: Session, keyring: Keyring, professional: User, nir: str,
                 born: date, actor: audit.Actor) -> User:
    """The patient with this NIR and birth date, if their space is open; every search is
    audited (the NIR itself never)."""
    person = insured.find_by_nir(session, keyring, nir)
    found = (person is not None and person.birth_date == born and person.user_id is not None
             and person.space_status in OPEN_SPACES
             and not policy.excluded(professional.sector)
             and professional.role == Role.PROFESSIONAL)
    audit.record(session, keyring, "care.patient_search", actor=actor,
                 outcome="success" if found else "denied",
                 subject_id=person.user_id if found else None)
    if not found:
        raise PatientNotFound
    return session.get(User, person.user_id)


def relation(session: Session, patient_id: str, professional_id: str) -> CareRelation | None:
    return session.scalars(select(CareRelation).where(
        CareRelation.patient_id == patient_id,
        CareRelation.professional_id == professional_id)).first()


def declare(session: Session, keyring: Keyring, professional: User, patient: User,
            actor: audit.Actor) -> CareRelation:
    """Record "the patient was informed and did not object". Refused to anyone outside
    care (the database refuses it too) and to a professional the patient blocked."""
    if professional.role != Role.PROFESSIONAL or policy.excluded(professional.sector):
        audit.record(session, keyring, "care.declared", actor=actor, outcome="denied",
                     subject_id=patient.id)
        raise NotAllowed("only care professionals")
    existing = relation(session, patient.id, professional.id)
    if existing is not None and existing.blocked:
        audit.record(session, keyring, "care.declared", actor=actor, outcome="denied",
                     subject_id=patient.id, details={"reason": "blocked"})
        raise Blocked
    if existing is None:
        existing = CareRelation(patient_id=patient.id, professional_id=professional.id,
                                professional_sector=professional.sector.value)
        session.add(existing)
    existing.declared_at = utcnow()
    session.flush()
    audit.record(session, keyring, "care.declared", actor=actor, subject_id=patient.id,
                 target_type="professional", target_id=professional.id)
    return existing


def facts(session: Session, viewer: User, patient: User) -> policy.CareFacts:
    """What the policy needs to know of a professional towards one patient."""
    found = relation(session, patient.id, viewer.id)
    return policy.CareFacts(sector=viewer.sector, profession=viewer.profession,
                            declared=found is not None and found.declared_at is not None,
                            blocked=found is not None and found.blocked)


def may_open(session: Session, viewer: User, patient: User) -> bool:
    """A professional may open this patient's page: declared, not blocked, in care."""
    known = facts(session, viewer, patient)
    return known.declared and not known.blocked and not policy.excluded(known.sector)


def document_context(session: Session, viewer: User, document: Document,
                     patient: User | None = None) -> policy.DocumentContext:
    """The facts the document policy decides on, for any viewer."""
    is_owner = viewer.id == document.patient_id
    if viewer.role != Role.PROFESSIONAL:
        return policy.DocumentContext(is_owner=is_owner,
                                      is_author=viewer.id == document.author_id)
    patient = patient or session.get(User, document.patient_id)
    known = facts(session, viewer, patient)
    return policy.DocumentContext(
        is_owner=is_owner, is_author=viewer.id == document.author_id,
        is_attending_doctor=patient.attending_doctor_id == viewer.id, blocked=known.blocked,
        sector=viewer.sector, has_grant=known.declared and policy.matrix_allows(
            viewer.profession, viewer.sector, document.category, "read"))
