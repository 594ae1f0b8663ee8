"""`flask audit checkpoint` and `flask audit verify`, as an operator runs them."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from domain import audit
from domain.models import AuditEvent, AuditHead
from extensions import db, keys


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _write(app, count: int) -> None:
    with app.app_context():
        for index in range(count):
            audit.record(db.session, keys.ring, "test.event", details={"n": index})
        db.session.commit()


def test_checkpoint_then_verify_then_a_wiped_trail_is_reported(app):
    _write(app, 4)
    result = _run(app, "audit", "checkpoint")
    # Events with neither subject, actor nor request all go to one chain.
    assert result.exit_code == 0
    assert f"chain {audit.chain_for(None)} at event 4" in result.output
    result = _run(app, "audit", "verify")
    assert result.exit_code == 0 and result.output.startswith("OK: 4 events")
    assert "nothing before it was removed" in result.output
    with app.app_context():
        db.session.execute(delete(AuditEvent))
        db.session.execute(delete(AuditHead))
        db.session.commit()
    result = _run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "the chain ends before the newest checkpoint (event 4)" in result.output


def test_tail_deleted_and_head_rewritten_is_reported(app):
    _write(app, 6)
    with app.app_context():
        db.session.execute(delete(AuditEvent).where(AuditEvent.seq > 3))
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        db.session.execute(update(AuditHead).values(seq=last.seq, last_mac=last.mac))
        db.session.commit()
    result = _run(app, "audit", "verify")
    assert result.exit_code == 1 and "the head was altered" in result.output


def test_a_forged_head_is_not_checkpointed(app):
    _write(app, 3)
    with app.app_context():
        db.session.execute(update(AuditHead).values(seq=2))
        db.session.commit()
    result = _run(app, "audit", "checkpoint")
    assert result.exit_code == 1 and "REFUSED" in result.output


def test_without_a_checkpoint_store_verify_says_what_it_cannot_see(app):
    saved = app.config["AUDIT_CHECKPOINTS"]
    app.config["AUDIT_CHECKPOINTS"] = ""
    try:
        _write(app, 2)
        result = _run(app, "audit", "verify")
        assert result.exit_code == 0 and "cannot be detected" in result.output
        assert _run(app, "audit", "checkpoint").exit_code != 0
    finally:
        app.config["AUDIT_CHECKPOINTS"] = saved


def test_a_restore_marks_the_rolled_back_chain_with_a_new_checkpoint(app, tmp_path):
    from tests.conftest import empty_database

    _write(app, 3)
    assert _run(app, "backup", "create", str(tmp_path / "backup")).exit_code == 0
    _write(app, 5)
    assert _run(app, "audit", "checkpoint").exit_code == 0  # names events 1 to 9 or so
    with app.app_context():
        db.session.execute(delete(AuditEvent))
        db.session.execute(delete(AuditHead))
        db.session.commit()
    result = _run(app, "backup", "restore", str(tmp_path / "backup"), "--force")
    assert result.exit_code == 0, result.output
    assert "A new audit checkpoint marks the restored chain." in result.output
    result = _run(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    empty_database(app)


def test_checkpoints_all_deleted_from_an_old_trail_are_reported(app):
    from datetime import timedelta

    from domain.models.base import utcnow

    with app.app_context():
        audit.record(db.session, keys.ring, "test.old", now=utcnow() - timedelta(hours=3))
        db.session.commit()
    result = _run(app, "audit", "verify")
    assert result.exit_code == 1 and "checkpoints were deleted" in result.output
    assert _run(app, "audit", "checkpoint").exit_code == 0
    assert _run(app, "audit", "verify").exit_code == 0
