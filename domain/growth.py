"""Children's growth against the WHO child growth standards: the SDS (z-score) and centile of
a measurement, the centile band it falls in, and the reference centile lines of a chart.

Every number comes from the LMS tables that `rcpchgrowth` ships for its "who" reference (the
WHO 2006 standards, by day, from birth to 5 years; the WHO 2007 reference, by month, from 5
to 19 years): none is typed here. What rcpchgrowth covers decides what we accept: length or
height and BMI from birth to 19 years, weight to 10 years, head circumference to 5 years.
Below 2 years the WHO standard is for length (lying down), from 2 years for height (standing).

Words are the web layer's: this module answers with codes (kinds, sexes, band tuples) only.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from statistics import NormalDist

from rcpchgrowth import chronological_decimal_age, global_functions
from rcpchgrowth.constants import (
    BMI,
    FEMALE,
    FIVE_YEARS,
    HEAD_CIRCUMFERENCE,
    HEIGHT,
    MALE,
    TEN_YEARS,
    WEIGHT,
    WHO,
    WHO_2006_REFERENCE_UPPER_THRESHOLD,
    WHO_2007_REFERENCE_UPPER_THRESHOLD,
    ZERO_YEARS,
)
from rcpchgrowth.global_functions import (
    measurement_from_sds,
    sds_for_centile,
    sds_for_measurement,
)
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from domain.db import Prepared
from domain.models import InsuredPerson, User

# The lines of the WHO percentile charts (Child Growth Standards 0-5 years and Growth
# Reference 5-19 years): 3rd, 15th, 50th, 85th and 97th.
CHART_CENTILES: tuple[int, ...] = (3, 15, 50, 85, 97)

# A point within a quarter of rcpchgrowth's line spacing (2/3 SDS) of a line is "on" it, as
# rcpchgrowth's own centile bands say; the WHO lines are at least 0.84 SDS apart, so the
# zones never overlap.
ON_LINE_SDS = 0.25 * 2 / 3

DAYS_PER_YEAR = 365.25  # rcpchgrowth's decimal age is days / 365.25
# A birthday falls on day 365 x years plus the leap days, up to a day past years x 365.25:
# the upper bound of a range includes the whole day of that birthday.
_BIRTHDAY_SLACK = 1 / DAYS_PER_YEAR
# The WHO 2006 tables are by day up to here (1856 days); ages below it are taken to the
# day, which is what the standards tabulate (and between two tables' days rcpchgrowth
# cannot interpolate).
_DAILY_TABLES_END = WHO_2006_REFERENCE_UPPER_THRESHOLD


class Sex(StrEnum):
    """A child's sex as the WHO standards split them (rcpchgrowth's values)."""

    MALE = MALE
    FEMALE = FEMALE

    @classmethod
    def from_insured_code(cls, code: str) -> Sex:
        """The sex of an insured person's record ("1" male, "2" female, as in the NIR)."""
        try:
            return {"1": cls.MALE, "2": cls.FEMALE}[code]
        except KeyError:
            raise ValueError(f"unknown sex code {code!r}") from None


class Kind(StrEnum):
    """What is measured; the values are the keys of `domain.measures` (BMI is computed)."""

    HEIGHT = "height"  # length before 2 years, height from 2 years (cm)
    WEIGHT = "weight"  # kg
    BMI = "bmi"  # kg/m²
    HEAD_CIRCUMFERENCE = "head_circumference"  # cm


_METHOD = {Kind.HEIGHT: HEIGHT, Kind.WEIGHT: WEIGHT, Kind.BMI: BMI,
           Kind.HEAD_CIRCUMFERENCE: HEAD_CIRCUMFERENCE}

# Ages (decimal years) that rcpchgrowth's WHO tables cover for each kind.
_AGE_RANGES = {
    Kind.HEIGHT: (ZERO_YEARS, WHO_2007_REFERENCE_UPPER_THRESHOLD),
    Kind.WEIGHT: (ZERO_YEARS, TEN_YEARS),
    Kind.BMI: (ZERO_YEARS, WHO_2007_REFERENCE_UPPER_THRESHOLD),
    Kind.HEAD_CIRCUMFERENCE: (ZERO_YEARS, FIVE_YEARS),
}


