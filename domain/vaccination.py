"""Which vaccinations are due, from the date of birth and the recorded doses.

The rules live in data/vaccination_schedule.json with their source. A dose counts for a
rule when its vaccine protects against every disease the rule's vaccine covers (a
hexavalent dose counts for the diphtheria-tetanus-polio boosters, not the other way round).
This is a reminder for the patient, not medical advice: the pages say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

SCHEDULE_FILE = Path(__file__).parent / "data" / "vaccination_schedule.json"
UPCOMING_DAYS = 90


@cache
def schedule() -> dict:
    """The vaccination schedule (data/vaccination_schedule.json), read once."""
    return json.loads(SCHEDULE_FILE.read_text(encoding="utf-8"))


@cache
def vaccine_diseases() -> dict[str, frozenset[str]]:
    """Each vaccine code of the schedule -> the diseases it protects against."""
    return {vaccine["code"]: frozenset(vaccine["diseases"]) for vaccine in schedule()["vaccines"]}


@dataclass(frozen=True)
class Dose:
    """A recorded dose: the vaccine's code and the day it was given."""

    vaccine: str
    given_on: date


@dataclass(frozen=True)
class DueItem:
    """A vaccination to plan: the schedule rule, the vaccine's code, its due date and
    whether it is overdue, due or upcoming."""

    rule: str
    vaccine: str
    due_on: date
    status: str  # "overdue", "due" or "upcoming"


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, kept within the month (31 Jan + 1 -> 28/29 Feb)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31,
            30, 31, 31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(day.day, last))


def _covers(dose: Dose, vaccine: str) -> bool:
    return vaccine_diseases()[vaccine] <= vaccine_diseases().get(dose.vaccine, frozenset())


def _status(due_on: date, today: date, grace_days: int = 31) -> str | None:
    if (due_on - today).days > UPCOMING_DAYS:
        return None
    if due_on > today:
        return "upcoming"
    return "overdue" if (today - due_on).days > grace_days else "due"


def due(birth_date: date, doses: list[Dose], today: date) -> list[DueItem]:
    """Vaccinations due now, overdue, or due within 90 days, oldest first."""
    rules = schedule()
    items: list[DueItem] = []
    pending_series: set[str] = set()
    for rule in sorted(rules["series"], key=lambda item: item["dose"]):
        if "until_age_months" in rule and today >= add_months(birth_date,
                                                              rule["until_age_months"]):
            continue  # past the age this dose is recommended for
        given = sum(1 for dose in doses if _covers(dose, rule["vaccine"]))
        if given >= rule["dose"] or rule["vaccine"] in pending_series:
            continue  # done, or an earlier dose of the same series comes first
        pending_series.add(rule["vaccine"])
        due_on = add_months(birth_date, rule["age_months"])
        status = _status(due_on, today)
        if status:
            items.append(DueItem(rule["id"], rule["vaccine"], due_on, status))
    boosters = list(rules["boosters"])
    every = rules["booster_every_years_after_65"]
    age_years = 65 + every["every"]
    while add_months(birth_date, 12 * age_years) <= add_months(today, 12):
        boosters.append({"id": f"adult_dtp_{age_years}", "vaccine": every["vaccine"],
                         "age_years": age_years, "window_years": every["window_years"]})
        age_years += every["every"]
    for rule in boosters:
        if "until_age_years" in rule and today >= add_months(birth_date,
                                                             12 * rule["until_age_years"]):
            continue
        due_on = add_months(birth_date, 12 * rule["age_years"])
        window_start = add_months(due_on, -12 * rule["window_years"])
        if any(_covers(dose, rule["vaccine"]) and dose.given_on >= window_start
               for dose in doses):
            continue
        next_rule_due = min((add_months(birth_date, 12 * other["age_years"]) for other in boosters
                             if other["vaccine"] == rule["vaccine"]
                             and other["age_years"] > rule["age_years"]), default=None)
        if next_rule_due is not None and next_rule_due <= today:
            continue  # only the latest missed booster is worth a reminder
        status = _status(due_on, today)
        if status:
            items.append(DueItem(rule["id"], rule["vaccine"], due_on, status))
    for rule in rules["yearly"]:
        from_day = add_months(birth_date, 12 * rule["from_age_years"])
        season_year = today.year if today.month >= rule["season_start_month"] else today.year - 1
        season_start = max(date(season_year, rule["season_start_month"], 1), from_day)
        if from_day > add_months(today, 3):
            continue
        if any(_covers(dose, rule["vaccine"]) and dose.given_on >= season_start
               for dose in doses):
            continue
        status = _status(season_start, today, grace_days=120)
        if status:
            items.append(DueItem(rule["id"], rule["vaccine"], season_start, status))
    return sorted(items, key=lambda item: (item.due_on, item.rule))
