"""Database engines: SQLite in WAL mode with a busy timeout by default (its writers queued
by domain.sqlite_writer), PostgreSQL at scale."""

from __future__ import annotations

import re
import time
from collections import namedtuple
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from sqlalchemy import (
    Engine,
    Executable,
    Result,
    Select,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

from domain import sqlite_writer
from domain.files import private_file

SQLITE_BUSY_TIMEOUT_MS = 5000
# A pooled PostgreSQL connection idle for longer than this is pinged before a request uses it.
PING_AFTER_IDLE_SECONDS = 5.0
# Execution option: this read runs inside the transaction even if nothing was written yet
# (`statement.execution_options(**{IN_TRANSACTION: True})`); see begin_at_first_write().
IN_TRANSACTION = "carnet_in_transaction"
# The largest OFFSET a paged list asks for (a 32-bit integer: far past any list's end).
OFFSET_MAX = 2**31 - 1
# Work to do in a transaction just before it commits (before_commit below).
BEFORE_COMMIT: list[Callable[[Session], None]] = []


def before_commit(work: Callable[[Session], None]) -> Callable[[Session], None]:
    """Run `work(session)` just before every commit: as an ORM session's `before_commit`
    event, and by a request's session that commits without having made an ORM session
    (extensions.RequestSession) when its `info` holds something, which is where such work
    keeps what it has to do (the audit trail's events)."""
    event.listen(Session, "before_commit", work)
    BEFORE_COMMIT.append(work)
    return work


def make_engine(url: str, **options) -> Engine:
    """Create an engine (`options`: create_engine's, such as the pool's size); SQLite
    connections get WAL, a busy timeout, foreign keys and the writers' lock
    (domain.sqlite_writer); psycopg's begin at their first write (begin_at_first_write)
    and commit with their last writes (domain.pg_commit)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        writer = None
        if parsed.database and parsed.database != ":memory:":
            private_file(Path(parsed.database))
            writer = sqlite_writer.WriterLock(Path(parsed.database),
                                              SQLITE_BUSY_TIMEOUT_MS / 1000, reads_only)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                  "factory": sqlite_writer.Connection},
                               **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            dbapi_connection.writer = writer  # writers queue there, not in SQLite's sleeps
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    engine = create_engine(url, **options)
    ping_connections_left_idle(engine)
    if engine.dialect.driver == "psycopg":
        begin_at_first_write(engine)
        from domain import pg_commit

        @event.listens_for(engine, "do_connect")
        def _connect(_dialect, _record, cargs, cparams):
            # Its commit can carry the transaction's last writes (the audit trail's).
            return pg_commit.Connection.connect(*cargs, **cparams)
    return engine


def announce(connection: Connection, cursor, statement: Prepared, parameters: dict) -> None:
    """Tell the engine's statement listeners of a statement sent on the driver's `cursor`
    in another form than Prepared's (domain.pg_commit's, at a commit), once its transaction
    has begun (begin_at_first_write has nothing to decide then), as Prepared would have
    sent it: the statement counts' tests and benchmarks see every statement."""
    if connection.dispatch.before_cursor_execute:
        connection.dispatch.before_cursor_execute(
            connection, cursor, *statement.for_driver(connection.dialect, parameters), None,
            False)


_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)
# A query that locks rows or takes a lock, moves a sequence or exports a snapshot means
# something only inside a transaction.
_TRANSACTIONAL = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(?:KEY\s+)?SHARE\b|\bpg_advisory|"
    r"\b(?:nextval|setval|pg_export_snapshot)\s*\(", re.IGNORECASE)


@lru_cache(maxsize=2048)
def reads_only(statement: str) -> bool:
    """Whether a statement may run outside a transaction: a plain SELECT (a `WITH` query,
    which can write, and anything else count as writes)."""
    return bool(_SELECT.match(statement)) and not _TRANSACTIONAL.search(statement)