class GrowthError(ValueError):
    """A growth question the WHO standards cannot answer."""


class OutsideReference(GrowthError):
    """The age is outside what the WHO reference covers for this kind of measurement."""

    def __init__(self, kind: Kind, age_years: float) -> None:
        low, high = _AGE_RANGES[kind]
        self.kind, self.age_years, self.low, self.high = kind, age_years, low, high
        super().__init__(f"the WHO reference for {kind.value} covers ages {low:g} to "
                         f"{high:g} years, not {age_years:.3f}")


class InvalidValue(GrowthError):
    """The measured value is not a positive finite number."""


@dataclass(frozen=True)
class Assessment:
    """A measurement placed on the WHO standard: its SDS (z-score), its centile (0-100) and
    the band code of `centile_band`."""

    sex: Sex
    kind: Kind
    age_years: float
    value: float
    sds: float
    centile: float
    band: tuple


@dataclass(frozen=True)
class CentileLine:
    """One reference line of a chart: the centile, its SDS and (age in years, value) points
    in increasing age."""

    centile: float
    sds: float
    points: tuple[tuple[float, float], ...]


def age_range(kind: Kind | str) -> tuple[float, float]:
    """The ages (decimal years, both included) the WHO reference covers for this kind."""
    return _AGE_RANGES[Kind(kind)]


def decimal_age(birth_date: date, measured_on: date) -> float:
    """Age in decimal years on the day of a measurement, as rcpchgrowth counts it (days /
    365.25); negative when the day is before the birth."""
    return float(chronological_decimal_age(birth_date, measured_on))


def _reference_age(kind: Kind, age_years: float) -> float:
    """The age to look the tables up at, or OutsideReference. The upper bound keeps the whole
    day of that birthday; below 5 years the age goes to the whole day."""
    low, high = _AGE_RANGES[kind]
    if not math.isfinite(age_years) or age_years < low or age_years > high + _BIRTHDAY_SLACK:
        raise OutsideReference(kind, age_years)
    age = min(age_years, high)
    if age <= _DAILY_TABLES_END:
        age = round(age * DAYS_PER_YEAR) / DAYS_PER_YEAR
    return age


# --- where an age falls in an LMS table --------------------------------------------------------

# An LMS table (a list rcpchgrowth keeps for the process) -> (the list, its ages, the ages
# to 4 decimals); None for a table not in age order. The WHO reference has 22 tables: the
# limit only keeps a library that made its lists anew from growing this without end.
_TABLE_AGES: dict[int, tuple | None] = {}
TABLES_LIMIT = 64
_walked_index = global_functions.nearest_lowest_index


def _nearest_lowest_index(lms_array: list, age: float) -> int:
    """rcpchgrowth's nearest_lowest_index, by bisection: the first entry whose age is `age`
    to 4 decimals, else the last one younger than `age`, else the first. rcpchgrowth walks
    the table from its start for every SDS and every point of a line: up to 1,126 daily
    entries, 0.2 to 0.6 ms an SDS, which a child's chart asks for each of its measures
    (tests/domain/test_growth.py holds both to the same answer on every WHO table)."""
    known = _TABLE_AGES.get(id(lms_array), False)
    if known is False or (known is not None and known[0] is not lms_array):
        ages = [entry["decimal_age"] for entry in lms_array]
        in_order = all(a <= b for a, b in zip(ages, ages[1:], strict=False))
        if len(_TABLE_AGES) >= TABLES_LIMIT:
            _TABLE_AGES.clear()
        known = _TABLE_AGES[id(lms_array)] = (
            (lms_array, ages, [round(a, 4) for a in ages]) if in_order else None)
    if known is None or not math.isfinite(age):
        return _walked_index(lms_array, age)
    _, ages, rounded = known
    target = round(age, 4)
    matched = bisect_left(rounded, target)
    if matched < len(rounded) and rounded[matched] == target:
        return matched
    return max(bisect_left(ages, age) - 1, 0)


global_functions.nearest_lowest_index = _nearest_lowest_index


