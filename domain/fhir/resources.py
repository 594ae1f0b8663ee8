"""The project's records as FHIR R4 resources (JSON objects as dicts, fhirVersion 4.0.1).

Pure functions: each takes what the domain's read functions return, already opened
(measures.MeasureView, profile.EntryView, vault.DocumentView, agenda.ItemView, a User),
and the words to show (wording.Wording); none reads the database, checks access or audits:
the caller has decided and recorded who may see what. Resource ids are the rows' ids;
`meta.lastUpdated` is given wherever the row keeps a time. `subject` is the reference to
the patient to write ("Patient/<id>" by default; a bundle passes its "urn:uuid:…").

Days and times of day are the wall time people typed in Europe/Paris: a time becomes a
dateTime with the offset of that day; a partial date ("2015", "2015-03") stays partial, as
FHIR allows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from domain.agenda import SITE_ZONE, ItemView
from domain.fhir import codes
from domain.fhir.wording import Wording
from domain.measures import BY_KEY as MEASURE_KINDS
from domain.measures import MeasureView
from domain.models import ItemKind, User
from domain.profile import EntryView
from domain.vault import DocumentView

# The profile sections that have a resource of their own, and which one.
ENTRY_RESOURCES = {"allergies": "AllergyIntolerance", "conditions": "Condition",
                   "treatments": "MedicationStatement", "vaccinations": "Immunization"}
GENDERS = {"1": "male", "2": "female"}  # the insurer's sex code, as in the NIR


def instant(moment: datetime) -> str:
    """A datetime as a FHIR instant: UTC, to the second (the database's naive values are
    UTC already)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds")


def _local(day: date, clock: time) -> str:
    return datetime.combine(day, clock, tzinfo=SITE_ZONE).isoformat(timespec="seconds")


def _meta(moment: datetime | None) -> dict:
    return {"meta": {"lastUpdated": instant(moment)}} if moment is not None else {}


def _subject(subject: str | None, patient_id: str) -> dict:
    return {"reference": subject or f"Patient/{patient_id}"}


def _coded(value: dict, labels) -> dict:
    """A coded field of the profile ({"key", "text", "system", "code"}) as a
    CodeableConcept: the bundled code when it has one, and the words either way."""
    concept: dict = {}
    if value.get("system") and value.get("code"):
        concept["coding"] = [{"system": value["system"], "code": value["code"]}]
    concept["text"] = labels[value["key"]] if value.get("key") else value["text"]
    return concept


def _check(view: EntryView, section: str) -> None:
    if view.entry.section != section:
        raise ValueError(f"a {view.entry.section} entry is no {ENTRY_RESOURCES[section]}")


def gender(sex_code: str | None) -> str | None:
    """The insurer's sex code ("1", "2") as Patient.gender, None when unknown."""
    return GENDERS.get(sex_code or "")


def patient(user: User, *, sex_code: str | None = None) -> dict:
    """A Patient: names, birth date, gender (from the insurer's record, when known), and
    the e-mail and phone the space keeps. The NIR is left out: an app has no use for it."""
    resource = {"resourceType": "Patient", "id": user.id, "active": user.enabled,
                "name": [{"use": "official", "family": user.family_name,
                          "given": [user.given_name]}]}
    telecom = [{"system": system, "value": value}
               for system, value in (("email", user.email), ("phone", user.phone)) if value]
    if telecom:
        resource["telecom"] = telecom
    if gender(sex_code):
        resource["gender"] = gender(sex_code)
    if user.birth_date:
        resource["birthDate"] = user.birth_date.isoformat()
    return resource


def _quantity(number: float, kind_key: str) -> dict:
    return {"value": number, "unit": MEASURE_KINDS[kind_key].unit, "system": codes.UCUM,
            "code": codes.MEASURES[kind_key].ucum}


