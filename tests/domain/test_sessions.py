from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from domain import sessions
from domain.crypto import token_hash
from domain.models import WebSession
from extensions import db

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LIFE = sessions.Lifetimes()


def test_tokens_are_random_and_stored_hashed(app):
    with app.app_context():
        token, record = sessions.create(db.session, {"a": 1}, now=NOW)
        other, _ = sessions.create(db.session, {}, now=NOW)
        assert token != other and len(token) >= 43
        assert record.token_hash == token_hash(token) and token not in record.token_hash


def test_idle_and_absolute_deadlines(app):
    with app.app_context():
        token, record = sessions.create(db.session, {}, user_id=None, now=NOW)
        db.session.commit()
        found, status = sessions.load(db.session, token, LIFE, NOW + timedelta(minutes=14))
        assert status == sessions.Status.ACTIVE
        sessions.touch(found, NOW + timedelta(minutes=14))
        found, status = sessions.load(db.session, token, LIFE, NOW + timedelta(minutes=28))
        assert status == sessions.Status.ACTIVE
        assert sessions.expires_at(found, LIFE) == NOW + timedelta(minutes=29)
        _, status = sessions.load(db.session, token, LIFE, NOW + timedelta(minutes=30))
        assert status == sessions.Status.IDLE_EXPIRED
        assert sessions.load(db.session, token, LIFE, NOW)[1] == sessions.Status.UNKNOWN


def test_assisted_sessions_time_out_sooner(app):
    with app.app_context():
        token, record = sessions.create(db.session, {}, now=NOW)
        record.assisted_by_id = None
        assert sessions.expires_at(record, LIFE) == NOW + timedelta(minutes=15)
        record.assisted_by_id = "x" * 32
        assert sessions.expires_at(record, LIFE) == NOW + timedelta(minutes=5)


def test_purge_removes_only_expired_sessions(app):
    with app.app_context():
        sessions.create(db.session, {}, now=NOW - timedelta(minutes=20))
        sessions.create(db.session, {}, now=NOW - timedelta(minutes=5))
        _, record = sessions.create(db.session, {}, now=NOW - timedelta(hours=13))
        record.last_seen = NOW
        db.session.commit()
        assert sessions.purge_expired(db.session, LIFE, NOW) == 2
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(WebSession)) == 1
