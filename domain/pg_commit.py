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
message). Each statement is prepared on the server the first time a connection sends it
(`PREPARE carnet_…`, in the same message) and executed by name after that, its values
written in by psycopg's client-side binding (ClientCursor.mogrify, libpq's quoting): the
server parses and plans it once per connection, as for the statements psycopg prepares
itself. After an error the names prepared are read again from the server
(pg_prepared_statements): a PREPARE sent before the failure may have run. psycopg
deallocates every prepared statement of the session after a rollback when it has prepared
some of its own: then ours are known gone (_deallocate).

Measured (2026-12-08, in one process, this connection against psycopg's own in alternated
rounds; "old" is the same code sending the statements one by one, as before):
- one thread, blocks of 50 audited transactions (a read, an event, the commit), 60 blocks
  each, twice: the app's CPU 1,016 and 1,222 µs a transaction against 1,026 and 1,351;
  PostgreSQL's CPU 403 and 467 µs against 430 and 523.
- 8 threads, each a read, 1 ms of Python work and an audited commit, 8 rounds of 1.5 s:
  each thread on its own subject, 422 commits per second against 360 (medians), p99
  alike; all on one subject (one chain, its head the hot row), 344 against 356, p99 40-82
  ms against 81-151.
Tried before and dropped: the same messages without PREPARE (PostgreSQL planned both
statements on every commit: 130-180 µs more of its CPU a transaction), and psycopg's
pipeline mode (its waits cost the client's CPU: 10 % fewer commits per second).

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
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

_IDLE = TransactionStatus.IDLE
_DEFAULT_LEVEL = (None, IsolationLevel.READ_COMMITTED)  # what a bare BEGIN starts
# The dialect to compile the statements sent here for: parameters numbered ($1, $2…), as
# PREPARE takes them (domain.db.Prepared.for_driver gives the values in their order).
NUMBERED = PGDialect_psycopg(paramstyle="numeric_dollar")
NAME_PREFIX = "carnet_"  # of the statements prepared here (psycopg's own are _pg3_…)

# A statement: the name it is prepared under (one per text), its text for NUMBERED, and its
# values in order.
Statement = tuple[str, str, tuple]
# Given a cursor holding the rows of the first query, the statements to send with COMMIT
# (it may run others on the cursor first: a head to create).
Then = Callable[[ClientCursor], list[Statement]]


class Connection(psycopg.Connection):
    """psycopg's connection (domain.db.make_engine makes every one of these), whose commit
    runs the work registered with write_last() first, in two messages with BEGIN and
    COMMIT."""

    _last: tuple[tuple[Statement, Then], ...] = ()
    # The names of the statements prepared on this connection's server session; None when
    # not known (after an error: a PREPARE before it in its message may have run or not).
    _named: set[str] | None = frozenset()

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
                if self._named is None:
                    self._named = {name for (name,) in cursor.execute(
                        "SELECT name FROM pg_prepared_statements WHERE name LIKE %s",
                        (f"{NAME_PREFIX}%",))}
                writes: list[Statement] = []
                for first, then in last:
                    texts = (["BEGIN"] if begin else []) + self._executed(cursor, first)
                    cursor.execute(";\n".join(texts))
                    for _before in texts[1:]:
                        cursor.nextset()  # past BEGIN's and PREPARE's results, to the rows
                    begin = False
                    writes += then(cursor)
                cursor.execute(";\n".join(
                    [text for write in writes for text in self._executed(cursor, write)]
                    + ["COMMIT"]))
        except BaseException:
            self._named = None
            raise
        finally:
            if restore and self.pgconn.transaction_status == _IDLE:
                self.autocommit = False

    def _executed(self, cursor: ClientCursor, statement: Statement) -> list[str]:
        """The text that runs `statement`: EXECUTE with its values written in by psycopg
        (libpq's quoting), after PREPARE the first time on this connection: the server
        parses and plans it once, as for the statements psycopg prepares itself."""
        name, sql, values = statement
        texts = []
        if name not in self._named:
            texts.append(f"PREPARE {name} AS {sql}")
            self._named = {*self._named, name}
        arguments = f"({', '.join(['%s'] * len(values))})" if values else ""
        texts.append(cursor.mogrify(f"EXECUTE {name}{arguments}", values))
        return texts

    def rollback(self) -> None:
        self._last = ()
        super().rollback()

    def _deallocate(self, name: bytes | None):
        # psycopg's own step (pinned in requirements; the tests would fail at once if it
        # went: every audited commit after a rollback would meet a statement not
        # prepared): after a ROLLBACK, or a DROP, ALTER or DISCARD it ran, psycopg
        # deallocates every prepared statement of the session (name None), ours with its
        # own, whenever it had prepared some itself.
        if name is None:
            self._named = frozenset()
        return super()._deallocate(name)
