"""CSV cells that a spreadsheet would run as a formula are written as text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.spreadsheet import FORMULA_STARTS, safe_cell, safe_row


@pytest.mark.parametrize(("value", "written"), [
    ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
    ("+33600000000", "'+33600000000"), ("-1+1", "'-1+1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("Dr Bernard", "Dr Bernard"), ("", ""),
    (None, ""), (42, "42"), ("a=b", "a=b"),
])
def test_formula_starts_are_escaped(value, written):
    assert safe_cell(value) == written


@given(st.text())
def test_no_cell_starts_like_a_formula(text):
    cell = safe_cell(text)
    assert not cell.startswith(FORMULA_STARTS)
    assert cell in (text, "'" + text)


def test_a_row():
    assert safe_row(["=1", "ok", None]) == ["'=1", "ok", ""]
