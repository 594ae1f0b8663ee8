"""Server-drawn SVG charts: the arithmetic (web/charts.py) and the markup (chart.html)."""

from __future__ import annotations

import math
import re
from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from web import charts
from web.charts import Point, ReferenceLine, Series, line_chart, nice_step

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def short_date(value: float) -> str:
    return date.fromordinal(int(value)).strftime("%d/%m/%Y")


def months(value: float) -> str:
    return f"{value:g} mois"


def chart_of(*values_by_series, **options):
    series = [Series(f"s{i}", tuple(Point(x, y) for x, y in values))
              for i, values in enumerate(values_by_series)]
    return line_chart(series, x_label=options.pop("x_label", months), y_label=number, **options)


def is_nice(value: float) -> bool:
    if value == 0:
        return True
    mantissa = abs(value) / 10 ** math.floor(math.log10(abs(value)))
    return any(math.isclose(mantissa, m) for m in (1, 2, 5, 10))


# --- arithmetic -----------------------------------------------------------------------------

@pytest.mark.parametrize(("rough", "expected"), [
    (0.07, 0.1), (0.1, 0.1), (1.2, 2), (3, 5), (5, 5), (7, 10), (130, 200), (4e8, 5e8)])
def test_nice_step_rounds_up_to_1_2_or_5(rough, expected):
    assert math.isclose(nice_step(rough), expected)


@pytest.mark.parametrize("values", [
    (70.3, 73.6), (36.1, 39.8), (0.2, 0.9), (-5, 3), (5.9, 14.1), (0.001, 1e9), (120, 121)])
def test_y_ticks_are_four_to_six_round_values_evenly_spaced(values):
    chart = chart_of(list(enumerate(values)))
    ticks = [tick.value for tick in chart.y_ticks]
    assert 4 <= len(ticks) <= 6
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1 and is_nice(steps.pop())
    assert ticks[0] <= min(values) and ticks[-1] >= max(values)
    assert [tick.label for tick in chart.y_ticks] == [number(v) for v in ticks]


def test_lowest_value_at_the_bottom_highest_at_the_top():
    chart = chart_of([(0, 71.0), (10, 74.0), (20, 70.0)])
    plot = chart.plot
    (x0, y0), (x1, y1), (x2, y2) = chart.series[0].markers
    assert x0 == plot.left and x2 == plot.right and x0 < x1 < x2
    assert y1 == plot.top and y2 == plot.bottom  # 70 and 74 are ticks: the grid's bounds
    assert plot.top < y0 < plot.bottom
    assert [tick.y for tick in chart.y_ticks] == sorted((tick.y for tick in chart.y_ticks),
                                                         reverse=True)


def test_points_are_drawn_in_x_order_whatever_the_input_order():
    chart = chart_of([(24, 12.0), (0, 3.5), (12, 9.6), (6, 7.9)])
    xs = [cx for cx, _ in chart.series[0].markers]
    assert xs == sorted(xs)
    pairs = chart.series[0].points_attr.split()
    assert [float(pair.split(",")[0]) for pair in pairs] == xs
    assert all(len(part.split(".")[-1]) <= 1 for pair in pairs for part in pair.split(","))
    # Each number as format(number, "g") writes it: 174 rather than 174.0 (a value of 0 is
    # on the plot's bottom edge, a whole pixel).
    chart = chart_of([(0, 0.0), (12, 9.6), (24, 12.0)])
    pairs = chart.series[0].points_attr.split()
    assert pairs == [f"{cx:g},{cy:g}" for cx, cy in chart.series[0].markers]
    assert pairs[0].endswith(f",{chart.plot.bottom:g}") and float(chart.plot.bottom).is_integer()


