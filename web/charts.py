"""Line charts computed on the server, drawn as SVG by templates/components/chart.html.

Why on the server: charts must work with JavaScript off and under a strict CSP. This module
does all the arithmetic so the template only prints values (callers put the same numbers in
a data table for screen readers). No Flask here, so tests reach it directly.

Layout choices: the viewBox is 320 units wide, so on a 320 px phone it is drawn at about
scale 1 and 13-unit text stays legible; on wider screens the SVG grows to ~40rem with the
text. Series differ by dash pattern and marker shape (never by colour alone), hence at most
three series.

Reference lines (a growth chart's centiles) are drawn but are not series: thin, without
markers, each named by a short label at its right end; they take part in the y axis and are
cut to the x span of the series, whose data they frame. Their points are printed in their
own units (months, kg), as the standards give them, and one SVG transform per chart places
them: a line's texts are written once per process, where placing its hundreds of points in
pixels on every view was most of a growth chart's cost. The template keeps their stroke
from scaling with that transform (vector-effect), and the style sheet gives it the width of
one unit of the viewBox, as the series' strokes have.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

FONT_SIZE = 13
CHAR_WIDTH = 0.6 * FONT_SIZE  # a generous average glyph width: labels are never measured
MIN_X_GAP = 60  # viewBox units between x tick labels, whatever their length
STYLES = 3  # solid line + circles, dashed + squares, dotted + triangles
EPSILON = 1e-9


@dataclass(frozen=True)
class Point:
    """x: a date's ordinal (`date.toordinal()`) or an age in months; y: the measured value."""

    x: float
    y: float


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class ReferenceLine:
    """A line drawn behind the series to read them against (a centile): `label` is printed
    at its right end ("50e"); `dashed` sets it apart from its neighbours without colour."""

    label: str
    points: tuple[Point, ...]
    dashed: bool = False


@dataclass(frozen=True)
class Rect:
    left: float
    top: float
    right: float
    bottom: float
    width: float
    height: float


@dataclass(frozen=True)
class XTick:
    x: float  # pixel position; the label is centred on it, at Chart.x_label_y
    label: str
    value: float


@dataclass(frozen=True)
class YTick:
    y: float  # pixel position of the gridline
    text_y: float  # baseline that centres the label on the gridline
    label: str
    value: float


@dataclass(frozen=True)
class DrawnSeries:
    name: str
    style_index: int  # 0, 1, 2: picks dash pattern, marker shape and colour class
    points_attr: str  # for <polyline points>; "" when there is a single point (no line)
    markers: tuple[tuple[float, float], ...]  # (cx, cy) of every point


@dataclass(frozen=True)
class DrawnReference:
    label: str
    points_attr: str  # for <polyline points>, in units (Chart.reference_transform), 2 or more
    dashed: bool
    label_x: float  # start of the label (text-anchor="start"), just right of the line's end
    label_y: float  # baseline, moved apart from the other labels so none overlap


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    font_size: int
    plot: Rect
    series: tuple[DrawnSeries, ...]
    y_ticks: tuple[YTick, ...]
    x_ticks: tuple[XTick, ...]
    y_label_x: float  # right edge of the y labels (text-anchor="end")
    x_label_y: float  # baseline of the x labels (text-anchor="middle")
    legend: bool  # a visible legend only makes sense with two series or more
    empty: bool  # no point at all: the caller says so in words instead
    references: tuple[DrawnReference, ...] = ()  # drawn under the series, lowest first
    reference_transform: str = ""  # SVG transform from the lines' units to pixels


def nice_step(rough: float) -> float:
    """The smallest 1, 2 or 5 × 10^n not below `rough`: round steps are easy to read."""
    power = 10.0 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough * (1 - EPSILON))


def _multiples(lo: float, hi: float, step: float) -> list[float]:
    """Multiples of `step` in [lo, hi], rounded so that 3 × 0.1 is 0.3, not 0.30000000000000004."""
    decimals = max(0, -math.floor(math.log10(step) + EPSILON))
    first, last = math.ceil(lo / step - EPSILON), math.floor(hi / step + EPSILON)
    return [round(k * step, decimals) for k in range(first, last + 1)]


