from __future__ import annotations

import pytest

from domain.models import Role
from domain.policy import Area, may_enter

EXPECTED = {
    Area.PUBLIC: {None, *Role},
    Area.SIGN_IN: {None, *Role},
    Area.ACCOUNT: set(Role),
    Area.PATIENT_SPACE: {Role.PATIENT},
    Area.PRO_PORTAL: {Role.PROFESSIONAL},
    Area.ADVISER_DESK: {Role.ADVISER},
    # The token endpoint and the FHIR API open no session: whoever calls passes the area,
    # and the bearer token (domain/apps.py) and the app rules decide everything.
    Area.APP_API: {None, *Role},
}


@pytest.mark.parametrize("area", list(Area))
@pytest.mark.parametrize("role", [None, *Role])
def test_who_enters_each_area(area, role):
    assert may_enter(role, area) == (role in EXPECTED[area])


def test_every_area_has_a_written_expectation():
    assert set(EXPECTED) == set(Area)
