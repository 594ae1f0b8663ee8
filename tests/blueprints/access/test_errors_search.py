"""Searching for a professional with control characters in the words (a NUL byte, which
PostgreSQL refuses in text) answers the page, not a server error (issue 13, item 5: found
by tests/blueprints/test_query_fuzz.py on PostgreSQL)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("query", ["%00", "Ber%00nard", "%00%01%1F%7F", "Ber%0Anard",
                                   "%C2%85", "1000%00", "%E2%80%A8"])
def test_a_search_with_control_characters_shows_the_page(signed_in, query):
    patient = signed_in("camille.martin")
    response = patient.get(f"/acces?q={query}")
    assert response.status_code == 200


def test_control_characters_count_as_spaces(signed_in):
    patient = signed_in("camille.martin")
    html = patient.get("/acces?q=%00Bernard%00").get_data(as_text=True)
    assert "Bernard" in html and 'value="Bernard"' in html
