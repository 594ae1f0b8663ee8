"""Acting in another person's space: a parent in each child's, a guardian or curator in a
protected adult's.

A representation is added from the insurer's records (a minor's representatives, at
activation) or by the operator from a court decision, and ended by the operator or, for a
minor, at the 18th birthday by the daily `representation majority` job. Ended rows stay
(the access history names who acted) and never give access again; adding the same pair
again starts it anew. Whether one is in force today is `policy.representation_active`;
every change is audited with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from domain import activation, audit, policy
from domain.crypto import Keyring
from domain.db import Prepared
from domain.errors import NotAllowed
from domain.insured import paris_day
from domain.models import AccountRow, InsuredPerson, Representation, Role, SpaceStatus, User
from domain.models.base import utcnow
from domain.policy import RepresentationKind

REASON_MAX = 120


class InvalidRepresentation(ValueError):
    """The pair cannot be represented that way: `reason` says why ("self", "not_patient",
    "not_minor", "minor", "kind")."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Space:
    """A space its holder may act in: the represented person and how."""

    person: User | AccountRow  # read-only in spaces_for()'s list
    kind: RepresentationKind


def today_in_france(now: datetime | None = None) -> date:
    """The day it is in Europe/Paris: birthdays and ends of representation follow it."""
    return paris_day(now or utcnow())


def in_force(row: Representation, represented: User | AccountRow, today: date) -> bool:
    """Whether this representation lets its holder act today (a closed space is open to
    nobody: it is reopened with a provisional code, as anyone's)."""
    return _active(row.relationship, row.ended_at, represented, today)


def _active(relationship: str, ended_at: datetime | None, represented: User | AccountRow,
            today: date) -> bool:
    return represented.enabled and policy.representation_active(
        relationship, ended=ended_at is not None, represented_born=represented.birth_date,
        today=today)


# Built once (the header of every page of a parent asks) and run on the driver's cursor
# (domain.db.Prepared); the holder is a parameter.
_IN_FORCE_FOR = Prepared(
    select(Representation.relationship, Representation.ended_at,
           *AccountRow.selected())
    .join(User, User.id == Representation.represented_id)
    .where(Representation.representative_id == bindparam("holder_id"),
           Representation.ended_at.is_(None)))


def spaces_for(session: Session, holder: User | AccountRow, today: date) -> list[Space]:
    """The spaces `holder` may act in today besides their own, by first name (names are
    sealed: sorted here; a person holds a handful). The people come read-only (AccountRow):
    a page shows them; acting_for() gives the space a request acts in."""
    return spaces_among([(row.relationship, row.ended_at, AccountRow(row[2:]))
                         for row in _IN_FORCE_FOR.all(session, {"holder_id": holder.id})],
                        today)


def spaces_among(rows, today: date) -> list[Space]:
    """spaces_for() from representations already read: (relationship, ended_at, the
    represented person as an AccountRow) each (the session's lookup brings its person's,
    domain/sessions.py)."""
    spaces = list(_in_force_among(rows, today))
    if len(spaces) > 1:  # the key opens sealed names: not for a parent of one child
        spaces.sort(key=lambda space: (space.person.name_order[1], space.person.id))
    return spaces


def _in_force_among(rows, today: date):
    """The spaces in force today among representations already read, in their order."""
    for relationship, ended_at, person in rows:
        if _active(relationship, ended_at, person, today):
            yield Space(person, RepresentationKind(relationship))


# Built once (every page of a represented space asks); the holder and the space are
# parameters.
_ACTING_FOR = (select(Representation, User)
               .join(User, User.id == Representation.represented_id)
               .where(Representation.representative_id == bindparam("holder_id"),
                      Representation.represented_id == bindparam("space_id")))


def acting_for(session: Session, holder: User | AccountRow, space_id: str, today: date,
               held: tuple | None = None) -> Space:
    """The space `space_id` if `holder` may act in it today; NotAllowed otherwise (for an
    id that does not exist too, so an id reveals nothing).

    `held`, when given, is every representation not ended that `holder` holds, read with
    the request's session (domain/sessions.py: (relationship, ended_at, the represented
    person as an AccountRow) each): the space is found among them, without a query, and
    its person comes read-only, as a page needs it (web/space.py's owner_account() gives
    the ORM row to a use case that changes the account)."""
    space_id = (space_id or "")[:32]
    if held is not None:
        for space in _in_force_among(held, today):
            if space.person.id == space_id:
                return space
        raise NotAllowed("no representation in force")
    found = session.execute(_ACTING_FOR, {"holder_id": holder.id,
                                          "space_id": space_id}).first()
    if found is None or not in_force(found[0], found[1], today):
        raise NotAllowed("no representation in force")
    return Space(found[1], RepresentationKind(found[0].relationship))


def open_space(session: Session, keyring: Keyring, holder: User | AccountRow, space_id: str,
               actor: audit.Actor, today: date, held: tuple | None = None) -> Space:
    """acting_for() for a request in a represented space (with the representations the
    request's session brought, `held`, when it has them): a refusal is audited
    ("space.open", denied) and raises NotAllowed."""
    try:
        return acting_for(session, holder, space_id, today, held)
    except NotAllowed:
        known = session.get(User, space_id) if 0 < len(space_id or "") <= 32 else None
        audit.record(session, keyring, "space.open", actor=actor, outcome="denied",
                     subject_id=known.id if known is not None else None)
        raise


