"""The International Patient Summary: a document Bundle that fhir.resources' R4B model
accepts, its Composition's sections and their LOINC codes (literal here, from the IPS
guide), references that all resolve inside the Bundle, narratives that are well-formed and
escaped XHTML, empty sections that say why, and a representative who never gets the
minor's secret documents."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest

from domain import agenda, fhir, profile
from domain.fhir import ips
from domain.models import Category
from extensions import db, keys
from tests.domain import fhir_space
from web.labels import export as export_labels

LOINC = "http://loinc.org"
SECTION_CODES = {"48765-2", "11450-4", "10160-0", "11369-6", "30954-2"}
SECTIONS = {"Allergies": "48765-2", "Maladies et sujets de santé": "11450-4",
            "Traitements": "10160-0", "Vaccinations": "11369-6",
            "Mesures et résultats": "30954-2"}
XHTML = "{http://www.w3.org/1999/xhtml}"
URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOW = datetime.now(UTC)


@pytest.fixture
def context(app, demo_users):
    with app.test_request_context():
        yield export_labels.fhir_wording()


def _summary(patient, wording, representative=False) -> dict:
    return ips.build(db.session, keys.ring, patient, wording, representative=representative,
                     now=NOW)


def _xhtml(div: str) -> ET.Element:
    # The narrative is this code's own output, checked here; a DOCTYPE or an entity could
    # only come from text that escaped escaping, which is what the test would catch.
    return ET.fromstring(div)  # noqa: S314


def _references(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


def _composition(bundle: dict) -> dict:
    return bundle["entry"][0]["resource"]


def _sections(bundle: dict) -> dict[str, dict]:
    return {section["code"]["coding"][0]["code"]: section
            for section in _composition(bundle)["section"]}


def _resolved(bundle: dict, section: dict) -> list[dict]:
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    return [by_url[entry["reference"]] for entry in section.get("entry", [])]


def test_the_summary_is_a_valid_document_bundle(context, tmp_path):
    camille = fhir_space.seed(tmp_path, agenda.today())
    bundle = _summary(camille, context)
    model = fhir.validate(bundle)
    assert model.type == "document" and bundle["timestamp"] == NOW.isoformat(timespec="seconds")
    assert bundle["identifier"]["system"] == "urn:ietf:rfc:3986"
    assert URN.fullmatch(bundle["identifier"]["value"])
    for entry in bundle["entry"]:
        fhir.validate(entry["resource"])
    json.dumps(bundle, allow_nan=False)
    composition = _composition(bundle)
    assert composition["resourceType"] == "Composition" and composition["status"] == "final"
    assert composition["type"]["coding"] == [{"system": LOINC, "code": "60591-5",
                                              "display": "Patient summary Document"}]
    assert composition["title"] == "Synthèse médicale (International Patient Summary)"
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds[:3] == ["Composition", "Patient", "Device"]
    patient = bundle["entry"][1]
    assert composition["subject"] == {"reference": patient["fullUrl"]}
    assert patient["resource"]["id"] == camille.id
    assert patient["resource"]["gender"] == "female"  # the demo insurer's record


def test_every_section_has_its_loinc_code_and_every_reference_resolves(context, tmp_path):
    camille = fhir_space.seed(tmp_path, agenda.today())
    bundle = _summary(camille, context)
    sections = _composition(bundle)["section"]
    assert {section["title"]: section["code"]["coding"][0]["code"]
            for section in sections} == SECTIONS
    assert {section["code"]["coding"][0]["system"] for section in sections} == {LOINC}
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(urls) == len(set(urls)) and all(URN.fullmatch(url) for url in urls)
    references = _references(bundle)
    assert len(references) > 40 and set(references) <= set(urls)
    listed = {ref for section in sections for ref in _references(section.get("entry", []))}
    assert listed == set(urls[3:])  # every resource after Patient and Device is in a section
    by_code = _sections(bundle)
    expected = {"48765-2": ("AllergyIntolerance", 3), "11450-4": ("Condition", 2),
                "10160-0": ("MedicationStatement", 2), "11369-6": ("Immunization", 3)}
    for code, (kind, count) in expected.items():
        resolved = _resolved(bundle, by_code[code])
        assert [resource["resourceType"] for resource in resolved] == [kind] * count
        assert "emptyReason" not in by_code[code]
    results = _resolved(bundle, by_code["30954-2"])
    observations = [item for item in results if item["resourceType"] == "Observation"]
    # the latest of each adult kind: the demo's weights, pressures, height, and the others
    assert sorted(item["code"]["coding"][0]["code"] for item in observations) == sorted([
        "29463-7", "8302-2", "8280-0", "8310-5", "2339-0", "85354-9", "8867-4", "72514-3"])
    temperature = next(item for item in observations
                       if item["code"]["coding"][0]["code"] == "8310-5")
    assert temperature["valueQuantity"]["value"] == 37.1  # yesterday's, not January's
    documents = [item["description"] for item in results
                 if item["resourceType"] == "DocumentReference"]
    assert documents == ["Bilan sanguin", "Radio du thorax"]  # not the report


def test_narratives_are_well_formed_and_escaped(context, tmp_path):
    camille = fhir_space.seed(tmp_path, agenda.today())
    bundle = _summary(camille, context)
    for section in _composition(bundle)["section"]:
        assert section["text"]["status"] == "generated"
        root = _xhtml(section["text"]["div"])
        assert root.tag == f"{XHTML}div"
        assert not [node for node in root.iter() if node.tag in (f"{XHTML}script",
                                                                   f"{XHTML}b")]
    allergies = _xhtml(_sections(bundle)["48765-2"]["text"]["div"])
    headings = [node.text for node in allergies.iter(f"{XHTML}th")]
    assert headings == ["Substance", "Réaction", "Gravité"]
    cells = ["".join(node.itertext()) for node in allergies.iter(f"{XHTML}td")]
    assert fhir_space.HOSTILE in cells and "Pénicillines" in cells and "Grave" in cells
    results = _xhtml(_sections(bundle)["30954-2"]["text"]["div"])
    cells = ["".join(node.itertext()) for node in results.iter(f"{XHTML}td")]
    assert "1,05 g/L" in cells and "Résultats de biologie" in cells  # French number


def test_empty_sections_say_why(context):
    camille = fhir_space.user("camille.martin")
    profile.set_not_concerned(db.session, keys.ring, camille, profile.BY_KEY["allergies"],
                              True, fhir_space.ACTOR)
    bundle = _summary(camille, context)
    fhir.validate(bundle)
    sections = _sections(bundle)
    assert set(sections) == SECTION_CODES
    for code, section in sections.items():
        assert "entry" not in section
        [coding] = section["emptyReason"]["coding"]
        assert coding["system"] == "http://terminology.hl7.org/CodeSystem/list-empty-reason"
        expected = ("nilknown", "Non concerné") if code == "48765-2" else (
            "unavailable", "Non renseigné")
        assert (coding["code"], section["emptyReason"]["text"]) == expected
        assert expected[1] in section["text"]["div"]
    assert [entry["resource"]["resourceType"] for entry in bundle["entry"]] == [
        "Composition", "Patient", "Device"]


def test_a_representative_never_gets_the_minors_secret_documents(context, tmp_path):
    leo = fhir_space.child()
    doctor = fhir_space.user("dr.bernard")
    for title, secret in (("Analyse ordinaire", False), ("Analyse confidentielle", True)):
        fhir_space.add_document(leo, tmp_path, title, Category.LAB_RESULTS, date(2026, 1, 5),
                                author=doctor, secret=secret)
    fhir_space.add_measure(leo, "head_circumference", date(2026, 1, 5), value="50")
    db.session.commit()

    def documents(bundle):
        return sorted(resource["description"] for resource in _resolved(
            bundle, _sections(bundle)["30954-2"]) if resource["resourceType"] ==
            "DocumentReference")

    as_parent = _summary(leo, context, representative=True)
    fhir.validate(as_parent)
    assert documents(as_parent) == ["Analyse ordinaire"]
    assert "confidentielle" not in json.dumps(as_parent, ensure_ascii=False)
    assert documents(_summary(leo, context)) == ["Analyse confidentielle", "Analyse ordinaire"]
    codes = [resource["code"]["coding"][0]["code"] for resource in _resolved(
        as_parent, _sections(as_parent)["30954-2"]) if resource["resourceType"] == "Observation"]
    assert codes == ["9843-4"]  # a child's head circumference is in a child's summary


def test_entries_are_the_same_resources_the_api_gives(context, tmp_path):
    """Apart from the subject, which points inside the Bundle, an entry is the resource."""
    camille = fhir_space.seed(tmp_path, agenda.today())
    bundle = _summary(camille, context)
    patient_url = bundle["entry"][1]["fullUrl"]
    [entry] = [item["resource"] for item in bundle["entry"]
               if item["resource"]["resourceType"] == "MedicationStatement"
               and item["resource"]["status"] == "completed"]
    [view] = [view for view in profile.load(db.session, keys.ring, camille)["treatments"].entries
              if view.id == entry["id"]]
    assert entry == fhir.medication_statement(view, context, subject=patient_url)
