"""domain.db.read_rows: plain-column reads on the session's connection see what the session
has pending, as Session.execute's autoflush does, and stay in its transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from domain import sessions
from domain.db import read_rows
from domain.models import WebSession
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