def _clean_reason(reason: str) -> str:
    return " ".join((reason or "").split())[:REASON_MAX]


def add(session: Session, keyring: Keyring, holder: User, represented: User,
        kind: RepresentationKind, reason: str, actor: audit.Actor,
        today: date) -> Representation:
    """Let `holder` act in `represented`'s space: a parent for a minor, a guardian or
    curator for an adult. Refused (InvalidRepresentation) for oneself, for anyone but two
    patients, or a kind that does not fit the age. Audited with the reason."""
    if holder.id == represented.id:
        raise InvalidRepresentation("self")
    if holder.role != Role.PATIENT or represented.role != Role.PATIENT:
        raise InvalidRepresentation("not_patient")
    born = represented.birth_date
    minor = born is not None and today < policy.majority_day(born)
    if kind == RepresentationKind.PARENT and not minor:
        raise InvalidRepresentation("not_minor")
    if kind != RepresentationKind.PARENT and minor:
        raise InvalidRepresentation("minor")
    row = session.scalars(select(Representation).where(
        Representation.representative_id == holder.id,
        Representation.represented_id == represented.id)).first()
    if row is None:
        row = Representation(representative_id=holder.id, represented_id=represented.id,
                             relationship=kind.value)
        session.add(row)
    row.relationship, row.ended_at, row.ended_reason = kind.value, None, None
    session.flush()
    audit.record(session, keyring, "representation.added", actor=actor,
                 subject_id=represented.id, target_type="user", target_id=holder.id,
                 details={"kind": kind.value, "reason": _clean_reason(reason)})
    return row


def end(session: Session, keyring: Keyring, holder: User, represented: User, reason: str,
        actor: audit.Actor, *, code: str = "court_decision") -> bool:
    """End a representation in force (False when there is none). Audited with the
    reason."""
    ended = session.execute(
        update(Representation).where(Representation.representative_id == holder.id,
                                     Representation.represented_id == represented.id,
                                     Representation.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_reason=code)).rowcount
    if ended:
        audit.record(session, keyring, "representation.ended", actor=actor,
                     subject_id=represented.id, target_type="user", target_id=holder.id,
                     details={"ended_because": code, "reason": _clean_reason(reason)})
    return bool(ended)


@dataclass(frozen=True)
class Majority:
    """A child who came of age, and the former representatives (to tell them)."""

    person: User
    former: tuple[User, ...]


def end_at_majority(session: Session, keyring: Keyring, today: date,
                    actor: audit.Actor) -> list[Majority]:
    """End every parent's representation of a person whose 18th birthday is today or
    past. Safe to run twice at once: a row is ended by one run only (its UPDATE finds it
    still open), and only that run reports it."""
    # The birth date in clear on the insurer's record leaves out every child still a minor
    # (all but a few rows) before any sealed birth date is opened; the exact day is the
    # account's, below: policy.majority_day.
    try:
        cutoff = today.replace(year=today.year - 18)
    except ValueError:  # 29 February today, none 18 years ago
        cutoff = date(today.year - 18, 2, 28)
    rows = session.execute(
        select(Representation.id, Representation.representative_id, User)
        .join(User, User.id == Representation.represented_id)
        .outerjoin(InsuredPerson, InsuredPerson.user_id == User.id)
        .where(Representation.relationship == RepresentationKind.PARENT.value,
               Representation.ended_at.is_(None),
               or_(InsuredPerson.id.is_(None), InsuredPerson.birth_date <= cutoff))).all()
    grown: dict[str, tuple[User, list[str]]] = {}
    for row_id, holder_id, person in rows:
        born = person.birth_date
        if born is None or today < policy.majority_day(born):
            continue
        won = session.execute(update(Representation).where(
            Representation.id == row_id, Representation.ended_at.is_(None))
            .values(ended_at=utcnow(), ended_reason="majority")).rowcount
        if won:
            grown.setdefault(person.id, (person, []))[1].append(holder_id)
            audit.record(session, keyring, "representation.ended", actor=actor,
                         subject_id=person.id, target_type="user", target_id=holder_id,
                         details={"ended_because": "majority"})
    holders = {user.id: user for user in session.scalars(select(User).where(User.id.in_(
        [holder for _person, ids in grown.values() for holder in ids])))} if grown else {}
    return [Majority(person, tuple(holders[holder] for holder in ids))
            for person, ids in grown.values()]


def hand_over(session: Session, keyring: Keyring, person: User,
              now: datetime) -> activation.IssuedCode | None:
    """After the 18th birthday: the space waits for its owner's own sign-in (as a space
    created automatically does) and a code goes to them, by e-mail or by post, to take it
    over through activation; without an answer it simply stays theirs. None when the
    person already signs in by themselves or is not in the insurer's records."""
    record = session.scalars(select(InsuredPerson).where(
        InsuredPerson.user_id == person.id)).first()
    if record is None or person.login is not None or (
            record.space_status != SpaceStatus.ACTIVE):
        return None
    record.space_status, record.status_changed_at = SpaceStatus.AUTO_CREATED, now
    return replace(activation.issue_code(session, keyring, record, now), takeover=True)
