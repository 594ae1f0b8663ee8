"""Hostile calls to the FHIR API, generated (hypothesis, the CI profile in CI): any JSON
body, any search parameters, any ids — never a 5xx, every refusal an OperationOutcome."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.fhir import validate
from tests.oauth_client import bearer, token_for

SCOPES = ("patient/Observation.rs", "patient/Observation.c", "patient/Patient.rs",
          "patient/DocumentReference.rs")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=20)
OBSERVATION_LIKE = st.fixed_dictionaries(
    {"resourceType": st.just("Observation"),
     "status": st.sampled_from(["final", "amended", "preliminary", "", "<b>"])},
    optional={"code": JSON, "valueQuantity": JSON, "effectiveDateTime": st.text(max_size=30),
              "subject": JSON, "component": JSON, "category": JSON})
TEXT = st.text(max_size=60)


def _checked(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        body = response.get_json()
        validate(body)
        assert body["resourceType"] == "OperationOutcome"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON | OBSERVATION_LIKE)
def test_any_body_posted_is_answered_without_a_5xx(app, client, demo_users, body):
    token = token_for(app, "camille.martin", SCOPES)
    _checked(client.post("/fhir/Observation", data=json.dumps(body),
                         headers={**bearer(token), "Content-Type": "application/fhir+json"}))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["code", "date", "patient", "_count", "x", ""]),
                              TEXT, max_size=3),
       resource=st.sampled_from(["Observation", "Patient", "DocumentReference", "Binary",
                                 "Nope"]),
       resource_id=TEXT)
def test_any_search_or_id_is_answered_without_a_5xx(app, client, demo_users, params,
                                                     resource, resource_id):
    token = token_for(app, "camille.martin", SCOPES)
    _checked(client.get(f"/fhir/{resource}", query_string=params, headers=bearer(token)))
    _checked(client.get(f"/fhir/{resource}/{resource_id.replace('/', '_')}",
                        headers=bearer(token)))
