"""Measures without HTTP: plausible ranges, blood pressure order, time of day, BMI, age in
months, and history / latest / get / delete with sealed values."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from domain import audit, measures, policy
from domain.crypto import CryptoError, open_sealed
from domain.keys import patient_key
from domain.models import AuditEvent, Measure, Role, User
from extensions import db, keys

TODAY = date(2026, 3, 10)
ACTOR = audit.Actor(ip="127.0.0.1")
DAY = {"measured_on_day": "1", "measured_on_month": "3", "measured_on_year": "2026"}


def _form(kind_key: str, **values) -> dict:
    return {**DAY, **{name: str(value) for name, value in values.items()}}


def _reasons(reading) -> list[tuple[str, str]]:
    return [(problem.field, problem.reason) for problem in reading.problems]


def test_kinds_are_well_formed():
    assert len({kind.key for kind in measures.KINDS}) == len(measures.KINDS)
    assert len({kind.slug for kind in measures.KINDS}) == len(measures.KINDS)
    for kind in measures.KINDS:
        for spec in kind.fields:
            assert spec.kind == "number" and spec.required
            assert spec.minimum < spec.maximum and spec.unit == kind.unit


@pytest.mark.parametrize(("kind_key", "value", "unit"), [
    ("weight", "700", "kg"),            # the example
    ("temperature", "20", "°C"),        # the example
    ("weight", "0,2", "kg"),
    ("height", "251", "cm"),
    ("waist", "29", "cm"),
    ("temperature", "43,5", "°C"),
    ("glucose", "6,5", "g/L"),
    ("heart_rate", "300", "bpm"),
    ("pain", "11", "/10"),
    ("pain", "-1", "/10"),
    ("head_circumference", "80", "cm"),
])
def test_implausible_values_ask_to_check_the_range(kind_key, value, unit):
    kind = measures.BY_KEY[kind_key]
    reading = measures.validate(kind, _form(kind_key, value=value), TODAY)
    [problem] = reading.problems
    spec = kind.fields[0]
    assert (problem.field, problem.reason) == ("value", "number_range")
    assert problem.params == {"minimum": spec.minimum, "maximum": spec.maximum, "unit": unit}
    assert "value" not in reading.values


@pytest.mark.parametrize("kind", [k for k in measures.KINDS if k.key != "blood_pressure"],
                         ids=lambda kind: kind.key)
def test_both_ends_of_every_range_are_accepted(kind):
    spec = kind.fields[0]
    for bound in (spec.minimum, spec.maximum):
        text = (f"{bound:.{spec.decimals}f}" if spec.decimals else str(int(bound)))
        reading = measures.validate(kind, _form(kind.key, value=text.replace(".", ",")), TODAY)
        assert reading.ok, (text, reading.problems)
        assert reading.values["value"] == pytest.approx(bound)
        assert reading.values["measured_on"] == "2026-03-01"


@pytest.mark.parametrize(("systolic", "diastolic", "problems"), [
    ("120", "80", []),
    ("80", "120", [("diastolic", "pressure_order")]),
    ("100", "100", [("diastolic", "pressure_order")]),
    ("12", "8", [("systolic", "number_range"), ("diastolic", "number_range")]),  # cmHg
    ("300", "80", [("systolic", "number_range")]),
    ("120", "", [("diastolic", "required")]),
    ("120,5", "80", [("systolic", "number_decimals")]),
])
def test_blood_pressure(systolic, diastolic, problems):
    kind = measures.BY_KEY["blood_pressure"]
    reading = measures.validate(kind, _form("blood_pressure", systolic=systolic,
                                            diastolic=diastolic), TODAY)
    assert _reasons(reading) == problems
    if not problems:
        assert reading.values == {"systolic": 120, "diastolic": 80, "measured_on": "2026-03-01"}


@pytest.mark.parametrize(("typed", "value", "reason"), [
    ("8:30", "08:30", None),
    ("08:30", "08:30", None),
    ("8h30", "08:30", None),
    ("8h", "08:00", None),
    ("8:", "08:00", None),
    ("8", "08:00", None),
    ("0:00", "00:00", None),
    ("23:59", "23:59", None),
    (" 7:05 ", "07:05", None),
    ("", None, None),
    ("24:00", None, "time_invalid"),
    ("12:60", None, "time_invalid"),
    ("-1:00", None, "time_invalid"),
    (":30", None, "time_invalid"),
    ("1:2:3", None, "time_invalid"),
    ("midi", None, "time_invalid"),
    ("8.30", None, "time_invalid"),
    ("<b>", None, "time_invalid"),
    ("08:30:00", None, "too_long"),
])
def test_time_of_day(typed, value, reason):
    kind = measures.BY_KEY["heart_rate"]
    reading = measures.validate(kind, _form("heart_rate", value="70", time=typed), TODAY)
    assert reading.values.get("time") == value
    assert _reasons(reading) == ([("time", reason)] if reason else [])


@pytest.mark.parametrize(("parts", "reason"), [
    ({"measured_on_day": "31", "measured_on_month": "2", "measured_on_year": "2026"},
     "date_invalid"),
    ({"measured_on_day": "11", "measured_on_month": "3", "measured_on_year": "2026"},
     "date_future"),
    ({"measured_on_day": "", "measured_on_month": "3", "measured_on_year": "2026"},
     "date_incomplete"),
    ({"measured_on_day": "", "measured_on_month": "", "measured_on_year": ""}, "required"),
    ({"measured_on_day": "1", "measured_on_month": "1", "measured_on_year": "1889"},
     "date_invalid"),
])
def test_the_day_of_a_measure_is_a_real_past_day(parts, reason):
    reading = measures.validate(measures.BY_KEY["weight"], {"value": "70", **parts}, TODAY)
    assert _reasons(reading) == [("measured_on", reason)]


@pytest.mark.parametrize(("weight", "height", "expected"), [
    (70, 175, 22.9),
    (50, 160, 19.5),
    (120, 180, 37.0),
    (72.5, 168.5, 25.5),
    (3.5, 50, 14.0),
])
def test_bmi(weight, height, expected):
    assert measures.bmi(weight, height) == expected


@pytest.mark.parametrize(("birth", "day", "months"), [
    (date(2019, 5, 14), date(2019, 5, 14), 0),
    (date(2019, 5, 14), date(2019, 6, 13), 0),
    (date(2019, 5, 14), date(2019, 6, 14), 1),
    (date(2019, 5, 14), date(2020, 5, 13), 11),
    (date(2019, 5, 14), date(2020, 5, 14), 12),
    (date(2019, 1, 31), date(2019, 2, 28), 0),
    (date(2019, 1, 31), date(2019, 3, 1), 1),
    (date(2020, 2, 29), date(2021, 3, 1), 12),
    (date(2019, 12, 31), date(2020, 1, 1), 0),
    (date(2019, 5, 14), date(2026, 3, 10), 81),
])
def test_age_in_months(birth, day, months):
    assert measures.age_in_months(birth, day) == months


def test_head_circumference_is_only_for_children():
    adult = User(role=Role.PATIENT, given_name="A", family_name="B", birth_date=date(1988, 3, 14))
    child = User(role=Role.PATIENT, given_name="C", family_name="D", birth_date=date(2019, 5, 14))
    unknown = User(role=Role.PATIENT, given_name="E", family_name="F", birth_date=None)
    assert "head_circumference" not in {k.key for k in measures.kinds_for(adult, TODAY)}
    assert "head_circumference" not in {k.key for k in measures.kinds_for(unknown, TODAY)}
    assert {k.key for k in measures.kinds_for(child, TODAY)} == set(measures.BY_KEY)
    eighteen = User(role=Role.PATIENT, given_name="G", family_name="H",
                    birth_date=date(2008, 3, 10))
    assert "head_circumference" not in {k.key for k in measures.kinds_for(eighteen, TODAY)}
    eighteen.birth_date = date(2008, 3, 11)  # 18 tomorrow
    assert "head_circumference" in {k.key for k in measures.kinds_for(eighteen, TODAY)}


# --- with the database -----------------------------------------------------------------------

def _patients():
    users = {user.login: user for user in db.session.execute(select(User)).scalars()
             if user.login}
    wrapped = keys.ring.new_patient_key()
    stranger = User(role=Role.PATIENT, login="autre.patiente", given_name="Autre",
                    family_name="Patiente", birth_date=date(1970, 1, 1),
                    wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)
    db.session.add(stranger)
    db.session.flush()
    return users["camille.martin"], stranger, users["dr.bernard"]


def _add(patient, kind_key, day, **values):
    kind = measures.BY_KEY[kind_key]
    reading = measures.validate(kind, {
        "measured_on_day": str(day.day), "measured_on_month": str(day.month),
        "measured_on_year": str(day.year), **{k: str(v) for k, v in values.items()}}, TODAY)
    assert reading.ok, reading.problems
    return measures.add(db.session, keys.ring, patient, kind, reading.values, ACTOR)


def test_history_latest_get_and_delete(app, demo_users):
    with app.app_context():
        patient, stranger, _doctor = _patients()
        weight = measures.BY_KEY["weight"]
        _add(patient, "weight", date(2026, 1, 5), value="71,5")
        _add(patient, "weight", date(2026, 2, 5), value="70", time="7:30")
        newest = _add(patient, "weight", date(2026, 2, 5), value="69,8", time="19:45")
        _add(patient, "height", date(2025, 6, 1), value="168")
        _add(stranger, "weight", date(2026, 3, 1), value="90")
        db.session.commit()
        history = measures.history(db.session, keys.ring, patient, weight)
        assert [view.values["value"] for view in history] == [69.8, 70.0, 71.5]
        assert history[0].id == newest.id and history[0].day == date(2026, 2, 5)
        assert [v.values["value"] for v in measures.history(
            db.session, keys.ring, patient, weight, limit=1)] == [69.8]
        latest = measures.latest(db.session, keys.ring, patient)
        assert set(latest) == {"weight", "height"}
        assert latest["height"].values == {"value": 168.0}
        # The newest of the day's two weights (entered last), not the stranger's newer one.
        assert latest["weight"].id == newest.id
        only = measures.latest(db.session, keys.ring, patient, (weight,))
        assert list(only) == ["weight"] and only["weight"].id == newest.id
        assert measures.latest(db.session, keys.ring, patient, ()) == {}
        found = measures.get(db.session, keys.ring, patient, patient, newest.id,
                             policy.ProfileAction.DELETE, ACTOR)
        measures.delete(db.session, keys.ring, patient, found, ACTOR)
        db.session.commit()
        assert [v.values["value"] for v in measures.history(
            db.session, keys.ring, patient, weight)] == [70.0, 71.5]
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_id == patient.id)).all()
        assert actions.count("profile.measure_added") == 4
        assert "profile.measure_deleted" in actions


def test_someone_elses_measure_is_not_found_and_the_refusal_is_audited(app, demo_users):
    with app.app_context():
        patient, stranger, doctor = _patients()
        theirs = _add(stranger, "temperature", date(2026, 3, 1), value="38,5")
        mine = _add(patient, "temperature", date(2026, 3, 1), value="37")
        db.session.commit()
        attempts = [
            (patient, patient, theirs.id),          # another patient's id
            (doctor, patient, mine.id),             # a professional, not (yet) allowed
            (patient, stranger, theirs.id),         # asking for another's profile
            (patient, patient, "0" * 32),           # no such measure
            (patient, patient, "x" * 500),          # absurd id
        ]
        for viewer, owner, measure_id in attempts:
            for action in policy.ProfileAction:
                with pytest.raises(measures.MeasureNotFound):
                    measures.get(db.session, keys.ring, viewer, owner, measure_id, action,
                                 audit.Actor(user_id=viewer.id))
        db.session.commit()
        refused = db.session.scalars(select(AuditEvent).where(
            AuditEvent.outcome == "denied")).all()
        assert len(refused) == len(attempts) * len(policy.ProfileAction)
        assert all(event.target_type == "measure" and len(event.target_id) <= 32
                   for event in refused)
        assert {event.subject_id for event in refused if event.target_id == theirs.id} == {
            stranger.id}


def test_a_sealed_value_moved_to_another_row_or_patient_does_not_open(app, demo_users):
    with app.app_context():
        patient, stranger, _doctor = _patients()
        first = _add(patient, "weight", date(2026, 3, 1), value="60")
        second = _add(patient, "weight", date(2026, 3, 2), value="99")
        theirs = _add(stranger, "weight", date(2026, 3, 2), value="80")
        db.session.commit()
        second.value_sealed = first.value_sealed  # copy a value onto another row
        db.session.commit()
        with pytest.raises(CryptoError):
            measures.history(db.session, keys.ring, patient, measures.BY_KEY["weight"])
        # Another patient's value under my id: my key, their associated data — both wrong.
        with pytest.raises(CryptoError):
            open_sealed(patient_key(keys.ring, patient), theirs.value_sealed,
                        f"measures.value.{first.id}.{patient.id}")
        # Even with their key, a value moved under another patient id fails.
        with pytest.raises(CryptoError):
            open_sealed(patient_key(keys.ring, stranger), theirs.value_sealed,
                        f"measures.value.{theirs.id}.{patient.id}")
        assert json.loads(open_sealed(patient_key(keys.ring, stranger), theirs.value_sealed,
                                      f"measures.value.{theirs.id}.{stranger.id}")) == {
            "value": 80.0}
        raw = db.session.scalars(select(Measure.value_sealed)).all()
        assert all(b"value" not in blob for blob in raw)


def test_history_comes_a_page_at_a_time(app, demo_users):
    with app.app_context():
        patient, stranger, _doctor = _patients()
        pain = measures.BY_KEY["pain"]
        assert measures.history_page(db.session, keys.ring, patient, pain, 1, 20) == (
            [], 0, 1, 1)
        for index in range(25):
            _add(patient, "pain", date(2026, 1, 1 + index), value=str(index % 11))
        _add(patient, "pain", date(2026, 1, 25), value="10", time="23:10")
        _add(patient, "pain", date(2026, 1, 25), value="9", time="06:05")
        _add(stranger, "pain", date(2026, 2, 1), value="3")
        db.session.commit()
        items, total, page, pages = measures.history_page(db.session, keys.ring, patient,
                                                          pain, 1, 20)
        assert (len(items), total, page, pages) == (20, 27, 1, 2)
        assert [item.day for item in items] == sorted((item.day for item in items),
                                                      reverse=True)
        same_day = [item.values.get("time") for item in items if item.day == date(2026, 1, 25)]
        assert same_day == ["23:10", "06:05", None]  # within a day, by time
        last, total, page, pages = measures.history_page(db.session, keys.ring, patient,
                                                         pain, 99, 20)
        assert (len(last), page) == (7, 2) and last[-1].day == date(2026, 1, 1)
        assert {item.id for item in items}.isdisjoint(item.id for item in last)
        assert measures.history_page(db.session, keys.ring, patient, pain, -5, 20)[2] == 1


def test_bmi_history_pairs_each_weight_with_the_closest_height(app, demo_users):
    with app.app_context():
        patient, stranger, _doctor = _patients()
        _add(patient, "height", date(2025, 9, 1), value="100")
        _add(patient, "height", date(2025, 9, 29), value="102")
        _add(patient, "height", date(2026, 1, 10), value="110")
        _add(patient, "weight", date(2025, 9, 15), value="16")   # 14 days from both: the later
        _add(patient, "weight", date(2025, 11, 20), value="17")  # 51 days from any: none
        _add(patient, "weight", date(2026, 1, 10), value="18", time="8:00")
        _add(patient, "weight", date(2026, 1, 10), value="18,5", time="18:00")  # the day's last
        _add(patient, "weight", date(2026, 2, 10), value="19")   # 31 days after: still paired
        _add(stranger, "height", date(2025, 11, 20), value="150")
        db.session.commit()
        readings = measures.bmi_history(db.session, keys.ring, patient)
        assert [(r.day, r.value, r.height.day) for r in readings] == [
            (date(2026, 2, 10), measures.bmi(19, 110), date(2026, 1, 10)),
            (date(2026, 1, 10), measures.bmi(18.5, 110), date(2026, 1, 10)),
            (date(2025, 9, 15), measures.bmi(16, 102), date(2025, 9, 29)),
        ]
        assert measures.BMI_PAIRING_DAYS == 31
        assert readings[1].weight.values["value"] == 18.5
        assert readings[1].id == readings[1].weight.id
