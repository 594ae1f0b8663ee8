"""The authorisation matrix: which profession may read or add which kind of document,
which profile sections it may read, who may record a vaccination. One data file with its
source (data/access_matrix.json); the policy is the only caller that decides with it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from domain.models import Category, Profession

MATRIX_FILE = Path(__file__).parent / "data" / "access_matrix.json"


@cache
def matrix() -> dict:
    """The matrix file, read once and checked: an unknown profession, action or category
    raises ValueError rather than reading as "no"."""
    data = json.loads(MATRIX_FILE.read_text(encoding="utf-8"))
    categories = {category.value for category in Category}
    for profession, rights in data["documents"].items():
        Profession(profession)  # an unknown profession in the file is an error, not a no
        for action, allowed in rights.items():
            if action not in data["actions"] or not set(allowed) <= categories:
                raise ValueError(f"access matrix: bad entry for {profession}/{action}")
    return data


@cache
def document_rights(profession: Profession | None, action: str) -> frozenset[Category]:
    """The document categories this profession may `read` or `deposit`: worked out once
    per profession and action (the policy asks for every document a professional's list
    shows), like the file they come from."""
    if profession is None:
        return frozenset()
    rights = matrix()["documents"].get(profession.value, {})
    return frozenset(Category(value) for value in rights.get(action, ()))


@cache
def profile_sections(profession: Profession | None) -> frozenset[str]:
    """The profile sections (and "measures") this profession may read (once per
    profession)."""
    if profession is None:
        return frozenset()
    return frozenset(matrix()["profile"].get(profession.value, ()))


def may_add_vaccination(profession: Profession | None) -> bool:
    """Whether this profession may record a vaccination; no profession, no."""
    return profession is not None and profession.value in matrix()["vaccinations_add"]
