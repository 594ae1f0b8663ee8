"""What is new in a person's space, for the top of their dashboard (issue 17): documents
others added since the last visit, the next appointment, emergency accesses since then,
unread messages. Counts and one opened item: nothing is read that the page does not show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import agenda, messaging
from domain.crypto import Keyring
from domain.models import AuditEvent, Document, EmergencyAccess, User

# Without an earlier visit (the first sign-in), "new" means these last days.
FIRST_VISIT_DAYS = 30


@dataclass(frozen=True)
class News:
    """`since`: the previous sign-in (None on the first one, when the window is the last
    FIRST_VISIT_DAYS days)."""

    since: datetime | None
    new_documents: int
    next_item: agenda.ItemView | None
    emergencies: int
    last_emergency: datetime | None
    unread: int

    @property
    def empty(self) -> bool:
        return not (self.new_documents or self.next_item or self.emergencies or self.unread)


def previous_visit(session: Session, user: User) -> datetime | None:
    """The sign-in before the current one, from the audit trail (None: the first)."""
    visits = session.scalars(select(AuditEvent.occurred_at).where(
        AuditEvent.actor_id == user.id, AuditEvent.subject_id == user.id,
        AuditEvent.action == "auth.login").order_by(AuditEvent.seq.desc()).limit(2)).all()
    return visits[1] if len(visits) > 1 else None


def whats_new(session: Session, keyring: Keyring, patient: User, now: datetime) -> News:
    """What happened in `patient`'s space since their previous visit (or in the last
    FIRST_VISIT_DAYS days on the first)."""
    since = previous_visit(session, patient)
    start = since or now - timedelta(days=FIRST_VISIT_DAYS)
    new_documents = session.scalar(select(func.count()).select_from(Document).where(
        Document.patient_id == patient.id, Document.deposited_at > start,
        Document.author_id.is_distinct_from(patient.id))) or 0
    emergencies = session.execute(select(func.count(), func.max(EmergencyAccess.started_at))
                                  .where(EmergencyAccess.patient_id == patient.id,
                                         EmergencyAccess.started_at > start)).one()
    return News(since=since, new_documents=int(new_documents),
                next_item=agenda.next_item(session, keyring, patient, now),
                emergencies=int(emergencies[0] or 0), last_emergency=emergencies[1],
                unread=messaging.unread_count(session, patient))
