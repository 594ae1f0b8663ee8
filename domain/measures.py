"""Measures of the medical profile: kinds, units and plausible ranges, history, BMI and
children's growth. The value is sealed with the patient key; the kind and day stay clear so
a history is one indexed query."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import bindparam, delete, select, union_all
from sqlalchemy.orm import Session

from domain import audit, clock, policy, tallies
from domain.crypto import Keyring, open_sealed, seal
from domain.db import Prepared, mapped_columns, nth, one_of_values
from domain.forms import Field, Problem, Reading, read
from domain.keys import patient_key
from domain.models import Measure, User
from domain.models.base import new_id, utcnow
from domain.profile import is_minor


@dataclass(frozen=True)
class MeasureKind:
    """A kind of measure: its key, its address slug, its unit and the fields (with their
    plausible ranges) a value is read with."""

    key: str
    slug: str
    unit: str
    fields: tuple[Field, ...]
    children_only: bool = False
    growth: bool = False  # drawn against age for children


def _value(minimum: float, maximum: float, unit: str, decimals: int = 0,
           name: str = "value") -> Field:
    return Field(name, "number", required=True, minimum=minimum, maximum=maximum,
                 decimals=decimals, unit=unit)


# Ranges are what a person can plausibly measure; outside them we ask to check the value.
KINDS: tuple[MeasureKind, ...] = (
    MeasureKind("weight", "poids", "kg", (_value(0.3, 350, "kg", 2),), growth=True),
    MeasureKind("height", "taille", "cm", (_value(20, 250, "cm", 1),), growth=True),
    MeasureKind("waist", "tour-de-taille", "cm", (_value(30, 250, "cm", 1),)),
    MeasureKind("temperature", "temperature", "°C", (_value(34, 43, "°C", 1),)),
    MeasureKind("glucose", "glycemie", "g/L", (_value(0.2, 6, "g/L", 2),)),
    MeasureKind("blood_pressure", "tension", "mmHg", (
        _value(50, 260, "mmHg", name="systolic"), _value(30, 160, "mmHg", name="diastolic"))),
    MeasureKind("heart_rate", "frequence-cardiaque", "bpm", (_value(25, 250, "bpm"),)),
    MeasureKind("pain", "douleur", "/10", (_value(0, 10, "/10"),)),
    MeasureKind("head_circumference", "perimetre-cranien", "cm", (_value(25, 60, "cm", 1),),
                children_only=True, growth=True),
)
BY_KEY = {kind.key: kind for kind in KINDS}
BY_SLUG = {kind.slug: kind for kind in KINDS}
DAY = Field("measured_on", "date", required=True)
TIME = Field("time", "text", max_length=5)


class MeasureNotFound(Exception):
    """No such measure for this person."""


@dataclass(frozen=True)
class MeasureView:
    """A measure with its sealed values opened (the kind's fields and the optional time).
    From the lists, `measure` is a row of its columns (read-only); get() gives the ORM
    object, which a deletion needs."""

    measure: Measure
    values: dict

    @property
    def id(self) -> str:
        return self.measure.id

    @property
    def day(self) -> date:
        return self.measure.measured_on


def kinds_for(patient: User, today: date) -> tuple[MeasureKind, ...]:
    """Head circumference only for children (under 18)."""
    minor = is_minor(patient, today)
    return tuple(kind for kind in KINDS if minor or not kind.children_only)


def validate(kind: MeasureKind, form: Mapping[str, str], today: date,
             born: date | None = None) -> Reading:
    """Values in range, a real day between birth and today, an optional time HH:MM,
    systolic above diastolic."""
    reading = read((*kind.fields, DAY, TIME), form, today, born=born)
    time = reading.values.get("time")
    if time is not None:
        parts = time.replace("h", ":").split(":")
        try:
            hours, minutes = int(parts[0]), int(parts[1] or 0) if len(parts) > 1 else 0
            if not (0 <= hours < 24 and 0 <= minutes < 60) or len(parts) > 2:
                raise ValueError
            reading.values["time"] = f"{hours:02d}:{minutes:02d}"
        except ValueError:
            del reading.values["time"]
            reading.problems.append(Problem("time", "time_invalid"))
    systolic, diastolic = reading.values.get("systolic"), reading.values.get("diastolic")
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        reading.problems.append(Problem("diastolic", "pressure_order"))
    return reading


def _associated(measure_id: str, patient_id: str) -> str:
    return f"measures.value.{measure_id}.{patient_id}"


def add(session: Session, keyring: Keyring, patient: User, kind: MeasureKind, values: dict,
        actor: audit.Actor, details: dict | None = None) -> Measure:
    """Record a validated measure (`details`: more for the audit row, such as the app that
    sent it)."""
    measured_on = date.fromisoformat(values.pop("measured_on"))
    measure_id = new_id()
    measure = Measure(id=measure_id, patient_id=patient.id, kind=kind.key,
                      measured_on=measured_on, created_at=utcnow(),
                      value_sealed=seal(patient_key(keyring, patient),
                                        json.dumps(values).encode(),
                                        _associated(measure_id, patient.id)))
    session.add(measure)
    session.flush()
    tallies.change(session, patient.id, {tallies.measures_name(kind.key): 1})
    audit.record(session, keyring, "profile.measure_added", actor=actor, subject_id=patient.id,
                 target_type="measure", target_id=measure_id,
                 details={"kind": kind.key, **(details or {})})
    return measure


def open_values(keyring: Keyring, patient: User, measure: Measure) -> dict:
    """One of the patient's measures' values, opened (the caller has checked access)."""
    return _open(patient_key(keyring, patient), measure).values


def _open(key: bytes, measure: Measure) -> MeasureView:
    return MeasureView(measure, json.loads(open_sealed(
        key, measure.value_sealed, _associated(measure.id, measure.patient_id))))


# A patient's measures of one kind, newest first; compiled once and run on the driver's
# cursor (domain.db.Prepared): the pages and charts only read measures, as rows of their
# columns; a deletion takes its ORM object through get(). Their count is kept
# (domain.tallies).
_MINE = (Measure.patient_id == bindparam("patient_id"), Measure.kind == bindparam("kind"))
_ORDERED = select(*mapped_columns(Measure)).where(*_MINE).order_by(
    Measure.measured_on.desc(), Measure.created_at.desc())
_HISTORY = Prepared(_ORDERED)
_PAGE = Prepared(_ORDERED.offset(bindparam("offset")).limit(bindparam("limit")))
_RECENT = Prepared(_ORDERED.limit(bindparam("limit")))


def history(session: Session, keyring: Keyring, patient: User, kind: MeasureKind,
            limit: int | None = None) -> list[MeasureView]:
    """Newest first; `limit` keeps the most recent ones."""
    key = patient_key(keyring, patient)
    mine = {"patient_id": patient.id, "kind": kind.key}
    rows = _RECENT.all(session, {**mine, "limit": limit}) if limit else _HISTORY.all(
        session, mine)
    views = [_open(key, measure) for measure in rows]
    views.sort(key=lambda view: (view.day, view.values.get("time") or ""), reverse=True)
    return views


def history_page(session: Session, keyring: Keyring, patient: User, kind: MeasureKind,
                 page: int, per_page: int) -> tuple[list[MeasureView], int, int, int]:
    """One page of the history, newest first: (measures, total, page, pages). Only the
    page's measures are opened; within the page, same-day measures follow their time."""
    mine = {"patient_id": patient.id, "kind": kind.key}
    total = tallies.measures(session, patient.id, kind.key)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    key = patient_key(keyring, patient)
    rows = _PAGE.all(session, {**mine, "offset": (page - 1) * per_page, "limit": per_page})
    views = [_open(key, measure) for measure in rows]
    views.sort(key=lambda view: (view.day, view.values.get("time") or ""), reverse=True)
    return views, total, page, pages


@cache
def _latest_statement(count: int) -> Prepared:
    """The newest measure of each of `count` kinds (as history() orders them), in one
    statement compiled once per count (the patient and the kinds are parameters): for each
    kind, the first row of its index read from the end, however many measures it has."""
    columns = mapped_columns(Measure)
    newest = [select(*columns).where(Measure.patient_id == bindparam("patient_id"),
                                     Measure.kind == nth("kind", index))
              .order_by(Measure.measured_on.desc(), Measure.created_at.desc()).limit(1)
              .subquery(f"newest{index}") for index in range(count)]
    rows = [select(*(sub.c[column.key] for column in columns)) for sub in newest]
    return Prepared(union_all(*rows) if count > 1 else rows[0])


def latest(session: Session, keyring: Keyring, patient: User,
           kinds: tuple[MeasureKind, ...] = KINDS) -> dict[str, MeasureView]:
    """The most recent measure of each kind, in the order of `kinds` (one query)."""
    if not kinds:
        return {}
    rows = {measure.kind: measure for measure in _latest_statement(len(kinds)).all(
        session, {"patient_id": patient.id,
                  **one_of_values("kind", [kind.key for kind in kinds])})}
    key = patient_key(keyring, patient) if rows else b""
    return {kind.key: _open(key, rows[kind.key]) for kind in kinds if kind.key in rows}


def latest_for_professional(session: Session, keyring: Keyring, viewer: User,
                            patient: User, care: policy.CareFacts,
                            actor: audit.Actor) -> dict[str, MeasureView]:
    """The latest measures, if the policy lets this professional read them (audited)."""
    if not policy.profile_allowed(policy.ProfileAction.READ, viewer.role, is_owner=False,
                                  locked=False, section="measures", care=care):
        return {}
    audit.record(session, keyring, "profile.measures_read_by_professional", actor=actor,
                 subject_id=patient.id)
    return latest(session, keyring, patient, kinds_for(patient, clock.today()))


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body-mass index, one decimal."""
    metres = height_cm / 100
    return round(weight_kg / (metres * metres), 1)


# A child grows: a weight is paired with a height taken at most this many days apart.
BMI_PAIRING_DAYS = 31


@dataclass(frozen=True)
class BmiReading:
    """A BMI computed from a weight and the height measured closest to it in time."""

    day: date
    value: float
    weight: MeasureView
    height: MeasureView

    @property
    def id(self) -> str:
        return self.weight.id


def bmi_history(session: Session, keyring: Keyring, patient: User) -> list[BmiReading]:
    """Newest first, one BMI per day that has a weight: the day's latest weight with the
    height measured closest to it, on the same day or at most `BMI_PAIRING_DAYS` days
    before or after (a later one wins a tie); a weight with no height that close gives
    none."""
    heights = history(session, keyring, patient, BY_KEY["height"])
    readings, seen = [], set()
    for weight in history(session, keyring, patient, BY_KEY["weight"]):
        if weight.day in seen:
            continue
        seen.add(weight.day)
        near = [height for height in heights
                if abs((height.day - weight.day).days) <= BMI_PAIRING_DAYS]
        if not near:
            continue
        height = min(near, key=lambda item: (abs((item.day - weight.day).days),
                                             -item.day.toordinal()))
        readings.append(BmiReading(weight.day, bmi(weight.values["value"],
                                                   height.values["value"]), weight, height))
    return readings


def bmi_page(session: Session, keyring: Keyring, patient: User, page: int,
             per_page: int) -> tuple[list[BmiReading], int, int, int]:
    """One page of bmi_history(), newest first: (readings, total, page, pages), as
    history_page() answers for a measure."""
    readings = bmi_history(session, keyring, patient)
    pages = max(1, math.ceil(len(readings) / per_page))
    page = min(max(page, 1), pages)
    return readings[(page - 1) * per_page:page * per_page], len(readings), page, pages


def age_in_months(birth: date, day: date) -> int:
    """Whole months from `birth` to `day` (a month counts once its day-of-month is reached)."""
    months = (day.year - birth.year) * 12 + day.month - birth.month
    return months - (day.day < birth.day)


def get(session: Session, keyring: Keyring, viewer: User, patient: User, measure_id: str,
        action: policy.ProfileAction, actor: audit.Actor) -> MeasureView:
    """One of the patient's own measures, opened for `action`; audited either way, and a
    refused or unknown id raises MeasureNotFound alike."""
    measure = session.get(Measure, measure_id) if len(measure_id) <= 32 else None
    allowed = measure is not None and policy.profile_allowed(
        action, viewer.role, is_owner=measure.patient_id == viewer.id == patient.id,
        locked=False)
    audit.record(session, keyring, f"profile.measure_{action.value}", actor=actor,
                 outcome="success" if allowed else "denied",
                 subject_id=measure.patient_id if measure else None,
                 target_type="measure", target_id=measure_id[:32])
    if not allowed:
        raise MeasureNotFound(measure_id)
    return _open(patient_key(keyring, patient), measure)


_DELETE = Prepared(delete(Measure).where(Measure.id == bindparam("measure_id"))
                   .returning(Measure.kind))


def delete(session: Session, keyring: Keyring, patient: User, view: MeasureView,
           actor: audit.Actor) -> bool:
    """Delete a measure obtained through get(); audited as "profile.measure_deleted" and
    counted off (domain.tallies). False, and nothing done, when another request deleted it
    first (it is not counted off twice)."""
    deleted = _DELETE.all(session, {"measure_id": view.id})
    session.expunge(view.measure)
    if not deleted:
        return False
    tallies.change(session, patient.id, {tallies.measures_name(deleted[0].kind): -1})
    audit.record(session, keyring, "profile.measure_deleted", actor=actor,
                 subject_id=patient.id, target_type="measure", target_id=view.id,
                 details={"kind": deleted[0].kind})
    return True
