"""The vaccination reminders, case by case (the French schedule, simplified)."""

from __future__ import annotations

from datetime import date

import pytest

from domain.vaccination import Dose, add_months, due, schedule, vaccine_diseases

TODAY = date(2026, 11, 26)


def _ids(birth: date, doses: list[tuple[str, date]] = (), today: date = TODAY):
    return {item.rule: item.status for item in due(birth, [Dose(v, d) for v, d in doses],
                                                    today)}


def test_the_schedule_names_its_source_and_every_rule_names_a_known_vaccine():
    data = schedule()
    assert "Calendrier des vaccinations" in data["source"]
    known = set(vaccine_diseases())
    for group in ("series", "boosters", "yearly"):
        assert all(rule["vaccine"] in known for rule in data[group])


CASES = [
    # birth, doses, expected {rule: status} (only reminders within 90 days or late)
    ("newborn, 1 month", date(2026, 10, 26), [],
     {"infant_hexavalent_1": "upcoming", "infant_pneumococcal_1": "upcoming"}),
    ("2 months, nothing given", date(2026, 9, 26), [],
     {"infant_hexavalent_1": "due", "infant_pneumococcal_1": "due"}),
    ("3 months, first doses given", date(2026, 8, 20),
     [("hexavalent", date(2026, 10, 20)), ("pneumococcal", date(2026, 10, 20))],
     {"infant_hexavalent_2": "upcoming", "infant_pneumococcal_2": "upcoming",
      "infant_meningococcal_c_1": "upcoming"}),
    ("adult 30, never boosted", date(1996, 5, 1), [], {"adult_dtp_25": "overdue"}),
    ("adult 30, boosted at 25", date(1996, 5, 1), [("dtp", date(2021, 6, 1))], {}),
    ("adult 30, boosted with dTcaP at 24", date(1996, 5, 1), [("dtcap", date(2020, 8, 1))], {}),
    ("adult 30, boosted too early at 20", date(1996, 5, 1), [("dtp", date(2016, 6, 1))],
     {"adult_dtp_25": "overdue"}),
    ("adult 44 and 11 months, due soon", date(1982, 1, 10), [("dtp", date(2007, 3, 1))],
     {"adult_dtp_45": "upcoming"}),
    ("adult 50 who missed 25 and 45: only the latest", date(1976, 1, 1), [],
     {"adult_dtp_45": "overdue"}),
    ("66, nothing", date(1960, 3, 1), [],
     {"adult_dtp_65": "overdue", "influenza_65": "due"}),
    ("66, flu done this season", date(1960, 3, 1),
     [("influenza", date(2026, 10, 15)), ("dtp", date(2025, 4, 1))], {}),
    ("66, flu done last season only", date(1960, 3, 1),
     [("influenza", date(2025, 10, 15)), ("dtp", date(2025, 4, 1))], {"influenza_65": "due"}),
    ("76: the every-10-years booster", date(1950, 6, 1), [("dtp", date(2015, 6, 1)),
                                                          ("influenza", date(2026, 11, 1))],
     {"adult_dtp_75": "overdue"}),
    ("a hexavalent dose does not count as measles", date(2025, 6, 1),
     [("hexavalent", d) for d in (date(2025, 8, 1), date(2025, 10, 1), date(2026, 5, 1))]
     + [("pneumococcal", d) for d in (date(2025, 8, 1), date(2025, 10, 1), date(2026, 5, 1))]
     + [("menc", date(2025, 11, 1)), ("menc", date(2026, 6, 1))],
     {"infant_mmr_1": "overdue"}),
    ("7 years, the 6-year booster is late", date(2019, 5, 14),
     [("hexavalent", d) for d in (date(2019, 7, 14), date(2019, 9, 14), date(2020, 4, 14))]
     + [("mmr", date(2020, 5, 20)), ("mmr", date(2020, 9, 20))],
     {"child_dtcap_6": "overdue"}),
]


@pytest.mark.parametrize(("label", "birth", "doses", "expected"), CASES,
                         ids=[case[0] for case in CASES])
def test_reminders(label, birth, doses, expected):
    assert _ids(birth, doses) == expected


def test_add_months_keeps_the_end_of_month():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 5, 15), -12 * 2) == date(2024, 5, 15)
