"""Each request chooses its language anew, even inside an application context that is
already there (a CLI command rendering an e-mail, a test): words and numbers agree."""

from __future__ import annotations

from flask import render_template_string

TEMPLATE = "{{ _('Aide') }} {{ 1000|number }}"


def test_a_request_never_inherits_the_previous_requests_language(app):
    with app.app_context():
        with app.test_request_context("/", headers={"Cookie": "carnet_lang=en"}):
            app.preprocess_request()
            assert render_template_string(TEMPLATE) == "Help 1,000"
        with app.test_request_context("/"):
            app.preprocess_request()
            assert render_template_string(TEMPLATE) == "Aide 1\u202f000"
