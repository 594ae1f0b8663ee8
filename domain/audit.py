"""The audit trail: who (and assisted by whom), acting as what, did what, when, from where.

Each row carries HMAC(audit key, previous mac ‖ canonical row), so any edit, deletion or
reordering breaks the chain from that row on; verify() names the first broken row. The
chain's head (last sequence number and MAC) is itself MACed, so deleting the newest rows
and rewriting the head to match is detected; deleting rows and head together, or putting
back an older head, is detected against the newest checkpoint kept outside the database
(domain/audit_checkpoints.py, which covers every head), within the checkpoints' interval.

The trail is sharded: SHARDS chains, each with its own head row, and an event goes to the
chain of its subject (a hash of the subject's id, or of the actor's when there is none).
Unrelated transactions therefore never wait for each other, and one person's events all
sit in one chain, in order. Events are written when their transaction commits (a
`before_commit` hook), so a head's lock is held only for the commit itself, not for the
rest of the transaction; a transaction touching several chains takes their heads in
chain order, after flushing everything else it writes, so two writers never wait for each
other in a cycle.

Rows are written out for their MAC in a versioned canonical format (`fmt`, CANONICAL):
a row keeps the format it was written in, so adding a field later never breaks older rows.
Each chain numbers its own rows from its head's `first_seq` on: chains opened when the
single chain was sharded start above that chain's last number, so a person's history
stays in order across the change (migration 0022).

Details must never hold codes, passwords, tokens or health content: callers pass
identifiers only.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, column, func, insert, select, update, values
from sqlalchemy import event as orm_event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from domain.crypto import Keyring
from domain.db import Prepared, announce, before_commit, insert_for, one_of, one_of_values
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


@dataclass(slots=True)
class Event:
    """An event recorded in a transaction, and then the row written for it when the
    transaction commits (write_pending gives it its number and MACs): the columns of
    domain.models.AuditEvent, which stands for the rows as they are read back. A plain
    object, not a mapped one: the ORM's instrumentation cost 15 µs an event to build, more
    than its row's insert, and an inbox's page records twenty."""

    chain: int
    fmt: int
    occurred_at: datetime
    action: str
    outcome: str
    actor_id: str | None
    acting_as: str | None
    assisted_by_id: str | None
    subject_id: str | None
    target_type: str | None
    target_id: str | None
    ip: str | None
    request_id: str | None
    details: str
    seq: int | None = None
    prev_mac: str | None = None
    mac: str | None = None


def _fields_v1(event: AuditEvent | Event) -> dict:
    return {
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


def _fields_v2(event: AuditEvent | Event) -> dict:
    """Version 2 adds the chain, the format itself and the request id."""
    return {**_fields_v1(event), "chain": event.chain, "fmt": event.fmt,
            "request_id": event.request_id}


CANONICAL = {1: _fields_v1, 2: _fields_v2}
CURRENT_FORMAT = 2
DEFAULT_CHAIN = 1
# The number of chains. Fixed: a subject's chain is a function of it, and a person's
# history is read in sequence order within one chain (changing it needs a migration like
# 0022's, opening the new chains above the old ones' numbers).
SHARDS = 64
_PENDING = "carnet_audit_pending"


def _canonical(event: AuditEvent | Event) -> bytes:
    fields = CANONICAL[event.fmt](event)
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _row_mac(keyring: Keyring, previous_mac: str, event: AuditEvent | Event) -> str:
    return keyring.audit_mac(previous_mac.encode() + b"|" + _canonical(event))


def head_mac(keyring: Keyring, chain: int, seq: int, last_mac: str) -> str:
    """The MAC that authenticates a chain's head row."""
    return keyring.audit_mac(f"head|{chain}|{seq}|{last_mac}".encode())


def chain_for(subject_id: str | None, actor_id: str | None = None,
              fallback: str | None = None) -> int:
    """The chain (1..SHARDS) of an event: by its subject, else its actor, else `fallback`
    (the address or request of an anonymous attempt)."""
    key = subject_id or actor_id or fallback or ""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % SHARDS + 1


