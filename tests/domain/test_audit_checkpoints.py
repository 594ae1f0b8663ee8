"""Deleting the newest audit events is detected: an authenticated head, checkpoints kept
outside the database, and row formats that keep older rows verifiable."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from domain import audit, audit_checkpoints
from domain.audit_checkpoints import CheckpointError, FolderCheckpoints, S3Checkpoints
from domain.models import AuditEvent, AuditHead
from extensions import db, keys
from tests.domain.test_storage import BUCKET, CREDENTIALS, moto_endpoint  # noqa: F401

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
# _write()'s events have no subject: they go to their actor's chain.
CHAIN = audit.chain_for(None, "u1")


def _write(count: int) -> None:
    for index in range(count):
        audit.record(db.session, keys.ring, "test.event", actor=audit.Actor("u1", "patient"),
                     target_type="thing", target_id=str(index), details={"n": index})
    db.session.commit()


def _head() -> AuditHead:
    db.session.expire_all()
    return db.session.get(AuditHead, CHAIN)


def _drop_tail(after_seq: int) -> None:
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq > after_seq))
    db.session.commit()


@pytest.fixture
def store(tmp_path):
    return FolderCheckpoints(tmp_path / "checkpoints")


def _checkpoint(store, now: datetime = T0):
    return audit_checkpoints.write(store, db.session, keys.ring, now)


def _verify(store=None) -> audit.VerifyResult:
    newest = audit_checkpoints.newest(store, keys.ring) if store is not None else None
    return audit.verify(db.session, keys.ring, newest.marks if newest else None)


def test_deleting_the_newest_events_and_rewriting_the_head_is_detected(app):
    """The finding: delete the last events, copy the new last row's seq and mac into the
    head, and verify said the chain was intact."""
    with app.app_context():
        _write(60)
        _drop_tail(10)
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        db.session.execute(update(AuditHead).where(AuditHead.id == CHAIN)
                           .values(seq=last.seq, last_mac=last.mac))
        db.session.commit()
        result = audit.verify(db.session, keys.ring)
        assert not result.ok and result.reason == "the head was altered"


def test_deleting_the_head_is_detected(app):
    with app.app_context():
        _write(5)
        db.session.execute(delete(AuditHead))
        db.session.commit()
        result = audit.verify(db.session, keys.ring)
        assert not result.ok and result.reason == "the head is missing"


def test_a_head_without_its_mac_is_detected(app):
    with app.app_context():
        _write(5)
        db.session.execute(update(AuditHead).values(head_mac=None))
        db.session.commit()
        assert audit.verify(db.session, keys.ring).reason == "the head was altered"


def test_rows_and_head_wiped_are_caught_by_the_checkpoint(app, store):
    with app.app_context():
        _write(8)
        checkpoint = _checkpoint(store)
        assert checkpoint.marks[CHAIN].seq == 8
        db.session.execute(delete(AuditEvent))
        db.session.execute(delete(AuditHead))
        db.session.commit()
        # Without the checkpoint an empty trail looks intact: that is the window.
        assert audit.verify(db.session, keys.ring).ok
        result = _verify(store)
        assert not result.ok
        assert result.reason == "the chain ends before the newest checkpoint (event 8)"


def test_an_older_authentic_head_put_back_is_caught_by_the_checkpoint(app, store):
    with app.app_context():
        _write(5)
        saved = _head()
        old = (saved.seq, saved.last_mac, saved.head_mac)
        _write(5)
        _checkpoint(store)
        # Someone who copied the head earlier deletes what came after and puts it back.
        _drop_tail(5)
        db.session.execute(update(AuditHead).where(AuditHead.id == CHAIN).values(
            seq=old[0], last_mac=old[1], head_mac=old[2]))
        db.session.commit()
        assert audit.verify(db.session, keys.ring).ok  # the head alone cannot tell
        result = _verify(store)
        assert not result.ok and "ends before the newest checkpoint (event 10)" in result.reason


def test_events_after_the_newest_checkpoint_verify(app, store):
    with app.app_context():
        _write(3)
        _checkpoint(store)
        _write(4)
        result = _verify(store)
        assert result.ok and result.checked == 7


def test_a_chain_replaced_after_the_checkpoint_is_detected(app, store):
    with app.app_context():
        _write(4)
        _checkpoint(store)
        # The same number of rows, but not the ones the checkpoint saw: the whole trail
        # rewritten (possible only with the audit key, or a different installation's).
        db.session.execute(delete(AuditEvent))
        db.session.execute(delete(AuditHead))
        db.session.commit()
        _write(4)
        result = _verify(store)
        assert not result.ok and result.reason == "differs from the newest checkpoint"


def test_an_altered_checkpoint_is_refused(app, store):
    with app.app_context():
        _write(3)
        checkpoint = _checkpoint(store)
        path = store.folder / checkpoint.name
        body = json.loads(path.read_text())
        body["heads"][0]["seq"] = 1
        path.write_text(json.dumps(body))
        with pytest.raises(CheckpointError, match="altered"):
            audit_checkpoints.newest(store, keys.ring)


def test_the_newest_checkpoint_counts_and_files_are_private(app, store):
    with app.app_context():
        _write(2)
        _checkpoint(store, T0)
        _write(2)
        newest = _checkpoint(store, T0 + timedelta(minutes=5))
        assert audit_checkpoints.newest(store, keys.ring).name == newest.name
        assert store.folder.stat().st_mode & 0o777 == 0o700
        assert all((store.folder / name).stat().st_mode & 0o777 == 0o600
                   for name in store.names())


def test_a_forged_head_is_never_checkpointed(app, store):
    with app.app_context():
        _write(3)
        db.session.execute(update(AuditHead).values(seq=2))
        db.session.commit()
        with pytest.raises(ValueError, match="does not authenticate"):
            _checkpoint(store)
        assert store.names() == []


def test_rows_written_in_the_first_format_stay_verifiable(app):
    """Rows keep the format they were written in: rewrite the first three as the earlier
    code wrote them (format 1, no chain, format or request id in the MAC), then go on."""
    with app.app_context():
        _write(3)
        previous = audit.GENESIS_MAC
        for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
            event.fmt = 1
            event.prev_mac = previous
            event.mac = keys.ring.audit_mac(previous.encode() + b"|" + json.dumps(
                audit._fields_v1(event), sort_keys=True, separators=(",", ":")).encode())
            previous = event.mac
        db.session.flush()
        head = _head()
        head.last_mac = previous
        head.head_mac = audit.head_mac(keys.ring, CHAIN, head.seq, previous)
        db.session.commit()
        _write(2)
        assert audit.verify(db.session, keys.ring).ok
        formats = db.session.scalars(select(AuditEvent.fmt).order_by(AuditEvent.seq)).all()
        assert formats == [1, 1, 1, 2, 2]
        # Claiming a newer format for an old row breaks its MAC; an unknown one is named.
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(fmt=2))
        db.session.commit()
        assert audit.verify(db.session, keys.ring).first_broken_seq == 2
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(fmt=9))
        db.session.commit()
        assert audit.verify(db.session, keys.ring).reason == "unknown row format"


def test_the_request_id_is_part_of_the_mac(app):
    with app.app_context():
        token = audit.REQUEST_ID.set("a" * 32)
        try:
            _write(2)
        finally:
            audit.REQUEST_ID.reset(token)
        assert set(db.session.scalars(select(AuditEvent.request_id))) == {"a" * 32}
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 1)
                           .values(request_id="b" * 32))
        db.session.commit()
        assert audit.verify(db.session, keys.ring).first_broken_seq == 1


def test_every_chain_is_verified_and_checkpointed(app, store):
    """The trail is sharded: each chain numbers its own rows, has its own authenticated
    head, and is verified and checkpointed on its own."""
    other = next(f"v{n}" for n in range(100) if audit.chain_for(None, f"v{n}") != CHAIN)
    other_chain = audit.chain_for(None, other)
    with app.app_context():
        _write(3)
        audit.record_many(db.session, keys.ring, [audit.Entry(
            "test.other_chain", audit.Actor(other), details={"n": index})
            for index in range(2)])
        db.session.commit()
        assert {CHAIN, other_chain} <= set(audit.chains(db.session))
        assert db.session.scalars(select(AuditEvent.seq).where(
            AuditEvent.chain == other_chain).order_by(AuditEvent.seq)).all() == [1, 2]
        assert audit.verify(db.session, keys.ring).checked == 5
        checkpoint = _checkpoint(store)
        assert {chain: mark.seq for chain, mark in checkpoint.marks.items()} == {
            CHAIN: 3, other_chain: 2}
        # Cutting the second chain alone is caught.
        db.session.execute(delete(AuditEvent).where(AuditEvent.chain == other_chain))
        db.session.execute(delete(AuditHead).where(AuditHead.id == other_chain))
        db.session.commit()
        result = _verify(store)
        assert not result.ok and result.chain == other_chain


def test_upgrading_authenticates_the_head_of_an_existing_chain(app, tmp_path, monkeypatch):
    """Migration 0009 gives an existing chain's head its MAC (with the app's keys), so the
    trail verifies right after the upgrade; without the keys it changes nothing."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from domain import crypto
    from domain.db import make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config("alembic.ini")
    config.attributes["database_url"] = url
    command.upgrade(config, "0008")
    engine = make_engine(url)
    with app.app_context():
        previous = audit.GENESIS_MAC
        with engine.begin() as connection:
            for seq in (1, 2):
                row = {"seq": seq, "occurred_at": T0, "action": "test.old", "outcome": "success",
                       "actor_id": None, "acting_as": None, "assisted_by_id": None,
                       "subject_id": None, "target_type": None, "target_id": None, "ip": None,
                       "details": "{}"}
                fields = {**row, "occurred_at": T0.isoformat(timespec="microseconds")}
                mac = keys.ring.audit_mac(previous.encode() + b"|" + json.dumps(
                    fields, sort_keys=True, separators=(",", ":")).encode())
                connection.execute(text(
                    "INSERT INTO audit_events (seq, occurred_at, action, outcome, details, "
                    "prev_mac, mac) VALUES (:seq, '2026-12-03 09:00:00.000000', :action, "
                    ":outcome, '{}', :prev, :mac)"),
                    {**row, "prev": previous, "mac": mac})
                previous = mac
            connection.execute(text("INSERT INTO audit_head (id, seq, last_mac) "
                                    "VALUES (1, 2, :mac)"), {"mac": previous})
    monkeypatch.setattr(crypto, "_process_keyring", None)
    with pytest.raises(RuntimeError, match="flask --app app db upgrade"):
        command.upgrade(config, "0009")
    monkeypatch.undo()
    with app.app_context():
        command.upgrade(config, "0009")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT seq, head_mac FROM audit_head")).all()
        assert rows == [(2, audit.head_mac(keys.ring, 1, 2, previous))]
        # Then the sharding (0022): the old chain stays as it was and verifies; the new
        # chains are numbered after it, so a person's history stays in order.
        command.upgrade(config, "head")
        from sqlalchemy.orm import Session
        with Session(engine) as session:
            result = audit.verify(session, keys.ring)
            assert result.ok and result.checked == 2, result
            heads = session.scalars(select(AuditHead).order_by(AuditHead.id)).all()
            assert [head.id for head in heads] == list(range(1, audit.SHARDS + 1))
            assert {(head.seq, head.first_seq) for head in heads[1:]} == {(2, 2)}
            subject = next(f"{n:032x}" for n in range(100)
                           if audit.chain_for(f"{n:032x}") != 1)
            for index in range(3):
                audit.record(session, keys.ring, "test.new", subject_id=subject,
                             details={"n": index})
            session.commit()
            new = session.scalars(select(AuditEvent).where(
                AuditEvent.subject_id == subject).order_by(AuditEvent.seq)).all()
            assert [(event.chain, event.seq) for event in new] == [
                (audit.chain_for(subject), seq) for seq in (3, 4, 5)]
            assert new[0].prev_mac == audit.GENESIS_MAC
            result = audit.verify(session, keys.ring)
            assert result.ok and result.checked == 5, result
            # Raising a new chain's first number to hide its first rows breaks the link.
            session.execute(update(AuditHead).where(AuditHead.id == new[0].chain)
                            .values(first_seq=3))
            session.commit()
            result = audit.verify(session, keys.ring)
            assert not result.ok and result.reason == "link to previous row broken"
    engine.dispose()


