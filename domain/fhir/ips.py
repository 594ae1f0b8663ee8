"""The International Patient Summary (IPS) of a space: a FHIR document Bundle.

The Bundle (type "document", an identifier, a timestamp) starts with a Composition typed
LOINC 60591-5, about the Patient and authored by this software (a Device), with five
sections: allergies, problems, medications, immunizations and results, each with its LOINC
code from the IPS guide (codes.IPS_SECTIONS), a narrative table and references to the
resources the Bundle holds; an empty section says why (emptyReason: "nilknown" when the
person said "Non concerné", "unavailable" otherwise). Every entry's fullUrl is a
urn:uuid, derived from the resource type and row id; every reference points to one.

Results are the latest value of each measure kind of the person's age (a summary, not the
history, which the archive's profil-medical.json holds whole) and the documents of the
vault's lab results and imaging categories, as DocumentReferences (metadata only).

Who gets what follows the export (domain/exports.py): the summary is built for the space
owner, or for someone acting for them (`representative`), who never gets the documents a
minor asked to keep secret from their representatives: the document policy decides each
one. Building the summary reads and opens, and audits nothing: the caller records the
export or the API read that asked for it.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import measures, policy, profile, vault
from domain.agenda import SITE_ZONE
from domain.crypto import Keyring
from domain.fhir import codes, resources
from domain.fhir.wording import IPS_SECTIONS, Wording
from domain.keys import patient_key
from domain.models import Category, Document, InsuredPerson, Role, User
from domain.models.base import utcnow

# The profile section behind each IPS section (results come from measures and documents).
PROFILE_SECTIONS = {"allergies": "allergies", "problems": "conditions",
                    "medications": "treatments", "immunizations": "vaccinations"}
RESULT_CATEGORIES = (Category.LAB_RESULTS, Category.IMAGING)
DEVICE_ID = "carnet-sante"
PRODUCT_NAME = "Carnet santé"
XHTML = "http://www.w3.org/1999/xhtml"
# What XML 1.0 cannot carry at all (forms already drop control characters; this makes sure).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
URN_NAMESPACE = uuid.UUID("5b1f8a3c-6d1e-4c8e-9a57-2f6b0c4d9e11")  # this project's, fixed


@dataclass(frozen=True)
class SummaryData:
    """What the summary shows, read and opened: the patient and the insurer's sex code,
    the profile sections behind the IPS sections, the latest measure of each kind, and
    the result documents the reader may see."""

    patient: User
    sex_code: str | None
    sections: dict  # profile section key -> profile.SectionView
    latest: list    # measures.MeasureView, in measures.KINDS order
    documents: list  # vault.DocumentView, newest first


def read(session: Session, keyring: Keyring, patient: User, *, representative: bool,
         today: date) -> SummaryData:
    """Read and open everything the summary shows. `representative`: the reader acts for
    the patient (a parent, a guardian), and the document policy leaves out what a minor
    keeps secret from them."""
    sections = profile.load(session, keyring, patient, tuple(
        profile.BY_KEY[key] for key in PROFILE_SECTIONS.values()))
    latest = measures.latest(session, keyring, patient, measures.kinds_for(patient, today))
    rows = session.scalars(select(Document).where(
        Document.patient_id == patient.id, Document.category.in_(RESULT_CATEGORIES))
        .order_by(Document.document_date.desc(), Document.deposited_at.desc(),
                  Document.id)).all()
    readable = [row for row in rows if policy.document_allowed(
        policy.DocumentAction.LIST, Role.PATIENT, policy.DocumentContext(
            is_owner=True, is_author=row.author_id == patient.id,
            for_representative=representative,
            secret_from_representatives=row.secret_from_representatives),
        hidden=row.hidden)]
    key = patient_key(keyring, patient) if readable else b""
    documents = [vault.DocumentView(row, vault.title_of(key, row)) for row in readable]
    sex_code = session.scalars(select(InsuredPerson.sex).where(
        InsuredPerson.user_id == patient.id).limit(1)).first()
    return SummaryData(patient, sex_code, sections,
                       [latest[kind.key] for kind in measures.KINDS if kind.key in latest],
                       documents)


def build(session: Session, keyring: Keyring, patient: User, wording: Wording, *,
          representative: bool, now: datetime | None = None) -> dict:
    """The patient's summary as a FHIR document Bundle (a dict ready for JSON): read(),
    then bundle(). `now` (aware) dates it; the current time by default."""
    now = now or utcnow()
    data = read(session, keyring, patient, representative=representative,
                today=now.astimezone(SITE_ZONE).date())
    return bundle(data, wording, now=now)


def urn(resource: dict) -> str:
    """The fullUrl of a resource in the summary: a urn:uuid derived from its type and id,
    so every reference to it can be written before the entry is."""
    name = "{}/{}".format(resource["resourceType"], resource["id"])
    return f"urn:uuid:{uuid.uuid5(URN_NAMESPACE, name)}"


def _text(value) -> str:
    return html.escape(NOT_XML.sub("", str(value)), quote=True)


def _narrative(headings: tuple[str, ...], rows: list[tuple]) -> dict:
    """A section's text: a table, every word escaped for XHTML."""
    head = "".join(f"<th>{_text(heading)}</th>" for heading in headings)
    body = "".join("<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return {"status": "generated",
            "div": f'<div xmlns="{XHTML}"><table><thead><tr>{head}</tr></thead>'
                   f"<tbody>{body}</tbody></table></div>"}