def record(session: Session, keyring: Keyring, action: str, *, actor: Actor | None = None,
           outcome: str = "success", subject_id: str | None = None,
           target_type: str | None = None, target_id: str | None = None,
           details: dict | None = None, now: datetime | None = None) -> Event:
    """Add one event to the trail, written when the caller's transaction commits."""
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
                now: datetime | None = None) -> list[Event]:
    """Add events, in order, to the caller's transaction: each goes to its subject's chain
    when the transaction commits (write_pending); a rollback drops them with the rest."""
    for entry in entries:
        leaked = FORBIDDEN_DETAIL_KEYS.intersection(key.lower() for key in entry.details or {})
        if leaked:
            raise ValueError(f"audit details may not contain {sorted(leaked)}")
    when = now or utcnow()
    request_id = REQUEST_ID.get()
    events = [Event(
        chain=chain_for(entry.subject_id, entry.actor.user_id, entry.actor.ip or request_id),
        fmt=CURRENT_FORMAT, occurred_at=when, action=entry.action, outcome=entry.outcome,
        actor_id=entry.actor.user_id, acting_as=entry.actor.acting_as,
        assisted_by_id=entry.actor.assisted_by_id, subject_id=entry.subject_id,
        target_type=entry.target_type, target_id=entry.target_id, ip=entry.actor.ip,
        request_id=request_id,
        details=json.dumps(entry.details or {}, sort_keys=True, separators=(",", ":")))
        for entry in entries]
    session.info.setdefault(_PENDING, []).extend((keyring, event) for event in events)
    # What the caller changed so far reaches the database now, as when the event was
    # written at once (callers rely on it: a deleted row is gone for the next lookup).
    session.flush()
    return events


def write_pending(session: Session) -> int:
    """Chain and write the events recorded in this transaction; returns how many.

    Called when the transaction commits. Everything else the transaction holds is flushed
    first, so the heads are the last locks it takes; the heads of every chain it touches
    are then locked in chain order, by one statement (_lock_statement), and the rows of all
    chains go in with one insert and the heads with one update, whatever the number of
    chains (on PostgreSQL both in one statement: _write_statement): unrelated transactions
    meet only if their subjects share a chain, and then only for the time of a commit.
    (One statement per chain and step cost the professional's inbox, which audits the 20
    patients of its page in about 17 chains, 51 round trips to PostgreSQL on each view.)

    On PostgreSQL this is done inside the driver's commit (domain.pg_commit): the lock goes
    to the server with BEGIN, the writes with COMMIT, so the heads are held for one answer
    and the MACs, not for three answers and the rest of the commit's way through the ORM.
    """
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return 0
    session.flush()
    by_chain: dict[int, list[tuple[Keyring, Event]]] = defaultdict(list)
    for keyring, event in pending:
        by_chain[event.chain].append((keyring, event))
    connection = session.connection()
    write_last = getattr(connection.connection.dbapi_connection, "write_last", None)
    if write_last is None:
        heads = _lock_heads(session, sorted(by_chain))
        rows, seals = _chained(by_chain, heads)
        if connection.dialect.name == "postgresql":
            _write_statement(len(rows), len(seals)).run(session, _written(rows, seals))
        else:
            _INSERT.run_many(session, rows)
            _SEAL.run_many(session, seals)
    else:
        _write_at_commit(connection, write_last, by_chain)
    for chain in by_chain:
        # The head changes behind the ORM's back: a copy loaded earlier is read again.
        loaded = session.identity_map.get(identity_key(AuditHead, chain))
        if loaded is not None:
            session.expire(loaded)
    return len(pending)


def _chained(by_chain: dict[int, list[tuple[Keyring, Event]]],
             heads: dict[int, tuple[int, str]]) -> tuple[list[dict], list[dict]]:
    """Number and MAC each chain's events on its head: the rows to insert and the heads'
    new states. The events stay the caller's objects, holding what is written (the ORM's
    unit of work would cost more than the insert)."""
    rows, seals = [], []
    for chain, items in sorted(by_chain.items()):
        seq, previous_mac = heads[chain]
        for keyring, event in items:
            seq += 1
            event.seq, event.prev_mac = seq, previous_mac
            event.mac = _row_mac(keyring, previous_mac, event)
            previous_mac = event.mac
            rows.append({column.key: getattr(event, column.key) for column in _EVENT_COLUMNS})
        seals.append({"head_id": chain, "new_seq": seq, "new_last_mac": previous_mac,
                      "new_head_mac": head_mac(items[-1][0], chain, seq, previous_mac)})
    return rows, seals


