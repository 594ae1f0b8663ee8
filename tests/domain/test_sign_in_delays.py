"""Growing waits after failed sign-in attempts (issue 13, items 3, 6 and 7), without HTTP.

Time is passed explicitly (`now`), never slept.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from domain import audit, auth, sign_in
from domain.models import AuditEvent, SignInDelay, User
from extensions import db, keys
from tests.audit_trail import AUDIT_ORDER
from tests.conftest import DEMO

POLICY = sign_in.DelayPolicy(password_failures=3, code_failures=5, first_minutes=1,
                             max_minutes=8)
FROM_A = audit.Actor(ip="198.51.100.1")
FROM_B = audit.Actor(ip="203.0.113.7")
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
RIGHT = DEMO["camille.martin"].password
WRONG = "Faux-mot-de-passe-9"


def _details(event: AuditEvent) -> dict:
    return json.loads(event.details)


def _camille() -> User:
    return db.session.execute(select(User).where(User.login == "camille.martin")).scalar_one()


def _password(password: str, actor: audit.Actor, now: datetime) -> bool:
    try:
        auth.authenticate(db.session, keys.ring, "camille.martin", password, actor=actor,
                          policy=POLICY, hash_profile="fast", now=now)
    except auth.InvalidCredentials:
        return False
    return True


def _password_wait(actor: audit.Actor, now: datetime) -> timedelta | None:
    until = sign_in.waiting_until(db.session, _camille().id, sign_in.SignInStep.PASSWORD,
                                  sign_in.address_key(keys.ring, actor.ip), now)
    return None if until is None else until - now


def _codes(now: datetime) -> tuple[str, str]:
    """The right TOTP code at `now`, and one that no step of the window accepts."""
    totp = pyotp.TOTP(DEMO["camille.martin"].totp_secret)
    valid = {totp.at(now + timedelta(seconds=offset)) for offset in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(123456, 999999, 7919) if f"{n:06d}" not in valid)
    return totp.at(now), wrong


def _code(code: str, now: datetime, actor: audit.Actor = FROM_A) -> None:
    auth.verify_second_factor(db.session, keys.ring, _camille(), code, challenge=None,
                              actor=actor, policy=POLICY, now=now)


def test_password_waits_grow_per_address_and_start_again_after_success(app, demo_users):
    with app.app_context():
        now = START
        assert not _password(WRONG, FROM_A, now) and not _password(WRONG, FROM_A, now)
        assert _password_wait(FROM_A, now) is None
        assert not _password(WRONG, FROM_A, now)  # the third: the first wait starts
        assert _password_wait(FROM_A, now) == timedelta(minutes=1)
        # During the wait even the right password is refused from A, never from B.
        assert not _password(RIGHT, FROM_A, now + timedelta(seconds=30))
        assert _password(RIGHT, FROM_B, now + timedelta(seconds=30))
        # Each failure after a wait doubles it, up to the cap.
        for minutes in (2, 4, 8, 8):
            now += timedelta(minutes=minutes, seconds=1)
            assert not _password(WRONG, FROM_A, now)
            assert _password_wait(FROM_A, now) == timedelta(minutes=minutes)
        # A success from A starts A's count again from zero.
        now += timedelta(minutes=8, seconds=1)
        assert _password(RIGHT, FROM_A, now)
        assert not _password(WRONG, FROM_A, now) and not _password(WRONG, FROM_A, now)
        assert _password_wait(FROM_A, now) is None
        assert not _password(WRONG, FROM_A, now)
        assert _password_wait(FROM_A, now) == timedelta(minutes=1)
        db.session.commit()  # audit rows are written at commit, as the view does
        reasons = [_details(row).get("reason") for row in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).scalars()]
        assert reasons.count("delayed") == 1
        assert reasons.count("wrong_password_delayed") == 6


def test_a_quiet_day_forgets_old_failures(app, demo_users):
    with app.app_context():
        assert not _password(WRONG, FROM_A, START) and not _password(WRONG, FROM_A, START)
        later = START + timedelta(hours=25)
        assert not _password(WRONG, FROM_A, later)
        assert _password_wait(FROM_A, later) is None


def test_wrong_codes_count_per_account_and_waits_grow_then_reset(app, demo_users):
    with app.app_context():
        now = START
        right, wrong = _codes(now)
        for attempt in range(4):
            with pytest.raises(auth.SecondFactorFailed):
                _code(wrong, now, FROM_A if attempt % 2 else FROM_B)
        with pytest.raises(auth.SecondFactorLocked) as locked:
            _code(wrong, now)
        assert locked.value.until == now + timedelta(minutes=1)
        # The sixth attempt waits, even with the right code, even after signing in again.
        later = now + timedelta(seconds=30)
        with pytest.raises(auth.SignInDelayed) as delayed:
            _code(_codes(later)[0], later)
        assert not isinstance(delayed.value, auth.SecondFactorLocked)
        with pytest.raises(auth.SignInDelayed):
            auth.authenticate(db.session, keys.ring, "camille.martin", RIGHT, actor=FROM_B,
                              policy=POLICY, hash_profile="fast", now=later)
        # After the wait, one more wrong code starts a wait twice as long.
        now += timedelta(minutes=1, seconds=1)
        with pytest.raises(auth.SecondFactorLocked) as locked:
            _code(_codes(now)[1], now)
        assert locked.value.until == now + timedelta(minutes=2)
        # A successful sign-in starts the count again: five more wrong codes, one minute.
        now += timedelta(minutes=2, seconds=1)
        right, wrong = _codes(now)
        _code(right, now)
        auth.complete_login(db.session, keys.ring, _camille(), actor=FROM_A, now=now)
        assert auth.second_factor_waiting_until(db.session, _camille(), now) is None
        now += timedelta(minutes=2)
        right, wrong = _codes(now)
        for _ in range(4):
            with pytest.raises(auth.SecondFactorFailed):
                _code(wrong, now)
        with pytest.raises(auth.SecondFactorLocked) as locked:
            _code(wrong, now)
        assert locked.value.until == now + timedelta(minutes=1)
        db.session.commit()
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.action.like("auth.second_factor%")).order_by(*AUDIT_ORDER)).scalars()
        events = list(events)
        wrong_codes = [e for e in events if _details(e).get("reason") == "wrong_code"]
        lockouts = [e for e in events if e.action == "auth.second_factor_locked"]
        assert len(wrong_codes) == 11 and len(lockouts) == 3
        assert [_details(e)["minutes"] for e in lockouts] == [1, 2, 1]
        assert all(e.subject_id == _camille().id for e in events)
        assert wrong not in repr([e.details for e in events])


def test_the_password_check_of_other_forms_shares_the_waits_and_audit(app, demo_users):
    with app.app_context():
        camille = _camille()
        for _ in range(3):
            with pytest.raises(auth.InvalidCredentials):
                auth.check_password(db.session, keys.ring, camille, WRONG, actor=FROM_A,
                                    policy=POLICY, purpose=auth.CLOSE_SPACE,
                                    hash_profile="fast", now=START)
        with pytest.raises(auth.SignInDelayed):
            auth.check_password(db.session, keys.ring, camille, RIGHT, actor=FROM_A,
                                policy=POLICY, purpose=auth.CLOSE_SPACE, hash_profile="fast",
                                now=START)
        assert not _password(RIGHT, FROM_A, START)  # the sign-in page waits too
        assert _password(RIGHT, FROM_B, START)
        db.session.commit()  # audit rows are written at commit, as the view does
        rows = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "auth.password_check_failed")
            .order_by(*AUDIT_ORDER)).scalars().all()
        assert [_details(row) for row in rows] == [
            {"purpose": "close_space", "reason": "wrong_password"},
            {"purpose": "close_space", "reason": "wrong_password"},
            {"purpose": "close_space", "reason": "wrong_password_delayed"},
            {"purpose": "close_space", "reason": "delayed"}]
        assert {row.ip for row in rows} == {"198.51.100.1"}


def test_addresses_are_stored_only_as_keyed_hashes_and_ipv6_counts_by_64(app, demo_users):
    with app.app_context():
        ring = keys.ring
        assert (sign_in.address_key(ring, "2001:db8:1:2::1")
                == sign_in.address_key(ring, "2001:db8:1:2:ffff::9"))
        assert (sign_in.address_key(ring, "2001:db8:1:2::1")
                != sign_in.address_key(ring, "2001:db8:1:3::1"))
        assert (sign_in.address_key(ring, "::ffff:198.51.100.1")
                == sign_in.address_key(ring, "198.51.100.1"))
        assert not _password(WRONG, FROM_A, START)
        keys_stored = db.session.execute(select(SignInDelay.address_key)).scalars().all()
        assert keys_stored == [sign_in.address_key(ring, "198.51.100.1")]
        assert "198.51.100" not in keys_stored[0]
