"""What is new in a person's space, for the top of their dashboard (issue 17): documents
others added since the last visit, the next appointment, emergency accesses since then,
unread messages. Counts and one opened item: nothing is read that the page does not show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, func, literal, select, text, true
from sqlalchemy.orm import Session

from domain import agenda, messaging
from domain.crypto import Keyring
from domain.db import Prepared
from domain.models import AuditEvent, Document, EmergencyAccess, User
from domain.models.audit import SIGN_IN_ONLY
from domain.models.base import UTCDateTime

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


def _visits(user_id):
    """The person's sign-ins, newest first (the audit trail keeps them). The action is
    written into the SQL, not sent as a parameter: the sign-ins' own index
    (ix_audit_events_sign_ins) holds those rows only, and a database uses such an index
    only for a query that names its condition."""
    return (select(AuditEvent.occurred_at)
            .where(AuditEvent.actor_id == user_id, AuditEvent.subject_id == user_id,
                   text(SIGN_IN_ONLY))
            .order_by(AuditEvent.seq.desc()))


def _counts_statement():
    """One statement for the whole block: the previous visit, then, since it (or since
    the window's start on the first), documents others added, emergency accesses and the
    latest one, and every unread message; and the next agenda item's columns (outer-joined
    to one row: all None when there is none). One round trip to the database instead of
    two. Built once; the person, the window's start and the next item's (agenda's
    next_parameters) are parameters."""
    user_id = bindparam("user_id", type_=String)
    window = bindparam("window_start", type_=UTCDateTime())
    since = _visits(user_id).limit(1).offset(1).scalar_subquery()
    start = func.coalesce(since, window)
    return select(
        since.label("since"),
        select(func.count()).select_from(Document).where(
            Document.patient_id == user_id, Document.deposited_at > start,
            Document.author_id.is_distinct_from(user_id)).scalar_subquery().label("documents"),
        select(func.count()).where(
            EmergencyAccess.patient_id == user_id,
            EmergencyAccess.started_at > start).scalar_subquery().label("emergencies"),
        select(func.max(EmergencyAccess.started_at)).where(
            EmergencyAccess.patient_id == user_id,
            EmergencyAccess.started_at > start).scalar_subquery().label("last_emergency"),
        messaging.unread_statement(user_id).scalar_subquery().label("unread"),
        *agenda.NEXT_SOURCE.c,
    ).select_from(select(literal(1).label("one")).subquery("one")
                  .outerjoin(agenda.NEXT_SOURCE, true()))


_COUNTS = Prepared(_counts_statement())
_COUNTED = len(_COUNTS.columns) - len(agenda.NEXT_SOURCE.c)  # the columns before the item's


def whats_new(session: Session, keyring: Keyring, patient: User, now: datetime) -> News:
    """What happened in `patient`'s space since their previous visit (or in the last
    FIRST_VISIT_DAYS days on the first)."""
    row = _COUNTS.first(session, {"user_id": patient.id,
                                  "window_start": now - timedelta(days=FIRST_VISIT_DAYS),
                                  **agenda.next_parameters(patient, now)})
    return News(since=row.since, new_documents=int(row.documents or 0),
                next_item=agenda.open_next(keyring, patient, row[_COUNTED:]),
                emergencies=int(row.emergencies or 0), last_emergency=row.last_emergency,
                unread=int(row.unread or 0))