def begin_at_first_write(engine: Engine) -> None:
    """PostgreSQL (psycopg): a transaction begins with the first statement that writes or
    locks, not with the first query. psycopg sends BEGIN as a round trip of its own before
    the first statement, and the end of the request a ROLLBACK or a COMMIT: a signed-in
    page that only reads its session made three round trips to the server for one query
    (about 200 µs each on a 2-core machine: over a third of a professional's menu page).

    This is what SQLite's driver already does (pysqlite begins before the first INSERT,
    UPDATE or DELETE), and it changes nothing that a query sees: at READ COMMITTED, the
    default, each statement reads its own snapshot, inside a transaction or not. So the
    rule applies only at that level (a connection set to REPEATABLE READ or SERIALIZABLE,
    such as a backup's, begins at its first query), and only to plain SELECTs on a client
    cursor: row locks (`FOR UPDATE`), advisory locks, sequences, exported snapshots, a
    server-side cursor (`yield_per`) and a query marked IN_TRANSACTION begin the
    transaction, as every write does. Once begun, it holds every statement until its
    commit or rollback, reads included. A connection asked for AUTOCOMMIT keeps it."""
    from psycopg import IsolationLevel
    from psycopg.pq import TransactionStatus

    idle, read_committed = TransactionStatus.IDLE, (None, IsolationLevel.READ_COMMITTED)

    @event.listens_for(engine, "before_cursor_execute")
    def _transaction_if_needed(connection, cursor, statement, _parameters, context, _many):
        driver = connection.connection.dbapi_connection
        if driver.info.transaction_status != idle:
            return  # a transaction is open: the statement is part of it
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # asked for by the caller (SQLAlchemy's own setting): every statement
        outside = (reads_only(statement) and driver.isolation_level in read_committed
                   and getattr(cursor, "name", None) is None  # not a server-side cursor
                   and not (context is not None and context.execution_options.get(
                       IN_TRANSACTION)))
        if driver.autocommit != outside:
            driver.autocommit = outside  # False: psycopg sends BEGIN before the statement


