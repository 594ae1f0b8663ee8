"""The FHIR R4 API for connected apps (issue 19): every answer validated by fhir.resources'
R4B models; bearer tokens only; the scopes the person granted; the same document rule as
the pages (hidden documents and a minor's secret never reach an app); other spaces' ids
answer 404; refusals are OperationOutcome; every call is in the person's history as the
app."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from sqlalchemy import select

from domain import apps, tallies
from domain.fhir import validate
from domain.models import AuditEvent, Category, Document, Measure, Representation, User
from extensions import db, keys
from tests.domain import fhir_space
from tests.oauth_client import WEIGHT, bearer, connect, token_for

PATIENT = "camille.martin"
EVERYTHING = ("patient/Patient.r", "patient/Observation.rs", "patient/Immunization.rs",
              "patient/AllergyIntolerance.rs", "patient/Condition.rs",
              "patient/MedicationStatement.rs", "patient/DocumentReference.rs",
              "patient/Appointment.rs")
TYPES = ("Patient", "Observation", "Immunization", "AllergyIntolerance", "Condition",
         "MedicationStatement", "DocumentReference", "Appointment")


@pytest.fixture
def space(app, demo_users, tmp_path):
    """Camille's space filled as the FHIR domain tests fill it, two weights on two days,
    and a document in her son's space."""
    with app.app_context():
        today = date.today()
        camille = fhir_space.seed(tmp_path, today)
        fhir_space.add_measure(camille, "weight", today - timedelta(days=9), value="70,2")
        fhir_space.add_measure(camille, "weight", today - timedelta(days=2), value="70,8")
        fhir_space.add_document(fhir_space.child(), tmp_path, "Carnet de Léo",
                                Category.REPORTS, today - timedelta(days=3),
                                author=fhir_space.user("dr.bernard"))
        db.session.commit()


def _user(app, login: str) -> User:
    with app.app_context():
        return db.session.scalars(select(User).where(User.login == login)).one()


