"""PostgreSQL (psycopg): a transaction's last writes, sent with its COMMIT.

The audit trail's events are chained when their transaction commits: the heads of their
chains are locked (`SELECT … FOR UPDATE`), the rows MACed on the previous ones and written
with the heads' new state. Another transaction whose subject shares a chain waits for that
lock until the COMMIT is done. Sent one by one, as statements usually are, the lock was held
over three answers from the server and, between them, the writer's thread waiting for
Python's lock (its worker's other threads run meanwhile) and going through the rest of the
commit; an audited page that only read made four round trips for its audit (BEGIN, the
lock, the write, COMMIT). Sampled in pg_stat_activity under benchmarks/load.py (16
connections on one patient's pages), the app's backends spent 38-40 % of the time waiting
for that lock and 13-14 % holding it while the app worked.

Here the work registered with `write_last()` runs inside commit(): its query goes in one
message with BEGIN (when no transaction had begun: a page that only read), and the writes it
makes of the rows go in one message with COMMIT. Two round trips; the lock is held for one
answer and the MACs, and the server ends the transaction as soon as the writes are done.
The two messages are plain SQL (the simple query protocol: several statements in one
message), their values written in by psycopg's client-side binding (ClientCursor.mogrify,
libpq's quoting). psycopg's pipeline mode would also send them together, but it cost more
of the client's CPU than the round trips it saved (measured, 8 threads each on its own
subject: 10 % fewer audited commits per second).

Measured in one process, 8 threads each doing a read, 1 ms of Python work and an audited
commit, rounds of this connection and of psycopg's own alternated (2026-12-08, 8 rounds
each): all on one subject (one chain, its head the hot row), p99 55-75 ms against
104-169, commits per second about the same (271 against 265, median); each thread on its
own subject, 335 commits per second against 309.

A failed statement aborts the transaction: the rest of its message (the COMMIT) is not run,
and the error is raised by commit() as psycopg's own, which SQLAlchemy turns into its
exception and a rollback. A rollback (SQLAlchemy's, or the pool's when the connection is
given back) drops the work registered.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import ClientCursor, IsolationLevel
from psycopg.pq import TransactionStatus

_IDLE = TransactionStatus.IDLE
_DEFAULT_LEVEL = (None, IsolationLevel.READ_COMMITTED)  # what a bare BEGIN starts

# A statement and its parameters, as the driver takes them (domain.db.Prepared.for_driver).
Statement = tuple[str, dict | tuple]
# Given a cursor holding the rows of the first query, the statements to send with COMMIT
# (it may run others on the cursor first: a head to create).
Then = Callable[[ClientCursor], list[Statement]]


class Connection(psycopg.Connection):
    """psycopg's connection (domain.db.make_engine makes every one of these), whose commit
    runs the work registered with write_last() first, in two messages with BEGIN and
    COMMIT."""

    _last: tuple[tuple[Statement, Then], ...] = ()

    def write_last(self, first: Statement, then: Then) -> None:
        """At the commit: send the query `first` (with BEGIN when no transaction has begun),
        then the statements `then` makes of its rows, with COMMIT."""
        self._last = (*self._last, (first, then))

    def commit(self) -> None:
        last, self._last = self._last, ()
        if not last:
            super().commit()
            return
        # psycopg would send its own BEGIN and wait for its answer (or, at another isolation
        # level than the default, which a bare BEGIN would not set, it does).
        begin = (self.pgconn.transaction_status == _IDLE
                 and self.isolation_level in _DEFAULT_LEVEL)
        restore = begin and not self.autocommit
        if restore:
            self.autocommit = True
        try:
            with ClientCursor(self) as cursor:
                writes: list[str] = []
                for (sql, parameters), then in last:
                    cursor.execute(("BEGIN;\n" if begin else "") + sql, parameters)
                    if begin:
                        cursor.nextset()  # past BEGIN's result, to the query's rows
                        begin = False
                    writes += [cursor.mogrify(*statement) for statement in then(cursor)]
                cursor.execute(";\n".join([*writes, "COMMIT"]))
        finally:
            if restore and self.pgconn.transaction_status == _IDLE:
                self.autocommit = False

    def rollback(self) -> None:
        self._last = ()
        super().rollback()
