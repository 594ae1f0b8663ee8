"""A page number written with other digits than 0-9 ("²", "١٢") shows a page of the
agenda, not a server error (issue 13, item 5: found by tests/blueprints/test_query_fuzz.py)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("value", ["²", "¹²", "١٢", "٣", "Ⅻ", "９", "1²", "-1", "0",
                                   "9" * 40, ""])
@pytest.mark.parametrize("path", ["/agenda", "/agenda/passes"])
def test_a_page_number_in_other_digits_shows_the_first_page(signed_in, path, value):
    patient = signed_in("camille.martin")
    response = patient.get(f"{path}?page={value}")
    assert response.status_code == 200
