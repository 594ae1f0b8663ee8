"""Measures: the latest of each kind with the BMI, and per kind a history drawn as an SVG
chart with the same data in a table right below, 20 measures a page. A child's chart is by
age, against the WHO centile lines for the child's sex, each measure's centile band in
words in the table."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from types import SimpleNamespace

from flask import abort, flash, request, url_for

from blueprints.profile import bp
from domain import growth as who
from domain import measures
from domain.policy import Area, ProfileAction
from domain.profile import is_minor
from domain.representation import today_in_france
from extensions import db, keys
from web import charts
from web.access import actor, allow
from web.i18n import format_date, format_decimal, ngettext
from web.i18n import gettext as _
from web.labels import growth as growth_labels
from web.labels.profile import MEASURES, field_label, message
from web.labels.profile_display import measure_text
from web.render import redirect_to, render_page, see_other, swap_or_see_other
from web.space import owner as space_owner

patient = allow(Area.PATIENT_SPACE)
PER_PAGE = 20


def _kind(slug: str) -> measures.MeasureKind:
    kind = measures.BY_SLUG.get(slug)
    if kind is None or kind not in measures.kinds_for(space_owner(), today_in_france()):
        abort(404)
    return kind


def _blank(today: date) -> dict:
    return {"measured_on": {"day": str(today.day), "month": str(today.month),
                            "year": str(today.year)}}


@bp.get("/mesures")
@patient
def measures_overview():
    today = today_in_france()
    kinds = measures.kinds_for(space_owner(), today)
    latest = measures.latest(db.session, keys.ring, space_owner(), kinds)
    db.session.commit()
    weight, height = latest.get("weight"), latest.get("height")
    bmi, minor = None, is_minor(space_owner(), today)
    if weight and height and not minor:
        bmi = format_decimal(measures.bmi(weight.values["value"], height.values["value"]))
    return render_page("profile/measures.html", kinds=kinds, latest=latest, bmi=bmi,
                       child_bmi=minor and space_owner().birth_date is not None)


def _growth(kind: measures.MeasureKind) -> bool:
    return kind.growth and space_owner().birth_date is not None and is_minor(
        space_owner(), today_in_france())


def _standards(kind: measures.MeasureKind | str, items: list):
    """The WHO standards on a child's chart of `items` (measures or BMI readings): the
    centile lines (in months, the chart's x), each item's band in words, the sentence under
    the chart and the one the chart's description gains. No sex on record: no lines, and a
    sentence that says why."""
    key = kind if isinstance(kind, str) else kind.key
    sex = who.sex_of(db.session, space_owner())
    if sex is None:
        return SimpleNamespace(lines=(), bands={}, note=str(growth_labels.SEX_UNKNOWN),
                               description="")
    found = who.child_chart(sex, key, space_owner().birth_date,
                            [(item.day, _value(item)) for item in items])
    extremes = (min(who.CHART_CENTILES), max(who.CHART_CENTILES))
    lines = tuple(charts.ReferenceLine(growth_labels.centile_label(centile), points,
                                       dashed=centile in extremes)
                  for centile, points in _in_months(sex, key)) if found.lines else ()
    bands = {item.id: growth_labels.band_text(assessment and assessment.band)
             for item, assessment in zip(items, found.assessments, strict=True)}
    return SimpleNamespace(
        lines=lines, bands=bands, note=str(growth_labels.SOURCE) if lines else "",
        description=str(growth_labels.LINES_DESCRIPTION[sex]) if lines else "")


@lru_cache(maxsize=16)
def _in_months(sex: who.Sex, key: str) -> tuple[tuple[float, tuple[charts.Point, ...]], ...]:
    """The standards' lines of a sex and kind, the ones a child's chart is given
    (who.child_chart), as (centile, points with the chart's x, the age in months): the
    same for every child, made once per process instead of some 1,200 points on every
    view (and found by the sex and kind: a key of the lines themselves would hash every
    point on every view)."""
    return tuple((line.centile, tuple(charts.Point(age * 12, value)
                                      for age, value in line.points))
                 for line in who.reference_lines(sex, key))


def _value(item) -> float:
    return item.value if isinstance(item, measures.BmiReading) else item.values["value"]


def _chart(key: str, items: list, growth: bool,
           references: tuple[charts.ReferenceLine, ...] = ()):
    """The page's measures (or BMI readings) as chart series: by date, or by age in months
    for children (to the day, as the reference lines are)."""
    def x_of(item):
        if growth:
            return who.decimal_age(space_owner().birth_date, item.day) * 12
        return item.day.toordinal()

    names = ("systolic", "diastolic") if key == "blood_pressure" else ("value",)
    series = [charts.Series(name, tuple(
        charts.Point(x_of(item), _value(item) if name == "value" else item.values[name])
        for item in items)) for name in names]
    days = {item.day for item in items}
    short = (max(days) - min(days)).days <= 62  # within two months: label days

    def x_label(value: float) -> str:
        if growth:
            return ngettext("%(num)s mois", "%(num)s mois", int(value))
        return format_date(date.fromordinal(int(value)), "d MMM" if short else "MMM y")

    candidates = None
    if not growth and not short:  # ticks on the first of a month
        first, last = min(days), max(days)
        candidates = [date(year, month, 1).toordinal()
                      for year in range(first.year, last.year + 1) for month in range(1, 13)
                      if first <= date(year, month, 1) <= last]
    return charts.line_chart(series, x_label=x_label, y_label=format_decimal, y_floor=0,
                             x_candidates=candidates or None, references=references)


def _chart_title(kind: measures.MeasureKind, growth: bool) -> str:
    if growth:
        return _("Courbe de croissance : %(measure)s selon l’âge", measure=MEASURES[kind.key])
    return _("%(measure)s : évolution", measure=MEASURES[kind.key])


def _describe(kind: measures.MeasureKind, items: list[measures.MeasureView],
              texts: dict) -> str:
    """The chart in one sentence: first and last measure, lowest and highest (`texts`: each
    measure's text by id, written once for the sentence and the table)."""
    if not items:
        return ""
    newest, oldest = items[0], items[-1]
    if len(items) == 1:
        return _("Une seule mesure : %(value)s le %(date)s.",
                 value=texts[newest.id],
                 date=format_date(newest.day, "d MMMM y"))
    key = "systolic" if kind.key == "blood_pressure" else "value"
    low = min(items, key=lambda item: item.values[key])
    high = max(items, key=lambda item: item.values[key])
    return _("%(count)s mesures, de %(first)s le %(first_date)s à %(last)s le %(last_date)s ; "
             "la plus basse %(low)s, la plus haute %(high)s.", count=len(items),
             first=texts[oldest.id],
             first_date=format_date(oldest.day, "d MMMM y"),
             last=texts[newest.id],
             last_date=format_date(newest.day, "d MMMM y"),
             low=texts[low.id], high=texts[high.id])


def _history_page(kind: measures.MeasureKind, *, typed=None, errors=(), status=200,
                  announce=None):
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    items, total, page, pages = measures.history_page(db.session, keys.ring, space_owner(),
                                                      kind, page, PER_PAGE)
    today = today_in_france()
    growth = _growth(kind)
    standards = _standards(kind, items) if growth else None
    db.session.commit()
    chart = _chart(kind.key, list(reversed(items)), growth,
                   standards.lines if standards else ()) if items else None
    texts = {item.id: measure_text(kind, item.values) for item in items}
    description = _describe(kind, items, texts)
    if standards and standards.description:
        description = f"{description} {standards.description}"
    ages = {item.id: measures.age_in_months(space_owner().birth_date, item.day)
            for item in items} if growth else {}
    form_section = SimpleNamespace(key=kind.key, coded={},
                                   fields=(*kind.fields, measures.DAY, measures.TIME))
    return render_page(
        "profile/measure.html", fragment="profile/_measure_content.html",
        target="measure-content", status=status, kind=kind, items=items, chart=chart,
        growth=growth, page=page, pages=pages, total=total,
        typed=typed or _blank(today), errors=list(errors), has_errors=bool(errors),
        # The empty form shows today's date: kept per day (one reading of the day for
        # both, so that a form made at midnight is not kept under the next day's name).
        blank=None if typed else f"measure {today.isoformat()}",
        announce=announce, ages=ages, texts=texts, form_section=form_section,
        standards=standards, chart_title=_chart_title(kind, growth),
        chart_description=description,
        legend_labels=[field_label(kind.key, name) for name in ("systolic", "diastolic")]
        if kind.key == "blood_pressure" else None)


@bp.get("/mesures/imc")
@patient
def bmi_history():
    """A child's BMI by age against the WHO lines, from weights and heights taken close
    together (domain.measures.bmi_history); an adult's BMI is on the overview, where an
    adult is sent."""
    if not (space_owner().birth_date and is_minor(space_owner(), today_in_france())):
        return redirect_to(url_for("profile.measures_overview"), 302)  # an adult's is there
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    items, total, page, pages = measures.bmi_page(db.session, keys.ring, space_owner(), page,
                                                  PER_PAGE)
    db.session.commit()
    standards = _standards(who.Kind.BMI.value, items)
    chart = _chart("bmi", list(reversed(items)), True, standards.lines) if items else None
    description = ""
    if items:
        newest, oldest = items[0], items[-1]
        last, last_date = format_decimal(newest.value), format_date(newest.day, "d MMMM y")
        if len(items) == 1:
            description = _("Un seul IMC : %(last)s le %(last_date)s.", last=last,
                            last_date=last_date)
        else:
            description = _("%(count)s IMC, de %(first)s le %(first_date)s à %(last)s le "
                            "%(last_date)s.", count=len(items),
                            first=format_decimal(oldest.value),
                            first_date=format_date(oldest.day, "d MMMM y"), last=last,
                            last_date=last_date)
        if standards.description:
            description = f"{description} {standards.description}"
    ages = {item.id: measures.age_in_months(space_owner().birth_date, item.day)
            for item in items}
    return render_page("profile/bmi.html", items=items, total=total, page=page, pages=pages,
                       chart=chart, standards=standards, ages=ages,
                       chart_description=description,
                       pairing_days=measures.BMI_PAIRING_DAYS,
                       weight=measures.BY_KEY["weight"], height=measures.BY_KEY["height"])


@bp.get("/mesures/<string:slug>")
@patient
def measure_history(slug: str):
    return _history_page(_kind(slug))


@bp.post("/mesures/<string:slug>")
@patient
def measure_add(slug: str):
    kind = _kind(slug)
    reading = measures.validate(kind, request.form, today_in_france(), space_owner().birth_date)
    if not reading.ok:
        errors = [(problem.field, message(kind.key, problem)) for problem in reading.problems]
        return _history_page(kind, typed=reading.typed, errors=errors, status=422)
    measures.add(db.session, keys.ring, space_owner(), kind, reading.values, actor())
    db.session.commit()
    return swap_or_see_other(lambda: _history_page(kind, announce=_("Mesure enregistrée.")),
                             url_for("profile.measure_history", slug=slug),
                             _("La mesure est enregistrée."))


@bp.route("/mesures/<string:slug>/<string:measure_id>/supprimer", methods=["GET", "POST"])
@patient
def measure_delete(slug: str, measure_id: str):
    kind = _kind(slug)
    try:
        item = measures.get(db.session, keys.ring, space_owner(), space_owner(), measure_id,
                            ProfileAction.DELETE, actor())
    except measures.MeasureNotFound:
        db.session.commit()
        abort(404)
    if item.measure.kind != kind.key:
        abort(404)
    if request.method == "POST":
        measures.delete(db.session, keys.ring, space_owner(), item, actor())
        db.session.commit()
        flash(_("La mesure est supprimée."), "success")
        return see_other(url_for("profile.measure_history", slug=slug))
    db.session.commit()
    return render_page("profile/measure_delete.html", kind=kind, item=item)
