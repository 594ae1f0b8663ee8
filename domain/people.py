"""People and the spaces they can act for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.models import Representation, User


def represented_by(session: Session, representative_id: str) -> list[tuple[User, str]]:
    """The people whose space this person manages, with the relationship, by first name."""
    rows = session.execute(
        select(User, Representation.relationship)
        .join(Representation, Representation.represented_id == User.id)
        .where(Representation.representative_id == representative_id)
        .order_by(User.given_name)
    ).all()
    return [(user, relationship) for user, relationship in rows]


def notification_addresses(session: Session, patient: User) -> list[str]:
    """Where to tell a person that something happened in their space: their own address,
    or, for a child or a dependant without one, their legal representatives'."""
    if patient.email:
        return [patient.email]
    return list(session.scalars(
        select(User.email).join(Representation, Representation.representative_id == User.id)
        .where(Representation.represented_id == patient.id, User.email.is_not(None))
        .order_by(User.email)))
