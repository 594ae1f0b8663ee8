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


def test_after_an_inline_change_htmx_gets_the_swap_and_a_browser_a_303(app):
    from flask import get_flashed_messages, make_response

    from web.render import swap_or_see_other

    def swap():
        return make_response("<li>updated</li>")

    with app.test_request_context("/", method="POST", headers={"HX-Request": "true"}):
        response = swap_or_see_other(swap, "/profil/traitements", "C’est modifié.")
        assert response.status_code == 200 and response.get_data(as_text=True) == (
            "<li>updated</li>")
        assert get_flashed_messages() == []  # the fragment announces it in the live region
    with app.test_request_context("/", method="POST"):
        response = swap_or_see_other(swap, "/profil/traitements", "C’est modifié.")
        assert response.status_code == 303
        assert response.headers["Location"] == "/profil/traitements"
        assert get_flashed_messages(with_categories=True) == [("success", "C’est modifié.")]


def test_a_page_varies_on_hx_request(app):
    from web.render import render_page

    with app.test_request_context("/"):
        response = render_page("pages/help.html", status=200)
        assert "HX-Request" in response.vary
