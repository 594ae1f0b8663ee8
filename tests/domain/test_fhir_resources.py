"""FHIR resources of a demo-like space, each validated by fhir.resources' R4B models; the
codes they carry (checked against literal values here, not against domain/fhir/codes.py);
validate() and OperationOutcome; and the reader of an incoming Observation: good bodies,
wrong codes and units, implausible values, dates, shapes that are no JSON object, script
in strings, and hostile bodies from hypothesis."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import agenda, fhir, measures, profile, vault
from domain.fhir import resources
from domain.models import ItemKind, Role, User
from extensions import db, keys
from tests.domain import fhir_space
from web.labels import export as export_labels

PARIS = ZoneInfo("Europe/Paris")
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
# What each measure kind must carry: the FHIR R4 vital-signs pages (weight, height,
# temperature, heart rate, head circumference, blood pressure) and, for the kinds without a
# vital-signs profile, the guides cited in domain/fhir/codes.py.
EXPECTED = {"weight": ("29463-7", "kg"), "height": ("8302-2", "cm"),
            "waist": ("8280-0", "cm"), "temperature": ("8310-5", "Cel"),
            "glucose": ("2339-0", "g/L"), "heart_rate": ("8867-4", "/min"),
            "pain": ("72514-3", "1"), "head_circumference": ("9843-4", "cm")}
PRESSURE = ("85354-9", {"8480-6": "systolic", "8462-4": "diastolic"}, "mm[Hg]")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def space(app, demo_users, tmp_path):
    """Camille's loaded space, inside a request (the words are babel's)."""
    with app.test_request_context():
        yield fhir_space.seed(tmp_path, agenda.today())


@pytest.fixture
def wording(space):
    return export_labels.fhir_wording()


def _entries(patient: User, section: str) -> list[profile.EntryView]:
    return profile.load(db.session, keys.ring, patient, (profile.BY_KEY[section],))[
        section].entries


def _measures(patient: User) -> list[measures.MeasureView]:
    return [view for kind in measures.KINDS
            for view in measures.history(db.session, keys.ring, patient, kind)]


def _documents(patient: User) -> list[vault.DocumentView]:
    return vault.documents_page(db.session, keys.ring, patient, per_page=100).items


def _one(views, test):
    [found] = [view for view in views if test(view)]
    return found


# Every resource ----------------------------------------------------------------------------

def test_every_measure_kind_is_coded():
    assert set(EXPECTED) | {"blood_pressure"} == set(measures.BY_KEY)


def test_every_resource_validates_and_names_its_row(space, wording):
    camille = space
    built = [(view.id, resources.observation(view, wording)) for view in _measures(camille)]
    for section in fhir.ENTRY_RESOURCES:
        built += [(view.id, fhir.entry_resource(view, wording))
                  for view in _entries(camille, section)]
    built += [(view.id, fhir.document_reference(view, wording))
              for view in _documents(camille)]
    built += [(view.id, fhir.appointment(view, wording, with_note=True))
              for view in agenda.between(db.session, keys.ring, camille)]
    kinds = {resource["resourceType"] for _id, resource in built}
    assert kinds == {"Observation", "AllergyIntolerance", "Condition", "MedicationStatement",
                     "Immunization", "DocumentReference", "Appointment"}
    assert len(built) > 40
    for row_id, resource in built:
        model = fhir.validate(resource)
        assert model.id == resource["id"] == row_id
        assert resource["meta"]["lastUpdated"].endswith("+00:00")
        reference = resource.get("subject") or resource.get("patient") or \
            resource["participant"][0]["actor"]
        assert reference == {"reference": f"Patient/{camille.id}"}
        json.dumps(resource, allow_nan=False)  # plain JSON: no dates, no NaN
    patient = fhir.patient(camille, sex_code="2")
    fhir.validate(patient)
    assert patient["gender"] == "female" and patient["birthDate"] == "1988-03-14"
    assert patient["name"] == [{"use": "official", "family": "Martin", "given": ["Camille"]}]
    assert {item["system"] for item in patient["telecom"]} == {"email", "phone"}
    assert "identifier" not in patient  # no NIR for apps
    assert "gender" not in fhir.patient(camille)


def test_a_subject_reference_can_be_given(space, wording):
    view = _measures(space)[0]
    assert resources.observation(view, wording, subject="urn:uuid:x")["subject"] == {
        "reference": "urn:uuid:x"}


# Observations ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind_key", ["weight", "height", "waist", "temperature", "glucose",
                                      "heart_rate", "pain"])
def test_each_measure_carries_its_loinc_code_and_ucum_unit(space, wording, kind_key):
    view = _one(_measures(space), lambda item: item.measure.kind == kind_key
                and item.day == max(other.day for other in _measures(space)
                                    if other.measure.kind == kind_key))
    resource = resources.observation(view, wording)
    loinc, unit = EXPECTED[kind_key]
    assert resource["code"]["coding"][0]["system"] == LOINC
    assert resource["code"]["coding"][0]["code"] == loinc
    assert resource["code"]["text"] == wording.measures[kind_key]
    assert resource["valueQuantity"]["system"] == UCUM
    assert resource["valueQuantity"]["code"] == unit
    assert resource["valueQuantity"]["value"] == view.values["value"]
    assert resource["category"][0]["coding"][0]["code"] == "vital-signs"
    assert resource["status"] == "final"


def test_blood_pressure_is_one_observation_with_two_components(space, wording):
    view = _one(_measures(space), lambda item: item.measure.kind == "blood_pressure"
                and item.day == max(other.day for other in _measures(space)
                                    if other.measure.kind == "blood_pressure"))
    resource = resources.observation(view, wording)
    panel, components, unit = PRESSURE
    assert resource["code"]["coding"][0]["code"] == panel and "valueQuantity" not in resource
    found = {item["code"]["coding"][0]["code"]: item["valueQuantity"]
             for item in resource["component"]}
    assert set(found) == set(components)
    for loinc, name in components.items():
        assert found[loinc]["value"] == view.values[name]
        assert (found[loinc]["system"], found[loinc]["code"]) == (UCUM, unit)


def test_a_time_of_day_is_paris_wall_time(space, wording):
    view = _one(_measures(space), lambda item: item.day == date(2026, 1, 15))
    assert resources.observation(view, wording)["effectiveDateTime"] == \
        "2026-01-15T08:30:00+01:00"
    plain = _one(_measures(space), lambda item: item.measure.kind == "glucose")
    assert resources.observation(plain, wording)["effectiveDateTime"] == plain.day.isoformat()


# Profile entries ---------------------------------------------------------------------------

def test_allergies_carry_atc_codes_words_and_severity(space, wording):
    views = _entries(space, "allergies")
    penicillins = fhir.allergy_intolerance(
        _one(views, lambda view: view.values["substance"]["key"] == "penicillins"), wording)
    assert penicillins["code"] == {"coding": [{"system": "http://www.whocc.no/atc",
                                               "code": "J01C"}], "text": "Pénicillines"}
    assert penicillins["category"] == ["medication"] and penicillins["criticality"] == "low"
    assert penicillins["reaction"] == [{"manifestation": [{"text": "Urticaire"}],
                                        "severity": "moderate"}]
    assert penicillins["verificationStatus"]["coding"][0]["code"] == "unconfirmed"
    typed = fhir.allergy_intolerance(
        _one(views, lambda view: view.values["substance"]["key"] is None), wording)
    assert typed["code"] == {"text": fhir_space.HOSTILE}
    assert typed["criticality"] == "high" and typed["reaction"][0]["severity"] == "severe"
    assert "category" not in typed
    peanut = fhir.allergy_intolerance(
        _one(views, lambda view: view.values["substance"]["key"] == "peanut"), wording)
    assert peanut["category"] == ["food"] and peanut["criticality"] == "unable-to-assess"
    assert "reaction" not in peanut and "coding" not in peanut["code"]


def test_conditions_carry_icd10_codes_onset_and_confirmation(space, wording):
    views = _entries(space, "conditions")
    hypertension = fhir.condition(
        _one(views, lambda view: view.values["condition"]["key"] == "hypertension"), wording)
    assert hypertension["code"] == {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10",
                                                "code": "I10"}],
                                    "text": "Hypertension artérielle"}
    assert hypertension["onsetDateTime"] == "2015-06"
    assert hypertension["note"] == [{"text": fhir_space.HOSTILE}]
    assert hypertension["verificationStatus"]["coding"][0]["code"] == "confirmed"  # a doctor's
    asthma = fhir.condition(
        _one(views, lambda view: view.values["condition"]["key"] == "asthma"), wording)
    assert asthma["code"]["coding"][0]["code"] == "J45" and asthma["onsetDateTime"] == "2001"
    assert asthma["verificationStatus"]["coding"][0]["code"] == "unconfirmed"
    assert asthma["category"][0]["coding"][0]["code"] == "problem-list-item"
    with pytest.raises(ValueError):
        fhir.condition(_entries(space, "allergies")[0], wording)


def test_treatments_are_medication_statements(space, wording):
    views = _entries(space, "treatments")
    finished = fhir.medication_statement(
        _one(views, lambda view: view.values["name"].startswith("Amoxicilline")), wording)
    assert finished["status"] == "completed"
    assert finished["effectivePeriod"] == {"start": "2024-01-03", "end": "2024-01-10"}
    assert finished["dosage"] == [{"text": "1 matin et soir"}]
    assert finished["medicationCodeableConcept"] == {"text": "Amoxicilline 1 g"}
    going = fhir.medication_statement(
        _one(views, lambda view: view.values["name"].startswith("Salbutamol")), wording)
    assert going["status"] == "active" and going["effectivePeriod"] == {"start": "2001-09"}


def test_vaccinations_are_immunizations(space, wording):
    views = _entries(space, "vaccinations")
    hpv = fhir.immunization(_one(views, lambda view: view.values["vaccine"] == "hpv"), wording)
    assert hpv["vaccineCode"] == {"text": "Papillomavirus (HPV)"}
    assert hpv["occurrenceDateTime"] == "2006-05-02" and hpv["lotNumber"] == "AB12"
    assert hpv["protocolApplied"] == [{"doseNumberPositiveInt": 2}]
    assert hpv["performer"] == [{"actor": {"display": "Dr Bernard"}}]
    assert hpv["primarySource"] is True  # recorded by the doctor
    flu = fhir.immunization(_one(views, lambda view: view.values["vaccine"] == "influenza"),
                            wording)
    assert flu["primarySource"] is False and "lotNumber" not in flu


# Documents and appointments ------------------------------------------------------------------

def test_documents_are_metadata_pointing_to_their_binary(space, wording):
    view = _one(_documents(space), lambda item: item.title == "Bilan sanguin")
    resource = fhir.document_reference(view, wording)
    [content] = resource["content"]
    assert content["attachment"] == {
        "contentType": "application/pdf", "url": f"Binary/{view.id}",
        "size": view.document.size, "title": "Bilan sanguin",
        "creation": view.document.document_date.isoformat()}
    assert resource["category"] == [{"coding": [{
        "system": "urn:carnet-sante:categorie-document", "code": "lab_results"}],
        "text": "Résultats de biologie"}]
    assert resource["status"] == "current" and resource["description"] == "Bilan sanguin"


def test_agenda_items_are_booked_appointments(space, wording):
    items = agenda.between(db.session, keys.ring, space)
    timed = _one(items, lambda view: view.title == "Consultation de suivi de l’asthme")
    resource = fhir.appointment(timed, wording)
    expected = datetime.combine(timed.day, time(9, 30), tzinfo=PARIS).isoformat()
    assert resource["start"] == resource["end"] == expected
    assert resource["status"] == "booked" and "comment" not in resource
    assert resource["serviceCategory"] == [{"text": "Rendez-vous"}]
    assert {"actor": {"type": "Practitioner", "display": "Dr Julien Bernard"},
            "status": "accepted"} in resource["participant"]
    assert fhir.appointment(timed, wording, with_note=True)["comment"] == \
        "Apporter le carnet de suivi et la liste des traitements."
    reminder = _one(items, lambda view: view.kind == ItemKind.REMINDER)
    whole_day = fhir.appointment(reminder, wording)
    assert whole_day["start"] == datetime.combine(reminder.day, time(), tzinfo=PARIS).isoformat()
    assert whole_day["end"] == datetime.combine(reminder.day + timedelta(days=1), time(),
                                                tzinfo=PARIS).isoformat()
    assert whole_day["serviceCategory"] == [{"text": "Rappel"}]


# validate() and OperationOutcome ---------------------------------------------------------------

@pytest.mark.parametrize("body", [
    [], "Patient", None, 5, {}, {"resourceType": "Quantity", "value": 1},
    {"resourceType": "Nope"}, {"resourceType": "<script>alert(1)</script>"},
    {"resourceType": ["Patient"]}, {"resourceType": "Patient", "birthDate": "<script>"},
    {"resourceType": "Patient", "<script>x</script>": 1},
    {"resourceType": "Patient", "name": [{"given": {"<script>": "x"}}]},
])
def test_validate_refuses_what_is_no_valid_resource(app, body):
    with pytest.raises(fhir.InvalidResource) as refused:
        fhir.validate(body)
    said = json.dumps(refused.value.outcome(), ensure_ascii=False)
    assert "script" not in said and refused.value.message
    fhir.validate(refused.value.outcome())


def test_validate_names_the_element_at_fault():
    with pytest.raises(fhir.InvalidResource) as refused:
        fhir.validate({"resourceType": "Patient", "birthDate": "demain"})
    assert refused.value.reason == "structure"
    assert refused.value.expression == ("Patient.birthDate",)
    assert "birthDate" in refused.value.message and "demain" not in refused.value.message


def test_operation_outcome_is_valid_and_checks_its_codes():
    outcome = fhir.operation_outcome("error", "not-found", "Ressource inconnue.",
                                     ("Observation.id",))
    assert fhir.validate(outcome).issue[0].code == "not-found"
    assert outcome["issue"] == [{"severity": "error", "code": "not-found",
                                 "diagnostics": "Ressource inconnue.",
                                 "expression": ["Observation.id"]}]
    for severity, code in (("error", "nope"), ("grave", "invalid")):
        with pytest.raises(ValueError):
            fhir.operation_outcome(severity, code, "x")


# The incoming Observation ----------------------------------------------------------------------

def _patient(birth: date = date(1988, 3, 14)) -> User:
    return User(id="a" * 32, role=Role.PATIENT, given_name="Camille", family_name="Martin",
                birth_date=birth)


def weight(**changes) -> dict:
    body = {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
            "subject": {"reference": f"Patient/{'a' * 32}"},
            "effectiveDateTime": "2026-03-09",
            "valueQuantity": {"value": 72.4, "unit": "kg", "system": UCUM, "code": "kg"}}
    body.update(changes)
    return body


def pressure(systolic=124, diastolic=79, **changes) -> dict:
    body = weight(code={"coding": [{"system": LOINC, "code": "85354-9"}]}, component=[
        {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
         "valueQuantity": {"value": systolic, "system": UCUM, "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
         "valueQuantity": {"value": diastolic, "system": UCUM, "code": "mm[Hg]"}}])
    del body["valueQuantity"]
    body.update(changes)
    return body


def test_a_scale_adds_a_weight(app, demo_users):
    with app.app_context():
        camille = fhir_space.user("camille.martin")
        read = fhir.observation_to_measure(weight(subject={"reference": f"Patient/{camille.id}"}),
                                           camille, now=NOW)
        assert read.kind.key == "weight" and read.measured_on == date(2026, 3, 9)
        assert read.values == {"value": 72.4, "measured_on": "2026-03-09"}
        measures.add(db.session, keys.ring, camille, read.kind, dict(read.values),
                     fhir_space.ACTOR)
        [stored] = measures.history(db.session, keys.ring, camille, read.kind)
        assert stored.values == {"value": 72.4} and stored.day == date(2026, 3, 9)


def test_a_time_is_read_as_paris_wall_time(app):
    with app.app_context():
        read = fhir.observation_to_measure(
            weight(effectiveDateTime="2026-03-09T07:30:00Z"), _patient(), now=NOW)
        assert read.values["time"] == "08:30" and read.measured_on == date(2026, 3, 9)
        anonymous = weight(effectiveDateTime="2026-03-09T23:30:00Z")
        del anonymous["subject"]  # no subject: the space the app writes to
        late = fhir.observation_to_measure(anonymous, _patient(), now=NOW)
        assert late.measured_on == date(2026, 3, 10) and late.values["time"] == "00:30"
        pressure_read = fhir.observation_to_measure(pressure(), _patient(), now=NOW)
        assert pressure_read.values == {"systolic": 124, "diastolic": 79,
                                        "measured_on": "2026-03-09"}


def test_every_stored_measure_reads_back_the_same(space, wording):
    """What the API gives for a measure, sent back, is the same measure."""
    now = datetime.now(UTC)
    for view in _measures(space):
        read = fhir.observation_to_measure(resources.observation(view, wording), space,
                                           now=now)
        assert read.kind.key == view.measure.kind and read.measured_on == view.day
        assert {name: value for name, value in read.values.items()
                if name != "measured_on"} == view.values


def _refusal(body, patient=None, now=NOW) -> fhir.InvalidResource:
    with pytest.raises(fhir.InvalidResource) as refused:
        fhir.observation_to_measure(body, patient or _patient(), now=now)
    outcome = refused.value.outcome()
    fhir.validate(outcome)
    return refused.value


@pytest.mark.parametrize(("body", "reason"), [
    (weight(code={"coding": [{"system": LOINC, "code": "0000-0"}]}), "code_unknown"),
    (weight(code={"coding": [{"system": "http://snomed.info/sct", "code": "29463-7"}]}),
     "code_unknown"),
    (weight(code={"text": "Poids"}), "code_unknown"),
    (weight(code={"coding": [{"system": LOINC, "code": "29463-7"},
                             {"system": LOINC, "code": "8302-2"}]}), "code_ambiguous"),
    (weight(valueQuantity={"value": 160, "system": UCUM, "code": "[lb_av]"}), "unit"),
    (weight(valueQuantity={"value": 72400, "system": UCUM, "code": "g"}), "unit"),
    (weight(valueQuantity={"value": 72.4, "unit": "kg"}), "unit"),
    (weight(valueQuantity={"value": 700, "system": UCUM, "code": "kg"}), "value_range"),
    (weight(valueQuantity={"value": 0.1, "system": UCUM, "code": "kg"}), "value_range"),
    (weight(valueQuantity={"value": -72, "system": UCUM, "code": "kg"}), "value_range"),
    (weight(valueQuantity={"value": 72.456, "system": UCUM, "code": "kg"}), "value_decimals"),
    (weight(valueQuantity={"value": "72.4", "system": UCUM, "code": "kg"}), "value_type"),
    (weight(valueQuantity={"system": UCUM, "code": "kg"}), "value_missing"),
    (weight(effectiveDateTime="2026-03-11"), "date_future"),
    (weight(effectiveDateTime="2026-03-10T13:30:00+01:00"), "date_future"),
    (weight(effectiveDateTime="1980-01-01"), "date_before_birth"),
    (weight(effectiveDateTime="2026-03"), "date_incomplete"),
    (weight(effectiveDateTime="2026"), "date_incomplete"),
    ({key: value for key, value in weight().items() if key != "effectiveDateTime"},
     "date_missing"),
    (weight(status="preliminary"), "status"),
    (weight(subject={"reference": f"Patient/{'b' * 32}"}), "subject"),
    (weight(subject={"display": "Camille"}), "subject"),
    (pressure(systolic=80, diastolic=90), "pressure_order"),
    (pressure(systolic=400), "value_range"),
    (pressure(component=[pressure()["component"][0]]), "component_missing"),
    (weight(code={"coding": [{"system": LOINC, "code": "9843-4"}]},
            valueQuantity={"value": 35, "system": UCUM, "code": "cm"}), "kind_not_for_age"),
])
def test_an_observation_the_space_cannot_record_is_refused(app, body, reason):
    with app.app_context():
        refused = _refusal(body)
    assert refused.reason == reason, refused.message
    assert refused.message and refused.expression[0].startswith("Observation.")


def test_a_childs_head_circumference_is_accepted(app):
    with app.app_context():
        body = weight(code={"coding": [{"system": LOINC, "code": "9843-4"}]},
                      valueQuantity={"value": 45.5, "system": UCUM, "code": "cm"})
        read = fhir.observation_to_measure(body, _patient(date(2025, 1, 2)), now=NOW)
    assert read.kind.key == "head_circumference" and read.values["value"] == 45.5


@pytest.mark.parametrize("body", [[], "", None, 3, True, 2.5, [weight()], "{}"])
def test_what_is_no_json_object_is_refused(app, body):
    with app.app_context():
        assert _refusal(body).reason == "not_object"


@pytest.mark.parametrize("body", [{"resourceType": "Patient"}, {"resourceType": ["Observation"]},
                                  {"status": "final"}, {"resourceType": None}])
def test_what_is_no_observation_is_refused(app, body):
    with app.app_context():
        assert _refusal(body).reason == "resource_type"


SCRIPT = "<script>alert('x')</script>"


@pytest.mark.parametrize("body", [
    weight(resourceType=SCRIPT), weight(status=SCRIPT), weight(effectiveDateTime=SCRIPT),
    weight(**{SCRIPT: "1"}), weight(code={"coding": [{"system": LOINC, "code": SCRIPT}]}),
    weight(valueQuantity={"value": 72.4, "system": UCUM, "code": SCRIPT}),
    weight(valueQuantity={"value": SCRIPT, "system": UCUM, "code": "kg"}),
    weight(subject={"reference": SCRIPT}),
    weight(code={"coding": [{"system": SCRIPT, "code": "29463-7"}]}),
])
def test_script_in_strings_is_refused_and_never_repeated(app, body):
    with app.app_context():
        refused = _refusal(body)
    said = json.dumps(refused.outcome(), ensure_ascii=False)
    assert "script" not in said and "alert" not in said


def test_script_in_free_text_is_not_what_gets_recorded(app):
    with app.app_context():
        read = fhir.observation_to_measure(
            weight(code={"coding": [{"system": LOINC, "code": "29463-7", "display": SCRIPT}],
                         "text": SCRIPT}), _patient(), now=NOW)
    assert read.values == {"value": 72.4, "measured_on": "2026-03-09"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=16)
MARKER = "«marqueur<script>»"
PLACES = [("resourceType",), ("status",), ("code",), ("code", "coding"),
          ("code", "coding", 0, "code"), ("code", "coding", 0, "system"), ("valueQuantity",),
          ("valueQuantity", "value"), ("valueQuantity", "code"), ("valueQuantity", "system"),
          ("effectiveDateTime",), ("subject",), ("subject", "reference"), (MARKER,),
          ("component",), ("meta",), ("extension",)]


def _read_or_refuse(body) -> None:
    try:
        read = fhir.observation_to_measure(body, _patient(), now=NOW)
    except fhir.InvalidResource as refused:
        said = json.dumps(refused.outcome(), ensure_ascii=False)
        assert "marqueur" not in said and "<script" not in said
        fhir.validate(refused.outcome())
    else:  # whatever got through passes the form's own rules
        assert measures.validate(read.kind, {
            **{name: str(value) for name, value in read.values.items()
               if name not in ("measured_on", "time")},
            "measured_on_day": str(read.measured_on.day),
            "measured_on_month": str(read.measured_on.month),
            "measured_on_year": str(read.measured_on.year)}, NOW.date(),
            born=date(1988, 3, 14)).ok


def _altered(base: dict, place: tuple, value) -> dict:
    body = json.loads(json.dumps(base))
    target = body
    for step in place[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return body
    if isinstance(target, dict) or (isinstance(target, list) and isinstance(place[-1], int)
                                    and place[-1] < len(target)):
        target[place[-1]] = value
    return body


@pytest.mark.parametrize("place", PLACES + [("component", 0, "code"),
                                            ("component", 1, "valueQuantity")])
def test_null_anywhere_is_refused(app, place):
    """JSON null is no FHIR value, even where the models would take it for "absent"."""
    with app.app_context():
        for base in (weight(), pressure()):
            body = _altered(base, place, None)
            if body != base:
                refused = _refusal(body)
                assert refused.reason in ("structure", "resource_type"), refused.message


@given(body=JSON)
def test_any_json_value_is_read_or_refused_cleanly(app, body):
    with app.app_context():
        _read_or_refuse(body)


@given(place=st.sampled_from(PLACES), value=JSON | st.just(MARKER),
       base=st.sampled_from([weight(), pressure()]))
def test_a_valid_body_altered_anywhere_is_read_or_refused_cleanly(app, place, value, base):
    with app.app_context():
        _read_or_refuse(_altered(base, place, value))
