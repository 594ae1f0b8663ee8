"""The connected apps' rules in domain/policy.py (issue 19): scopes decide what an app may
do; an app reads documents through the holder's own rule, minus hidden documents, and a
representative's app never gets the minor's secret; apps never edit, delete or hide."""

from __future__ import annotations

import itertools

import pytest

from domain import policy
from domain.policy import DocumentAction, DocumentContext


@pytest.mark.parametrize("granted, resource, action, expected", [
    ({"patient/Observation.rs"}, "Observation", "read", True),
    ({"patient/Observation.rs"}, "Observation", "search", True),
    ({"patient/Observation.rs"}, "Observation", "create", False),
    ({"patient/Observation.r"}, "Observation", "search", False),
    ({"patient/Observation.s"}, "Observation", "read", False),
    ({"patient/Observation.c"}, "Observation", "create", True),
    ({"patient/Observation.c"}, "Observation", "read", False),
    ({"patient/Observation.rs"}, "Immunization", "read", False),
    ({"patient/Observation.rs"}, "Observation", "delete", False),
    ({"patient/ObservationX.rs"}, "Observation", "read", False),
    (set(), "Patient", "read", False),
    ({"patient/Patient.r"}, "Patient", "read", True),
])
def test_scopes_decide_each_call(granted, resource, action, expected):
    assert policy.app_scope_allows(frozenset(granted), resource, action) is expected


@pytest.mark.parametrize("action, hidden, representative, secret, author",
                         list(itertools.product(DocumentAction, (False, True), (False, True),
                                                (False, True), (False, True))))
def test_documents_reach_apps_only_as_the_holder_sees_them_minus_hidden(
        action, hidden, representative, secret, author):
    context = DocumentContext(is_owner=True, is_author=author,
                              for_representative=representative,
                              secret_from_representatives=secret)
    allowed = policy.app_document_allowed(action, context, hidden=hidden)
    expected = (action in (DocumentAction.LIST, DocumentAction.READ, DocumentAction.DOWNLOAD)
                and not hidden and not (representative and secret))
    assert allowed is expected
