"""The codes that keep an account (issue 18), without HTTP: each one's deadline, its single
use and its tries — the letter to change phones, the contact confirmation, the recovery
codes, the set-up password — and what they store (keyed hashes only)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from domain import accounts, audit, auth, contact_codes, factor_reset, recovery, sign_in
from domain.insured import find_by_nir, seal_field
from domain.models import FactorReset, RecoveryCode, User
from domain.models.base import utcnow
from extensions import db, keys
from tests.conftest import DEMO

ACTOR = audit.Actor(ip="127.0.0.1")
POLICY = sign_in.DelayPolicy()


@pytest.fixture
def camille(app, demo_users):
    with app.app_context():
        yield db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        db.session.rollback()


def _letter(camille):
    person = find_by_nir(db.session, keys.ring, "288037510802150")
    seal_field(keys.ring, person, "address", "4 place Bellecour, 69002 Lyon")
    return factor_reset.request_letter(db.session, keys.ring, camille, actor=ACTOR)


def test_a_letter_code_dies_after_30_days(camille):
    letter = _letter(camille)
    assert letter.code not in " ".join(db.session.scalars(select(FactorReset.code_hash)))
    later = utcnow() + factor_reset.VALIDITY + timedelta(minutes=1)
    with pytest.raises(auth.SecondFactorFailed):
        factor_reset.sign_in_with(db.session, keys.ring, camille, letter.code, actor=ACTOR,
                                  policy=POLICY, now=later)
    factor_reset.sign_in_with(db.session, keys.ring, camille, letter.code, actor=ACTOR,
                              policy=POLICY)


def test_a_letter_dies_after_five_wrong_codes_and_a_new_one_replaces_it(camille):
    first = _letter(camille)
    relaxed = sign_in.DelayPolicy(code_failures=100)  # no wait in the way
    for _ in range(factor_reset.MAX_TRIES):
        with pytest.raises(auth.SecondFactorFailed):
            factor_reset.sign_in_with(db.session, keys.ring, camille, "AAAAA-BBBBB",
                                      actor=ACTOR, policy=relaxed)
    with pytest.raises(auth.SecondFactorFailed):
        factor_reset.sign_in_with(db.session, keys.ring, camille, first.code, actor=ACTOR,
                                  policy=relaxed)
    second = _letter(camille)  # the first is dead: a new one may go
    # While it is in the post (7 days), no other letter may cancel it.
    with pytest.raises(factor_reset.LetterOnItsWay):
        _letter(camille)
    later = utcnow() + timedelta(days=factor_reset.RESEND_DAYS, minutes=1)
    third = factor_reset.request_letter(db.session, keys.ring, camille, actor=ACTOR,
                                        now=later)  # a week on: it replaces the second
    with pytest.raises(auth.SecondFactorFailed):
        factor_reset.sign_in_with(db.session, keys.ring, camille, second.code, actor=ACTOR,
                                  policy=relaxed, now=later)
    factor_reset.sign_in_with(db.session, keys.ring, camille, third.code, actor=ACTOR,
                              policy=relaxed, now=later)
    assert factor_reset.pending(db.session, camille, later) is None


def test_no_letter_goes_to_an_address_changed_in_the_last_30_days(camille):
    person = find_by_nir(db.session, keys.ring, "288037510802150")
    seal_field(keys.ring, person, "address", "4 place Bellecour, 69002 Lyon")
    person.contact_changed_at = utcnow() - timedelta(days=29)
    with pytest.raises(factor_reset.NoPostalAddress):
        factor_reset.request_letter(db.session, keys.ring, camille, actor=ACTOR)
    person.contact_changed_at = utcnow() - timedelta(days=31)
    assert factor_reset.request_letter(db.session, keys.ring, camille, actor=ACTOR).code


def test_a_contact_code_is_bound_to_its_destination_and_dies_after_15_minutes(camille):
    code, stored = accounts.start_contact_change(
        db.session, keys.ring, camille, kind="email", value="a@example.org",
        password=DEMO["camille.martin"].password, actor=ACTOR, policy=POLICY,
        hash_profile="fast")
    later = utcnow() + timedelta(minutes=contact_codes.MINUTES, seconds=1)
    with pytest.raises(auth.SecondFactorFailed):
        accounts.change_contact(db.session, keys.ring, camille, kind="email",
                                value="b@example.org", code=code, stored=stored, actor=ACTOR)
    with pytest.raises(auth.SecondFactorFailed):
        accounts.change_contact(db.session, keys.ring, camille, kind="email",
                                value="a@example.org", code=code, stored=stored, actor=ACTOR,
                                now=later)
    assert code not in str(stored) and "a@example.org" not in str(stored)
    old = accounts.change_contact(db.session, keys.ring, camille, kind="email",
                                  value="a@example.org", code=code, stored=stored,
                                  actor=ACTOR)
    assert old == "camille.martin@example.org" and camille.email == "a@example.org"


def test_recovery_codes_are_single_use_and_stored_as_keyed_hashes(camille):
    codes = recovery.issue(db.session, keys.ring, camille, actor=ACTOR)
    stored = " ".join(db.session.scalars(select(RecoveryCode.code_hash)))
    assert len(set(codes)) == recovery.COUNT
    assert not any(recovery.normalise(code) in stored for code in codes)
    assert recovery.sign_in_with(db.session, keys.ring, camille, codes[0], actor=ACTOR,
                                 policy=POLICY) == recovery.COUNT - 1
    with pytest.raises(auth.SecondFactorFailed):
        recovery.sign_in_with(db.session, keys.ring, camille, codes[0], actor=ACTOR,
                              policy=POLICY)
    assert recovery.remaining(db.session, camille) == recovery.COUNT - 1


def test_a_set_up_password_opens_nothing_after_72_hours(app, demo_users):
    with app.app_context():
        doctor = db.session.scalars(select(User).where(User.login == "dr.bernard")).one()
        password = accounts.issue_setup_password(db.session, keys.ring, doctor,
                                                 reason="test", actor=ACTOR,
                                                 hash_profile="fast")
        later = utcnow() + timedelta(hours=accounts.SETUP_HOURS, seconds=1)
        with pytest.raises(auth.InvalidCredentials):
            auth.authenticate(db.session, keys.ring, "dr.bernard", password, actor=ACTOR,
                              policy=POLICY, hash_profile="fast", now=later)
        with pytest.raises(accounts.SetupExpired):
            accounts.complete_setup(db.session, keys.ring, doctor,
                                    new_password="Le rosier grimpe au mur", secret="A" * 32,
                                    code="123456", actor=ACTOR, policy=POLICY, now=later)
        assert auth.authenticate(db.session, keys.ring, "dr.bernard", password, actor=ACTOR,
                                 policy=POLICY, hash_profile="fast") is doctor
        db.session.rollback()
