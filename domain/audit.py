"""The audit trail: who (and assisted by whom), acting as what, did what, when, from where.

Each row carries HMAC(audit key, previous mac ‖ canonical row), so any edit, deletion or
reordering breaks the chain from that row on; verify() names the first broken row. Details
must never hold codes, passwords, tokens or health content: callers pass identifiers only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain.crypto import Keyring
from domain.models import AuditEvent, AuditHead
from domain.models.base import utcnow

GENESIS_MAC = "0" * 64
FORBIDDEN_DETAIL_KEYS = {"password", "code", "token", "secret", "otp"}


@dataclass(frozen=True)
class Actor:
    """Who acts: the account, the role they act in, the adviser assisting, the address."""

    user_id: str | None = None
    acting_as: str | None = None
    assisted_by_id: str | None = None
    ip: str | None = None


def _canonical(event: AuditEvent) -> bytes:
    fields = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "action": event.action,
        "outcome": event.outcome,
        "actor_id": event.actor_id,
        "acting_as": event.acting_as,
        "assisted_by_id": event.assisted_by_id,
        "subject_id": event.subject_id,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "ip": event.ip,
        "details": event.details,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _ensure_head(session: Session) -> None:
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, seq=0, last_mac=GENESIS_MAC))
        session.flush()


def record(session: Session, keyring: Keyring, action: str, *, actor: Actor | None = None,
           outcome: str = "success", subject_id: str | None = None,
           target_type: str | None = None, target_id: str | None = None,
           details: dict | None = None, now: datetime | None = None) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    The head row is updated first: that takes the write lock (row lock on PostgreSQL,
    database lock on SQLite) so concurrent writers chain one after the other.
    """
    details = details or {}
    leaked = FORBIDDEN_DETAIL_KEYS.intersection(key.lower() for key in details)
    if leaked:
        raise ValueError(f"audit details may not contain {sorted(leaked)}")
    actor = actor or Actor()
    _ensure_head(session)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)
                           .execution_options(populate_existing=True)).scalar_one()
    event = AuditEvent(
        seq=head.seq,
        occurred_at=now or utcnow(),
        action=action,
        outcome=outcome,
        actor_id=actor.user_id,
        acting_as=actor.acting_as,
        assisted_by_id=actor.assisted_by_id,
        subject_id=subject_id,
        target_type=target_type,
        target_id=target_id,
        ip=actor.ip,
        details=json.dumps(details, sort_keys=True, separators=(",", ":")),
        prev_mac=head.last_mac,
    )
    event.mac = keyring.audit_mac(head.last_mac.encode() + b"|" + _canonical(event))
    head.last_mac = event.mac
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


def verify(session: Session, keyring: Keyring, batch: int = 1000) -> VerifyResult:
    """Walk the chain in order; report the first row whose link or MAC does not hold."""
    previous_mac, expected_seq, checked = GENESIS_MAC, 1, 0
    last_seq = 0
    while True:
        rows = session.execute(select(AuditEvent).where(AuditEvent.seq > last_seq)
                               .order_by(AuditEvent.seq).limit(batch)).scalars().all()
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, "row missing")
            if event.prev_mac != previous_mac:
                return VerifyResult(False, checked, event.seq, "link to previous row broken")
            expected = keyring.audit_mac(previous_mac.encode() + b"|" + _canonical(event))
            if expected != event.mac:
                return VerifyResult(False, checked, event.seq, "row altered")
            previous_mac, expected_seq, checked = event.mac, expected_seq + 1, checked + 1
            last_seq = event.seq
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.last_mac != previous_mac):
        return VerifyResult(False, checked, checked + 1, "rows missing at the end")
    return VerifyResult(True, checked)
