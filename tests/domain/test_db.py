"""domain.db.read_rows: plain-column reads on the session's connection see what the session
has pending, as Session.execute's autoflush does, and stay in its transaction; and
domain.db.Prepared, the same read on the driver's cursor."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, event, func, insert, literal_column, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from domain import sessions
from domain.db import PagedList, Prepared, mapped_columns, one_of, one_of_values, read_rows
from domain.models import Role, User, WebSession
from domain.models.base import Base, UTCDateTime
from extensions import db

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
COUNT = select(func.count()).select_from(WebSession).where(WebSession.data == '{"mark": 1}')


def test_a_read_sees_what_the_session_has_pending_and_its_types(app):
    with app.app_context():
        before = read_rows(db.session, COUNT).scalar_one()
        _token, record = sessions.create(db.session, {"mark": 1}, now=NOW)
        record.data = '{"mark": 2}'  # changed after create()'s flush: pending, not written
        assert read_rows(db.session, COUNT).scalar_one() == before
        record.data = '{"mark": 1}'
        assert read_rows(db.session, COUNT).scalar_one() == before + 1  # flushed first
        # The columns' own types still apply (a UTC datetime comes back aware), parameters
        # are passed on.
        created = read_rows(db.session, select(WebSession.created_at).where(
            WebSession.id == record.id)).scalar_one()
        assert created == NOW and created.tzinfo is not None
        db.session.rollback()  # the same transaction as the session's: nothing stays
        assert read_rows(db.session, COUNT).scalar_one() == before


def test_no_flush_inside_no_autoflush(app):
    with app.app_context():
        before = read_rows(db.session, COUNT).scalar_one()
        with db.session.no_autoflush:
            db.session.add(WebSession(token_hash="f" * 64, data='{"mark": 1}', created_at=NOW,
                                      last_seen=NOW))
            assert read_rows(db.session, COUNT).scalar_one() == before
        assert read_rows(db.session, COUNT).scalar_one() == before + 1
        db.session.rollback()


def test_a_prepared_query_gives_what_sqlalchemy_gives(app, demo_users):
    """The same values and types as through SQLAlchemy's Connection (an aware datetime, an
    enum, a boolean, bytes), a parameter used twice bound twice, no row as None."""
    statement = (select(User.id, User.role, User.enabled, User.created_at,
                        User.given_name_sealed, User.last_totp_step)
                 .where((User.login == bindparam("login")) | (User.rpps == bindparam("login")))
                 .where(User.created_at < bindparam("before", type_=UTCDateTime())))
    prepared = Prepared(statement)
    with app.app_context():
        parameters = {"login": "camille.martin", "before": datetime.now(UTC)}
        expected = tuple(db.session.execute(statement, parameters).one())
        got = prepared.first(db.session, parameters)
        assert got == expected
        assert [type(value) for value in got] == [type(value) for value in expected]
        assert got[1] is Role.PATIENT and got[2] is True and got[3].tzinfo is not None
        assert prepared.first(db.session, {**parameters, "login": "nobody"}) is None


def test_a_prepared_query_is_seen_and_fails_as_sqlalchemy_does(app):
    seen, after = [], []

    def listen(_connection, _cursor, statement, *_rest):
        seen.append(statement)

    def listen_after(_connection, _cursor, statement, *_rest):
        after.append(statement)

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", listen)
        event.listen(engine, "after_cursor_execute", listen_after)
        try:
            assert Prepared(COUNT).first(db.session, {}) == (0,)
            assert seen and "FROM web_sessions" in seen[-1] and after[-1] == seen[-1]
            with pytest.raises(ValueError, match="missing parameters"):
                Prepared(select(User.id).where(User.login == bindparam("login"))).first(
                    db.session, {})
            with pytest.raises(ValueError, match="list parameter"):
                Prepared(select(User.id).where(User.id.in_(bindparam("ids", expanding=True)))
                         ).first(db.session, {"ids": ["a"]})
            with pytest.raises(DBAPIError):  # the driver's own error, wrapped
                Prepared(select(literal_column("no_such_column"))).first(db.session, {})
        finally:
            event.remove(engine, "before_cursor_execute", listen)
            event.remove(engine, "after_cursor_execute", listen_after)
            db.session.rollback()


def test_a_row_of_mapped_columns_reads_like_the_object(app, demo_users):
    """A list page's rows stand for ORM objects: every model's rows carry its attributes'
    names (a column named apart from its attribute would break the templates), with the
    same values and types."""
    for mapper in Base.registry.mappers:
        model = mapper.class_
        statement = Prepared(select(*mapped_columns(model)))
        assert statement.row._fields == tuple(
            attribute.key for attribute in mapper.column_attrs), model.__name__
    from datetime import date

    from domain.demo.agenda import seed_agenda
    from domain.demo.child import seed_child
    from domain.demo.messages import seed_messages
    from domain.demo.profile import seed_profile
    from extensions import blobs, keys

    compared = set()
    with app.app_context():
        # The demo's content: an agenda, a profile, a conversation, Léo's document.
        assert seed_profile(db.session, keys.ring, "camille.martin", date.today())
        assert seed_agenda(db.session, keys.ring, "camille.martin", date.today())
        assert seed_messages(db.session, keys.ring, "camille.martin", "dr.bernard")
        assert seed_child(db.session, keys.ring, blobs.store, "camille.martin", "dr.bernard")
        db.session.commit()
        for mapper in Base.registry.mappers:  # each model's first demo row, if it has one
            model = mapper.class_
            known = db.session.scalars(select(model).limit(1)).first()
            if known is None:
                continue
            keys = mapper.primary_key
            row = Prepared(select(*mapped_columns(model)).where(
                *(column == bindparam(f"k{i}") for i, column in enumerate(keys)))).first(
                db.session, {f"k{i}": getattr(known, mapper.get_property_by_column(
                    column).key) for i, column in enumerate(keys)})
            for attribute in mapper.column_attrs:
                value, expected = getattr(row, attribute.key), getattr(known, attribute.key)
                assert value == expected, (model.__name__, attribute.key)
                assert type(value) is type(expected), (model.__name__, attribute.key)
            compared.add(model.__name__)
    assert {"User", "AgendaItem", "Document", "ProfileEntry",
            "Conversation", "Message", "AuditEvent"} <= compared, sorted(compared)


def test_a_list_as_plain_parameters_finds_what_in_finds(app, demo_users):
    """one_of(): a list of n values as n parameters, so that the statement can be Prepared
    (an expanding IN is refused); the same rows as SQLAlchemy's IN, for each count."""
    logins = ["camille.martin", "dr.bernard", "nobody", "conseil.durand"]
    with app.app_context():
        for count in range(1, len(logins) + 1):
            asked = logins[:count]
            got = Prepared(select(User.login).where(one_of(User.login, "login", count))
                           .order_by(User.login)).all(db.session, one_of_values("login", asked))
            expected = db.session.scalars(select(User.login).where(User.login.in_(asked))
                                          .order_by(User.login)).all()
            assert [row.login for row in got] == expected
            assert len(expected) == len(set(asked) - {"nobody"})