def _write_at_commit(connection: Connection, write_last,
                     by_chain: dict[int, list[tuple[Keyring, Event]]]) -> None:
    """PostgreSQL: the heads' lock, then the rows and the heads' new states, handed to the
    driver's commit (domain.pg_commit.Connection.write_last), each statement prepared once
    per connection under a name of its shape."""
    from domain.pg_commit import NAME_PREFIX, NUMBERED

    dialect, chains = connection.dialect, sorted(by_chain)
    lock, chosen = _lock_statement(dialect.name, len(chains)), one_of_values("chain", chains)
    first = (f"{NAME_PREFIX}audit_lock_{len(chains)}", *lock.for_driver(NUMBERED, chosen))

    def then(cursor) -> list[tuple]:
        announce(connection, cursor, lock, chosen)
        heads = _heads(lock.rows_of(dialect, cursor.fetchall()))
        missing = [chain for chain in chains if chain not in heads]
        if missing:  # rare: sent as they are, not prepared
            for chain in missing:
                cursor.execute(*_create_head_statement(dialect.name).for_driver(
                    dialect, {"chain": chain}))
            cursor.execute(*lock.for_driver(dialect, chosen))
            heads = _heads(lock.rows_of(dialect, cursor.fetchall()))
        rows, seals = _chained(by_chain, heads)
        write, written = _write_statement(len(rows), len(seals)), _written(rows, seals)
        announce(connection, cursor, write, written)
        return [(f"{NAME_PREFIX}audit_write_{len(rows)}_{len(seals)}",
                 *write.for_driver(NUMBERED, written))]

    write_last(first, then)


def _heads(rows: list[tuple]) -> dict[int, tuple[int, str]]:
    """The lock's rows: each chain's last number and the MAC its next row links to."""
    return {row.id: (row.seq, row.last_mac) for row in rows}


def _create_head_statement(dialect: str) -> Prepared:
    """The statement that creates a chain's head (parameter `chain`), harmlessly when
    another writer does it at the same time."""
    statement = _CREATE_HEAD.get(dialect)
    if statement is None:
        statement = _CREATE_HEAD[dialect] = Prepared(
            insert_for(dialect)(AuditHead)
            .values(id=bindparam("chain"), seq=0, first_seq=0, last_mac=GENESIS_MAC)
            .on_conflict_do_nothing(index_elements=[AuditHead.id]))
    return statement


def _create_head(session: Session, chain: int) -> None:
    """Create a chain's head (migration 0022 creates them all; a database emptied by hand
    may lack some)."""
    _create_head_statement(session.get_bind().dialect.name).run(session, {"chain": chain})


# The statements of an audited commit, compiled once and run on the driver's cursor in the
# transaction (domain.db.Prepared): plain SQL, without the ORM's unit of work nor Core's
# per-run statement cache key, result object and execution context, which cost more than
# the statements on every audited page.
_HEADS = AuditHead.__table__
_INSERT = Prepared(AuditEvent.__table__.insert())  # every column, given for each row
_EVENT_COLUMNS = tuple(AuditEvent.__table__.columns)
_SEAL = Prepared(update(_HEADS).where(_HEADS.c.id == bindparam("head_id"))
                 .values(seq=bindparam("new_seq"), last_mac=bindparam("new_last_mac"),
                         head_mac=bindparam("new_head_mac")))
_LOCKS: dict[tuple[str, int], Prepared] = {}  # (dialect, number of chains) -> statement
_CREATE_HEAD: dict[str, Prepared] = {}  # dialect -> statement


@lru_cache(maxsize=128)
def _write_statement(rows: int, heads: int) -> Prepared:
    """PostgreSQL: `rows` rows and `heads` heads' new states in one statement, the insert a
    data-modifying WITH of the update (SQLite has no such WITH: an insert and an update).
    Parameters: each row's columns suffixed with its index (`mac_0`), each head's new state
    the same way (`head_id0`, `new_seq0`, `new_last_mac0`, `new_head_mac0`): _written()."""
    sealed = values(*(column(name, type_) for name, type_ in _SEALED), name="sealed").data(
        [tuple(bindparam(f"{parameter}{index}", type_=type_)
               for parameter, (_name, type_) in zip(_SEAL_PARAMETERS, _SEALED, strict=True))
         for index in range(heads)])
    written = insert(AuditEvent.__table__).values(
        [{column.key: bindparam(f"{column.key}_{index}", type_=column.type)
          for column in _EVENT_COLUMNS} for index in range(rows)]).cte("written")
    return Prepared(update(_HEADS).where(_HEADS.c.id == sealed.c.id)
                    .values(seq=sealed.c.seq, last_mac=sealed.c.last_mac,
                            head_mac=sealed.c.head_mac)
                    .add_cte(written))


