"""Closing a space, erasing it, and the purge job (DESIGN.md §2: kept 10 years, or
deleted at once on request; reopening goes through activation with a provisional code)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain import audit
from domain.crypto import Keyring
from domain.errors import NotAllowed
from domain.models import (
    AgendaItem,
    CalendarFeed,
    Conversation,
    FamilyNamePrefix,
    InsuredPerson,
    Measure,
    MessageAttachment,
    ProfileEntry,
    ProfileSection,
    Representation,
    SpaceStatus,
    SummaryPdf,
    Tally,
    User,
    WebSession,
)

ARCHIVE_YEARS = 10


def person_of(session: Session, user: User) -> InsuredPerson | None:
    """The insured person whose space this account is, or None."""
    return session.execute(select(InsuredPerson).where(
        InsuredPerson.user_id == user.id)).scalar_one_or_none()


def close_space(session: Session, keyring: Keyring, user: User, *, delete_now: bool,
                now: datetime, actor: audit.Actor) -> InsuredPerson:
    """Close the space: sign-in disabled, every session ended, data archived for 10 years,
    or — when asked — the patient key destroyed at once (crypto-shredding) and the rest
    erased by the next purge run."""
    person = person_of(session, user)
    if person is None or person.space_status not in (SpaceStatus.ACTIVE,
                                                     SpaceStatus.AUTO_CREATED):
        raise NotAllowed("not open")
    user.enabled = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    person.space_status = SpaceStatus.CLOSED
    person.status_changed_at = now
    if delete_now:
        user.wrapped_key = None
        person.purge_after = now
    else:
        person.purge_after = now.replace(year=now.year + ARCHIVE_YEARS)
    audit.record(session, keyring, "activation.closed", actor=actor, subject_id=person.id,
                 details={"delete_now": delete_now}, now=now)
    session.flush()
    return person


def erase_user(session: Session, user_id: str) -> None:
    """Delete the account row and what hangs on it: representations, sessions, profile,
    measures and the counts kept of them and of documents, the PDF summary, conversations,
    agenda, calendar feeds, name prefixes. Not audited here."""
    session.execute(delete(Representation).where(
        (Representation.represented_id == user_id)
        | (Representation.representative_id == user_id)))
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    for model in (ProfileEntry, ProfileSection, Measure, Tally, SummaryPdf, MessageAttachment,
                  Conversation, AgendaItem, CalendarFeed):  # whatever the database's FK mode
        session.execute(delete(model).where(model.patient_id == user_id))
    # The row takes the sealed names, birth date and contact details with it.
    session.execute(delete(FamilyNamePrefix).where(FamilyNamePrefix.user_id == user_id))
    session.execute(delete(User).where(User.id == user_id))


def purge(session: Session, keyring: Keyring, now: datetime) -> int:
    """Erase closed spaces whose archive period is over or whose deletion was asked."""
    due = session.execute(select(InsuredPerson).where(
        InsuredPerson.space_status == SpaceStatus.CLOSED,
        InsuredPerson.purge_after <= now)).scalars().all()
    for person in due:
        if person.user_id:
            erase_user(session, person.user_id)
        person.user_id = None
        person.space_status = SpaceStatus.DELETED
        person.status_changed_at = now
        person.purge_after = None
        audit.record(session, keyring, "activation.purged", subject_id=person.id, now=now)
    session.flush()
    return len(due)