@pytest.mark.parametrize("width", [320, 640, 1500])
def test_pixels_are_written_alike_within_and_beyond_the_texts_kept(width):
    """Pixel texts up to 400 px are written once per process, any other when asked for:
    a chart wider than that prints its far points the same way, a tenth at most."""
    chart = chart_of([(0, 0.0), (7, 3.33), (12, 9.61), (24, 12.07)], width=width,
                     references=centile_lines(-1, 1))
    pairs = chart.series[0].points_attr.split()
    assert pairs == [f"{cx:g},{cy:g}" for cx, cy in chart.series[0].markers]
    assert chart.series[0].markers[-1][0] == chart.plot.right > (300 if width > 400 else 0)
    for pair in chart.series[0].points_attr.split():
        assert all(part == f"{float(part):g}" and re.fullmatch(r"\d+(\.\d)?", part)
                   for part in pair.split(",")), pair
    # The reference lines are in units, each number as short as it can be written.
    for line in chart.references:
        for pair in line.points_attr.split():
            assert all(re.fullmatch(r"-?\d+(\.\d*[1-9])?", part)
                       for part in pair.split(",")), pair


def test_one_point_is_a_centred_marker_without_a_line():
    day = date(2024, 3, 12).toordinal()
    chart = chart_of([(day, 72.4)], x_label=short_date)
    (series,) = chart.series
    assert series.points_attr == ""
    ((cx, cy),) = series.markers
    assert math.isclose(cx, (chart.plot.left + chart.plot.right) / 2, abs_tol=0.1)
    assert math.isclose(cy, (chart.plot.top + chart.plot.bottom) / 2, abs_tol=0.1)
    assert [tick.label for tick in chart.x_ticks] == ["12/03/2024"]
    assert 4 <= len(chart.y_ticks) <= 6


def test_equal_values_and_equal_x_do_not_divide_by_zero():
    chart = chart_of([(3, 5.0), (3, 5.0), (3, 5.0)])
    assert {marker for marker in chart.series[0].markers} == {chart.series[0].markers[0]}
    flat = chart_of([(0, 37.0), (5, 37.0)])
    assert flat.series[0].markers[0][1] == flat.series[0].markers[1][1]
    assert 4 <= len(flat.y_ticks) <= 6
    assert flat.y_ticks[0].value < 37 < flat.y_ticks[-1].value


def test_the_floor_stops_padding_from_inventing_negative_values():
    chart = chart_of([(0, 0.0)], y_floor=0)
    assert chart.y_ticks[0].value == 0
    assert chart.series[0].markers[0][1] == chart.plot.bottom
    assert chart_of([(0, 0.0)]).y_ticks[0].value < 0
    below = chart_of([(0, -2.0), (1, 3.0)], y_floor=0)  # a real value is never hidden
    assert below.y_ticks[0].value <= -2


def test_two_series_share_one_scale():
    systolic = [(0, 130.0), (30, 125.0), (60, 121.0)]
    diastolic = [(0, 85.0), (30, 80.0), (60, 78.0)]
    chart = chart_of(systolic, diastolic)
    assert chart.y_ticks[0].value <= 78 and chart.y_ticks[-1].value >= 130
    assert [s.style_index for s in chart.series] == [0, 1]
    assert all(a[1] < b[1] for a, b in zip(chart.series[0].markers, chart.series[1].markers,
                                           strict=True))
    assert chart.legend and not chart_of(systolic).legend


def test_no_point_makes_an_empty_chart_and_four_series_are_refused():
    assert chart_of([], []).empty
    assert not chart_of([(0, 1.0)]).empty
    with pytest.raises(ValueError, match="at most 3"):
        chart_of([(0, 1.0)], [(0, 1.0)], [(0, 1.0)], [(0, 1.0)])


@pytest.mark.parametrize(("first", "last"), [
    (date(2023, 1, 1), date(2024, 12, 31)), (date(2024, 5, 1), date(2024, 5, 9)),
    (date(2000, 1, 1), date(2024, 1, 1))])