def test_a_paged_list_reads_a_page_and_its_figures_in_one_statement(app, demo_users):
    """PagedList: a page's rows with the whole list's figures (its count and any other
    aggregate) as window functions, one statement; an empty list's first page, figures 0;
    past the last page (and far past it), the figures apart and the last page."""
    mine = (User.login.is_not(None), User.login != bindparam("left_out"))
    listed = PagedList((User.login,), User, mine, (User.login,),
                       longest=func.max(func.length(User.login)))
    nothing = PagedList((User.login,), User, (User.login == bindparam("only"),),
                        (User.login,), longest=func.max(func.length(User.login)))
    sent = []

    def counted(*_arguments):
        sent.append(1)

    with app.app_context():
        logins = db.session.scalars(select(User.login).where(
            User.login.is_not(None), User.login != "dr.bernard").order_by(User.login)).all()
        assert len(logins) >= 3
        whole = {"total": len(logins), "longest": max(map(len, logins))}
        pages = -(-len(logins) // 2)
        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            for page in range(1, pages + 1):
                sent.clear()
                rows, figures, shown, count = listed.read(
                    db.session, {"left_out": "dr.bernard"}, page, 2)
                assert [row.login for row in rows] == logins[(page - 1) * 2:page * 2]
                assert (figures, shown, count, len(sent)) == (whole, page, pages, 1)
            for past in (pages + 1, 10**30):
                sent.clear()
                rows, figures, shown, count = listed.read(
                    db.session, {"left_out": "dr.bernard"}, past, 2)
                assert [row.login for row in rows] == logins[(pages - 1) * 2:]
                assert (figures, shown, count, len(sent)) == (whole, pages, pages, 3)
            for page, statements in ((1, 1), (4, 2)):
                sent.clear()
                assert nothing.read(db.session, {"only": "nobody"}, page, 2) == (
                    [], {"total": 0, "longest": 0}, 1, 1)
                assert len(sent) == statements
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)