def _outcome(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/fhir+json"
    body = response.get_json()
    validate(body)
    assert body["resourceType"] == "OperationOutcome"
    return body


def test_the_capability_statement_is_open_and_valid(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate(response.get_json())
    assert statement.fhirVersion == "4.0.1"
    served = {item.type for item in statement.rest[0].resource}
    assert served == {*TYPES, "Binary"}
    smart = client.get("/fhir/.well-known/smart-configuration").get_json()
    assert smart["code_challenge_methods_supported"] == ["S256"]
    assert smart["token_endpoint"].endswith("/oauth/jeton")


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer pas-un-jeton", "Basic abc"])
def test_without_a_valid_token_every_call_is_refused(client, demo_users, header):
    headers = {"Authorization": header} if header else {}
    for path in ("/fhir/Patient", "/fhir/Observation", "/fhir/Binary/" + "0" * 32,
                 "/fhir/nimporte/quoi"):
        response = client.get(path, headers=headers)
        _outcome(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _outcome(client.post("/fhir/Observation", json=WEIGHT, headers=headers), 401)


def test_every_resource_type_reads_and_validates(app, client, space):
    token = token_for(app, PATIENT, EVERYTHING)
    camille = _user(app, PATIENT)
    counts = {}
    for name in TYPES[1:]:
        response = client.get(f"/fhir/{name}", headers=bearer(token))
        assert response.status_code == 200, (name, response.get_data(as_text=True)[:300])
        bundle = Bundle.model_validate(response.get_json())
        assert bundle.type == "searchset"
        counts[name] = bundle.total
        for entry in response.get_json()["entry"]:
            resource = entry["resource"]
            validate(resource)
            assert resource["resourceType"] == name
            one = client.get(f"/fhir/{name}/{resource['id']}", headers=bearer(token))
            assert one.status_code == 200 and one.get_json()["id"] == resource["id"]
    assert counts["Observation"] > 0
    assert counts["DocumentReference"] > 0 and counts["Appointment"] > 0
    patient = client.get(f"/fhir/Patient/{camille.id}", headers=bearer(token)).get_json()
    validate(patient)
    assert patient["name"][0]["family"] == "Martin"


def test_observation_search_by_code_and_date(app, client, space):
    token = token_for(app, PATIENT, ("patient/Observation.rs",))
    every = client.get("/fhir/Observation", headers=bearer(token)).get_json()
    weights = client.get("/fhir/Observation?code=http://loinc.org|29463-7",
                         headers=bearer(token)).get_json()
    assert 0 < weights["total"] < every["total"]
    assert all(entry["resource"]["code"]["coding"][0]["code"] == "29463-7"
               for entry in weights["entry"])
    days = sorted(entry["resource"]["effectiveDateTime"][:10] for entry in weights["entry"])
    later = client.get(f"/fhir/Observation?code=29463-7&date=gt{days[0]}",
                       headers=bearer(token)).get_json()
    assert later["total"] == len([day for day in days if day > days[0]])
    window = client.get(f"/fhir/Observation?code=29463-7&date=ge{days[0]}&date=le{days[0]}",
                        headers=bearer(token)).get_json()
    assert window["total"] == days.count(days[0])
    for bad in ("date=hier", "date=2026-13-45", "couleur=bleu", "code=http://snomed.info/sct|1"):
        _outcome(client.get(f"/fhir/Observation?{bad}", headers=bearer(token)), 400)


def test_scopes_not_granted_answer_403_and_are_written_down(app, client, demo_users):
    token = token_for(app, PATIENT, ("patient/Observation.rs",))
    _outcome(client.get("/fhir/Immunization", headers=bearer(token)), 403)
    _outcome(client.get("/fhir/Patient", headers=bearer(token)), 403)
    _outcome(client.post("/fhir/Observation", json=WEIGHT, headers=bearer(token)), 403)
    with app.app_context():
        refused = db.session.scalars(select(AuditEvent).where(
            AuditEvent.acting_as == apps.ACTING_AS, AuditEvent.outcome == "denied")).all()
        assert {event.target_type for event in refused} == {"Immunization", "Patient",
                                                             "Observation"}


def test_other_spaces_ids_answer_404(app, client, space):
    token = token_for(app, PATIENT, EVERYTHING)
    other = token_for(app, "camille.martin", EVERYTHING, app_slug="rappel-vaccins")
    assert other  # the same person's other app: it sees the same space
    doctor = _user(app, "dr.bernard")
    with app.app_context():
        child = db.session.scalars(select(Representation.represented_id)).first()
        child_measure = db.session.scalars(select(Measure.id).where(
            Measure.patient_id == child)).first()
        child_document = db.session.scalars(select(Document.id).where(
            Document.patient_id == child)).first()
    for path in (f"/fhir/Patient/{doctor.id}", f"/fhir/Patient/{child}",
                 f"/fhir/Observation/{child_measure}",
                 f"/fhir/DocumentReference/{child_document}",
                 f"/fhir/Binary/{child_document}", "/fhir/Observation/" + "f" * 32,
                 "/fhir/Observation/pas-un-id", "/fhir/Observation/a%00b",
                 "/fhir/Binary/a%00b"):
        _outcome(client.get(path, headers=bearer(token)), 404)
    search = client.get(f"/fhir/Observation?patient={child}", headers=bearer(token))
    assert search.status_code == 200 and search.get_json()["total"] == 0


def test_a_hidden_document_never_reaches_an_app(app, client, space):
    token = token_for(app, PATIENT, ("patient/DocumentReference.rs",))
    listed = client.get("/fhir/DocumentReference", headers=bearer(token)).get_json()
    doctor = _user(app, "dr.bernard")
    with app.app_context():  # a document a professional deposited, which she then hides
        first = next(entry["resource"]["id"] for entry in listed["entry"]
                     if db.session.get(Document, entry["resource"]["id"]).author_id
                     == doctor.id)
    assert client.get(f"/fhir/Binary/{first}", headers=bearer(token)).status_code == 200
    with app.app_context():
        db.session.get(Document, first).hidden = True
        db.session.commit()
    again = client.get("/fhir/DocumentReference", headers=bearer(token)).get_json()
    assert first not in {entry["resource"]["id"] for entry in again["entry"]}
    assert again["total"] == listed["total"] - 1
    _outcome(client.get(f"/fhir/DocumentReference/{first}", headers=bearer(token)), 404)
    _outcome(client.get(f"/fhir/Binary/{first}", headers=bearer(token)), 404)


def test_a_representatives_app_never_gets_the_minors_secret(app, client, space):
    with app.app_context():
        child = db.session.scalars(select(Representation.represented_id)).first()
        documents = db.session.scalars(select(Document).where(
            Document.patient_id == child)).all()
        assert documents
        secret = documents[0]
        secret.secret_from_representatives = True
        db.session.commit()
        tallies.verify(db.session, repair=True)  # the counts follow the row changed by hand
        db.session.commit()
        secret_id = secret.id
    token = token_for(app, PATIENT, EVERYTHING, space_id=child)
    listed = client.get("/fhir/DocumentReference", headers=bearer(token)).get_json()
    assert secret_id not in {entry["resource"]["id"] for entry in listed.get("entry", [])}
    _outcome(client.get(f"/fhir/DocumentReference/{secret_id}", headers=bearer(token)), 404)
    _outcome(client.get(f"/fhir/Binary/{secret_id}", headers=bearer(token)), 404)
    patient = client.get(f"/fhir/Patient/{child}", headers=bearer(token)).get_json()
    assert patient["id"] == child


def test_a_connected_scale_adds_a_weight_seen_in_the_history(app, signed_in, client):
    browser = signed_in(PATIENT)
    token = connect(browser, client)["access_token"]
    response = client.post("/fhir/Observation", data=json.dumps(WEIGHT),
                           headers={**bearer(token), "Content-Type": "application/fhir+json"})
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    validate(created)
    assert response.headers["Location"].endswith(f"/fhir/Observation/{created['id']}")
    assert created["valueQuantity"]["value"] == 71.4
    read = client.get(f"/fhir/Observation/{created['id']}", headers=bearer(token))
    assert read.get_json()["id"] == created["id"]
    page = browser.get("/acces/historique?onglet=pros").get_data(as_text=True)
    assert "Application « Balance connectée (exemple) »" in page
    assert "Ajout d’une mesure" in page and "Par un service connecté" in page


@pytest.mark.parametrize("body, content_type, status", [
    ("{", "application/fhir+json", 400),
    ("[]", "application/fhir+json", 422),
    (json.dumps({**WEIGHT, "status": "preliminary"}), "application/fhir+json", 422),
    (json.dumps({**WEIGHT, "valueQuantity": {**WEIGHT["valueQuantity"], "value": 900}}),
     "application/json", 422),
    (json.dumps({**WEIGHT, "resourceType": "Patient"}), "application/fhir+json", 422),
    (json.dumps(WEIGHT), "text/plain", 415),
    (json.dumps({**WEIGHT, "note": [{"text": "x" * 70_000}]}), "application/fhir+json", 413),
    (json.dumps({**WEIGHT, "code": {"text": "<script>alert(1)</script>"}}),
     "application/fhir+json", 422),
])
def test_hostile_bodies_are_refused_with_an_operation_outcome(app, client, demo_users, body,
                                                              content_type, status):
    token = token_for(app, PATIENT, ("patient/Observation.c",))
    response = client.post("/fhir/Observation", data=body,
                           headers={**bearer(token), "Content-Type": content_type})
    outcome = _outcome(response, status)
    assert "<script>" not in json.dumps(outcome)


def test_read_without_search_reads_by_id_only(app, client, demo_users):
    token = token_for(app, PATIENT, ("patient/Patient.r",))
    camille = _user(app, PATIENT)
    assert client.get(f"/fhir/Patient/{camille.id}", headers=bearer(token)).status_code == 200
    _outcome(client.get("/fhir/Patient", headers=bearer(token)), 403)


def test_other_writes_are_not_supported(app, client, demo_users):
    token = token_for(app, PATIENT, EVERYTHING)
    _outcome(client.post("/fhir/Patient", json={"resourceType": "Patient"},
                         headers=bearer(token)), 405)
    _outcome(client.put("/fhir/Observation/" + "a" * 32, json=WEIGHT,
                        headers=bearer(token)), 404)
    _outcome(client.delete("/fhir/Observation/" + "a" * 32, headers=bearer(token)), 404)


def test_a_withdrawn_app_is_refused_on_its_next_call(app, signed_in, client):
    browser = signed_in(PATIENT)
    token = connect(browser, client)["access_token"]
    assert client.get("/fhir/Observation", headers=bearer(token)).status_code == 200
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        connection = apps.connections(db.session, camille)[0]
        apps.withdraw(db.session, keys.ring, space=camille, connection_id=connection.id,
                      actor=apps.audit.Actor(camille.id))
        db.session.commit()
    _outcome(client.get("/fhir/Observation", headers=bearer(token)), 401)


def test_the_api_sets_no_cookie_even_for_a_browser_with_a_session(app, signed_in):
    browser = signed_in(PATIENT)
    token = token_for(app, PATIENT, ("patient/Observation.rs",))
    response = browser.get("/fhir/Observation", headers=bearer(token))
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert browser.get("/fhir/Observation").status_code == 401  # the cookie is no token


def test_each_app_has_its_own_rate_limit(app, client, demo_users):
    from web import catalogue

    with app.app_context():
        rate = catalogue.current().get("neuf-lunes").requests_per_minute
    token = token_for(app, PATIENT, ("patient/Appointment.rs",))
    for _ in range(rate):
        assert client.get("/fhir/Appointment", headers=bearer(token)).status_code == 200
    limited = client.get("/fhir/Appointment", headers=bearer(token))
    _outcome(limited, 429)
    assert limited.headers["Retry-After"]
    other = token_for(app, PATIENT, ("patient/Appointment.rs",), app_slug="esprit-leger")
    assert client.get("/fhir/Appointment", headers=bearer(other)).status_code == 200


def test_searches_come_in_pages_with_next_links(app, client, space):
    token = token_for(app, PATIENT, ("patient/Observation.rs",))
    every = client.get("/fhir/Observation", headers=bearer(token)).get_json()
    assert every["total"] >= 5
    seen, url = [], "/fhir/Observation?_count=2"
    while url:
        page = client.get(url, headers=bearer(token))
        bundle = Bundle.model_validate(page.get_json()).model_dump(mode="json")
        assert bundle["total"] == every["total"] and len(bundle.get("entry", [])) <= 2
        seen += [entry["resource"]["id"] for entry in bundle.get("entry", [])]
        following = [item["url"] for item in bundle["link"] if item["relation"] == "next"]
        url = following[0].split("/fhir", 1)[1] and "/fhir" + following[0].split(
            "/fhir", 1)[1] if following else None
    assert sorted(seen) == sorted(entry["resource"]["id"] for entry in every["entry"])
    for bad in ("_count=0", "_count=abc", "_count=5000", "_getpagesoffset=-1"):
        _outcome(client.get(f"/fhir/Observation?{bad}", headers=bearer(token)), 400)


def test_an_app_follows_the_holders_view_when_she_blocks_a_professional(app, client, space):
    """Blocking a professional shuts him out, not his documents out of her own view: her
    pages still list what he deposited, and so does her app (the same rule decides)."""
    from domain import audit, care

    token = token_for(app, PATIENT, ("patient/DocumentReference.rs",))
    before = client.get("/fhir/DocumentReference", headers=bearer(token)).get_json()
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        doctor = db.session.scalars(select(User).where(User.login == "dr.bernard")).one()
        care.set_blocked(db.session, keys.ring, camille, doctor, True, audit.Actor(camille.id))
        db.session.commit()
        his = {row.id for row in db.session.scalars(select(Document).where(
            Document.author_id == doctor.id, Document.patient_id == camille.id))}
    after = client.get("/fhir/DocumentReference", headers=bearer(token)).get_json()
    assert after["total"] == before["total"] and his
    assert his <= {entry["resource"]["id"] for entry in after["entry"]}