def test_date_labels_do_not_overlap_at_320(first, last):
    days = range(first.toordinal(), last.toordinal() + 1, max(1, (last - first).days // 30))
    chart = chart_of([(day, 70 + day % 7) for day in days], x_label=short_date)
    positions = [tick.x for tick in chart.x_ticks]
    assert 1 <= len(positions) <= 5
    assert all(b - a >= 60 for a, b in zip(positions, positions[1:], strict=False))
    assert all(chart.plot.left <= x <= chart.plot.right for x in positions)
    assert len({tick.label for tick in chart.x_ticks}) == len(positions)


def test_caller_candidates_put_date_ticks_on_the_first_of_a_month():
    days = [date(2024, 1, 5), date(2024, 2, 11), date(2024, 6, 20), date(2024, 11, 15)]
    firsts = [date(2024, month, 1).toordinal() for month in range(1, 13)]
    chart = chart_of([(day.toordinal(), 70.0) for day in days],
                     x_label=short_date, x_candidates=firsts)
    labels = [tick.label for tick in chart.x_ticks]
    assert 2 <= len(labels) <= 5 and all(label.startswith("01/") for label in labels)
    assert all(b.x - a.x >= 60 for a, b in zip(chart.x_ticks, chart.x_ticks[1:], strict=False))


def test_growth_curve_ticks_are_round_ages():
    chart = chart_of([(m, 3.3 + m * 0.45) for m in (0, 1, 2, 4, 6, 9, 12, 18, 24)])
    ages = [tick.value for tick in chart.x_ticks]
    assert ages[0] == 0 and all(is_nice(b - a) for a, b in zip(ages, ages[1:], strict=False))
    assert all(b.x - a.x >= 60 for a, b in zip(chart.x_ticks, chart.x_ticks[1:], strict=False))


# --- reference lines (a growth chart's centiles) -------------------------------------------

def centile_lines(*offsets: float, start: float = 0, end: float = 120) -> list[ReferenceLine]:
    """Straight lines y = 10 + x / 10 + offset from x = start to end, every 6 units."""
    xs = [start + 6 * k for k in range(int((end - start) / 6) + 1)]
    return [ReferenceLine(f"{index}e", tuple(Point(x, 10 + x / 10 + offset) for x in xs),
                          dashed=index in (0, len(offsets) - 1))
            for index, offset in enumerate(offsets)]


def ref_points(chart, line) -> list[tuple[float, float]]:
    """A reference line's points in pixels: its units placed by the chart's transform."""
    a, b, c, d, e, f = map(float, re.fullmatch(r"matrix\((.+)\)",
                                               chart.reference_transform).group(1).split())
    assert b == c == 0  # no rotation, no shear: x gives x, y gives y
    return [(a * x + e, d * y + f) for x, y in (
        tuple(map(float, pair.split(","))) for pair in line.points_attr.split())]


def test_references_are_cut_to_the_series_span_and_are_not_series():
    chart = chart_of([(30, 14.0), (60, 16.5), (90, 19.0)], references=centile_lines(-2, 0, 2))
    assert len(chart.series) == 1 and not chart.legend
    assert [line.label for line in chart.references] == ["0e", "1e", "2e"]
    assert [line.dashed for line in chart.references] == [True, False, True]
    for line in chart.references:
        points = ref_points(chart, line)
        assert math.isclose(points[0][0], chart.plot.left, abs_tol=0.1)
        assert math.isclose(points[-1][0], chart.plot.right, abs_tol=0.1)
        assert [x for x, _ in points] == sorted(x for x, _ in points)
    # Cut exactly at the span's ends: y = 10 + 30 / 10 + 2 = 15 at x = 30 for the top line.
    top = ref_points(chart, chart.references[-1])[0][1]
    bottom_y = chart.plot.bottom - (15 - chart.y_ticks[0].value) / (
        chart.y_ticks[-1].value - chart.y_ticks[0].value) * chart.plot.height
    assert math.isclose(top, bottom_y, abs_tol=0.15)


def test_the_y_axis_takes_in_the_references_and_only_within_the_span():
    points = [(30, 14.0), (60, 16.5)]
    alone = chart_of(points, y_floor=0)
    framed = chart_of(points, y_floor=0, references=centile_lines(-6, 0, 8))
    assert framed.y_ticks[-1].value >= 10 + 60 / 10 + 8 > alone.y_ticks[-1].value
    assert framed.y_ticks[0].value <= 10 + 30 / 10 - 6
    # The lines run to x = 120 (y = 30 at the top): cut at 60, so 30 is not on the axis.
    assert framed.y_ticks[-1].value < 30
    for _, cy in framed.series[0].markers:
        assert framed.plot.top <= cy <= framed.plot.bottom
    for line in framed.references:
        assert all(framed.plot.top - 0.1 <= y <= framed.plot.bottom + 0.1
                   for _, y in ref_points(framed, line))


def test_reference_labels_sit_at_the_right_end_in_order_and_apart():
    # Lines 0.1 apart: their ends are within a pixel, the labels must still not overlap.
    chart = chart_of([(0, 10.0), (120, 22.0)], references=centile_lines(-0.2, -0.1, 0, 0.1,
                                                                         0.2))
    labels = chart.references
    assert all(line.label_x > chart.plot.right for line in labels)
    ys = [line.label_y for line in labels]
    assert ys == sorted(ys, reverse=True)  # lowest line, lowest label
    assert all(a - b >= chart.font_size * 0.95 - 0.1 for a, b in zip(ys, ys[1:], strict=False))
    widest = max(len(line.label) for line in labels) * 0.6 * chart.font_size
    assert all(line.label_x + widest <= chart.width for line in labels)
    # Far apart lines keep their labels level with their ends.
    spread = chart_of([(0, 10.0), (120, 22.0)], references=centile_lines(-8, 0, 8))
    for line in spread.references:
        assert math.isclose(line.label_y,
                            ref_points(spread, line)[-1][1] + chart.font_size * 0.35,
                            abs_tol=0.15)


def test_a_line_ending_inside_the_span_is_labelled_where_it_ends():
    chart = chart_of([(48, 50.0), (72, 51.0)], references=centile_lines(0, start=0, end=60))
    (line,) = chart.references
    end_x = ref_points(chart, line)[-1][0]
    assert chart.plot.left < end_x < chart.plot.right
    assert math.isclose(line.label_x, end_x + 4, abs_tol=0.15)


def test_references_outside_the_span_or_too_short_are_not_drawn():
    outside = chart_of([(70, 50.0), (80, 51.0)], references=centile_lines(0, start=0, end=60))
    assert outside.references == ()
    assert outside.plot.right == chart_of([(70, 50.0), (80, 51.0)]).plot.right
    one_point = ReferenceLine("x", (Point(75, 50.0),))
    assert chart_of([(70, 50.0), (80, 51.0)], references=[one_point]).references == ()
    assert chart_of([], references=centile_lines(0)).references == ()


@settings(deadline=None)
@given(st.integers(0, 6000), st.sampled_from([1, 2, 30, 730, 6900]), st.data())
def test_a_reference_line_lands_where_a_series_of_its_points_does(first, days, data):
    """A line written in units and placed by the chart's transform falls where the same
    points placed in pixels, as a series' markers are, fall: within a tenth of a pixel, on
    a chart of ages in months to the day (as the growth charts' are) over one day to 19
    years."""
    ages = data.draw(st.lists(st.integers(first, first + days), min_size=2, max_size=12,
                              unique=True))
    values = data.draw(st.lists(st.floats(0.5, 150), min_size=len(ages), max_size=len(ages)))
    points = tuple(Point(age * 12 / 365.25, y) for age, y in zip(ages, values, strict=True))
    chart = line_chart([Series("s", points)], x_label=number, y_label=number,
                       references=[ReferenceLine("r", points)])
    (line,) = chart.references
    placed = ref_points(chart, line)
    assert len(placed) == len(chart.series[0].markers)
    for (x, y), (cx, cy) in zip(placed, chart.series[0].markers, strict=True):
        assert math.isclose(x, cx, abs_tol=0.1) and math.isclose(y, cy, abs_tol=0.1)


def test_a_single_measure_gets_the_lines_one_unit_each_side():
    chart = chart_of([(42.5, 15.0)], references=centile_lines(-2, 0, 2))
    ((cx, _),) = chart.series[0].markers
    for line in chart.references:
        points = ref_points(chart, line)
        assert math.isclose(points[0][0], chart.plot.left, abs_tol=0.1)
        assert math.isclose(points[-1][0], chart.plot.right, abs_tol=0.1)
    assert math.isclose(cx, (chart.plot.left + chart.plot.right) / 2, abs_tol=0.1)


def test_charts_without_references_are_unchanged_by_them():
    points = [(0, 71.0), (10, 74.0), (20, 70.0)]
    assert chart_of(points) == chart_of(points, references=())
    assert chart_of(points).references == ()


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=20))
def test_any_finite_points_stay_inside_the_plot(points):
    chart = chart_of(points, x_label=number)
    plot = chart.plot
    assert 4 <= len(chart.y_ticks) <= 6
    for cx, cy in chart.series[0].markers:
        assert plot.left - 0.1 <= cx <= plot.right + 0.1
        assert plot.top - 0.1 <= cy <= plot.bottom + 0.1
    assert all(b.x - a.x >= 60 for a, b in zip(chart.x_ticks, chart.x_ticks[1:], strict=False))