def test_prepared_writes_change_what_sqlalchemy_would_and_are_seen(app, demo_users):
    """run(), run_many() and a write's RETURNING: the rows a Core statement would write,
    with the columns' own conversions (an aware datetime stored as UTC), in the session's
    transaction (a rollback takes them back), several rows as one executemany."""
    users = User.__table__
    rename = Prepared(update(users).where(users.c.login == bindparam("old"))
                      .values(login=bindparam("new"), locked_until=bindparam("when"))
                      .returning(users.c.id, users.c.locked_until))
    add = Prepared(insert(WebSession.__table__))
    seen: list[tuple[str, bool]] = []

    def listen(_connection, _cursor, statement, _parameters, _context, many):
        seen.append((statement.split()[0], many))

    when = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", listen)
        try:
            camille = db.session.scalars(select(User).where(
                User.login == "camille.martin")).one()
            [row] = rename.all(db.session, {"old": "camille.martin", "new": "c.m",
                                            "when": when})
            assert row.id == camille.id and row.locked_until == when
            assert rename.all(db.session, {"old": "nobody", "new": "x", "when": when}) == []
            base = {column.key: None for column in WebSession.__table__.columns}
            made = [{**base, "id": f"s{index}", "user_id": camille.id,
                     "token_hash": f"h{index}", "data": "{}", "created_at": when,
                     "last_seen": when} for index in range(3)]
            add.run_many(db.session, made)
            add.run_many(db.session, [])
            ids = set(db.session.scalars(select(WebSession.id).where(
                WebSession.user_id == camille.id, WebSession.id.in_(["s0", "s1", "s2"]))))
            assert ids == {"s0", "s1", "s2"}
            assert db.session.get(WebSession, "s1").last_seen == when
            db.session.expire_all()
            assert db.session.get(User, camille.id).login == "c.m"
            writes = [(verb, many) for verb, many in seen if verb != "SELECT"]
            assert writes == [("UPDATE", False), ("UPDATE", False), ("INSERT", True)]
            db.session.rollback()
            assert db.session.get(User, camille.id).login == "camille.martin"
            assert not db.session.scalars(select(WebSession.id).where(
                WebSession.id == "s0")).first()
        finally:
            event.remove(engine, "before_cursor_execute", listen)
            db.session.rollback()


def test_a_pooled_connection_left_idle_is_pinged_and_replaced_if_the_server_lost_it(
        app, monkeypatch):
    """PostgreSQL: a connection back in the pool a moment ago is used without a ping (one
    round trip fewer per request); one left idle is pinged first, and if the server has
    dropped it (a restart, `idle_session_timeout`), another takes its place and the request
    goes on."""
    from sqlalchemy import text

    from domain import db as database

    server = app.extensions["carnet_db"][0]  # the application's own engine
    if server.dialect.name != "postgresql":
        pytest.skip("SQLite opens a file: there is no server to lose the connection")
    engine = database.make_engine(app.config["DATABASE_URL"])
    pings = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping",
                        lambda connection: (pings.append(connection), real_ping(connection))[1])

    def backend() -> int:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT pg_backend_pid()"))

    try:
        first = backend()  # a new connection: nothing to ping
        assert backend() == first and pings == []  # back in the pool just now: no ping
        monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # now "idle"
        assert backend() == first and len(pings) == 1
        with server.connect() as other:  # the server drops the idle connection
            assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        _gone(server, {first})
        replaced = backend()  # pinged, found lost, replaced: the query still runs
        assert replaced != first and len(pings) == 2
        assert backend() == replaced and len(pings) == 3
        monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)  # never pinged
        # The server restarts under load: connections back in the pool a moment ago (not
        # pinged) are lost too. A Prepared statement meeting a lost connection drops the
        # pool's older connections, as SQLAlchemy's own statements do.
        with engine.connect() as one, engine.connect() as two:
            lost = {one.scalar(text("SELECT pg_backend_pid()")),
                    two.scalar(text("SELECT pg_backend_pid()"))}
        with server.connect() as other:
            for pid in lost:
                assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        _gone(server, lost)
        with Session(engine) as session:
            with pytest.raises(DBAPIError) as failed:
                Prepared(select(literal_column("1"))).first(session)
            assert failed.value.connection_invalidated
        assert backend() not in lost and len(pings) == 3
    finally:
        engine.dispose()