_SEALED = (("id", _HEADS.c.id.type), ("seq", _HEADS.c.seq.type),
           ("last_mac", _HEADS.c.last_mac.type), ("head_mac", _HEADS.c.head_mac.type))
_SEAL_PARAMETERS = ("head_id", "new_seq", "new_last_mac", "new_head_mac")  # as _SEAL's


def _written(rows: list[dict], seals: list[dict]) -> dict:
    """_write_statement's parameters."""
    parameters = {f"{key}_{index}": value
                  for index, row in enumerate(rows) for key, value in row.items()}
    parameters.update({f"{key}{index}": value
                       for index, seal in enumerate(seals) for key, value in seal.items()})
    return parameters


def _lock_statement(dialect: str, count: int) -> Prepared:
    """The statement that locks `count` heads (parameters chain0…) and reads them.

    PostgreSQL: `SELECT … ORDER BY id FOR UPDATE`, which locks the rows as they come out of
    the sort, that is in chain order, so two writers never wait for each other in a cycle.
    SQLite has no row locks: a write takes the database's one write lock (waiting for it
    under the busy timeout), and it must come first, before anything is read, or the heads
    read would not be the ones the write lands on: an `UPDATE … RETURNING` that changes
    nothing."""
    statement = _LOCKS.get((dialect, count))
    if statement is None:
        which = one_of(_HEADS.c.id, "chain", count)
        columns = (_HEADS.c.id, _HEADS.c.seq, _HEADS.c.last_mac)
        if dialect == "sqlite":
            built = update(_HEADS).where(which).values(seq=_HEADS.c.seq).returning(*columns)
        else:
            built = select(*columns).where(which).order_by(_HEADS.c.id).with_for_update()
        statement = _LOCKS[(dialect, count)] = Prepared(built)
    return statement


def _lock_heads(session: Session, chains: list[int]) -> dict[int, tuple[int, str]]:
    """Lock the heads of `chains` (in chain order) and give each one's last number and the
    MAC its next row links to. A missing head (a database emptied by hand) is created, then
    every head is locked again, in order, by the same statement."""
    statement = _lock_statement(session.get_bind().dialect.name, len(chains))
    parameters = one_of_values("chain", chains)
    heads = _heads(statement.all(session, parameters))
    missing = [chain for chain in chains if chain not in heads]
    if missing:
        for chain in missing:
            _create_head(session, chain)
        heads = _heads(statement.all(session, parameters))
    return heads


@before_commit
def _on_commit(session: Session) -> None:
    write_pending(session)