def _clip_every_segment(points, lo, hi):
    """The reference: each segment of the line in x order, with its start when it is in
    [lo, hi] and the points where it crosses lo and hi (what _clip gives by bisection)."""
    line = sorted((p for p in points if math.isfinite(p.x) and math.isfinite(p.y)),
                  key=lambda p: p.x)
    line = [p for index, p in enumerate(line) if index == 0 or line[index - 1] != p]
    if len(line) < 2 or lo > hi:  # a point given twice is one point, not a line
        return []
    kept = []

    def keep(point):
        if not kept or kept[-1] != point:
            kept.append(point)

    def at(a, b, x):
        return Point(x, a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x))

    for a, b in zip(line, line[1:], strict=False):
        if a.x < lo < b.x:
            keep(at(a, b, lo))
        if lo <= a.x <= hi:
            keep(a)
        if a.x < hi < b.x:
            keep(at(a, b, hi))
    if lo <= line[-1].x <= hi:
        keep(line[-1])
    return kept


coordinate = st.one_of(st.integers(-5, 30).map(float), st.floats(-50, 50),
                       st.sampled_from([math.nan, math.inf, -math.inf]))


@settings(deadline=None)
@given(st.lists(st.tuples(coordinate, coordinate), max_size=30), coordinate, coordinate,
       st.booleans())
