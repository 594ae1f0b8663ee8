"""People and the spaces they can act for."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from domain import representation
from domain.db import Prepared, one_of, one_of_values, read_rows
from domain.models import AccountRow, Representation, User

_BY_ID = select(*AccountRow.selected()).where(User.id.in_(bindparam("ids", expanding=True)))
# Up to this many ids, one statement per number of ids, built when first asked for.
BY_ID_PREPARED = 64
_BY_IDS: dict[int, Prepared] = {}


def _by_ids(count: int) -> Prepared:
    statement = _BY_IDS.get(count)
    if statement is None:
        statement = _BY_IDS[count] = Prepared(
            select(*AccountRow.selected()).where(one_of(User.id, "id", count)))
    return statement


def by_id(session: Session, ids) -> dict[str, AccountRow]:
    """These accounts, by id, read-only (the pages that ask name the people of a list: the
    authors of documents, the other side of conversations, the actors of a history), in
    one query (none for no id). A page names a few people: up to BY_ID_PREPARED, the query
    is built once per number of ids and run on the driver's cursor (domain.db.Prepared);
    SQLAlchemy writes a list parameter (`IN`) into the SQL anew on each run: for one id,
    115 µs instead of 43 alone in a loop, and 220 to 440 µs more on a document's page,
    which names its author. More ids take that way."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = (_by_ids(len(ids)).all(session, one_of_values("id", ids))
            if len(ids) <= BY_ID_PREPARED else read_rows(session, _BY_ID, {"ids": ids}))
    return {row.id: row for row in map(AccountRow, rows)}


def known_or_get(session: Session, user_id: str | None, known: User | AccountRow | None,
                 ) -> User | AccountRow | None:
    """The account `user_id`: `known`, a person the caller already holds (the viewer, whose
    row came with the session, read-only), when it is that one; else the ORM row."""
    if known is not None and known.id == user_id:
        return known
    return session.get(User, user_id) if user_id else None


def represented_by(session: Session, representative_id: str) -> list[tuple[User, str]]:
    """The people whose space this person manages today (representations in force,
    domain/representation.py), with the relationship, by first name."""
    holder = session.get(User, representative_id)
    if holder is None:
        return []
    return [(space.person, space.kind.value) for space in representation.spaces_for(
        session, holder, representation.today_in_france())]


def notification_addresses(session: Session, patient: User) -> list[str]:
    """Where to tell a person that something happened in their space: their own address,
    or, for a child or a dependant without one, their representatives' in force today (each
    address once; addresses are sealed, so they are opened and sorted here)."""
    if patient.email:
        return [patient.email]
    today = representation.today_in_france()
    rows = session.execute(
        select(Representation, User)
        .join(User, Representation.representative_id == User.id)
        .where(Representation.represented_id == patient.id, Representation.ended_at.is_(None),
               User.email_sealed.is_not(None))).all()
    return sorted({person.email for row, person in rows
                   if person.email and representation.in_force(row, patient, today)})
