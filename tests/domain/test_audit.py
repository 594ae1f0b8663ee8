"""The audit chain: every row MACed with the previous one; verify names the first break."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

from domain import audit
from domain.models import AuditEvent, AuditHead
from extensions import db, keys


def _write(count: int):
    for index in range(count):
        audit.record(db.session, keys.ring, "test.event", actor=audit.Actor("u1", "patient"),
                     target_type="thing", target_id=str(index), details={"n": index})
    db.session.commit()


def test_an_intact_chain_verifies(app):
    with app.app_context():
        _write(5)
        result = audit.verify(db.session, keys.ring)
        assert result.ok and result.checked == 5


@pytest.mark.parametrize("change", [
    {"action": "test.other"}, {"actor_id": "u2"}, {"details": '{"n":99}'}, {"ip": "10.0.0.1"}])
def test_an_altered_row_is_named(app, change):
    with app.app_context():
        _write(5)
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(**change))
        db.session.commit()
        result = audit.verify(db.session, keys.ring)
        assert not result.ok and result.first_broken_seq == 3


def test_a_deleted_row_is_found(app):
    with app.app_context():
        _write(5)
        db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
        db.session.commit()
        result = audit.verify(db.session, keys.ring)
        assert not result.ok and result.first_broken_seq == 2


def test_a_truncated_tail_is_found(app):
    with app.app_context():
        _write(5)
        db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 5))
        db.session.commit()
        assert not audit.verify(db.session, keys.ring).ok


def test_secrets_cannot_enter_the_details(app):
    with app.app_context(), pytest.raises(ValueError):
        audit.record(db.session, keys.ring, "x", details={"password": "hunter2"})


def test_the_cli_prints_ok_or_the_first_broken_row(app):
    runner = app.test_cli_runner()
    with app.app_context():
        _write(3)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and result.output.startswith("OK: 3 events")
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(outcome="x"))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN at event 2" in result.output


def test_sign_in_events_are_recorded(app, signed_in):
    signed_in("camille.martin")
    with app.app_context():
        actions = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars()
        assert list(actions) == ["auth.password_ok", "auth.login"]
        assert audit.verify(db.session, keys.ring).ok


def _subject_in_chain(chain: int, start: int = 0) -> str:
    return next(f"{n:032x}" for n in range(start, start + 10_000)
                if audit.chain_for(f"{n:032x}") == chain)


def test_an_event_goes_to_its_subjects_chain_when_the_transaction_commits(app):
    subject = _subject_in_chain(7)
    with app.app_context():
        audit.record(db.session, keys.ring, "test.event", subject_id=subject)
        with Session(db.engine) as other:
            assert other.scalar(select(func.count()).select_from(AuditEvent)) == 0
        db.session.commit()
        [event] = db.session.scalars(select(AuditEvent)).all()
        assert (event.chain, event.seq, event.subject_id) == (7, 1, subject)
        # Without a subject, the actor's chain; a rollback drops what was recorded.
        assert audit.chain_for(None, "u1") == audit.chain_for("u1")
        audit.record(db.session, keys.ring, "test.dropped", subject_id=subject)
        db.session.rollback()
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1
        assert audit.verify(db.session, keys.ring).ok


def test_writers_touching_the_same_chains_in_opposite_orders_never_deadlock(app,
                                                                           monkeypatch):
    """Each transaction records an event for a subject of chain 3 and one of chain 40, in
    opposite orders, and holds the heads a while once it has them: taken in chain order,
    the second writer waits for the first instead of each waiting for the other
    (PostgreSQL would abort one as a deadlock)."""
    first, second = _subject_in_chain(3), _subject_in_chain(40)
    real_chained = audit._chained
    asked: list[list[int]] = []

    def slow_chained(by_chain, heads):
        # Called once the heads are locked, before the rows are written (on PostgreSQL
        # inside the driver's commit): the lock is held a while longer.
        asked.append(sorted(heads))
        time.sleep(0.2)
        return real_chained(by_chain, heads)

    monkeypatch.setattr(audit, "_chained", slow_chained)
    errors: list[BaseException] = []
    with app.app_context():
        engine = db.engine
        ring = keys.ring

    def writer(subjects):
        try:
            with Session(engine) as session:
                for subject in subjects:
                    audit.record(session, ring, "test.event", subject_id=subject)
                session.commit()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(order,))
               for order in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert asked == [[3, 40], [3, 40]]
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.chain, AuditEvent.seq)
                                  .order_by(AuditEvent.chain, AuditEvent.seq)).all()
        assert rows == [(3, 1), (3, 2), (40, 1), (40, 2)]
        assert audit.verify(db.session, keys.ring).ok


def test_the_heads_are_locked_in_chain_order_by_the_database_itself(app):
    """One statement takes every head of a commit: on PostgreSQL its rows are locked as
    they come out of `ORDER BY id` (the lock is applied after the sort); on SQLite it is a
    write, so that the database's write lock comes before anything is read."""
    with app.app_context():
        dialect = db.engine.dialect
        sql = audit._lock_statement(dialect.name, 3)._compiled(dialect)[0]
    flat = " ".join(sql.split()).upper()
    if dialect.name == "postgresql":
        assert flat.startswith("SELECT ")
        assert flat.index("ORDER BY AUDIT_HEAD.ID") < flat.index("FOR UPDATE")
    else:
        assert flat.startswith("UPDATE AUDIT_HEAD ") and "RETURNING" in flat