def _y_axis(lo: float, hi: float, floor: float | None) -> tuple[float, float, list[float]]:
    """Axis bounds and 4 to 6 round ticks; the padding never goes below `floor`."""
    floor = -math.inf if floor is None else min(floor, lo)  # never hide a real value
    if hi - lo <= EPSILON * max(1.0, abs(lo)):
        # One value (or equal values): centre it in a range of five round steps. Spans too
        # small to matter (or zero) get a unit-sized one rather than a subnormal step.
        middle = (lo + hi) / 2
        span = max(abs(middle) * 0.2, (hi - lo) * 4)
        step = nice_step((span if span > EPSILON else 2.0) / 4)
        bottom = max(middle - 2.5 * step, floor)
        top = bottom + 5 * step
        return bottom, top, _multiples(bottom, top, step)
    step = nice_step((hi - lo) / 5)
    while True:
        bottom = max(math.floor(lo / step + EPSILON) * step, floor)
        top = math.ceil(hi / step - EPSILON) * step
        if len(_multiples(bottom, top, step)) <= 6:
            break
        step = nice_step(step * 1.01)
    while len(_multiples(bottom, top, step)) < 4:
        # 1-2-5 steps can jump from 7 ticks to 3: add a step where the floor allows it.
        if bottom - step >= floor - EPSILON:
            bottom -= step
        else:
            top += step
    return bottom, top, _multiples(bottom, top, step)


def _spread(ticks: list[tuple[float, str]], lo: float, hi: float, plot_width: float) -> bool:
    """At most 5 ticks, centred labels at least MIN_X_GAP (or their own width) apart."""
    if not 2 <= len(ticks) <= 5:
        return False
    widest = max(len(label) for _, label in ticks) * CHAR_WIDTH
    gap = min(b - a for (a, _), (b, _) in zip(ticks, ticks[1:], strict=False))
    return gap / (hi - lo) * plot_width >= max(MIN_X_GAP, widest + 6)


def _x_ticks(lo: float, hi: float, plot_width: float, x_label: Callable[[float], str],
             candidates: Sequence[float] | None) -> list[tuple[float, str]]:
    """Ticks from the caller's candidates (every k-th one), else round 1-2-5 steps.

    Candidates let dates tick on the first of a month, which no 1-2-5 step of days does.
    Steps are at least 1 (a day or a month): a half-day tick would repeat a date label.
    """
    inside = sorted({c for c in candidates or () if lo - EPSILON <= c <= hi + EPSILON})
    for every in range(1, len(inside)):
        ticks = [(value, x_label(value)) for value in inside[::every]]
        if _spread(ticks, lo, hi, plot_width):
            return ticks
    for most in range(5, 1, -1):
        step = max(1.0, nice_step((hi - lo) / most))
        ticks = [(value, x_label(value)) for value in _multiples(lo, hi, step)]
        if _spread(ticks, lo, hi, plot_width):
            return ticks
    # No round step fits: label the first and the last point, or only the first.
    ends = [(lo, x_label(lo)), (hi, x_label(hi))]
    fits = (len(ends[0][1]) + len(ends[1][1])) / 2 * CHAR_WIDTH + 6 <= plot_width
    return ends if fits else ends[:1]


def _tenths(value: float) -> int:
    """A position in tenths of a pixel, what the page prints: rounding a float to an integer
    costs about half of round(value, 1), and a growth chart places some 480 points."""
    return round(value * 10)


def _px(value: float) -> float:
    return _tenths(value) / 10


class _TenthsText(dict):
    """tenths -> format(tenths / 10, "g"): 30 and 30.5 (not 30.0). The texts of 0 to 400
    pixels are written once per process; any other is written when asked for, not kept."""

    def __missing__(self, tenths: int) -> str:
        return format(tenths / 10, "g")


_TENTHS_TEXT = _TenthsText((tenths, format(tenths / 10, "g")) for tenths in range(4001))


def _pixels(pairs) -> str:
    """`x,y x,y …` of pairs of positions in tenths of a pixel (_tenths), each number as
    format(pixels, "g") writes it: looked up rather than formatted, a formatted float
    costing as much as the arithmetic that placed it."""
    text = _TENTHS_TEXT
    return " ".join([f"{text[x]},{text[y]}" for x, y in pairs])


def _decimals(scale: float) -> int:
    """How many decimals a coordinate in units needs for its last one to stay within a
    tenth of a pixel, at `scale` pixels a unit."""
    return max(0, math.ceil(math.log10(scale * 10)))


def _unit(value: float, decimals: int) -> str:
    """A coordinate in units as short as it can be written: 2.5, not 2.50."""
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _unit_text(point: Point, decimals: tuple[int, int]) -> str:
    return f"{_unit(point.x, decimals[0])},{_unit(point.y, decimals[1])}"


# A tuple of points (a reference line's, which its caller keeps: the WHO standards are the
# same for every child of one sex) -> (the tuple, its finite points in x order, their xs,
# their texts in units by decimals).
_ORDERED: dict[int, tuple] = {}
ORDERED_LIMIT = 256