def _gone(server, pids) -> None:
    """Wait until PostgreSQL has ended these backends."""
    from sqlalchemy import text

    for _ in range(100):
        with server.connect() as other:
            if not other.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                     "WHERE pid = ANY(:pids)"), {"pids": list(pids)}):
                return
        time.sleep(0.01)
    raise AssertionError(f"backends {pids} still there")


def test_postgresql_begins_a_transaction_at_the_first_write_and_keeps_it_whole(app):
    """psycopg: plain queries run outside a transaction (no BEGIN, no ROLLBACK: two round
    trips fewer for a page that only reads) until something writes or locks; from there
    on every statement belongs to the transaction, and a rollback takes back all of it."""
    from psycopg.pq import TransactionStatus
    from sqlalchemy import delete, text

    from domain import db as database

    server = app.extensions["carnet_db"][0]
    if server.dialect.driver != "psycopg":
        pytest.skip("SQLite's driver already begins at the first write")
    engine = database.make_engine(app.config["DATABASE_URL"])
    people = select(func.count()).select_from(User)
    rows = select(WebSession.id).where(WebSession.data == "test-marker")

    def status(session: Session) -> TransactionStatus:
        return session.connection().connection.dbapi_connection.info.transaction_status

    def marker(number: int) -> dict:
        moment = datetime(2026, 1, number, tzinfo=UTC)
        return {"id": f"marker-{number}", "token_hash": f"{number:064x}",
                "data": "test-marker", "created_at": moment, "last_seen": moment}

    columns = WebSession.__table__.c
    insert_marker = Prepared(insert(WebSession).values(
        {name: bindparam(name, type_=columns[name].type) for name in marker(1)}))

    try:
        with Session(engine) as session:
            session.scalar(people)
            Prepared(people).first(session)
            assert status(session) == TransactionStatus.IDLE  # nothing begun
            for locking in (select(User.id).with_for_update(), text("SELECT nextval('x')"),
                            text("SELECT pg_advisory_xact_lock(1)"),
                            text("WITH gone AS (DELETE FROM users WHERE false RETURNING id) "
                                 "SELECT count(*) FROM gone")):
                assert not database.reads_only(str(locking.compile(engine)))
            session.scalar(people.execution_options(**{database.IN_TRANSACTION: True}))
            assert status(session) == TransactionStatus.INTRANS
            session.rollback()
            session.execute(select(User.id).with_for_update())
            assert status(session) == TransactionStatus.INTRANS
            session.rollback()
            assert status(session) == TransactionStatus.IDLE
            # Reads, writes and reads again, then a rollback: none of the writes stay.
            session.scalar(people)
            session.execute(insert(WebSession), [marker(1)])
            assert status(session) == TransactionStatus.INTRANS
            assert len(session.scalars(rows).all()) == 1  # the read sees the pending write
            insert_marker.run(session, marker(2))
            session.scalar(people)
            session.rollback()
            assert session.scalars(rows).all() == [] and status(session) == TransactionStatus.IDLE
            # A commit keeps them all.
            session.execute(insert(WebSession), [marker(3)])
            insert_marker.run(session, marker(4))
            session.commit()
            assert len(session.scalars(rows).all()) == 2
            # A server-side cursor (yield_per) needs a transaction: it begins one.
            assert len(list(session.scalars(rows.execution_options(yield_per=1)))) == 2
            session.rollback()
            session.execute(delete(WebSession).where(WebSession.data == "test-marker"))
            session.commit()
        with engine.connect() as connection:  # a snapshot's isolation level begins at once
            connection.execution_options(isolation_level="REPEATABLE READ")
            connection.scalar(people)
            assert (connection.connection.dbapi_connection.info.transaction_status
                    == TransactionStatus.INTRANS)
            connection.rollback()
        with engine.connect() as connection:  # asked for AUTOCOMMIT: each statement is one
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(insert(WebSession), [marker(5)])
            assert (connection.connection.dbapi_connection.info.transaction_status
                    == TransactionStatus.IDLE)
            connection.execute(delete(WebSession).where(WebSession.data == "test-marker"))
    finally:
        engine.dispose()