def assess_at_age(sex: Sex | str, kind: Kind | str, value: float,
                  age_years: float) -> Assessment:
    """Place a measurement taken at an age (decimal years) on the WHO standard. Raises
    OutsideReference for an age the reference does not cover, InvalidValue for a value that
    is not a positive number. Beyond ±3 SDS, weight and BMI follow the WHO's restricted
    method (rcpchgrowth's)."""
    sex, kind = Sex(sex), Kind(kind)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise InvalidValue(f"{kind.value} must be a positive number, not {value!r}")
    sds = _sds(sex, kind, number, _reference_age(kind, age_years))
    return Assessment(sex=sex, kind=kind, age_years=age_years, value=number, sds=sds,
                      centile=_centile(sds), band=centile_band(sds))


_NORMAL = NormalDist()


def _centile(sds: float) -> float:
    """The centile of an SDS: the standard normal distribution's, as rcpchgrowth's centile()
    gives it through scipy (to 1e-9, tests/domain/test_growth.py), in about a microsecond
    instead of a tenth of a millisecond: a chart of measures not seen before asks for one
    per measure."""
    return _NORMAL.cdf(sds) * 100


@lru_cache(maxsize=4096)
def _sds(sex: Sex, kind: Kind, value: float, age: float) -> float:
    """rcpchgrowth's SDS, kept per process: a child's chart shows the same measures at every
    visit of the page (about 0.8 ms each through scipy)."""
    return float(sds_for_measurement(reference=WHO, age=age, measurement_method=_METHOD[kind],
                                     observation_value=value, sex=sex.value))


def _birthday(birth_date: date, years: int) -> date:
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:  # born on 29 February: 1 March in a common year, as domain/policy
        return date(birth_date.year + years, 3, 1)


def assess(sex: Sex | str, kind: Kind | str, value: float, *, birth_date: date,
           measured_on: date) -> Assessment:
    """Place a measurement taken on a day on the WHO standard, the age counted from the birth
    date (see `assess_at_age`). The upper bound is the birthday itself: head circumference
    up to the day the child turns 5, weight 10, height and BMI 19."""
    kind = Kind(kind)
    age = decimal_age(birth_date, measured_on)
    if measured_on > _birthday(birth_date, int(_AGE_RANGES[kind][1])):
        raise OutsideReference(kind, age)
    return assess_at_age(sex, kind, value, age)


def value_for_sds(sex: Sex | str, kind: Kind | str, age_years: float, sds: float) -> float:
    """The value at an SDS for an age on the WHO standard (plain LMS: the WHO's published
    tables and curves do not restrict beyond ±3 SDS either). At exactly 2 years, where
    length gives way to height, the age goes to the whole day: the length table."""
    sex, kind = Sex(sex), Kind(kind)
    age = _reference_age(kind, age_years)
    value = measurement_from_sds(reference=WHO, requested_sds=sds,
                                 measurement_method=_METHOD[kind], sex=sex.value, age=age)
    if value is None:  # 1 + L·S·z <= 0: no such value on this curve
        raise GrowthError(f"no {kind.value} at {sds} SDS for age {age:.3f}")
    return float(value)


def value_for_centile(sex: Sex | str, kind: Kind | str, age_years: float,
                      centile: float) -> float:
    """The value at a centile (0-100, exclusive) for an age on the WHO standard."""
    if not 0 < centile < 100:
        raise GrowthError(f"a centile is between 0 and 100, not {centile}")
    return value_for_sds(sex, kind, age_years, float(sds_for_centile(centile)))


def centile_band(sds: float, centiles: tuple[float, ...] = CHART_CENTILES) -> tuple:
    """Where an SDS falls against the chart's centile lines, as a code for the web layer to
    word: ("on", 50) within ON_LINE_SDS of a line, ("between", 50, 85), ("below", 3) or
    ("above", 97)."""
    lines, positions = _positions(tuple(centiles))
    for line, position in zip(lines, positions, strict=True):
        if abs(sds - position) <= ON_LINE_SDS:
            return ("on", line)
    if sds < positions[0]:
        return ("below", lines[0])
    if sds > positions[-1]:
        return ("above", lines[-1])
    for index in range(len(lines) - 1):
        if positions[index] < sds < positions[index + 1]:
            return ("between", lines[index], lines[index + 1])
    raise GrowthError(f"no centile band for the SDS {sds!r}")  # NaN


