"""The page-or-fragment decision of STYLE.md."""

from __future__ import annotations

import pytest

from web.render import wants_fragment


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, False),
    ({"HX-Request": "true", "HX-Target": "session-list"}, True),
    ({"HX-Request": "true", "HX-Target": "other"}, False),
    ({"HX-Request": "true"}, False),
    ({"HX-Request": "true", "HX-Target": "session-list", "HX-Boosted": "true"}, False),
    ({"HX-Request": "true", "HX-Target": "session-list",
      "HX-History-Restore-Request": "true"}, False),
])
def test_a_fragment_only_for_a_plain_htmx_request_on_the_target(app, headers, expected):
    with app.test_request_context("/", headers=headers):
        assert wants_fragment("session-list") is expected
