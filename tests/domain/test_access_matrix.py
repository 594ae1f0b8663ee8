"""The authorisation matrix (data/access_matrix.json) and the sector exclusion, through the
policy functions every view calls."""

from __future__ import annotations

import json

import pytest

from domain import access_matrix, policy, profile
from domain.models import EXCLUDED_SECTORS, Category, Profession, Sector


def test_the_file_names_its_source_and_only_known_words():
    data = access_matrix.matrix()
    assert "DMP" in data["source"]
    assert set(data["documents"]) == {profession.value for profession in Profession}
    assert set(data["profile"]) == {profession.value for profession in Profession}
    sections = {section.key for section in profile.SECTIONS} | {"measures"}
    for readable in data["profile"].values():
        assert set(readable) <= sections
    assert set(data["vaccinations_add"]) <= {profession.value for profession in Profession}


def test_a_bad_file_is_refused(tmp_path, monkeypatch):
    broken = json.loads(access_matrix.MATRIX_FILE.read_text(encoding="utf-8"))
    broken["documents"]["doctor"]["read"].append("bank_statements")
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    monkeypatch.setattr(access_matrix, "MATRIX_FILE", path)
    access_matrix.matrix.cache_clear()
    try:
        with pytest.raises(ValueError):
            access_matrix.matrix()
    finally:
        monkeypatch.undo()
        access_matrix.matrix.cache_clear()


@pytest.mark.parametrize(("profession", "category", "action", "expected"), [
    (Profession.DOCTOR, Category.IMAGING, "read", True),
    (Profession.DOCTOR, Category.ADVANCE_DIRECTIVES, "read", True),
    (Profession.DOCTOR, Category.ADVANCE_DIRECTIVES, "deposit", False),  # system only
    (Profession.PHARMACIST, Category.PRESCRIPTIONS, "read", True),
    (Profession.PHARMACIST, Category.IMAGING, "read", False),
    (Profession.PHARMACIST, Category.PREVENTION, "deposit", True),
    (Profession.BIOLOGIST, Category.LAB_RESULTS, "deposit", True),
    (Profession.BIOLOGIST, Category.REPORTS, "read", False),
    (Profession.PHYSIOTHERAPIST, Category.ADMINISTRATIVE, "read", False),
    (Profession.NURSE, Category.ADVANCE_DIRECTIVES, "read", True),
    (None, Category.SUMMARY, "read", False),
])
def test_the_matrix_for_care(profession, category, action, expected):
    assert policy.matrix_allows(profession, Sector.CARE, category, action) is expected


@pytest.mark.parametrize("sector", [None, *sorted(EXCLUDED_SECTORS)])
@pytest.mark.parametrize("profession", list(Profession))
def test_excluded_sectors_get_nothing_from_the_matrix(sector, profession):
    """An occupational doctor is a doctor with an RPPS number: the sector still wins."""
    for category in Category:
        for action in ("read", "deposit"):
            assert not policy.matrix_allows(profession, sector, category, action)
    for section in profile.SECTIONS:
        assert not policy.profile_section_readable(profession, sector, section.key)


def test_profile_sections_per_profession():
    assert policy.profile_section_readable(Profession.PHARMACIST, Sector.CARE, "allergies")
    assert not policy.profile_section_readable(Profession.PHARMACIST, Sector.CARE,
                                               "family_history")
    assert access_matrix.may_add_vaccination(Profession.PHARMACIST)
    assert not access_matrix.may_add_vaccination(Profession.BIOLOGIST)