def ping_connections_left_idle(engine: Engine) -> None:
    """Before a request uses a pooled connection that has sat idle for a while, make sure
    the server still answers; a connection it lost (a restart, a failover, a firewall or
    `idle_session_timeout` closing quiet connections) is replaced, and the request goes
    on, instead of failing.

    SQLAlchemy's `pool_pre_ping` does this on every checkout: one more round trip on every
    request (4 instead of 3 for a signed-in page reading only its session), 60 to 110 µs
    each here. Under load connections are back in the pool for a few milliseconds, so the
    ping is skipped; and a connection lost while in use raises a disconnection error, on
    which SQLAlchemy discards every connection of the pool opened before it."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _new(_dbapi_connection, record):
        record.info.pop("carnet_idle_since", None)

    @event.listens_for(engine, "checkin")
    def _back(_dbapi_connection, record):
        if record is not None:
            record.info["carnet_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        idle_since = record.info.get("carnet_idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool closes this connection and checks out another one.
                raise DisconnectionError(str(error)) from error
            raise


def read_rows(session: Session, statement: Executable, parameters: dict | None = None) -> Result:
    """The rows of a query of plain columns (no mapped class among them), on the session's
    own connection and transaction. Pending changes are flushed first, as the session's
    autoflush would (not inside `no_autoflush`); what is left out is the ORM's wrapping of
    the result, which costs about as much as the query itself when no object is loaded
    (25 µs of 60 for the dashboard's counts on SQLite)."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, parameters)


def mapped_columns(model) -> tuple:
    """Every mapped column of a model class, for a Prepared statement whose rows stand for
    its objects where they are only read (a list page): the row's names are the
    attributes' names."""
    return tuple(getattr(model, column.key) for column in model.__mapper__.column_attrs)


def mapped_row(model) -> type:
    """A named tuple of a model's mapped columns (mapped_columns' order and names): its
    object read as a row, where a statement reads it along with other columns (a
    document with its patient's account) and the row is cut out of the statement's."""
    return namedtuple(f"{model.__name__}Row", [column.key for column in mapped_columns(model)])


def insert_for(dialect: str):
    """The INSERT of a database (a dialect's name) that can say what to do ON CONFLICT:
    SQLite and PostgreSQL both can, each in its own construct."""
    return {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]


def nth(name: str, index: int):
    """The parameter standing for the `index`-th of a list of values given through
    one_of_values(name, values)."""
    return bindparam(f"{name}{index}")


def one_of(column, name: str, count: int):
    """`column IN (:name0, …, :name<count-1>)`: a list of `count` values as plain
    parameters, so that a Prepared statement (built once per count) can take it; see
    one_of_values()."""
    return column.in_([nth(name, index) for index in range(count)])


def one_of_values(name: str, values) -> dict:
    """The parameters of one_of(column, name, len(values))."""
    return {f"{name}{index}": value for index, value in enumerate(values)}


def _for_driver(made: tuple, parameters: dict):
    """A statement's parameters as its driver takes them (Prepared._compiled's `made`): the
    fixed ones added, each converted by its type, in the statement's order if positional."""
    _sql, order, binds, fixed, required, _results, _dialect = made
    if not required <= parameters.keys():
        raise ValueError(f"missing parameters: {sorted(required - parameters.keys())}")
    values = {**fixed, **{name: (binds[name](value) if binds.get(name) else value)
                          for name, value in parameters.items()}}
    return tuple(values[name] for name in order) if order else values


class Prepared:
    """A query of plain columns that runs on most requests (the session's own lookup, a
    dashboard's counts), or a write that does (the audit trail's insert and its head's
    updates), compiled once per database dialect and run straight on the driver's cursor,
    inside the session's connection and transaction.

    Through SQLAlchemy's Connection a query pays for its statement's cache key, a result
    object and the execution context on every run: inside a request, 180 µs against 75 µs
    for the same row read from the cursor (SQLite, the session's lookup, measured in
    requests to a page). The column types' own conversions still apply, through their
    public bind and result processors (given no driver type code: no Numeric column, which
    psycopg's needs), and listeners of `before_cursor_execute` and `after_cursor_execute`
    (the statement counts' test, the million-people benchmark's timings) still see the
    statement. A driver error is raised again as SQLAlchemy's exception, and a lost
    connection is dropped along with every other connection the pool opened before it, as
    SQLAlchemy does for one statement. A list or literal parameter
    (written into the SQL on each run) is refused when the statement is first compiled."""

    def __init__(self, statement: Select | UpdateBase):
        self.statement = statement
        # A query's columns, or a write's RETURNING ones (none: run() and run_many()).
        self.columns = tuple(statement.selected_columns if isinstance(statement, Select)
                             else statement.exported_columns)
        self.row = namedtuple("Row", [column.key for column in self.columns],
                              rename=True)  # an unnamed column gets a position's name
        self._made: dict[int, tuple] = {}  # id(dialect) -> what _compiled returns

    def _compiled(self, dialect: Dialect) -> tuple:
        made = self._made.get(id(dialect))
        if made is None:
            compiled = self.statement.compile(dialect=dialect)
            if any(bind.expanding or bind.literal_execute
                   for bind in compiled.binds.values()):
                raise ValueError("a list parameter (IN) or a literal one is written into the "
                                 "SQL on each run: use read_rows()")
            binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                     for name, bind in compiled.binds.items()}
            # Values written in the statement itself (`column == "x"`), ready for the driver.
            fixed = {name: (binds[name](bind.effective_value) if binds[name]
                            else bind.effective_value)
                     for name, bind in compiled.binds.items() if not bind.required}
            required = frozenset(name for name, bind in compiled.binds.items()
                                 if bind.required)
            results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                            for column in self.columns)
            # The dialect is kept with what was made for it, so that its id names it.
            made = self._made[id(dialect)] = (
                compiled.string, compiled.positiontup, binds, fixed, required, results,
                dialect)
        return made

    def first(self, session: Session, parameters: dict | None = None) -> tuple | None:
        """The first row (a named tuple of converted values), or None."""
        rows = self._run(session, [parameters or {}], fetch="one")
        return rows[0] if rows else None

    def all(self, session: Session, parameters: dict | None = None) -> list[tuple]:
        """Every row, as named tuples of converted values."""
        return self._run(session, [parameters or {}], fetch="all")

    def run(self, session: Session, parameters: dict | None = None) -> None:
        """A write that gives no rows back (an INSERT, an UPDATE without RETURNING)."""
        self._run(session, [parameters or {}], fetch=None)

    def run_many(self, session: Session, rows: list[dict]) -> None:
        """A write without rows back, once for each set of parameters (the driver's
        executemany; a single set is one execute)."""
        if rows:
            self._run(session, rows, fetch=None)

    def for_driver(self, dialect: Dialect, parameters: dict | None = None) -> tuple:
        """The statement's SQL for `dialect` and `parameters` as its driver takes them."""
        made = self._compiled(dialect)
        return made[0], _for_driver(made, parameters or {})

    def rows_of(self, dialect: Dialect, rows) -> list[tuple]:
        """Rows the driver gave for this query, as run() gives them (named tuples of
        converted values)."""
        results = self._compiled(dialect)[5]
        make = self.row._make
        return [make([value if convert is None else convert(value)
                      for convert, value in zip(results, row, strict=True)]) for row in rows]

    def _run(self, session: Session, many: list[dict], fetch: str | None) -> list[tuple]:
        if session.autoflush:
            session.flush()
        connection = session.connection()
        made = self._compiled(connection.dialect)
        sql = made[0]
        several = len(many) > 1
        driver_parameters = ([_for_driver(made, parameters) for parameters in many]
                             if several else _for_driver(made, many[0]))
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            if connection.dispatch.before_cursor_execute:
                connection.dispatch.before_cursor_execute(connection, cursor, sql,
                                                          driver_parameters, None, several)
            if several:
                cursor.executemany(sql, driver_parameters)
            else:
                cursor.execute(sql, driver_parameters)
            if connection.dispatch.after_cursor_execute:
                connection.dispatch.after_cursor_execute(connection, cursor, sql,
                                                         driver_parameters, None, several)
            rows = (cursor.fetchmany(1) if fetch == "one" else cursor.fetchall() if fetch
                    else ())
        except connection.dialect.loaded_dbapi.Error as error:
            # As SQLAlchemy would: its own exception, and a lost connection is not reused.
            lost = connection.dialect.is_disconnect(error, connection.connection, cursor)
            if lost:
                # The server is likely gone for every connection of the pool: those opened
                # before now are replaced when next checked out (SQLAlchemy does the same
                # for its own statements); a connection back from a request a moment ago
                # is not pinged before use (make_engine).
                connection.engine.pool._invalidate(connection.connection, error)  # noqa: SLF001
                connection.invalidate(error)
            raise DBAPIError.instance(sql, driver_parameters, error,
                                      connection.dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost,
                                      dialect=connection.dialect) from error
        finally:
            cursor.close()
        return self.rows_of(connection.dialect, rows)