def test_checkpoints_in_an_object_store(app, moto_endpoint):  # noqa: F811
    from domain.storage import S3BlobStore

    s3 = S3BlobStore(BUCKET, endpoint_url=moto_endpoint, prefix="audit", **CREDENTIALS)
    store = S3Checkpoints(BUCKET, f"audit-{secrets.token_hex(4)}/", s3.client)
    with app.app_context():
        _write(3)
        _checkpoint(store)
        assert len(store.names()) == 1
        assert _verify(store).ok
        db.session.execute(delete(AuditEvent))
        db.session.execute(delete(AuditHead))
        db.session.commit()
        assert not _verify(store).ok


def test_the_store_setting_is_parsed(tmp_path):
    assert audit_checkpoints.make_store("", tmp_path, {}) is None
    folder = audit_checkpoints.make_store((tmp_path / "cp").as_uri(), tmp_path, {})
    assert isinstance(folder, FolderCheckpoints) and folder.folder == tmp_path / "cp"
    for bad in ("ftp://x/y", "file://host/path", "file:relative"):
        with pytest.raises(ValueError):
            audit_checkpoints.make_store(bad, tmp_path, {})


def test_the_timer_never_blesses_a_wiped_or_rolled_back_chain(app, store):
    """The next checkpoint after tampering would have made it the truth: it is refused,
    and the newest checkpoint stays the one that catches the tampering."""
    with app.app_context():
        _write(5)
        saved = _head()
        old = (saved.seq, saved.last_mac, saved.head_mac)
        _write(5)
        _checkpoint(store)
        _drop_tail(5)  # rolled back to an older authentic head
        db.session.execute(update(AuditHead).where(AuditHead.id == CHAIN).values(
            seq=old[0], last_mac=old[1], head_mac=old[2]))
        db.session.commit()
        with pytest.raises(ValueError, match="no longer holds the previous checkpoint"):
            _checkpoint(store, T0 + timedelta(minutes=5))
        db.session.execute(delete(AuditEvent))
        db.session.execute(delete(AuditHead))
        db.session.commit()
        with pytest.raises(ValueError, match="no checkpoint written"):
            _checkpoint(store, T0 + timedelta(minutes=10))
        assert len(store.names()) == 1 and not _verify(store).ok


