"""People and the spaces they can act for."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.models import Representation, User
from domain.models.base import utcnow
from domain.models.name_prefix import normalise_name
from domain.policy import representation_active


def represented_by(session: Session, representative_id: str) -> list[tuple[User, str]]:
    """The people whose space this person manages today (representations in force), with
    the relationship, by first name (sorted here: names are sealed, and a person manages a
    handful of spaces)."""
    today = utcnow().astimezone(ZoneInfo("Europe/Paris")).date()
    rows = [(user, row.relationship) for user, row in session.execute(
        select(User, Representation)
        .join(Representation, Representation.represented_id == User.id)
        .where(Representation.representative_id == representative_id,
               Representation.ended_at.is_(None))
    ).all() if representation_active(row.relationship, ended=False,
                                     represented_born=user.birth_date, today=today)]
    rows.sort(key=lambda row: (normalise_name(row[0].given_name), row[0].id))
    return [(user, relationship) for user, relationship in rows]


def notification_addresses(session: Session, patient: User) -> list[str]:
    """Where to tell a person that something happened in their space: their own address,
    or, for a child or a dependant without one, their legal representatives' (each address
    once; addresses are sealed, so they are opened and sorted here)."""
    if patient.email:
        return [patient.email]
    representatives = session.scalars(
        select(User).join(Representation, Representation.representative_id == User.id)
        .where(Representation.represented_id == patient.id, User.email_sealed.is_not(None)))
    return sorted({person.email for person in representatives if person.email})