class PagedList:
    """A list read a page at a time, with figures over the whole list (its number of rows,
    `total`, and any other aggregate given), in one statement: the page's query carries
    each figure as a window function over the whole list (evaluated before the page is
    cut), on each of its rows. A count apart, then the page, was one more statement on
    every view of an agenda or an inbox.

    Without a row there is no figure to read: on the first page, the list is empty (every
    figure 0); past the last page (a number typed by hand: the pages' links only name pages
    that exist), the figures are read apart and the last page is read instead."""

    def __init__(self, columns: tuple, source, where: tuple, order: tuple, **figures) -> None:
        aggregates = {"total": func.count(), **figures}
        self.names = tuple(aggregates)
        self.figures = Prepared(select(*(aggregate.label(name)
                                         for name, aggregate in aggregates.items()))
                                .select_from(source).where(*where))
        self.page = Prepared(
            select(*columns, *(aggregate.over().label(f"whole_list_{name}")
                               for name, aggregate in aggregates.items()))
            .select_from(source).where(*where).order_by(*order)
            .offset(bindparam("offset")).limit(bindparam("limit")))

    def read(self, session: Session, parameters: dict, page: int,
             size: int) -> tuple[list[tuple], dict[str, int], int, int]:
        """(the page's rows, the figures by name, the page number, the number of pages),
        for `page` (brought between 1 and the last)."""
        page = max(page, 1)
        rows = self._rows(session, parameters, page, size)
        if rows:
            figures = {name: rows[0][-len(self.names) + index] or 0
                       for index, name in enumerate(self.names)}
        elif page == 1:
            figures = dict.fromkeys(self.names, 0)
        else:
            whole = self.figures.first(session, parameters)
            figures = {name: value or 0 for name, value in zip(self.names, whole, strict=True)}
        pages = max(1, -(-figures["total"] // size))
        if page > pages:  # past the end: the last page
            page = pages
            rows = self._rows(session, parameters, page, size) if figures["total"] else []
        return rows, figures, page, pages

    def _rows(self, session: Session, parameters: dict, page: int, size: int) -> list[tuple]:
        # A page number beyond any list's end is past the end all the same: its offset is
        # kept within what every database takes.
        return self.page.all(session, {**parameters,
                                       "offset": min((page - 1) * size, OFFSET_MAX),
                                       "limit": size})
