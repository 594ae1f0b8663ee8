"""PostgreSQL: the audit trail's chaining runs inside the driver's commit
(domain.pg_commit): the heads' lock goes to the server with BEGIN in one message, the rows
and heads written with COMMIT in another, and a failure there commits nothing."""

from __future__ import annotations

import json
import tempfile

import pytest
from psycopg import pq
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from domain import audit
from domain.db import make_engine
from domain.models import AuditEvent, Role, User
from extensions import keys


@pytest.fixture
def engine(app):
    """An engine of its own: new connections, nothing prepared on them yet."""
    if app.extensions["carnet_db"][0].dialect.driver != "psycopg":
        pytest.skip("SQLite writes the audit trail's rows before its commit, on one lock")
    engine = make_engine(app.config["DATABASE_URL"])
    yield engine
    engine.dispose()


def _driver(session: Session):
    return session.connection().connection.dbapi_connection


def _round_trips(session: Session, work) -> list[str]:
    """What the client sent before each answer of the server while `work()` ran: one text
    per round trip, its messages' statements (or message names) one after the other, on
    one line."""
    driver = _driver(session)
    with tempfile.TemporaryFile() as trace:
        driver.pgconn.trace(trace.fileno())
        driver.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            work()
        finally:
            driver.pgconn.untrace()
        trace.seek(0)
        lines = trace.read().decode().splitlines()
    trips: list[list[str]] = []
    sending = False
    for line in lines:
        if line[:2] not in ("F\t", "B\t"):
            if sending:
                trips[-1].append(line)  # a statement's next line: the trace writes it whole
            continue
        direction, _size, message, *rest = line.split("\t")
        if direction == "F":
            if not sending:
                trips.append([])
                sending = True
            trips[-1].append(rest[0] if message in ("Query", "Parse") and rest else message)
        else:
            sending = False
    return [" ".join(" ".join(trip).split()) for trip in trips]


def _person(login: str) -> User:
    return User(role=Role.PATIENT, login=login, given_name="Essai", family_name="Commit")


def _record(session: Session, subject: str) -> None:
    audit.record(session, keys.ring, "test.event", subject_id=subject)


def test_an_audited_commit_is_two_round_trips(app, engine):
    """A page that only read, then audits: BEGIN and the heads' lock in one message, the
    chained row and its head written with COMMIT in the other, each statement prepared on
    the server the first time the connection sends it, then only executed; then the same
    after a write (the transaction had begun: no BEGIN); then twenty events in as many
    chains, still two. The rows are there and verify."""
    subjects = [f"sujet-{number}" for number in range(20)]
    with app.app_context(), Session(engine) as session:
        for subject in subjects:
            _record(session, subject)
        session.commit()  # creates the heads (the tests' database is emptied of them)
        session.scalar(select(func.count()).select_from(User))  # read outside a transaction
        _record(session, subjects[0])
        first, then = _round_trips(session, session.commit)
        assert first.startswith('"BEGIN; PREPARE carnet_audit_lock_1 AS SELECT audit_head.id')
        assert "FOR UPDATE; EXECUTE carnet_audit_lock_1(" in first
        assert then.startswith('"PREPARE carnet_audit_write_1_1 AS WITH written AS (INSERT')
        assert "; EXECUTE carnet_audit_write_1_1(" in then and then.endswith('; COMMIT"')
        session.add(_person("pg.commit.avant"))
        session.flush()  # the page wrote: its transaction has begun
        _record(session, subjects[1])
        first, then = _round_trips(session, session.commit)
        assert first.startswith('"EXECUTE carnet_audit_lock_1(') and first.endswith(')"')
        assert then.startswith('"EXECUTE carnet_audit_write_1_1(') and then.endswith('; COMMIT"')
        for subject in subjects:
            _record(session, subject)
        first, then = _round_trips(session, session.commit)
        chains = len({audit.chain_for(subject) for subject in subjects})
        assert first.startswith(f'"BEGIN; EXECUTE carnet_audit_lock_{chains}(')
        assert then.startswith(f'"EXECUTE carnet_audit_write_20_{chains}(')
        assert then.endswith('; COMMIT"')
        prepared = set(_driver(session).execute(
            "SELECT name FROM pg_prepared_statements WHERE name LIKE 'carnet%'").fetchall())
        assert prepared == {("carnet_audit_lock_1",), ("carnet_audit_write_1_1",),
                            (f"carnet_audit_lock_{chains}",),
                            (f"carnet_audit_write_20_{chains}",)}
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 42
        assert session.scalar(select(func.count(func.distinct(AuditEvent.chain)))) == chains
        assert audit.verify(session, keys.ring).ok