@lru_cache(maxsize=16)
def _positions(centiles: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Centile lines in order and the SDS each lies at: the same for every measure, so
    worked out once per process (five calls to scipy per measure otherwise)."""
    lines = tuple(sorted(centiles))
    return lines, tuple(float(sds_for_centile(line)) for line in lines)


def _chart_ages(kind: Kind) -> list[float]:
    """The ages a chart's lines are drawn at, over what the reference covers for `kind`:
    weekly to 13 weeks, then monthly (whole days below 5 years, the WHO 2007 table's months
    after), with both ends. Days 730 and 731 are both there, so a line shows the step where
    length (lying) gives way to height (standing)."""
    low, high = _AGE_RANGES[kind]
    days = set(range(0, 92, 7)) | {round(month * 30.4375) for month in range(3, 61)}
    days |= {730, 731}
    ages = {day / DAYS_PER_YEAR for day in days} | {month / 12 for month in range(61, 229)}
    return sorted(age for age in ages | {low, high} if low <= age <= high)


@lru_cache(maxsize=16)
def reference_lines(sex: Sex | str, kind: Kind | str) -> tuple[CentileLine, ...]:
    """The chart's reference lines (one per CHART_CENTILES, lowest first) over all the ages
    the reference covers for this kind: the same for every child of one sex, so computed
    once per process (a chart cuts them to its own span)."""
    sex, kind = Sex(sex), Kind(kind)
    ages = sorted({_reference_age(kind, age) for age in _chart_ages(kind)})
    lines = []
    for line in CHART_CENTILES:
        sds = float(sds_for_centile(line))
        points = []
        for age in ages:
            value = measurement_from_sds(reference=WHO, requested_sds=sds,
                                         measurement_method=_METHOD[kind], sex=sex.value,
                                         age=age)
            if value is not None:
                points.append((age, float(value)))
        lines.append(CentileLine(centile=line, sds=sds, points=tuple(points)))
    return tuple(lines)


# --- a child's chart: whose sex, which lines, where each measure falls ------------------------

# Every chart of a child asks (domain.db.Prepared: compiled once, read from the cursor).
_SEX = Prepared(select(InsuredPerson.sex).where(InsuredPerson.user_id == bindparam("user_id"))
                .limit(1))


def sex_of(session: Session, user: User) -> Sex | None:
    """The person's sex as the insurer's record linked to the account gives it ("1"/"2"),
    or None when no record is linked or its code is unknown: the account itself does not
    hold it, and the WHO standards differ by sex."""
    row = _SEX.first(session, {"user_id": user.id})
    code = row.sex if row else None
    try:
        return Sex.from_insured_code(code) if code else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ChildChart:
    """What a child's growth chart needs from the standards: the reference lines over all
    the ages the reference covers (the chart cuts them to the measures' span; empty when
    the measures are all outside those ages) and, per measure, its assessment or None where
    the reference stops (head circumference after 5 years)."""

    lines: tuple[CentileLine, ...]
    assessments: tuple[Assessment | None, ...]


def child_chart(sex: Sex | str, kind: Kind | str, birth_date: date,
                measured: Sequence[tuple[date, float]],
                margin_years: float = 1 / 12) -> ChildChart:
    """The lines and assessments of a chart of `measured` (day, value) pairs. The lines are
    the reference's whole lines for this sex and kind, the same for every child, computed
    once per process (lines over one child's ages were computed again for each child and
    after each new measure); the chart cuts them to its own span.
    They are given when the measures' ages, `margin_years` more on each side, meet what the
    reference covers. A measure outside it gets None, never an error."""
    sex, kind = Sex(sex), Kind(kind)
    assessments = []
    for day, value in measured:
        try:
            assessments.append(assess(sex, kind, value, birth_date=birth_date,
                                      measured_on=day))
        except OutsideReference:
            assessments.append(None)
    if not measured:
        return ChildChart((), ())
    low, high = _AGE_RANGES[kind]
    ages = [decimal_age(birth_date, day) for day, _ in measured]
    start, end = max(low, min(ages) - margin_years), min(high, max(ages) + margin_years)
    lines = reference_lines(sex, kind) if start < end else ()
    return ChildChart(lines, tuple(assessments))
