"""Reading what a request added to the audit trail: the trail is several chains, each
numbered on its own, so "since" is a number per chain, not one number."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from domain.models import AuditEvent


def mark(session: Session) -> dict[int, int]:
    """Where every chain stands now: its last sequence number."""
    return dict(session.execute(select(AuditEvent.chain, func.max(AuditEvent.seq))
                                .group_by(AuditEvent.chain)).all())


def since(session: Session, marks: dict[int, int], action: str | None = None) -> \
        list[AuditEvent]:
    """The events written after `marks`, in the order they happened."""
    newer = [and_(AuditEvent.chain == chain, AuditEvent.seq > seq)
             for chain, seq in marks.items()]
    query = select(AuditEvent).where(or_(AuditEvent.chain.not_in(list(marks)), *newer)
                                     if marks else True)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query.order_by(AuditEvent.occurred_at, AuditEvent.chain,
                                               AuditEvent.seq)))


# In the order events happened: each chain numbers its own, so the sequence number alone
# orders one person's events only.
AUDIT_ORDER = (AuditEvent.occurred_at, AuditEvent.chain, AuditEvent.seq)
