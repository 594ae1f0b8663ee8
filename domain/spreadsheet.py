"""Cells written to CSV files people open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula
by spreadsheet software (CSV injection): a professional named `=HYPERLINK(...)` would become
a live link in a patient's history. Such cells get a leading apostrophe, which spreadsheets
show as text and do not display (OWASP's recommendation)."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The value as text a spreadsheet never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values) -> list[str]:
    """Each value of a CSV row through safe_cell()."""
    return [safe_cell(value) for value in values]