def _commit_sent() -> list[str]:
    """Commit the session; the statements it sent, each on one line."""
    sent: list[str] = []

    def listen(_connection, _cursor, statement, *_args):
        sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    return sent


def test_a_commit_touching_many_chains_sends_three_statements(app):
    """Lock the heads, insert the rows, seal the heads: three statements for the 20
    patients of a professional's inbox page as for one event (one per chain and step
    was 51 round trips to PostgreSQL for that page); on PostgreSQL two, the rows and the
    heads written by one (and sent with the COMMIT: tests/domain/test_pg_commit.py)."""
    subjects = [_subject_in_chain(chain) for chain in range(1, 21)]

    def record_all():
        for subject in subjects:
            audit.record(db.session, keys.ring, "test.event", subject_id=subject)

    with app.app_context():
        record_all()
        db.session.commit()  # creates the heads (the tests' database is emptied of them)
        record_all()
        db.session.flush()
        audit_statements = [sql for sql in _commit_sent() if "audit_" in sql]
        expected = 2 if db.engine.dialect.name == "postgresql" else 3
        assert len(audit_statements) == expected, audit_statements
        rows = db.session.execute(select(AuditEvent.chain, AuditEvent.seq)
                                  .order_by(AuditEvent.chain, AuditEvent.seq)).all()
        assert rows == [(chain, seq) for chain in range(1, 21) for seq in (1, 2)]
        assert audit.verify(db.session, keys.ring).ok


def test_one_event_is_written_with_its_head_in_one_statement_on_postgresql(app):
    """The commonest audited commit (one event, one chain): lock the head, then the row and
    the head's new state together on PostgreSQL (a data-modifying WITH), in two statements
    on SQLite; the chain goes on and verifies either way, the second event linked to the
    first."""
    subject = _subject_in_chain(5)
    with app.app_context():
        audit.record(db.session, keys.ring, "test.event", subject_id=subject)
        db.session.commit()  # creates the head (the tests' database is emptied of them)
        audit.record(db.session, keys.ring, "test.event", subject_id=subject,
                     details={"n": 2})
        db.session.flush()
        written = [sql for sql in _commit_sent() if "audit_" in sql]
        if db.engine.dialect.name == "postgresql":
            assert len(written) == 2, written
            assert written[1].startswith("WITH written AS (INSERT INTO audit_events")
            assert "UPDATE audit_head" in written[1]
        else:
            assert len(written) == 3, written
        first, second = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == 5)
                                           .order_by(AuditEvent.seq)).all()
        head = db.session.get(AuditHead, 5)
        assert (second.seq, second.prev_mac) == (2, first.mac)
        assert (head.seq, head.last_mac) == (2, second.mac)
        assert audit.verify(db.session, keys.ring).ok


def test_missing_heads_are_created_and_the_chains_go_on(app):
    """A database whose heads were removed by hand: the next commit creates the missing
    ones (beside one that is there, already numbered) and every chain verifies."""
    kept, lost = _subject_in_chain(5), _subject_in_chain(9)
    with app.app_context():
        audit.record(db.session, keys.ring, "test.event", subject_id=kept)
        db.session.commit()
        db.session.execute(delete(AuditHead).where(AuditHead.id != 5))
        db.session.commit()
        for subject in (lost, kept):
            audit.record(db.session, keys.ring, "test.event", subject_id=subject)
        db.session.commit()
        rows = db.session.execute(select(AuditEvent.chain, AuditEvent.seq)
                                  .order_by(AuditEvent.chain, AuditEvent.seq)).all()
        assert rows == [(5, 1), (5, 2), (9, 1)]
        heads = dict(db.session.execute(select(AuditHead.id, AuditHead.seq)
                                        .where(AuditHead.id.in_((5, 9)))).all())
        assert heads == {5: 2, 9: 1}
        assert audit.verify(db.session, keys.ring).ok