def test_a_line_is_cut_to_the_window_as_segment_by_segment(pairs, lo, hi, in_order):
    points = [Point(x, y) for x, y in pairs]
    if in_order:
        points.sort(key=lambda p: (p.x if math.isfinite(p.x) else 0.0))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = -10.0, 10.0
    assert charts._clip(points, lo, hi).points == _clip_every_segment(points, lo, hi)


def test_a_long_sorted_line_is_cut_where_the_window_is():
    line = [Point(x / 10, x * 2.0) for x in range(2000)]
    for lo, hi in ((50.05, 50.25), (500, 600), (-9, -1), (-1, 0), (0, 199.9), (3, 2)):
        assert charts._clip(line, lo, hi).points == _clip_every_segment(line, lo, hi)
    assert [p.x for p in charts._clip(line, 50.05, 50.25).points] == [50.05, 50.1, 50.2, 50.25]
    assert charts._clip(line, 500, 600).points == []
    assert charts._clip(line, -1, 0).points == [Point(0, 0)]
    # A point given twice, a step (the day length gives way to height), ends on points.
    steps = [Point(0, 0), Point(1, 1), Point(1, 1), Point(1, 3), Point(2, 3), Point(3, 0)]
    for lo, hi in ((0, 3), (0.5, 2.5), (1, 1), (1, 2), (-1, 0.5), (2.5, 9), (2, 1)):
        assert charts._clip(steps, lo, hi).points == _clip_every_segment(steps, lo, hi), (
            lo, hi)
    assert charts._clip(steps, 0.5, 1.5).points == [Point(0.5, 0.5), Point(1, 1),
                                                    Point(1, 3), Point(1.5, 3)]
    assert charts._clip(steps, 1, 2).points == [Point(1, 1), Point(1, 3), Point(2, 3)]