def _loinc(code: str, display: str | None, text: str) -> dict:
    coding = {"system": codes.LOINC, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": text}


def observation(view: MeasureView, wording: Wording, *, subject: str | None = None) -> dict:
    """A measure as an Observation (vital-signs category, LOINC code, UCUM unit; see
    codes.MEASURES for every kind and where its code comes from). Blood pressure is one
    Observation with a systolic and a diastolic component. The time of day, when the
    person gave one, makes effectiveDateTime a dateTime; `issued` is when it was
    recorded."""
    measure = view.measure
    code = codes.MEASURES[measure.kind]
    clock = view.values.get("time")
    effective = (_local(measure.measured_on, time.fromisoformat(clock)) if clock
                 else measure.measured_on.isoformat())
    resource = {
        "resourceType": "Observation", "id": measure.id, **_meta(measure.created_at),
        "status": "final",
        "category": [{"coding": [{"system": codes.OBSERVATION_CATEGORY,
                                  "code": "vital-signs"}]}],
        "code": _loinc(code.loinc, code.display, wording.measures[measure.kind]),
        "subject": _subject(subject, measure.patient_id),
        "effectiveDateTime": effective,
        "issued": instant(measure.created_at),
    }
    if code.components:
        resource["component"] = [
            {"code": _loinc(loinc, None, wording.measures[name]),
             "valueQuantity": _quantity(view.values[name], measure.kind)}
            for name, loinc in code.components]
    else:
        resource["valueQuantity"] = _quantity(view.values["value"], measure.kind)
    return resource


def allergy_intolerance(view: EntryView, wording: Wording, *,
                        subject: str | None = None) -> dict:
    """An allergy as an AllergyIntolerance: the substance (its ATC code when the bundled
    list has one, and its name), active, confirmed once a professional locked it,
    unconfirmed before; the person's severity as criticality, and as the reaction's
    severity when a reaction is described."""
    _check(view, "allergies")
    values, entry = view.values, view.entry
    resource = {
        "resourceType": "AllergyIntolerance", "id": entry.id, **_meta(entry.updated_at),
        "clinicalStatus": {"coding": [{"system": codes.ALLERGY_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": codes.ALLERGY_VERIFICATION,
                                           "code": "confirmed" if entry.locked
                                           else "unconfirmed"}]},
        "code": _coded(values["substance"], wording.allergens),
        "patient": _subject(subject, entry.patient_id),
        "recordedDate": instant(entry.created_at),
    }
    substance = values["substance"]
    category = ("medication" if substance.get("code")
                else codes.ALLERGEN_CATEGORIES.get(substance.get("key") or ""))
    if category:
        resource["category"] = [category]
    if values.get("severity") in codes.CRITICALITY:
        resource["criticality"] = codes.CRITICALITY[values["severity"]]
    if values.get("reaction"):
        reaction = {"manifestation": [{"text": values["reaction"]}]}
        if values.get("severity") in codes.REACTION_SEVERITY:
            reaction["severity"] = codes.REACTION_SEVERITY[values["severity"]]
        resource["reaction"] = [reaction]
    return resource


def condition(view: EntryView, wording: Wording, *, subject: str | None = None) -> dict:
    """An illness or health topic as a Condition of the problem list: its ICD-10 code when
    picked from the bundled list, its name, since when, the person's note; confirmed once
    a professional locked it."""
    _check(view, "conditions")
    values, entry = view.values, view.entry
    resource = {
        "resourceType": "Condition", "id": entry.id, **_meta(entry.updated_at),
        "clinicalStatus": {"coding": [{"system": codes.CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": codes.CONDITION_VERIFICATION,
                                           "code": "confirmed" if entry.locked
                                           else "unconfirmed"}]},
        "category": [{"coding": [{"system": codes.CONDITION_CATEGORY,
                                  "code": "problem-list-item"}]}],
        "code": _coded(values["condition"], wording.conditions),
        "subject": _subject(subject, entry.patient_id),
        "recordedDate": instant(entry.created_at),
    }
    if values.get("since"):
        resource["onsetDateTime"] = values["since"]
    if values.get("note"):
        resource["note"] = [{"text": values["note"]}]
    return resource


def medication_statement(view: EntryView, wording: Wording, *,
                         subject: str | None = None) -> dict:
    """A treatment as a MedicationStatement: the medicine by the name the person wrote
    (the profile keeps no code for treatments), the dose as written, from and until when;
    completed once it has an end (an end is never in the future), active otherwise."""
    _check(view, "treatments")
    values, entry = view.values, view.entry
    resource = {
        "resourceType": "MedicationStatement", "id": entry.id, **_meta(entry.updated_at),
        "status": "completed" if values.get("until") else "active",
        "medicationCodeableConcept": {"text": values["name"]},
        "subject": _subject(subject, entry.patient_id),
        "dateAsserted": instant(entry.created_at),
    }
    period = {name: values[key] for name, key in (("start", "since"), ("end", "until"))
              if values.get(key)}
    if period:
        resource["effectivePeriod"] = period
    if values.get("dose"):
        resource["dosage"] = [{"text": values["dose"]}]
    return resource


def immunization(view: EntryView, wording: Wording, *, subject: str | None = None) -> dict:
    """A vaccination as an Immunization: the vaccine by its name in the schedule (the
    schedule's codes are the project's own, so no coding is claimed), the day, the dose
    number, the lot, who vaccinated (a name, not a reference). A record a professional
    confirmed counts as a primary source; one the person typed does not."""
    _check(view, "vaccinations")
    values, entry = view.values, view.entry
    resource = {
        "resourceType": "Immunization", "id": entry.id, **_meta(entry.updated_at),
        "status": "completed",
        "vaccineCode": {"text": wording.vaccines[values["vaccine"]]},
        "patient": _subject(subject, entry.patient_id),
        "occurrenceDateTime": values["given_on"],
        "recorded": instant(entry.created_at),
        "primarySource": entry.locked,
    }
    if values.get("lot"):
        resource["lotNumber"] = values["lot"]
    if values.get("vaccinator"):
        resource["performer"] = [{"actor": {"display": values["vaccinator"]}}]
    if values.get("dose"):
        resource["protocolApplied"] = [{"doseNumberPositiveInt": int(values["dose"])}]
    return resource


def entry_resource(view: EntryView, wording: Wording, *, subject: str | None = None) -> dict:
    """The resource of a profile entry of one of ENTRY_RESOURCES' sections."""
    build = {"allergies": allergy_intolerance, "conditions": condition,
             "treatments": medication_statement, "vaccinations": immunization}
    return build[view.entry.section](view, wording, subject=subject)


def document_reference(view: DocumentView, wording: Wording, *,
                       subject: str | None = None) -> dict:
    """A document of the vault as a DocumentReference, metadata only: its title, category,
    when it was deposited, the document's own date, and one attachment pointing to
    `Binary/<id>` with its type and size. No hash: the vault keeps the SHA-256 of the
    encrypted blob, not the SHA-1 of the content that Attachment.hash means."""
    document = view.document
    return {
        "resourceType": "DocumentReference", "id": document.id, **_meta(document.deposited_at),
        "status": "current",
        "category": [{"coding": [{"system": codes.DOCUMENT_CATEGORY,
                                  "code": document.category.value}],
                      "text": wording.categories[document.category.value]}],
        "subject": _subject(subject, document.patient_id),
        "date": instant(document.deposited_at),
        "description": view.title,
        "content": [{"attachment": {
            "contentType": document.mimetype, "url": f"Binary/{document.id}",
            "size": document.size, "title": view.title,
            "creation": document.document_date.isoformat()}}],
    }


def appointment(view: ItemView, wording: Wording, *, subject: str | None = None,
                with_note: bool = False) -> dict:
    """An agenda item (appointment or reminder, told apart by serviceCategory) as a booked
    Appointment: its title, start and end (R4 wants both once booked: a timed item lasts
    no time, as in the calendar file; an item without a time takes its whole day), the
    patient, and the professional and place by name. The note only `with_note`: it is
    where people write symptoms and reasons."""
    item, values = view.item, view.values
    if view.at is None:
        start, end = (_local(view.day, time()), _local(view.day + timedelta(days=1), time()))
    else:
        start = end = _local(view.day, view.at)
    participants = [{"actor": _subject(subject, item.patient_id), "status": "accepted"}]
    for field, kind in (("professional", "Practitioner"), ("place", "Location")):
        if values.get(field):
            participants.append({"actor": {"type": kind, "display": values[field]},
                                 "status": "accepted"})
    resource = {
        "resourceType": "Appointment", "id": item.id, **_meta(item.updated_at),
        "status": "booked",
        "serviceCategory": [{"text": wording.item_kinds[ItemKind(item.kind).value]}],
        "description": view.title,
        "start": start, "end": end,
        "created": instant(item.created_at),
        "participant": participants,
    }
    if with_note and values.get("note"):
        resource["comment"] = values["note"]
    return resource