def _coded_words(value: dict, labels) -> str:
    return labels[value["key"]] if value.get("key") else value["text"]


def _rows(key: str, views: list, wording: Wording) -> list[tuple]:
    """The narrative's rows of a profile-backed section, one per entry."""
    rows = []
    for view in views:
        values = view.values
        if key == "allergies":
            rows.append((_coded_words(values["substance"], wording.allergens),
                         values.get("reaction") or "",
                         wording.severities.get(values.get("severity") or "", "")))
        elif key == "problems":
            rows.append((_coded_words(values["condition"], wording.conditions),
                         values.get("since") or "", values.get("note") or ""))
        elif key == "medications":
            rows.append((values["name"], values.get("dose") or "", values.get("since") or "",
                         values.get("until") or ""))
        else:
            rows.append((wording.vaccines[values["vaccine"]], values["given_on"],
                         values.get("dose") or "", values.get("lot") or ""))
    return rows


def _measure_row(view, wording: Wording) -> tuple:
    kind = measures.BY_KEY[view.measure.kind]
    unit = wording.units[kind.unit]
    if kind.key == "blood_pressure":
        value = (f"{wording.number(view.values['systolic'])}/"
                 f"{wording.number(view.values['diastolic'])} {unit}")
    else:
        value = f"{wording.number(view.values['value'])} {unit}"
    day = view.day.isoformat() + (f" {view.values['time']}" if view.values.get("time") else "")
    return wording.measures[kind.key], day, value


def _section(key: str, wording: Wording, resources_: list[dict], rows: list[tuple],
             not_concerned: bool = False) -> dict:
    code, display = codes.IPS_SECTIONS[key]
    section = {"title": wording.sections[key],
               "code": {"coding": [{"system": codes.LOINC, "code": code,
                                    "display": display}]}}
    if resources_:
        section["text"] = _narrative(wording.columns[key], rows)
        section["entry"] = [{"reference": urn(resource)} for resource in resources_]
        return section
    reason, reason_display = (codes.EMPTY_NIL_KNOWN if not_concerned
                              else codes.EMPTY_UNAVAILABLE)
    sentence = wording.not_concerned if not_concerned else wording.nothing_recorded
    section["text"] = {"status": "generated", "div": f'<div xmlns="{XHTML}"><p>'
                                                      f"{_text(sentence)}</p></div>"}
    section["emptyReason"] = {"coding": [{"system": codes.LIST_EMPTY_REASON, "code": reason,
                                          "display": reason_display}], "text": sentence}
    return section


def bundle(data: SummaryData, wording: Wording, *, now: datetime) -> dict:
    """The document Bundle of what read() gathered, dated `now` (aware): Composition
    first, then the Patient, the Device, and every resource a section refers to."""
    patient = resources.patient(data.patient, sex_code=data.sex_code)
    # The author: this software, which put the summary together from the space.
    # DeviceNameType "user-friendly-name" (hl7.org/fhir/R4B/valueset-device-nametype.html).
    device = {"resourceType": "Device", "id": DEVICE_ID,
              "deviceName": [{"name": PRODUCT_NAME, "type": "user-friendly-name"}]}
    subject = urn(patient)
    sections, entries = [], []
    for key in IPS_SECTIONS[:-1]:
        view = data.sections[PROFILE_SECTIONS[key]]
        built = [resources.entry_resource(item, wording, subject=subject)
                 for item in view.entries]
        sections.append(_section(key, wording, built, _rows(key, view.entries, wording),
                                 not_concerned=view.not_concerned))
        entries += built
    results = ([resources.observation(view, wording, subject=subject) for view in data.latest]
               + [resources.document_reference(view, wording, subject=subject)
                  for view in data.documents])
    rows = ([_measure_row(view, wording) for view in data.latest]
            + [(view.title, view.document.document_date.isoformat(),
                wording.categories[view.document.category.value]) for view in data.documents])
    sections.append(_section("results", wording, results, rows))
    entries += results
    document_id = uuid.uuid4()
    code, display = codes.IPS_DOCUMENT
    composition = {
        "resourceType": "Composition", "id": str(document_id), "language": wording.language,
        "status": "final",
        "type": {"coding": [{"system": codes.LOINC, "code": code, "display": display}]},
        "subject": {"reference": subject}, "date": resources.instant(now),
        "author": [{"reference": urn(device)}], "title": wording.document_title,
        "section": sections,
    }
    return {
        "resourceType": "Bundle", "language": wording.language,
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{document_id}"},
        "type": "document", "timestamp": resources.instant(now),
        "entry": [{"fullUrl": f"urn:uuid:{document_id}", "resource": composition}]
        + [{"fullUrl": urn(resource), "resource": resource}
           for resource in (patient, device, *entries)],
    }
