"""A child's growth curves in a real browser (issue 15): Camille opens her son Léo's weight
page with three measures, JavaScript on and off, 320 and 1280 px: axe (WCAG 2.2 AA tags),
no sideways scroll and 44 px targets at 320 px, the chart with its five labelled WHO
centile lines drawn inside the SVG one unit of it wide, the source under it and the band of
each measure in the table; then his head circumference after 5 years (no lines, no error).

Léo's measures are put in through the domain API, as the form would; each test deletes the
ones it added through it too, so other modules find his space as the demo seed left it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain import audit, growth, measures
from domain.models import Measure, Representation, User
from extensions import db, keys
from tests.browser import flows
from tests.browser.flows import ALL_COMBOS

pytestmark = pytest.mark.browser

LOGIN = "camille.martin"
SOURCE = "Courbes : standards de croissance de l’OMS (2006, 0–5 ans ; 2007, 5–19 ans)"

# Application problems found here and not fixed yet (the contract of flows.Findings).
KNOWN_PROBLEMS: dict = {}


class Findings(flows.Findings):
    known_problems = KNOWN_PROBLEMS

    def page(self, page, js: bool, width: int, where: str) -> None:
        self.axe(page, js, where, width)
        self.headings(page, where)
        if width == 320:
            self.reflow(page, where)


class Child:
    """Léo's measures for one test, added through the domain API and deleted afterwards."""

    def __init__(self, app):
        self.app = app
        self.added: list[str] = []
        with app.app_context():
            camille = db.session.scalars(select(User).where(User.login == LOGIN)).one()
            self.id = db.session.scalars(select(Representation.represented_id).where(
                Representation.representative_id == camille.id)).one()
            self.birth_date = db.session.get(User, self.id).birth_date

    def measure(self, slug: str, value: float, day: date) -> None:
        kind = measures.BY_SLUG[slug]
        sent = {"value": f"{value:.2f}", "measured_on_day": str(day.day),
                "measured_on_month": str(day.month), "measured_on_year": str(day.year)}
        with self.app.app_context():
            reading = measures.validate(kind, sent, date.today(), self.birth_date)
            assert reading.ok, reading.problems
            child = db.session.get(User, self.id)
            self.added.append(measures.add(db.session, keys.ring, child, kind,
                                           reading.values, audit.Actor()).id)
            db.session.commit()

    def clean(self) -> None:
        """Deleted as the page deletes them (counted off with their rows)."""
        with self.app.app_context():
            child = db.session.get(User, self.id)
            for measure in db.session.scalars(select(Measure).where(
                    Measure.id.in_(self.added))).all():
                measures.delete(db.session, keys.ring, child,
                                measures.MeasureView(measure, {}), audit.Actor())
            db.session.commit()
        self.added.clear()


@pytest.fixture
def child(app):
    state = Child(app)
    yield state
    state.clean()


@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_the_childs_weight_page_with_centile_lines(open_page, child, js, width):
    today = date.today()
    for days, centile in ((400, 70), (200, 99.5), (0, 50)):
        day = today - timedelta(days=days)
        age = growth.decimal_age(child.birth_date, day)
        child.measure("poids", growth.value_for_centile("male", "weight", age, centile), day)
    findings = Findings()
    page = open_page(js=js, width=width)
    path = f"/espace/{child.id}/profil/mesures/poids"
    assert page.goto(path).status == 200
    svg = page.locator("#measure-content figure.chart svg[role=img]")
    findings.check(svg.locator("g.chart__reference polyline").count() == 5, "not 5 lines")
    # Written in months and kg, placed by one transform: each line is drawn inside the
    # chart, one unit of the viewBox wide (its stroke does not scale with the transform,
    # the style sheet gives it that width) and its dashes too, at every screen width.
    drawn = svg.evaluate("""svg => {
        const box = svg.getBoundingClientRect(), unit = box.width / 320;
        return [...svg.querySelectorAll("g.chart__reference polyline")].map(line => {
            const style = getComputedStyle(line), own = line.getBoundingClientRect();
            return {width: parseFloat(style.strokeWidth) / unit,
                    dashes: style.strokeDasharray === "none" ? [] :
                        style.strokeDasharray.split(",").map(d => parseFloat(d) / unit),
                    inside: own.left >= box.left - 1 && own.right <= box.right + 1 &&
                            own.top >= box.top - 1 && own.bottom <= box.bottom + 1 &&
                            own.width > box.width / 2};
        });
    }""")
    findings.check(all(abs(line["width"] - 1) < 0.02 for line in drawn)
                   and [[round(d, 2) for d in line["dashes"]] for line in drawn]
                   == [[5, 3], [], [], [], [5, 3]]
                   and all(line["inside"] for line in drawn), f"centile lines drawn {drawn}")
    labels = svg.locator("g.chart__reference-labels text")
    findings.check(labels.all_text_contents() == ["3e", "15e", "50e", "85e", "97e"],
                   f"labels {labels.all_text_contents()}")
    # Every label is drawn inside the SVG's box, none over another.
    box = svg.bounding_box()
    boxes = [labels.nth(index).bounding_box() for index in range(labels.count())]
    findings.check(all(b["x"] >= box["x"] and b["x"] + b["width"] <= box["x"] + box["width"] + 1
                       for b in boxes), f"a label outside the chart: {boxes} in {box}")
    tops = sorted((b["y"], b["y"] + b["height"]) for b in boxes)
    findings.check(all(a[1] <= b[0] + 1.5 for a, b in zip(tops, tops[1:], strict=False)),
                   f"labels overlap: {tops}")
    findings.check(page.locator("figure.chart > p.chart__note").inner_text() == SOURCE,
                   "no source under the chart")
    cells = page.locator("#measure-content tbody tr td:nth-of-type(3)").all_inner_texts()
    findings.check(cells == ["sur le 50e centile", "au-dessus du 97e centile",
                             "entre le 50e et le 85e centile"], f"bands {cells}")
    findings.page(page, js, width, f"{path} avec trois mesures")
    findings.done()


@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_head_circumference_after_5_years_has_no_lines(open_page, child, js, width):
    child.measure("perimetre-cranien", 51.5, date.today() - timedelta(days=90))
    child.measure("perimetre-cranien", 51.8, date.today())
    findings = Findings()
    page = open_page(js=js, width=width)
    path = f"/espace/{child.id}/profil/mesures/perimetre-cranien"
    assert page.goto(path).status == 200
    findings.check(page.locator("figure.chart svg[role=img]").count() == 1, "no chart")
    findings.check(page.locator(".chart__reference").count() == 0, "lines after 5 years")
    findings.page(page, js, width, f"{path} après 5 ans")
    findings.done()
