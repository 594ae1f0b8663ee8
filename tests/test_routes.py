"""Meta-tests over the URL map: every route declares who may use it; URLs are kebab-case."""

from __future__ import annotations

import re

from domain.policy import Area

KEBAB = re.compile(r"^(/([a-z0-9]+(-[a-z0-9]+)*(\.[a-z]+)?|<[^>]+>))*/?$")
ENDPOINT = re.compile(r"^[a-z]+\.[a-z0-9_]+$")


def test_every_route_declares_its_area(app):
    missing = [rule.endpoint for rule in app.url_map.iter_rules()
               if not isinstance(getattr(app.view_functions[rule.endpoint], "carnet_area", None),
                                 Area)]
    assert missing == []


def test_an_undeclared_route_is_refused(app):
    from app import create_app

    other = create_app(dict(app.config), instance_path=app.instance_path)
    other.add_url_rule("/oubli", "forgotten", lambda: "secret")
    assert other.test_client().get("/oubli").status_code == 403


def test_urls_are_kebab_case_and_endpoints_named_by_area(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/fhir/"):  # the FHIR and SMART standards name these paths
            assert rule.endpoint.startswith("fhir."), rule.rule
            continue
        assert KEBAB.match(rule.rule), rule.rule
        assert ENDPOINT.match(rule.endpoint), rule.endpoint


def test_no_state_change_on_get(app):
    state_changing = {"auth.logout", "auth.session_extend", "account.session_end",
                      "auth.second_factor_resend"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in state_changing:
            assert "GET" not in rule.methods, rule.endpoint