# --- markup ---------------------------------------------------------------------------------

def render(source: str, **context) -> BeautifulSoup:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)
    template = env.from_string(
        '{% from "components/chart.html" import line_chart, data_table %}' + source)
    return BeautifulSoup(template.render(**context), "html.parser")


def chart_markup(chart, labels=None) -> BeautifulSoup:
    return render('{{ line_chart(chart, "poids", "Poids", "De 70 à 74 kg.", labels) }}',
                  chart=chart, labels=labels)


def test_the_chart_is_one_named_image_without_inline_style():
    page = chart_markup(chart_of([(0, 70.0), (30, 74.0)]))
    svg = page.select_one("figure.chart > svg")
    assert svg["role"] == "img" and svg["focusable"] == "false"
    assert svg["viewbox"] == "0 0 320 200"
    title_id, desc_id = svg["aria-labelledby"].split()
    assert page.find(id=title_id).name == "title" and page.find(id=title_id).text == "Poids"
    assert page.find(id=desc_id).name == "desc" and page.find(id=desc_id).text == "De 70 à 74 kg."
    assert page.find(attrs={"style": True}) is None and page.find("script") is None
    assert not any(attr in tag.attrs for tag in page.find_all(True)
                   for attr in ("fill", "stroke", "color") if tag.get(attr) not in (None, "none"))
    assert len(page.select("polyline")) == 1 and len(page.select("circle")) == 2
    assert page.select_one(".chart__legend") is None
    assert [t.text for t in page.select("text")][:2] == ["70", "71"]


def test_a_legend_with_a_distinct_sample_for_each_series():
    chart = chart_of([(0, 130.0), (30, 125.0)], [(0, 85.0), (30, 80.0)], [(0, 60.0)])
    page = chart_markup(chart, ["Systolique", "Diastolique", "Pouls"])
    items = page.select(".chart__legend li")
    assert [item.get_text(strip=True) for item in items] == ["Systolique", "Diastolique", "Pouls"]
    samples = [item.svg for item in items]
    assert all(sample["aria-hidden"] == "true" for sample in samples)
    assert [sample.find(["circle", "rect", "polygon"]).name for sample in samples] == [
        "circle", "rect", "polygon"]
    dashes = [sample.line.get("stroke-dasharray") for sample in samples]
    assert len(set(dashes)) == 3
    lines = page.select("figure > svg polyline")
    assert [line.get("stroke-dasharray") for line in lines] == dashes[:2]  # one point: no line
    # Every point of a series carries its series' shape, the one its legend sample shows.
    for index, group in enumerate(page.select("figure > svg .chart__series")):
        shapes = [marker.find(["circle", "rect", "polygon"]).name
                  for marker in group.select(".chart__marker")]
        assert shapes == [samples[index].find(["circle", "rect", "polygon"]).name] * len(
            chart.series[index].markers)


