"""One writer at a time on a SQLite file, handed over at once.

SQLite lets one connection write at a time. A connection that finds the database locked
waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries:
under load, each try lost makes the next wait longer, and a write that lost a few times
waits tens of milliseconds after the lock was free. Every page that writes a row (an
audited read: a document, the messages, a professional's patient page) met it. Measured
with benchmarks/load.py (16 connections, 2 workers of 4 threads, 2026-12-07), three runs
each: p99 of a document 105-148 ms, of the messages 83-114, of the professional's patient
page 117-129; writers queued here instead: 71-103, 60-85 and 84-125 ms.

So writers queue here first: on a lock of the process's threads, then on an advisory lock
of a file beside the database (`<database>-writer`, flock) for the processes (gunicorn's
workers, a command). A thread is woken as soon as the lock is free; a process tries
again every millisecond at most. A connection takes the lock before its first statement
that may write and keeps it until its transaction ends (commit, rollback, close), or
right after the statement when no transaction is left open (a PRAGMA).

Waiting stops at the busy timeout. The write then goes to SQLite without the lock, to
wait under SQLite's own busy timeout and fail there as before ("database is locked"; so a
writer behind a transaction that never ends gives up after twice the busy timeout, not
once): a writer is never kept waiting for ever by a process that hangs holding the lock.
A process killed holding it loses it (the kernel drops a dead process's flock).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

SUFFIX = "-writer"  # beside SQLite's own -wal and -shm files
RETRY_FIRST_S = 0.0001
RETRY_MAX_S = 0.001


class WriterLock:
    """The lock of one database file: a thread lock, then the file's flock, taken on an
    opening of the file made for each hold (closing it lets go; a forked process never
    shares one with its parent), as the key file's lock does (domain.crypto)."""

    def __init__(self, database: Path, timeout_s: float, reads_only: Callable[[str], bool]):
        self.path = Path(f"{database}{SUFFIX}")
        self.timeout_s = timeout_s
        self.reads_only = reads_only  # which statements cannot write (domain.db.reads_only)
        self._threads = threading.Lock()
        self._held: int | None = None  # the holder's opening of the file

    def acquire(self) -> bool:
        """Wait for the lock, up to the timeout: whether it was taken."""
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            return False
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except BaseException:
            self._threads.release()
            raise
        taken = False
        try:
            taken = _flock_until(fd, deadline)
        finally:
            if taken:
                self._held = fd
            else:
                os.close(fd)
                self._threads.release()
        return taken

    def release(self) -> None:
        fd, self._held = self._held, None
        try:
            os.close(fd)  # drops the flock
        finally:
            self._threads.release()


def _flock_until(fd: int, deadline: float) -> bool:
    """The file's lock, tried again (0.1 ms, doubling up to 1 ms) until `deadline`."""
    delay = RETRY_FIRST_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
        time.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_S)


class Cursor(sqlite3.Cursor):
    """Takes its connection's WriterLock before a statement that may write."""

    def _before(self, sql: str | None) -> None:
        """`sql` None: a script, which may write."""
        connection = self.connection
        writer = connection.writer
        if writer is not None and not connection.holding and (
                sql is None or not writer.reads_only(sql)):
            connection.holding = writer.acquire()

    def _after(self) -> None:
        connection = self.connection
        if connection.holding and not connection.in_transaction:
            connection.let_go()

    def execute(self, sql, parameters=(), /):
        self._before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self._after()

    def executemany(self, sql, seq_of_parameters, /):
        self._before(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self._after()

    def executescript(self, sql_script, /):
        self._before(None)
        try:
            return super().executescript(sql_script)
        finally:
            self._after()


class Connection(sqlite3.Connection):
    """sqlite3's connection (the engine's `factory`), its cursors taking `writer`, the
    database's WriterLock (given once connected; None: a database in memory, its own)."""

    writer: WriterLock | None = None
    holding = False

    def cursor(self, factory=Cursor):
        return super().cursor(factory)

    # sqlite3's own shortcuts make a plain cursor: through ours instead.
    def execute(self, sql, parameters=(), /):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script, /):
        return self.cursor().executescript(sql_script)

    def let_go(self) -> None:
        if self.holding:
            self.holding = False
            self.writer.release()

    def commit(self):
        try:
            return super().commit()
        finally:
            self.let_go()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self.let_go()

    def close(self):
        try:
            return super().close()
        finally:
            self.let_go()
