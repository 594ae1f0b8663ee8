from __future__ import annotations

import pytest

from domain import passwords


@pytest.mark.parametrize(("password", "problem"), [
    ("court-123", "too_short"),
    ("azertyuiop12", "common"),
    ("Password123456", "common"),
    ("motdepasse!!!!", "common"),
    ("aaaaaaaaaaaaaaaa", "common"),
    ("x" * 300, "too_long"),
])
def test_refused_passwords(password, problem):
    assert problem in passwords.password_problems(password)


def test_personal_data_is_refused():
    assert "personal" in passwords.password_problems("Camille-Soleil-Vert", ("camille",))


@pytest.mark.parametrize("password", ["Pivoine-Lanterne-2026", "le chat dort sur le toit",
                                      "Ç’est-ma-phrase-secrète"])
def test_good_passwords(password):
    assert passwords.password_problems(password) == []


def test_standard_hashes_are_argon2id_at_or_above_the_asvs_minimum():
    hashed = passwords.hash_password("Pivoine-Lanterne-2026")
    assert hashed.startswith("$argon2id$")
    params = passwords.hasher("standard")
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2
    assert passwords.verify_password(hashed, "Pivoine-Lanterne-2026")
    assert not passwords.verify_password(hashed, "pivoine-lanterne-2026")
    assert not passwords.verify_password("not a hash", "x")


def test_the_shipped_list_is_large():
    assert len(passwords.common_passwords()) > 30000