@orm_event.listens_for(Session, "after_rollback")
def _on_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class VerifyResult:
    """What verify() found: whether the trail holds, how many rows were checked and, when
    it does not, the first broken sequence number, why, and in which chain."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""
    chain: int = DEFAULT_CHAIN


@dataclass(frozen=True)
class Mark:
    """Where a chain stood when a checkpoint was taken: its last sequence number and MAC."""

    seq: int
    mac: str


def chains(session: Session) -> list[int]:
    """Every chain that has a head or a row."""
    found = set(session.scalars(select(AuditHead.id)))
    found.update(session.scalars(select(AuditEvent.chain).distinct()))
    return sorted(found)


def verify(session: Session, keyring: Keyring, marks: dict[int, Mark] | None = None,
           batch: int = 1000, since: dict[int, Mark] | None = None) -> VerifyResult:
    """Walk every chain in order; report the first row whose link or MAC does not hold,
    a head that is missing, altered or ahead of the rows, and, given the newest
    checkpoint's `marks`, a chain that ends before it or differs from it.

    With `since` (the previous checkpoint's marks), each chain is walked from its mark on
    only: the row at the mark must still be there with the same MAC, then the newer rows
    and the head are checked (what the checkpoint timer does every few minutes, without
    reading the whole trail each time)."""
    marks, since = marks or {}, since or {}
    checked = 0
    for chain in sorted(set(chains(session)) | set(marks) | set(since)):
        result = _verify_chain(session, keyring, chain, marks.get(chain), batch,
                               since.get(chain))
        checked += result.checked
        if not result.ok:
            return VerifyResult(False, checked, result.first_broken_seq, result.reason, chain)
    return VerifyResult(True, checked)


def _verify_chain(session: Session, keyring: Keyring, chain: int, mark: Mark | None,
                  batch: int, start: Mark | None = None) -> VerifyResult:
    head = session.get(AuditHead, chain)
    # A chain opened at the sharding numbers its rows from its head's first_seq on; its
    # first row still links to the genesis MAC, so raising first_seq to hide rows breaks
    # the link.
    first_seq = head.first_seq if head is not None else 0
    previous_mac, last_seq = GENESIS_MAC, first_seq
    if start is not None and start.seq > first_seq:
        anchor = session.get(AuditEvent, (chain, start.seq))
        if anchor is None or anchor.mac != start.mac:
            return VerifyResult(False, 0, start.seq, "the chain no longer holds the previous "
                                f"checkpoint's event {start.seq}", chain)
        previous_mac, last_seq = start.mac, start.seq
    expected_seq, checked = last_seq + 1, 0
    mark_seen = mark is None or mark.seq <= last_seq
    while True:
        rows = session.execute(select(AuditEvent).where(
            AuditEvent.chain == chain, AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq).limit(batch)).scalars().all()
        if not rows:
            break
        for event in rows:
            broken = _broken_row(keyring, chain, event, expected_seq, previous_mac, mark,
                                 checked)
            if broken is not None:
                return broken
            if mark is not None and event.seq == mark.seq:
                mark_seen = True
            previous_mac, expected_seq, checked = event.mac, expected_seq + 1, checked + 1
            last_seq = event.seq
        session.expunge_all()
    if not mark_seen:
        return VerifyResult(False, checked, expected_seq,
                            f"the chain ends before the newest checkpoint (event {mark.seq})",
                            chain)
    return _verify_head(session, keyring, chain, checked, expected_seq, last_seq, previous_mac)


def _broken_row(keyring: Keyring, chain: int, event: AuditEvent, expected_seq: int,
                previous_mac: str, mark: Mark | None, checked: int) -> VerifyResult | None:
    """Why `event` is not the next valid link of its chain (missing row, broken link,
    unknown format, altered row, differs from the newest checkpoint), or None."""
    if event.seq != expected_seq:
        return VerifyResult(False, checked, expected_seq, "row missing", chain)
    if event.prev_mac != previous_mac:
        return VerifyResult(False, checked, event.seq, "link to previous row broken",
                            chain)
    if event.fmt not in CANONICAL:
        return VerifyResult(False, checked, event.seq, "unknown row format", chain)
    if _row_mac(keyring, previous_mac, event) != event.mac:
        return VerifyResult(False, checked, event.seq, "row altered", chain)
    if mark is not None and event.seq == mark.seq and event.mac != mark.mac:
        return VerifyResult(False, checked, event.seq,
                            "differs from the newest checkpoint", chain)
    return None


def _verify_head(session: Session, keyring: Keyring, chain: int, checked: int,
                 expected_seq: int, last_seq: int, previous_mac: str) -> VerifyResult:
    """Check the chain's head against the last row walked (`last_seq`, `previous_mac`)."""
    head = session.get(AuditHead, chain)
    if head is None:
        if last_seq:
            return VerifyResult(False, checked, expected_seq, "the head is missing", chain)
        return VerifyResult(True, 0, chain=chain)
    if head.head_mac is None or head.head_mac != head_mac(keyring, chain, head.seq,
                                                          head.last_mac):
        if head.seq == head.first_seq == last_seq and head.head_mac is None:
            return VerifyResult(True, 0, chain=chain)  # created, nothing written yet
        return VerifyResult(False, checked, expected_seq, "the head was altered", chain)
    if head.seq != last_seq or head.last_mac != previous_mac:
        return VerifyResult(False, checked, expected_seq, "rows missing at the end", chain)
    return VerifyResult(True, checked, chain=chain)


def oldest_event_at(session: Session) -> datetime | None:
    """When the trail's first event was written (None for an empty trail)."""
    return session.scalar(select(func.min(AuditEvent.occurred_at)))


def marks_now(session: Session, keyring: Keyring) -> dict[int, Mark]:
    """Every chain's authenticated head, for a checkpoint; raises ValueError when a head
    does not authenticate (a checkpoint must never bless a forged head)."""
    result = {}
    for head in session.scalars(select(AuditHead).order_by(AuditHead.id)):
        if head.seq == head.first_seq and head.head_mac is None:
            continue
        if head.head_mac != head_mac(keyring, head.id, head.seq, head.last_mac):
            raise ValueError(f"the head of chain {head.id} does not authenticate")
        result[head.id] = Mark(head.seq, head.last_mac)
    return result
