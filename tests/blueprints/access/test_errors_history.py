"""The access history with dates at the edges of the calendar, a sequence number no
database integer holds or characters a database refuses: a page (and a whole CSV), never a
server error (issue 13, item 5)."""

from __future__ import annotations

import csv
import io

import pytest

from domain import history

EDGES = [("0001-01-01", "9999-12-31"), ("9999-12-31", None), (None, "9999-12-31"),
         ("0001-01-01", None), ("9999-12-31", "0001-01-01"), ("2026-02-30", "2026-13-01"),
         ("20260101", "2026-W01-1")]


def _query(since, until, **extra) -> str:
    pairs = {"du": since, "au": until, **extra}
    return "&".join(f"{name}={value}" for name, value in pairs.items() if value is not None)


@pytest.mark.parametrize(("since", "until"), EDGES)
def test_dates_at_the_edges_show_the_history(signed_in, since, until):
    patient = signed_in("camille.martin")
    for tab in ("moi", "pros"):
        response = patient.get(f"/acces/historique?{_query(since, until, onglet=tab)}")
        assert response.status_code == 200, (since, until, tab)


def test_the_widest_period_shows_every_action(signed_in):
    patient = signed_in("camille.martin")
    html = patient.get("/acces/historique?onglet=moi&du=0001-01-01&au=9999-12-31").get_data(
        as_text=True)
    assert "Aucune action ne correspond." not in html
    assert 'value="0001-01-01"' in html and 'value="9999-12-31"' in html


@pytest.mark.parametrize(("since", "until"), EDGES)
def test_the_csv_of_the_edges_is_complete(signed_in, since, until):
    patient = signed_in("camille.martin")
    response = patient.get(f"/acces/historique.csv?{_query(since, until, onglet='moi')}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Date"
    if (since, until) == ("0001-01-01", "9999-12-31"):
        assert len(rows) > 1  # the sign-in itself is in "my actions"


@pytest.mark.parametrize("value", [str(2**31), str(2**63), "9" * 40, str(-2**63 - 1), "-1",
                                   "0", "1.5", "x"])
def test_a_huge_sequence_number_shows_a_page(signed_in, value):
    patient = signed_in("camille.martin")
    response = patient.get(f"/acces/historique?onglet=moi&avant={value}")
    assert response.status_code == 200


@pytest.mark.parametrize("person", ["%00", "a%00b", "%C0%80", "%ff", "x" * 500])
def test_a_person_filter_the_database_cannot_store_shows_a_page(signed_in, person):
    patient = signed_in("camille.martin")
    assert patient.get(f"/acces/historique?personne={person}").status_code == 200
    assert patient.get(f"/acces/historique.csv?personne={person}").status_code == 200


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("12", 12), (str(history.SEQ_MAX), history.SEQ_MAX),
    (str(history.SEQ_MAX + 1), None), ("9" * 40, None), ("0", None), ("-3", None),
    ("x", None), ("1e3", None)])
def test_the_cursor_is_a_sequence_number_the_database_holds(value, expected):
    assert history.cursor(value) == expected