def test_a_missing_head_is_created_at_the_commit(app, engine):
    """A chain without its head (a database emptied by hand): it is created inside the
    commit, locked with the others, and the trail verifies."""
    with app.app_context(), Session(engine) as session:
        _record(session, "sans-tete")
        session.commit()
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1
        assert audit.verify(session, keys.ring).ok


def test_a_failed_write_at_the_commit_commits_nothing(app, engine):
    """The work at the commit fails after the lock: nothing of the transaction stays, the
    page's own write included; the connection is whole afterwards (what it has prepared is
    read again from the server: a PREPARE sent before the failure may have run), and a
    work dropped by a rollback never runs."""
    with app.app_context():
        with Session(engine) as session:
            session.add(_person("pg.commit.perdu"))
            session.flush()
            driver = _driver(session)
            driver.write_last(("carnet_test_one", "SELECT 1", ()),
                              lambda _cursor: [("carnet_test_fails", "SELECT 1 / 0", ())])
            with pytest.raises(DBAPIError):
                session.commit()
            session.rollback()
            _record(session, "apres")  # prepares the audit's statements on this connection
            session.commit()
            ran = []
            session.scalar(text("SELECT 1"))
            _driver(session).write_last(("carnet_test_one", "SELECT 1", ()), ran.append)
            session.rollback()
            session.add(_person("pg.commit.garde"))
            _record(session, "apres")
            session.commit()
            assert ran == [] and _driver(session) is driver
        with Session(engine) as session:
            logins = session.scalars(select(User.login).where(
                User.login.in_(("pg.commit.perdu", "pg.commit.garde")))).all()
            assert logins == ["pg.commit.garde"]
            assert session.scalar(select(func.count()).select_from(AuditEvent)) == 2
            assert audit.verify(session, keys.ring).ok


def test_quotes_and_percents_reach_the_trail_as_they_were(app, engine):
    """The writes sent with COMMIT carry their values written into the SQL (psycopg's
    client-side binding): a detail with quotes, semicolons, percents and backslashes is
    stored as given, and the row's MAC holds."""
    hostile = {"motif": "'; DROP TABLE audit_events; -- %s %(x)s \\ \" ’"}
    with app.app_context(), Session(engine) as session:
        audit.record(session, keys.ring, "test.event", subject_id="guillemets",
                     details=hostile)
        session.commit()
        [details] = session.scalars(select(AuditEvent.details)).all()
        assert json.loads(details) == hostile
        assert audit.verify(session, keys.ring).ok


def test_the_commit_leaves_the_connection_as_it_found_it(app, engine):
    """A connection that had committed a write (psycopg's autocommit off, no transaction)
    keeps autocommit off after an audited commit that began its own transaction."""
    with app.app_context(), Session(engine) as session:
        session.add(_person("pg.commit.deja"))
        session.commit()
        driver = _driver(session)
        assert driver.autocommit is False
        assert driver.info.transaction_status == pq.TransactionStatus.IDLE
        _record(session, "encore")
        session.commit()
        assert driver.autocommit is False
        assert driver.info.transaction_status == pq.TransactionStatus.IDLE
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_statements_deallocated_by_psycopg_are_prepared_again(app, engine):
    """psycopg deallocates every prepared statement of the session after a rollback when it
    has prepared some of its own: the next audited commit prepares its statements again
    instead of executing names the server no longer knows."""
    with app.app_context(), Session(engine) as session:
        _record(session, "avant")
        session.commit()
        driver = _driver(session)
        driver.execute("SELECT 1", prepare=True)  # one of psycopg's own
        session.add(_person("pg.commit.annule"))
        session.flush()
        session.rollback()  # ROLLBACK, then psycopg's DEALLOCATE ALL
        assert driver.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
        _record(session, "avant")  # its chain's head exists
        first, then = _round_trips(session, session.commit)
        assert "PREPARE carnet_audit_lock_1" in first and "PREPARE carnet_audit_write" in then
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 2
        assert audit.verify(session, keys.ring).ok
