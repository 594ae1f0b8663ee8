"""The audit trail: who (and assisted by whom), acting as what, did what, when, from where.

Each row carries HMAC(audit key, previous mac ‖ canonical row), so any edit, deletion or
reordering breaks the chain from that row on; verify() names the first broken row. Details
must never hold codes, passwords, tokens or health content: callers pass identifiers only.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain.crypto import Keyring
from domain.models import AuditEvent, AuditHead
from domain.models.base import utcnow

GENESIS_MAC = "0" * 64

# The id of the request (or command run) being served: set by the web glue for each request
# and by operator commands, written on every audit row and every log line of that request.
REQUEST_ID: ContextVar[str | None] = ContextVar("carnet_request_id", default=None)
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
    if event.request_id is not None:
        # Rows written before request ids existed keep their original canonical form.
        fields["request_id"] = event.request_id
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _ensure_head(session: Session) -> None:
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, seq=0, last_mac=GENESIS_MAC))
        session.flush()


def record(session: Session, keyring: Keyring, action: str, *, actor: Actor | None = None,
           outcome: str = "success", subject_id: str | None = None,
           target_type: str | None = None, target_id: str | None = None,
           details: dict | None = None, now: datetime | None = None) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction."""
    return record_many(session, keyring, [Entry(
        action, actor or Actor(), outcome, subject_id, target_type, target_id, details or {})],
        now)[0]


@dataclass(frozen=True)
class Entry:
    """One event to append with record_many()."""

    action: str
    actor: Actor = Actor()
    outcome: str = "success"
    subject_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    details: dict | None = None


def record_many(session: Session, keyring: Keyring, entries: list[Entry],
                now: datetime | None = None) -> list[AuditEvent]:
    """Append events in order, in the caller's transaction.

    The head row is updated first: that takes the write lock (row lock on PostgreSQL,
    database lock on SQLite) so concurrent writers chain one after the other. A batch
    takes the lock once, which keeps bulk jobs (issuing codes) fast.
    """
    if not entries:
        return []
    for entry in entries:
        leaked = FORBIDDEN_DETAIL_KEYS.intersection(key.lower() for key in entry.details or {})
        if leaked:
            raise ValueError(f"audit details may not contain {sorted(leaked)}")
    when = now or utcnow()
    _ensure_head(session)
    session.execute(update(AuditHead).where(AuditHead.id == 1)
                    .values(seq=AuditHead.seq + len(entries)))
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)
                           .execution_options(populate_existing=True)).scalar_one()
    previous_mac, seq = head.last_mac, head.seq - len(entries)
    events = []
    for entry in entries:
        seq += 1
        event = AuditEvent(
            seq=seq, occurred_at=when, action=entry.action, outcome=entry.outcome,
            actor_id=entry.actor.user_id, acting_as=entry.actor.acting_as,
            assisted_by_id=entry.actor.assisted_by_id, subject_id=entry.subject_id,
            target_type=entry.target_type, target_id=entry.target_id, ip=entry.actor.ip,
            request_id=REQUEST_ID.get(),
            details=json.dumps(entry.details or {}, sort_keys=True, separators=(",", ":")),
            prev_mac=previous_mac)
        event.mac = keyring.audit_mac(previous_mac.encode() + b"|" + _canonical(event))
        previous_mac = event.mac
        events.append(event)
    head.last_mac = previous_mac
    session.add_all(events)
    session.flush()
    return events


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
