"""The audit chain: every row MACed with the previous one; verify names the first break."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from domain import audit
from domain.models import AuditEvent
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
