from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain import sessions
from domain.crypto import token_hash
from domain.models import AccountRow, Role, User, WebSession
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
        # Activity is written at most every few seconds; new data always.
        assert sessions.save(db.session, found, now=NOW + timedelta(minutes=14))
        assert not sessions.save(db.session, found, now=NOW + timedelta(minutes=14, seconds=5))
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


def test_the_account_comes_with_the_session_read_only_and_typed(app, demo_users):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.login == "camille.martin"))
        token, _ = sessions.create(db.session, {"_user_id": user.id}, user_id=user.id,
                                   now=NOW)
        db.session.commit()
        found, status = sessions.load(db.session, token, LIFE, NOW + timedelta(minutes=1))
        assert status == sessions.Status.ACTIVE
        account = found.account
        assert isinstance(account, AccountRow) and not isinstance(account, User)
        assert found.created_at == NOW and found.created_at.tzinfo is not None
        # Every column, with the ORM row's values and types; sealed values open the same.
        for name in AccountRow.COLUMNS:
            assert getattr(account, name) == getattr(user, name), name
        assert account.role is Role.PATIENT and account.enabled is True
        assert (account.given_name, account.display_name) == (user.given_name,
                                                             user.display_name)
        assert account.is_authenticated and account.get_id() == user.id
        with pytest.raises(AttributeError):
            account.enabled = False
        with pytest.raises(AttributeError):
            account.given_name = "Autre"
        assert user.given_name != "Autre"


def test_a_session_without_an_account_and_new_data(app):
    with app.app_context():
        token, _ = sessions.create(db.session, {"step": 1}, now=NOW)
        db.session.commit()
        found, _ = sessions.load(db.session, token, LIFE, NOW)
        assert found.account is None and not found.represented and not found.in_emergency
        assert sessions.save(db.session, found, data=json.dumps({"step": 2}), now=NOW)
        db.session.commit()
        assert json.loads(sessions.load(db.session, token, LIFE, NOW)[0].data) == {"step": 2}
        # An expired one is deleted on sight; a parked one opens nothing.
        sessions.park(db.session, found, NOW)
        db.session.commit()
        assert sessions.load(db.session, token, LIFE, NOW) == (None, sessions.Status.UNKNOWN)


def test_two_requests_of_one_session_keep_each_others_changes(app):
    """A request that only notes activity does not write back the data it read: another
    request of the same session (a page polling, another tab) may have changed it since,
    removing a used code; nor does a request that writes data undo a newer activity."""
    with app.app_context():
        token, _ = sessions.create(db.session, {"code": "used-once"}, now=NOW)
        db.session.commit()
        later = NOW + timedelta(minutes=1)
        first, _ = sessions.load(db.session, token, LIFE, later)
        second, _ = sessions.load(db.session, token, LIFE, later)
        assert sessions.save(db.session, first, data=json.dumps({}), now=later)
        db.session.commit()
        assert sessions.save(db.session, second, now=later)  # activity only
        db.session.commit()
        found, _ = sessions.load(db.session, token, LIFE, later)
        assert json.loads(found.data) == {} and found.last_seen == later
        # A data write from a request loaded before a newer activity keeps that activity.
        stale, _ = sessions.load(db.session, token, LIFE, later)
        sessions.extend(db.session, found, later + timedelta(minutes=5))
        db.session.commit()
        assert sessions.save(db.session, stale, data=json.dumps({"step": 2}),
                             now=later + timedelta(seconds=5))
        db.session.commit()
        found, _ = sessions.load(db.session, token, LIFE, later + timedelta(minutes=5))
        assert json.loads(found.data) == {"step": 2}
        assert found.last_seen == later + timedelta(minutes=5)
