"""Growth against the WHO standards without HTTP: published WHO values, SDS and centile of a
measurement, the ages each kind is refused outside, the band codes and the chart's lines.

The published values are those of the WHO Child Growth Standards (2006) tables for 0-5 years
(weight-for-age, length/height-for-age, head-circumference-for-age; boys and girls): the M
of their LMS tables, given to 4 decimals and checked to 1e-4, and their z-score and
percentile tables, given to 1 decimal (kg or cm) and checked to half of that digit (0.05);
and the M of the WHO Growth Reference (2007) height-for-age table at 19 years. A month of
those tables is 30.4375 days: 12 months is the age 1.0 year.
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from rcpchgrowth import global_functions
from rcpchgrowth.constants import WHO

from domain import growth, measures
from domain.growth import Kind, Sex

BOYS, GIRLS = Sex.MALE, Sex.FEMALE
MEDIAN_TOLERANCE = 1e-4  # the LMS tables' M, to 4 decimals
TABLE_TOLERANCE = 0.05  # the z-score and percentile tables, to 1 decimal
DAY = 1 / 365.25


@pytest.mark.parametrize(("sex", "kind", "age", "median"), [
    (BOYS, Kind.WEIGHT, 0, 3.3464),  # weight-for-age boys, birth
    (GIRLS, Kind.WEIGHT, 0, 3.2322),  # weight-for-age girls, birth
    (BOYS, Kind.HEIGHT, 0, 49.8842),  # length-for-age boys, birth
    (GIRLS, Kind.HEIGHT, 0, 49.1477),  # length-for-age girls, birth
    (BOYS, Kind.HEAD_CIRCUMFERENCE, 0, 34.4618),  # head-circumference-for-age boys, birth
    (GIRLS, Kind.HEAD_CIRCUMFERENCE, 0, 33.8787),  # head-circumference-for-age girls, birth
    (BOYS, Kind.HEIGHT, 19, 176.5432),  # WHO 2007 height-for-age boys, 228 months
])
def test_published_medians_of_the_lms_tables(sex, kind, age, median):
    assert growth.value_for_centile(sex, kind, age, 50) == pytest.approx(
        median, abs=MEDIAN_TOLERANCE)
    assessment = growth.assess_at_age(sex, kind, median, age)
    assert assessment.sds == pytest.approx(0, abs=1e-4)
    assert assessment.centile == pytest.approx(50, abs=1e-2)
    assert assessment.band == ("on", 50)


@pytest.mark.parametrize(("sex", "kind", "age", "centile", "published"), [
    (BOYS, Kind.WEIGHT, 1.0, 50, 9.6),  # weight-for-age boys, 12 months
    (BOYS, Kind.WEIGHT, 1.0, 3, 7.8),
    (BOYS, Kind.WEIGHT, 1.0, 97, 11.8),
    (GIRLS, Kind.WEIGHT, 1.0, 50, 8.9),  # weight-for-age girls, 12 months
    (GIRLS, Kind.WEIGHT, 1.0, 3, 7.1),
    (GIRLS, Kind.WEIGHT, 1.0, 97, 11.3),
    (BOYS, Kind.HEIGHT, 0, 3, 46.3),  # length-for-age boys, birth
    (BOYS, Kind.HEIGHT, 0, 97, 53.4),
])
def test_published_percentiles(sex, kind, age, centile, published):
    assert growth.value_for_centile(sex, kind, age, centile) == pytest.approx(
        published, abs=TABLE_TOLERANCE)


@pytest.mark.parametrize(("sex", "kind", "age", "sds", "published"), [
    (GIRLS, Kind.WEIGHT, 1.0, -2, 7.0),  # weight-for-age girls, 12 months
    (BOYS, Kind.WEIGHT, 1.0, -2, 7.7),  # weight-for-age boys, 12 months
    (BOYS, Kind.WEIGHT, 1.0, 2, 12.0),
    (BOYS, Kind.WEIGHT, 0, -2, 2.5),  # weight-for-age boys, birth
    (BOYS, Kind.WEIGHT, 0, 2, 4.4),
    (BOYS, Kind.HEIGHT, 0, -2, 46.1),  # length-for-age boys, birth
    (BOYS, Kind.HEIGHT, 0, 2, 53.7),
    (BOYS, Kind.HEAD_CIRCUMFERENCE, 0, -2, 31.9),  # head-circumference-for-age boys, birth
    (BOYS, Kind.HEAD_CIRCUMFERENCE, 0, 2, 37.0),
])
def test_published_z_scores(sex, kind, age, sds, published):
    assert growth.value_for_sds(sex, kind, age, sds) == pytest.approx(
        published, abs=TABLE_TOLERANCE)


def test_a_published_value_assesses_to_its_z_score_from_dates():
    """Girls at 12 months weighing 7.0 kg (the table's -2 SD, rounded) are at about -2 SD,
    below the 3rd centile; the age is counted from the dates."""
    assessment = growth.assess("female", "weight", 7.0, birth_date=date(2023, 3, 1),
                               measured_on=date(2024, 3, 1))
    assert assessment.age_years == pytest.approx(1.0, abs=0.005)
    assert assessment.sds == pytest.approx(-2, abs=0.1)
    assert 1 < assessment.centile < 3
    assert assessment.band == ("below", 3)


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("sex", list(Sex))
@pytest.mark.parametrize("age", [0, 0.5, 1.5, 3, 4.9])
def test_the_median_is_the_50th_centile_for_every_kind(sex, kind, age):
    median = growth.value_for_centile(sex, kind, age, 50)
    assessment = growth.assess_at_age(sex, kind, median, age)
    assert assessment.sds == pytest.approx(0, abs=1e-3)
    assert assessment.centile == pytest.approx(50, abs=0.05)


@pytest.mark.parametrize("centile", growth.CHART_CENTILES)
def test_a_value_on_a_line_assesses_to_that_centile(centile):
    age = 7.5  # the WHO 2007 reference, interpolated between its months
    value = growth.value_for_centile(GIRLS, Kind.BMI, age, centile)
    assessment = growth.assess_at_age(GIRLS, Kind.BMI, value, age)
    assert assessment.centile == pytest.approx(centile, abs=0.05)
    assert assessment.band == ("on", centile)


def test_head_circumference_is_refused_after_5_years():
    birth = date(2019, 6, 15)
    on_birthday = growth.assess(BOYS, Kind.HEAD_CIRCUMFERENCE, 51.0, birth_date=birth,
                                measured_on=date(2024, 6, 15))
    assert on_birthday.age_years > 5  # 1827 days: two leap days, more than 5 x 365.25
    with pytest.raises(growth.OutsideReference) as refused:
        growth.assess(BOYS, Kind.HEAD_CIRCUMFERENCE, 51.0, birth_date=birth,
                      measured_on=date(2024, 6, 16))
    assert (refused.value.kind, refused.value.low, refused.value.high) == (
        Kind.HEAD_CIRCUMFERENCE, 0, 5)
    assert "head_circumference" in str(refused.value) and "0 to 5 years" in str(refused.value)
    assert isinstance(refused.value, ValueError)
    for refusal in (lambda: growth.assess_at_age(GIRLS, "head_circumference", 51.0, 6.0),
                    lambda: growth.value_for_centile(GIRLS, "head_circumference", 5.5, 50)):
        with pytest.raises(growth.OutsideReference):
            refusal()


@pytest.mark.parametrize(("kind", "years"), [
    (Kind.WEIGHT, 10), (Kind.HEIGHT, 19), (Kind.BMI, 19), (Kind.HEAD_CIRCUMFERENCE, 5)])
def test_each_kind_is_accepted_to_its_birthday_and_refused_after(kind, years):
    birth = date(2004, 2, 29)  # in a common year, the birthday is 1 March (domain/policy)
    value = growth.value_for_centile(GIRLS, kind, years, 50)
    on_birthday = growth.assess(GIRLS, kind, value, birth_date=birth,
                                measured_on=date(2004 + years, 3, 1))
    assert on_birthday.band == ("on", 50)
    with pytest.raises(growth.OutsideReference):
        growth.assess(GIRLS, kind, value, birth_date=birth, measured_on=date(2004 + years, 3, 2))
    assert growth.age_range(kind) == (0, years)


def test_a_measurement_before_birth_or_at_a_negative_age_is_refused():
    with pytest.raises(growth.OutsideReference):
        growth.assess(BOYS, Kind.WEIGHT, 3.3, birth_date=date(2024, 5, 2),
                      measured_on=date(2024, 5, 1))
    with pytest.raises(growth.OutsideReference):
        growth.assess_at_age(BOYS, Kind.WEIGHT, 3.3, -0.01)
    with pytest.raises(growth.OutsideReference):
        growth.assess_at_age(BOYS, Kind.WEIGHT, 3.3, math.nan)


@pytest.mark.parametrize("value", [0, -3.2, math.nan, math.inf, "heavy", None])
def test_a_value_must_be_a_positive_number(value):
    with pytest.raises(growth.InvalidValue):
        growth.assess_at_age(BOYS, Kind.WEIGHT, value, 1.0)


def test_unknown_sex_or_kind_is_refused():
    with pytest.raises(ValueError):
        growth.assess_at_age("other", Kind.WEIGHT, 9.6, 1.0)
    with pytest.raises(ValueError):
        growth.assess_at_age(BOYS, "waist", 50, 1.0)


@pytest.mark.parametrize(("sds", "band"), [
    (0, ("on", 50)),
    (0.1, ("on", 50)),
    (0.5, ("between", 50, 85)),
    (-0.5, ("between", 15, 50)),
    (-1.5, ("between", 3, 15)),
    (1.5, ("between", 85, 97)),
    (1.04, ("on", 85)),
    (-1.88, ("on", 3)),
    (-2.2, ("below", 3)),
    (-5, ("below", 3)),
    (2.2, ("above", 97)),
])
def test_the_band_codes(sds, band):
    assert growth.centile_band(sds) == band


def test_the_band_against_other_lines():
    assert growth.centile_band(0.5, centiles=(50, 25, 75)) == ("between", 50, 75)
    assert growth.centile_band(3.0, centiles=(1, 50, 99)) == ("above", 99)
    with pytest.raises(growth.GrowthError):
        growth.centile_band(math.nan)


def test_reference_lines_are_ordered_by_centile_at_every_age():
    for kind in Kind:
        lines = growth.reference_lines(GIRLS, kind)
        assert [line.centile for line in lines] == list(growth.CHART_CENTILES)
        ages = [age for age, _ in lines[0].points]
        # below 5 years the tables are by day: the last point is the day nearest the bound
        assert ages[0] == 0 and ages[-1] == pytest.approx(growth.age_range(kind)[1], abs=DAY)
        assert ages == sorted(ages) and len(ages) == len(set(ages))
        for line in lines[1:]:
            assert [age for age, _ in line.points] == ages
        for index in range(len(ages)):
            values = [line.points[index][1] for line in lines]
            assert values == sorted(values) and len(set(values)) == len(values)


def test_reference_lines_follow_the_published_values():
    lines = {line.centile: line for line in growth.reference_lines(BOYS, Kind.WEIGHT)}
    assert lines[50].points[0] == (0, pytest.approx(3.3464, abs=MEDIAN_TOLERANCE))
    assert lines[50].sds == 0 and lines[3].sds == pytest.approx(-1.881, abs=1e-3)
    [(_, at_one_year)] = [point for point in lines[3].points if abs(point[0] - 1) < 0.002]
    assert at_one_year == pytest.approx(7.8, abs=TABLE_TOLERANCE)


def test_the_height_lines_step_down_where_length_gives_way_to_height():
    """WHO measure lying down before 2 years and standing after: the median drops by
    about 0.7 cm between the days either side of the second birthday."""
    [median] = [line for line in growth.reference_lines(BOYS, Kind.HEIGHT)
                if line.centile == 50]
    [(before, length), (after, height)] = [
        point for point in median.points if 1.99 < point[0] < 2.01]
    assert before < 2 < after
    assert length - height == pytest.approx(0.7, abs=0.05)


def test_reference_lines_are_computed_once_per_sex_and_kind():
    lines = growth.reference_lines(BOYS, "bmi")
    assert growth.reference_lines(Sex.MALE, Kind.BMI) is lines  # codes or words alike
    assert growth.reference_lines(GIRLS, "bmi") is not lines
    ages = [age for age, _ in lines[0].points]
    assert ages[0] == 0 and ages[-1] == 19  # the WHO 2007 table's last month


def test_codes_fit_the_rest_of_the_domain():
    assert Sex.from_insured_code("1") is BOYS and Sex.from_insured_code("2") is GIRLS
    with pytest.raises(ValueError):
        Sex.from_insured_code("7")
    growth_keys = {kind.key for kind in measures.KINDS if kind.growth}
    assert growth_keys == {kind.value for kind in Kind} - {Kind.BMI.value}


# --- where an age falls in an LMS table ------------------------------------------------------

def who_tables() -> list[list]:
    """Every LMS table of rcpchgrowth's WHO reference a chart or an SDS reads: each sex and
    kind, below and above 2 and 5 years."""
    found = {}
    for sex in Sex:
        for method in {growth._METHOD[kind] for kind in Kind}:
            for age in (0.5, 3, 7, 12, 18):
                try:
                    table = global_functions.lms_value_array_for_measurement_for_reference(
                        reference=WHO, age=age, measurement_method=method, sex=sex.value,
                        default_youngest_reference=False)
                except LookupError:
                    continue
                found[id(table)] = table
    return list(found.values())


def test_an_age_falls_where_rcpchgrowths_walk_through_the_table_puts_it():
    """The bisection gives the index rcpchgrowth's own walk gives, on every WHO table: an
    entry's age, one a hair off it either way (to 4 decimals or not), a day after it,
    before the first and after the last entry."""
    assert global_functions.nearest_lowest_index is growth._nearest_lowest_index
    tables = who_tables()
    assert len(tables) >= 8 and max(len(table) for table in tables) > 1000
    for table in tables:
        ages = [entry["decimal_age"] for entry in table]
        sample = ages[::max(1, len(ages) // 40)] + ages[-2:]
        probes = [age + offset for age in sample
                  for offset in (0, 4e-5, -4e-5, 6e-5, -6e-5, DAY)]
        probes += [ages[0] - 1, ages[-1] + 1]
        for age in probes:
            assert growth._nearest_lowest_index(table, age) == growth._walked_index(
                table, age), (len(table), age)


def test_a_table_out_of_age_order_is_walked_as_rcpchgrowth_would():
    table = [{"decimal_age": age} for age in (0.0, 2.0, 1.0, 3.0)]
    for age in (-1, 0, 0.5, 1, 1.5, 2, 2.5, 3, 4, math.nan):
        assert growth._nearest_lowest_index(table, age) == growth._walked_index(table, age)


def test_an_sds_is_the_same_whichever_way_the_age_is_found(monkeypatch):
    cases = [(sex, kind, value, age) for sex in Sex
             for kind, value, age in ((Kind.WEIGHT, 9.7, 1.04), (Kind.HEIGHT, 87.1, 2.0),
                                      (Kind.HEIGHT, 118.0, 6.3), (Kind.BMI, 15.2, 11.45),
                                      (Kind.HEAD_CIRCUMFERENCE, 47.9, 3.3))]
    found = [growth._sds.__wrapped__(sex, kind, value, growth._reference_age(kind, age))
             for sex, kind, value, age in cases]
    monkeypatch.setattr(global_functions, "nearest_lowest_index", growth._walked_index)
    walked = [growth._sds.__wrapped__(sex, kind, value, growth._reference_age(kind, age))
              for sex, kind, value, age in cases]
    assert found == walked


def test_a_centile_is_rcpchgrowths_to_a_billionth():
    for tenth in range(-90, 91):
        sds = tenth / 10 + 0.0123
        assert math.isclose(growth._centile(sds), global_functions.centile(sds),
                            rel_tol=1e-9, abs_tol=1e-9), sds


def test_tables_made_anew_each_time_are_not_kept_without_end():
    for count in range(3 * growth.TABLES_LIMIT):
        table = [{"decimal_age": age / 10} for age in range(20)]
        assert growth._nearest_lowest_index(table, 1.05) == 10
        assert len(growth._TABLE_AGES) <= growth.TABLES_LIMIT, count