def _ordered(points: Sequence[Point]) -> tuple[list[Point], list[float], dict]:
    """A line's finite points in x order, a point equal to the one before it once, their
    xs, and where their texts are kept (_units); worked out once for a tuple seen again
    (the entry keeps the tuple, so that its id is not another's)."""
    known = _ORDERED.get(id(points)) if type(points) is tuple else None
    if known is not None and known[0] is points:
        return known[1], known[2], known[3]
    line = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    if any(b.x < a.x for a, b in zip(line, line[1:], strict=False)):
        line.sort(key=lambda p: p.x)
    line = [p for index, p in enumerate(line) if index == 0 or line[index - 1] != p]
    xs, texts = [p.x for p in line], {}
    if type(points) is tuple:
        if len(_ORDERED) >= ORDERED_LIMIT:
            _ORDERED.clear()
        _ORDERED[id(points)] = (points, line, xs, texts)
    return line, xs, texts


class Cut(NamedTuple):
    """A line between two xs (_clip): its points; which of the line's points in x order it
    takes whole; the points where it crosses the ends, None where it does not."""

    points: list[Point]
    whole: slice
    head: Point | None
    tail: Point | None


def _clip(points: Sequence[Point], lo: float, hi: float) -> Cut:
    """The part of a line between x = lo and x = hi: its points there as they are, and the
    points where it crosses lo and hi (by linear interpolation); points are taken in x
    order, non-finite ones dropped, a point equal to the one before it once. A reference
    line has hundreds of points: the ends are found by bisection and the points between
    are taken whole."""
    line, xs, _ = _ordered(points)
    if len(line) < 2 or lo > hi:
        return Cut([], slice(0, 0), None, None)
    first, last = bisect_left(xs, lo), bisect_right(xs, hi)
    head = tail = None
    if 0 < first < len(line) and xs[first] != lo:  # a segment crosses lo
        head = _at(line[first - 1], line[first], lo)
    kept = [head] if head is not None else []
    kept.extend(line[first:last])  # the crossing at lo is left of them all
    if 0 < last < len(line) and xs[last - 1] != hi:  # a segment crosses hi
        cut = _at(line[last - 1], line[last], hi)
        if not kept or kept[-1] != cut:
            kept.append(tail := cut)
    return Cut(kept, slice(first, last), head, tail)


def _units(points: Sequence[Point], cut: Cut, decimals: tuple[int, int]) -> str:
    """A cut line's `x,y x,y …` in units, with `decimals` for x and y: the texts of the
    points it takes whole are written once per line and decimals."""
    line, _, kept = _ordered(points)
    texts = kept.get(decimals)
    if texts is None:
        texts = kept[decimals] = [_unit_text(p, decimals) for p in line]
    words = texts[cut.whole]
    if cut.head is not None:
        words.insert(0, _unit_text(cut.head, decimals))
    if cut.tail is not None:
        words.append(_unit_text(cut.tail, decimals))
    return " ".join(words)


def _at(a: Point, b: Point, x: float) -> Point:
    """The point of the segment from a to b (a.x < x < b.x) at x."""
    return Point(x, a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x))


def _apart(baselines: list[float], gap: float, lo: float, hi: float) -> list[float]:
    """Label baselines moved at least `gap` apart in their own order, kept inside [lo, hi]
    while there is room: the nearest fit to where each line ends."""
    order = sorted(range(len(baselines)), key=lambda i: baselines[i])
    placed = [baselines[i] for i in order]
    for k in range(len(placed)):
        placed[k] = max(placed[k], lo if k == 0 else placed[k - 1] + gap)
    for k in range(len(placed) - 1, -1, -1):
        placed[k] = min(placed[k], hi if k == len(placed) - 1 else placed[k + 1] - gap)
    moved = [0.0] * len(baselines)
    for k, index in enumerate(order):
        moved[index] = _px(placed[k])
    return moved


