"""Professionals and the patients they care for: finding a patient, the statement that the
patient was informed and did not object, blocks, and what the policy needs to decide.

Nothing here decides access on its own: `document_context` and `profile_context` gather the
facts, domain/policy.py answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import String, bindparam, exists, select
from sqlalchemy.orm import Session

from domain import audit, emergency, insured, people, policy
from domain.crypto import Keyring, process_keyring
from domain.db import Prepared
from domain.errors import NotAllowed
from domain.models import (
    AccountRow,
    CareRelation,
    Category,
    Document,
    EmergencyAccess,
    FamilyNamePrefix,
    Profession,
    Role,
    Sector,
    SpaceStatus,
    User,
)
from domain.models.base import UTCDateTime, utcnow
from domain.models.name_prefix import prefix_digest

OPEN_SPACES = (SpaceStatus.ACTIVE, SpaceStatus.AUTO_CREATED)
SEARCH_SCAN = 200  # professionals a name search opens and sorts, at most


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
    """The care relation between this patient and this professional, or None."""
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


def standing(patient_id, professional_id, now) -> tuple:
    """What the policy needs to read of a professional towards a patient, as three columns
    of a statement (values, parameters, or the columns of a row the statement reads: a
    conversation's two parties): whether the pair's care relation (one at most) is declared
    and blocked (NULL without one), and whether an emergency access of the professional to
    the patient runs at `now`. facts_of() makes the policy's facts of them."""
    pair = (CareRelation.patient_id == patient_id,
            CareRelation.professional_id == professional_id)
    return (
        select(CareRelation.declared_at.is_not(None)).where(*pair).scalar_subquery()
        .label("declared"),
        select(CareRelation.blocked).where(*pair).scalar_subquery().label("blocked"),
        exists().where(*emergency.running(patient_id, professional_id, now))
        .label("emergency"))


# What facts() reads, in one statement built once.
_STANDING = Prepared(select(*standing(bindparam("patient_id", type_=String),
                                      bindparam("professional_id", type_=String),
                                      bindparam("now", type_=UTCDateTime()))))


def facts(session: Session, viewer: User, patient: User) -> policy.CareFacts:
    """What the policy needs to know of a professional towards one patient, in one
    statement (the pages that open a patient, a conversation or a document ask on every
    view)."""
    found = _STANDING.first(session, {"patient_id": patient.id, "professional_id": viewer.id,
                                      "now": utcnow()})
    return facts_of(viewer, patient, found.declared, found.blocked, found.emergency)


def facts_of(viewer: User | AccountRow, patient: User | AccountRow, declared, blocked,
             emergency_running) -> policy.CareFacts:
    """The policy's facts from standing()'s three columns, read for this pair."""
    # A closed (or shredded) space is open to nobody, whatever was declared before.
    open_space = (patient.role == Role.PATIENT and patient.enabled
                  and patient.wrapped_key is not None)
    return policy.CareFacts(
        sector=viewer.sector, profession=viewer.profession,
        declared=open_space and bool(declared), blocked=bool(blocked),
        emergency=open_space and bool(emergency_running), open_space=open_space)


def may_open(session: Session, viewer: User, patient: User) -> bool:
    """Whether this professional may open the patient's page (policy.patient_open_allowed
    on facts gathered now)."""
    return policy.patient_open_allowed(viewer.role, facts(session, viewer, patient))


@dataclass(frozen=True)
class OpenPatient:
    """A patient's space as one professional may open it: the patient's account (a row
    read without the ORM: the professional's pages read it and write rows of their own,
    never the account), the facts the policy decides on, gathered once for the request,
    and who acts for the audit trail (the professional, or the professional under
    emergency access when nothing else lets them in)."""

    patient: AccountRow
    facts: policy.CareFacts
    actor: audit.Actor


# The account open_patient() opens and the viewer's standing towards it, in one statement
# built once (two before, on every professional's view of a patient's space; then the ORM
# row's loading and the ORM session made for it cost more than the query).
_OPEN_PATIENT = Prepared(
    select(*AccountRow.selected(), *standing(User.id, bindparam("viewer_id", type_=String),
                                             bindparam("now", type_=UTCDateTime())))
    .where(User.id == bindparam("patient_id", type_=String)))
_STANDING_AT = len(AccountRow.COLUMNS)


def open_patient(session: Session, keyring: Keyring, viewer: User, patient_id: str,
                 actor: audit.Actor, *, refusal: str = "care.patient_open") -> OpenPatient:
    """The patient's space if the policy lets this professional open it; otherwise the
    refusal is audited as `refusal` and NotAllowed raised (the same for an id that does
    not exist, so an id reveals nothing)."""
    row = (_OPEN_PATIENT.first(session, {"patient_id": patient_id, "viewer_id": viewer.id,
                                         "now": utcnow()})
           if len(patient_id or "") <= 32 else None)
    patient = AccountRow(row[:_STANDING_AT]) if row is not None else None
    known = facts_of(viewer, patient, *row[_STANDING_AT:]) if row is not None else None
    if known is None or not policy.patient_open_allowed(viewer.role, known):
        audit.record(session, keyring, refusal, actor=actor, outcome="denied",
                     subject_id=patient.id if patient else None)
        raise NotAllowed("not this professional's patient")
    if known.emergency and not known.declared:
        actor = replace(actor, acting_as="professional_emergency")
    return OpenPatient(patient, known, actor)


def acting(session: Session, viewer: User, patient: User | None,
           actor: audit.Actor) -> audit.Actor:
    """Who acts in `patient`'s space, for the audit trail: a professional who is there only
    through a running emergency access is recorded as such."""
    if viewer.role != Role.PROFESSIONAL or patient is None:
        return actor
    return acting_on(facts(session, viewer, patient), actor)


def acting_on(known: policy.CareFacts, actor: audit.Actor) -> audit.Actor:
    """acting() on a professional's facts already gathered in this request."""
    if known.emergency and not known.declared:
        return replace(actor, acting_as="professional_emergency")
    return actor


def deposit_choices(session: Session, keyring: Keyring, viewer: User, opened: OpenPatient,
                    asked: str = "") -> tuple[tuple[Category, ...], Category | None]:
    """What this professional may deposit in the opened space, and the category `asked`
    for if it is one of them. No category at all, or one asked for outside them, is a
    refusal: audited, and NotAllowed when there is nothing to choose."""
    allowed = policy.deposit_categories(viewer.profession, viewer.sector)
    chosen = next((category for category in allowed if category.value == asked), None)
    if not allowed or (asked and chosen is None):
        audit.record(session, keyring, "document.deposit", actor=opened.actor,
                     outcome="denied", subject_id=opened.patient.id,
                     details={"category": asked[:20]} if asked else {})
    if not allowed:
        raise NotAllowed("no category to deposit")
    return allowed, chosen


def document_context(session: Session, viewer: User, document: Document,
                     patient: User | None = None,
                     known: policy.CareFacts | None = None) -> policy.DocumentContext:
    """The facts the document policy decides on, for any viewer. A list passes the
    professional's `known` facts, gathered once for the page, instead of two queries per
    document."""
    is_owner = viewer.id == document.patient_id
    if viewer.role != Role.PROFESSIONAL:
        return policy.DocumentContext(is_owner=is_owner,
                                      is_author=viewer.id == document.author_id)
    patient = patient or session.get(User, document.patient_id)
    known = known or facts(session, viewer, patient)
    in_matrix = policy.matrix_allows(viewer.profession, viewer.sector, document.category,
                                     "read")
    return policy.DocumentContext(
        is_owner=is_owner, is_author=viewer.id == document.author_id,
        is_attending_doctor=patient.attending_doctor_id == viewer.id, blocked=known.blocked,
        sector=viewer.sector, has_grant=known.declared and in_matrix,
        emergency=known.emergency and in_matrix, emergency_hidden=patient.emergency_hidden)


def professional_by_rpps(session: Session, rpps: str) -> User | None:
    """The professional account with this RPPS number, or None."""
    return session.scalars(select(User).where(User.rpps == rpps,
                                              User.role == Role.PROFESSIONAL)).first()


def search_professionals(session: Session, query: str, limit: int = 20) -> list[User]:
    """Care professionals by RPPS number or by family name (start of it, any case, with or
    without accents), by name.

    Names are sealed: the typed start is hashed and looked up among the keyed hashes of
    each professional's family-name prefixes (domain/models/name_prefix.py); at most
    SEARCH_SCAN matches are opened and sorted here, so a very short start in a large
    directory shows `limit` of them, in order, rather than the first `limit` of all."""
    query = " ".join(query.split())[:100]
    if not query:
        return []
    if query.isdigit():
        found = professional_by_rpps(session, query)
        return [found] if found is not None and not policy.excluded(found.sector) else []
    digest = prefix_digest(process_keyring(), query)
    if digest is None:
        return []
    found = session.scalars(select(User).join(
        FamilyNamePrefix, FamilyNamePrefix.user_id == User.id).where(
        FamilyNamePrefix.digest == digest, User.role == Role.PROFESSIONAL,
        User.sector == Sector.CARE).order_by(User.id).limit(SEARCH_SCAN))
    return sorted(found, key=lambda person: (person.name_order, person.id))[:limit]


@dataclass(frozen=True)
class Around:
    """A professional as the patient's access page lists them."""

    person: User | AccountRow      # read-only: the page only names them
    last_access: datetime | None   # the last "informed, did not object" statement
    emergency_at: datetime | None  # the last emergency access, if any
    blocked_at: datetime | None = None


# Compiled once and run on the driver's cursor (domain.db.Prepared): the facts the page
# shows and the professional's account as a read-only row (its columns after the facts').
_RELATIONS = Prepared(
    select(CareRelation.professional_id, CareRelation.declared_at, CareRelation.blocked,
           CareRelation.blocked_at, *AccountRow.selected())
    .join(User, User.id == CareRelation.professional_id)
    .where(CareRelation.patient_id == bindparam("patient_id")))
_EMERGENCIES = Prepared(
    select(EmergencyAccess.professional_id, EmergencyAccess.started_at, *AccountRow.selected())
    .join(User, User.id == EmergencyAccess.professional_id)
    .where(EmergencyAccess.patient_id == bindparam("patient_id")))


@dataclass(frozen=True)
class PeopleAround:
    """Who the patient's access page names: the professionals who accessed the space and
    are not blocked, the blocked ones (newest first), and the attending doctor, all
    read-only accounts."""

    active: list[Around]
    blocked: list[Around]
    attending: AccountRow | None


def people_around(session: Session, patient: User) -> PeopleAround:
    """Who is around the patient's space (PeopleAround). The attending doctor is taken from
    the listed professionals when they are one of them (no query), else read by id."""
    relations = {row.professional_id: (row, AccountRow(row[4:])) for row in _RELATIONS.all(
        session, {"patient_id": patient.id})}
    emergencies: dict[str, tuple[datetime, AccountRow]] = {}
    for access in _EMERGENCIES.all(session, {"patient_id": patient.id}):
        if access.professional_id not in emergencies or (
                access.started_at > emergencies[access.professional_id][0]):
            emergencies[access.professional_id] = (access.started_at, AccountRow(access[2:]))
    active, blocked = [], []
    for person_id in set(relations) | set(emergencies):
        relation, person = relations.get(person_id) or (None, emergencies[person_id][1])
        item = Around(person, relation.declared_at if relation else None,
                      emergencies[person_id][0] if person_id in emergencies else None,
                      relation.blocked_at if relation and relation.blocked else None)
        if item.blocked_at:
            blocked.append(item)
        elif item.last_access or item.emergency_at:
            active.append(item)

    def newest(item: Around):
        return max(day for day in (item.last_access, item.emergency_at, item.blocked_at)
                   if day)
    doctor_id = patient.attending_doctor_id
    listed = {item.person.id: item.person for item in active + blocked}
    attending = listed.get(doctor_id) or (
        people.by_id(session, [doctor_id]).get(doctor_id) if doctor_id else None)
    return PeopleAround(sorted(active, key=newest, reverse=True),
                        sorted(blocked, key=newest, reverse=True), attending)


@dataclass(frozen=True)
class BlockOutcome:
    """What a block or an unblock did to the attending-doctor designation: `attending`,
    the professional was the attending doctor (a block withdraws it); `restored`, an
    unblock gave it back; `not_restored`, it could not be (another doctor has it now)."""

    attending: bool = False
    restored: bool = False
    not_restored: bool = False


def blockable(professional: User) -> bool:
    """A care professional; someone outside care needs no block: they never get in."""
    return professional.role == Role.PROFESSIONAL and not policy.excluded(professional.sector)


def set_blocked(session: Session, keyring: Keyring, patient: User, professional: User,
                blocked: bool, actor: audit.Actor) -> BlockOutcome:
    """Block or unblock a professional; it takes effect on their next request. Blocking
    the attending doctor withdraws the designation and remembers it; unblocking gives it
    back unless another doctor was designated since. Someone outside care needs no block:
    they never get in."""
    if not blockable(professional):
        raise NotAllowed("not a care professional")
    found = relation(session, patient.id, professional.id)
    if found is None:
        found = CareRelation(patient_id=patient.id, professional_id=professional.id,
                             professional_sector=professional.sector.value)
        session.add(found)
    found.blocked, found.blocked_at = blocked, utcnow() if blocked else None
    outcome = BlockOutcome()
    if blocked and patient.attending_doctor_id == professional.id:
        patient.attending_doctor_id, found.was_attending = None, True
        outcome = BlockOutcome(attending=True)
    elif not blocked and found.was_attending:
        found.was_attending = False
        if patient.attending_doctor_id is None:
            patient.attending_doctor_id = professional.id
            outcome = BlockOutcome(attending=True, restored=True)
        else:
            outcome = BlockOutcome(attending=True, not_restored=True)
    session.flush()
    audit.record(session, keyring, "access.blocked" if blocked else "access.unblocked",
                 actor=actor, subject_id=patient.id, target_type="professional",
                 target_id=professional.id,
                 details={"attending": outcome.attending, "restored": outcome.restored})
    return outcome


def set_attending(session: Session, keyring: Keyring, patient: User,
                  doctor: User | None, actor: audit.Actor) -> None:
    """Designate (or, with None, withdraw) the attending doctor: a care doctor the
    patient has not blocked."""
    if doctor is not None:
        known = relation(session, patient.id, doctor.id)
        if (doctor.role != Role.PROFESSIONAL or policy.excluded(doctor.sector)
                or doctor.profession != Profession.DOCTOR or (known and known.blocked)):
            raise NotAllowed("not an eligible doctor")
    patient.attending_doctor_id = doctor.id if doctor else None
    audit.record(session, keyring, "access.attending_doctor", actor=actor,
                 subject_id=patient.id, target_type="professional",
                 target_id=doctor.id if doctor else None)