def test_the_timer_checks_only_what_came_since_the_previous_checkpoint(app, store):
    with app.app_context():
        _write(4)
        _checkpoint(store, T0)
        _write(3)
        # An old row altered is not re-read by the timer (audit verify finds it)...
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(outcome="x"))
        db.session.commit()
        assert _checkpoint(store, T0 + timedelta(minutes=5)).marks[CHAIN].seq == 7
        assert _verify(store).first_broken_seq == 2
        # ...but a new row altered after the previous checkpoint stops it.
        _write(1)
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 8).values(outcome="x"))
        db.session.commit()
        with pytest.raises(ValueError, match="row altered"):
            _checkpoint(store, T0 + timedelta(minutes=10))


def test_a_restore_may_start_a_new_baseline(app, store):
    with app.app_context():
        _write(6)
        _checkpoint(store, T0)
        _drop_tail(2)  # a restore rolls back on purpose, the head with it
        head = _head()
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        head.seq, head.last_mac = last.seq, last.mac
        head.head_mac = audit.head_mac(keys.ring, CHAIN, last.seq, last.mac)
        db.session.commit()
        audit_checkpoints.write(store, db.session, keys.ring, T0 + timedelta(minutes=1),
                                reason=audit_checkpoints.RESTORE)
        assert _verify(store).ok