def line_chart(series: Sequence[Series], *, x_label: Callable[[float], str],
               y_label: Callable[[float], str], y_floor: float | None = None,
               x_candidates: Sequence[float] | None = None,
               references: Sequence[ReferenceLine] = (),
               width: int = 320, height: int = 200) -> Chart:
    """Scale every series onto one shared pair of axes, ready for the chart macro.

    `y_floor` is the lowest value the y axis may show when padding (0 for a weight, so a
    single measure does not produce negative ticks); values below it still show.
    `x_candidates` are x values the caller would like ticks on (the first day of each month,
    ages 0, 3, 6, 12… months); every k-th one is kept so labels do not overlap.
    `references` are drawn behind the series, cut to the series' x span (one unit each side
    of a single x); the y axis takes in what remains of them, and a line with less than two
    points left is not drawn. Points are sorted by x; non-finite values are dropped.
    """
    if len(series) > STYLES:
        raise ValueError(f"at most {STYLES} series: beyond that, styles are not distinct")
    cleaned = [sorted((p for p in s.points if math.isfinite(p.x) and math.isfinite(p.y)),
                      key=lambda p: (p.x, p.y)) for s in series]
    every = [p for points in cleaned for p in points]
    if not every:
        return Chart(width, height, FONT_SIZE, Rect(0, 0, 0, 0, 0, 0), (), (), (), 0, 0,
                     len(series) > 1, True)

    x_lo, x_hi = min(p.x for p in every), max(p.x for p in every)
    single_x = x_hi - x_lo <= EPSILON * max(1.0, abs(x_lo))
    span = (x_lo - 1, x_hi + 1) if single_x else (x_lo, x_hi)
    kept = [(line, cut) for line in references
            if len((cut := _clip(line.points, *span)).points) >= 2]
    values = [p.y for p in every] + [p.y for _, cut in kept for p in cut.points]
    y_lo, y_hi, y_values = _y_axis(min(values), max(values), y_floor)
    y_labels = [y_label(v) for v in y_values]
    # Margins fit the longest y label on the left and half the edge x labels on both sides,
    # and the reference lines' labels on the right.
    left = max(max(len(label) for label in y_labels) * CHAR_WIDTH + 10,
               len(x_label(x_lo)) * CHAR_WIDTH / 2 + 2)
    left = min(left, width * 0.35)
    right_margin = max(8.0, len(x_label(x_hi)) * CHAR_WIDTH / 2 + 2)
    if kept:
        right_margin = max(right_margin,
                           max(len(line.label) for line, _ in kept) * CHAR_WIDTH + 6)
    right = width - right_margin
    top, bottom = FONT_SIZE * 0.6 + 4, height - FONT_SIZE * 2
    plot = Rect(_px(left), _px(top), _px(right), _px(bottom), _px(right - left),
                _px(bottom - top))

    if single_x:
        # One date or age: pad by one unit each side so the point sits in the middle.
        x_ticks = [(x_lo, x_label(x_lo))]
    else:
        x_ticks = _x_ticks(x_lo, x_hi, right - left, x_label, x_candidates)
    x_lo, x_hi = span

    x_span, plot_width = x_hi - x_lo, right - left
    y_span, plot_height = y_hi - y_lo, bottom - top

    def tx(x: float) -> int:
        return _tenths(left + (x - x_lo) / x_span * plot_width)

    def ty(y: float) -> int:
        return _tenths(bottom - (y - y_lo) / y_span * plot_height)

    def sx(x: float) -> float:
        return tx(x) / 10

    def sy(y: float) -> float:
        return ty(y) / 10

    def placed(points: Sequence[Point]) -> list[tuple[int, int]]:
        """(tx(p.x), ty(p.y)) of each point, the same arithmetic written out (four calls a
        point cost twice the arithmetic)."""
        return [(round((left + (p.x - x_lo) / x_span * plot_width) * 10),
                 round((bottom - (p.y - y_lo) / y_span * plot_height) * 10)) for p in points]

    drawn = []
    for index, (source, points) in enumerate(zip(series, cleaned, strict=True)):
        tenths = placed(points)
        attr = _pixels(tenths) if len(tenths) > 1 else ""
        markers = tuple((x / 10, y / 10) for x, y in tenths)
        drawn.append(DrawnSeries(source.name, index, attr, markers))
    baselines = _apart([sy(cut.points[-1].y) + FONT_SIZE * 0.35 for _, cut in kept],
                       FONT_SIZE * 0.95, top + FONT_SIZE * 0.35, bottom + FONT_SIZE * 0.35)
    # Units to pixels, the arithmetic of tx and ty as one matrix for every reference line.
    x_scale, y_scale = plot_width / x_span, plot_height / y_span
    decimals = (_decimals(x_scale), _decimals(y_scale))
    drawn_references = tuple(
        DrawnReference(line.label, _units(line.points, cut, decimals), line.dashed,
                       _px(sx(cut.points[-1].x) + 4), baseline)
        for (line, cut), baseline in zip(kept, baselines, strict=True))
    transform = (f"matrix({x_scale:.10g} 0 0 {-y_scale:.10g} {left - x_lo * x_scale:.10g} "
                 f"{bottom + y_lo * y_scale:.10g})") if kept else ""
    return Chart(
        width=width, height=height, font_size=FONT_SIZE, plot=plot, series=tuple(drawn),
        y_ticks=tuple(YTick(sy(v), _px(sy(v) + FONT_SIZE * 0.35), label, v)
                      for v, label in zip(y_values, y_labels, strict=True)),
        x_ticks=tuple(XTick(sx(v), label, v) for v, label in x_ticks),
        y_label_x=_px(left - 6), x_label_y=_px(bottom + FONT_SIZE + 4),
        legend=len(series) > 1, empty=False, references=drawn_references,
        reference_transform=transform)
