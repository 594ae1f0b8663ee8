"""Checks for the identifiers professionals and patients are known by."""

from __future__ import annotations


def luhn_valid(digits: str) -> bool:
    """The Luhn check used by the RPPS number's last digit."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def rpps_valid(rpps: str) -> bool:
    """An RPPS number: 11 digits, the last one a Luhn check digit."""
    return len(rpps) == 11 and rpps.isdigit() and luhn_valid(rpps)
