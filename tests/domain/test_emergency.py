"""Emergency access in the domain: the reason, the patient's settings, the sector
exclusion (also refused by the database), expiry, and the sealed reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain import audit, emergency, policy
from domain.errors import NotAllowed
from domain.models import EXCLUDED_SECTORS, EmergencyAccess, Profession, Role, Sector, User
from extensions import db, keys

NOW = datetime(2026, 11, 26, 10, tzinfo=UTC)
REASON = "Patiente inconsciente, recherche d’allergies"


def _people():
    patient = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
    doctor = db.session.scalars(select(User).where(User.login == "dr.bernard")).one()
    return patient, doctor


def _start(professional, patient, reason=REASON, now=NOW):
    return emergency.start(db.session, keys.ring, professional, patient, reason, now=now,
                           hours=4, actor=audit.Actor(user_id=professional.id))


@pytest.mark.parametrize(("text", "reason"), [("", "missing"), ("  \n ", "missing"),
                                              ("urgence", "too_short"), ("x" * 501, "too_long")])
def test_a_reason_is_required(text, reason):
    with pytest.raises(emergency.InvalidReason) as problem:
        emergency.clean_reason(text)
    assert problem.value.reason == reason


def test_it_lasts_the_set_hours_and_keeps_its_reason_sealed(app, demo_users):
    with app.app_context():
        patient, doctor = _people()
        access = _start(doctor, patient)
        db.session.commit()
        assert access.ends_at - access.started_at == timedelta(hours=4)
        assert REASON.encode() not in access.reason_sealed
        assert emergency.reason_of(keys.ring, patient, access) == REASON
        assert emergency.active(db.session, patient.id, doctor.id, NOW + timedelta(hours=3))
        assert not emergency.active(db.session, patient.id, doctor.id, NOW + timedelta(hours=4))


@pytest.mark.parametrize(("samu_flag", "samu", "others", "allowed"), [
    (False, True, True, True), (False, True, False, False),
    (True, False, True, False), (True, True, False, True)])
def test_the_patients_settings_decide(app, demo_users, samu_flag, samu, others, allowed):
    with app.app_context():
        patient, doctor = _people()
        doctor.samu = samu_flag
        patient.emergency_samu, patient.emergency_others = samu, others
        if allowed:
            _start(doctor, patient)
        else:
            with pytest.raises(NotAllowed):
                _start(doctor, patient)
        db.session.commit()


@pytest.mark.parametrize("sector", sorted(EXCLUDED_SECTORS))
def test_excluded_sectors_never_break_the_glass(app, demo_users, sector):
    with app.app_context():
        patient, _doctor = _people()
        outsider = User(role=Role.PROFESSIONAL, given_name="Hors", family_name="Soins",
                        profession=Profession.DOCTOR, sector=sector)
        db.session.add(outsider)
        db.session.commit()
        with pytest.raises(NotAllowed):
            _start(outsider, patient)
        db.session.commit()
        for claimed in (Sector.CARE.value, sector.value):  # the database refuses it too
            db.session.add(EmergencyAccess(
                patient_id=patient.id, professional_id=outsider.id,
                professional_sector=claimed, reason_sealed=b"x", started_at=NOW,
                ends_at=NOW + timedelta(hours=4)))
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()
        facts = policy.CareFacts(sector=sector, profession=Profession.DOCTOR, declared=True,
                                 blocked=False, emergency=True)
        assert not policy.profile_allowed(policy.ProfileAction.READ, Role.PROFESSIONAL,
                                          is_owner=False, locked=False, section="allergies",
                                          care=facts)


def test_a_blocked_professional_gets_nothing_even_in_an_emergency():
    facts = policy.CareFacts(sector=Sector.CARE, profession=Profession.DOCTOR, declared=False,
                             blocked=True, emergency=True)
    assert not policy.profile_allowed(policy.ProfileAction.READ, Role.PROFESSIONAL,
                                      is_owner=False, locked=False, section="allergies",
                                      care=facts)
    context = policy.DocumentContext(is_owner=False, is_author=False, blocked=True,
                                     sector=Sector.CARE, emergency=True)
    assert not policy.document_allowed(policy.DocumentAction.READ, Role.PROFESSIONAL,
                                       context, hidden=False)


def test_hidden_documents_only_if_the_settings_include_them():
    for include, expected in ((False, False), (True, True)):
        context = policy.DocumentContext(is_owner=False, is_author=False, sector=Sector.CARE,
                                         emergency=True, emergency_hidden=include)
        assert policy.document_allowed(policy.DocumentAction.READ, Role.PROFESSIONAL,
                                       context, hidden=True) is expected