def test_reference_lines_are_drawn_under_the_series_thin_and_labelled():
    chart = chart_of([(30, 14.0), (60, 16.5), (90, 19.0)], references=centile_lines(-2, 0, 2))
    page = chart_markup(chart)
    svg = page.select_one("figure.chart > svg")
    groups = svg.find_all("g", recursive=False)
    names = [group["class"][0] for group in groups]
    assert names.index("chart__reference") < names.index("chart__series")
    lines = svg.select("g.chart__reference polyline")
    assert [line["points"] for line in lines] == [line.points_attr for line in chart.references]
    # In units, placed by one transform; the stroke does not scale with it (its width is the
    # style sheet's: one unit of the viewBox, tests/browser/test_growth_charts.py).
    assert svg.select_one("g.chart__reference")["transform"] == chart.reference_transform
    assert {line["vector-effect"] for line in lines} == {"non-scaling-stroke"}
    assert [line.get("stroke-dasharray") for line in lines] == ["5 3", None, "5 3"]
    assert svg.select_one("g.chart__reference")["fill"] == "none"
    assert [text.get_text() for text in svg.select("g.chart__reference-labels text")] == [
        "0e", "1e", "2e"]
    assert svg.select(".chart__reference .chart__marker") == []
    assert page.find(attrs={"style": True}) is None
    assert not any(attr in tag.attrs for tag in page.find_all(True)
                   for attr in ("fill", "stroke", "color") if tag.get(attr) not in (None, "none"))
    assert page.select_one(".chart__legend") is None
    assert chart_markup(chart_of([(0, 70.0), (30, 74.0)])).select(".chart__reference") == []


def test_an_empty_chart_renders_nothing():
    assert chart_markup(chart_of([])).text.strip() == ""


def test_the_data_table_has_a_caption_and_scoped_headers():
    page = render('{{ data_table("mesures", "Poids mesurés", headers, rows) }}',
                  headers=["Date", "Poids (kg)"], rows=[["12/03/2024", "72,4"],
                                                       ["12/04/2024", "71,9"]])
    region = page.select_one("div.table-scroll")
    assert region["role"] == "region" and region["tabindex"] == "0"
    caption = page.find(id=region["aria-labelledby"])
    assert caption.name == "caption" and caption.text == "Poids mesurés"
    assert page.table["id"] == "mesures"
    assert [th["scope"] for th in page.select("thead th")] == ["col", "col"]
    rows = page.select("tbody tr")
    assert [row.th["scope"] for row in rows] == ["row", "row"]
    assert [row.th.text for row in rows] == ["12/03/2024", "12/04/2024"]
    assert [row.td.text for row in rows] == ["72,4", "71,9"]


@settings(deadline=None)
@given(st.lists(st.tuples(st.floats(0, 228), st.floats(0.5, 150)), min_size=1, max_size=20),
       st.lists(st.floats(-40, 40), min_size=1, max_size=5, unique=True))
def test_any_references_stay_inside_the_plot_with_labels_apart(points, offsets):
    chart = chart_of(points, x_label=number, y_floor=0,
                     references=centile_lines(*sorted(offsets), end=228))
    plot = chart.plot
    for line in chart.references:
        for x, y in ref_points(chart, line):
            assert plot.left - 0.1 <= x <= plot.right + 0.1
            assert plot.top - 0.1 <= y <= plot.bottom + 0.1
        assert line.label_x + len(line.label) * 0.6 * chart.font_size <= chart.width + 0.1
    ys = sorted(line.label_y for line in chart.references)
    assert all(b - a >= chart.font_size * 0.95 - 0.1 for a, b in zip(ys, ys[1:], strict=False))


def test_a_note_goes_under_the_chart_inside_the_figure():
    page = render('{{ line_chart(chart, "poids", "Poids", "De 70 à 74 kg.", none, note) }}',
                  chart=chart_of([(0, 70.0), (30, 74.0)]), note="Courbes : OMS")
    note = page.select_one("figure.chart > p.chart__note")
    assert note.get_text() == "Courbes : OMS" and note.find_previous_sibling("svg")
    assert chart_markup(chart_of([(0, 70.0)])).select(".chart__note") == []
