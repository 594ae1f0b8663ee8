"""SQLite's writers queue on domain.sqlite_writer's lock (threads, then processes), held
from a connection's first write to the end of its transaction, never for a read."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import stat
import threading

import pytest
from sqlalchemy import text

from domain import sqlite_writer
from domain.db import make_engine, reads_only


def _held_by_another_opening(path) -> bool:
    """Whether the flock is taken: a second opening of the file (another process, as far
    as flock is concerned) cannot take it."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a flock this opening took
    return False


@pytest.fixture
def engine(tmp_path):
    made = make_engine(f"sqlite:///{tmp_path / 'carnet.db'}")
    with made.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield made
    made.dispose()


def _writer(connection):
    return connection.connection.dbapi_connection.writer


def test_a_write_holds_the_lock_until_its_transaction_ends_and_a_read_never_takes_it(engine):
    for end in ("commit", "rollback", "close"):
        connection = engine.connect()
        writer = _writer(connection)
        assert isinstance(writer, sqlite_writer.WriterLock)
        connection.execute(text("SELECT count(*) FROM t")).scalar()
        assert not writer._threads.locked() and not _held_by_another_opening(writer.path)
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert writer._threads.locked() and _held_by_another_opening(writer.path)
        connection.execute(text("INSERT INTO t VALUES (2)"))  # taken once per transaction
        getattr(connection, end)()
        assert not writer._threads.locked() and not _held_by_another_opening(writer.path)
        if end != "close":
            connection.close()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 2
    assert writer.path.name == "carnet.db-writer"
    assert stat.S_IMODE(os.stat(writer.path).st_mode) == 0o600


def test_a_statement_that_leaves_no_transaction_lets_go_at_once(engine):
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        raw.execute("PRAGMA user_version = 7")  # sqlite3's shortcut goes through ours too
        assert not raw.in_transaction and not raw.writer._threads.locked()
        raw.executescript("INSERT INTO t VALUES (5);")
        assert not raw.writer._threads.locked()
        raw.execute("INSERT INTO t VALUES (6)")
        assert raw.writer._threads.locked()
        raw.rollback()
        assert not raw.writer._threads.locked()


def test_a_second_writer_waits_for_the_first_to_commit_then_goes_on(engine):
    first, order = engine.connect(), []
    first.execute(text("INSERT INTO t VALUES (1)"))

    def second():
        with engine.connect() as connection:
            connection.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second wrote")
            connection.commit()

    other = threading.Thread(target=second)
    other.start()
    other.join(0.3)
    assert order == []  # queued on the thread lock, not failed nor through
    order.append("first commits")
    first.commit()
    other.join(5)
    first.close()
    assert order == ["first commits", "second wrote"]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 2


def _try_in_child(writer, answer) -> None:
    # No thread of the child holds the lock (the copy of the parent's thread lock says
    # otherwise): only the file's lock is tried.
    writer._threads = threading.Lock()
    answer.put(writer.acquire())


def test_processes_exclude_each_other_even_after_a_fork_and_waiting_has_an_end(tmp_path):
    """A forked worker competes for the file's lock (it opens the file itself); a writer
    that cannot have the lock in time gives up, and leaves the thread lock free."""
    writer = sqlite_writer.WriterLock(tmp_path / "carnet.db", 0.2, reads_only)
    assert writer.acquire()
    context = multiprocessing.get_context("fork")
    answer = context.Queue()
    child = context.Process(target=_try_in_child, args=(writer, answer))
    child.start()
    assert answer.get(timeout=10) is False
    child.join(10)
    writer.release()
    child = context.Process(target=_try_in_child, args=(writer, answer))
    child.start()
    assert answer.get(timeout=10) is True
    child.join(10)

    fd = os.open(writer.path, os.O_RDWR)  # another process holding it
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert writer.acquire() is False
        assert not writer._threads.locked()
    finally:
        os.close(fd)
    opened = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        assert writer.acquire() is True
        writer.release()
    assert len(os.listdir("/proc/self/fd")) == opened  # each hold's opening is closed


def test_a_database_in_memory_has_no_lock_file(tmp_path):
    engine = make_engine("sqlite://")
    with engine.begin() as connection:
        assert connection.connection.dbapi_connection.writer is None
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()
