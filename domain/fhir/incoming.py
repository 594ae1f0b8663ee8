"""An Observation sent by a connected device or app (a scale adds a weight), read into a
measure the space can record.

The body is checked in three steps: its structure by the R4B Observation model; then what
FHIR leaves open and the project relies on (a final status, this patient as subject, one
known LOINC code, a number with the UCUM unit of that code, a day); then the very rules
of the measures form (domain/measures.py validate(): plausible range and decimals, a day
between birth and today, systolic above diastolic). Every refusal is an InvalidResource
whose message says what to send, in plain words, without repeating what was sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain import measures
from domain.agenda import SITE_ZONE
from domain.fhir import codes
from domain.fhir.validation import InvalidResource, validate
from domain.forms import Problem
from domain.models import User

ACCEPTED_STATUSES = ("final", "amended", "corrected")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})")
CLOCK_SKEW = timedelta(minutes=5)  # a device's clock a little ahead is not "the future"


@dataclass(frozen=True)
class IncomingMeasure:
    """A measure read from an Observation: its kind, its day, and `values` as
    measures.add() takes them (the kind's fields, "measured_on" as ISO text, and "time"
    as HH:MM when the Observation gave a time)."""

    kind: measures.MeasureKind
    measured_on: date
    values: dict


def _refuse(reason: str, code: str, message: str, *where: str) -> InvalidResource:
    return InvalidResource(reason, code, message, tuple(f"Observation.{path}" for path in where))


def _french(number: float) -> str:
    return f"{number:g}".replace(".", ",")


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _kind(body: dict, patient: User, today: date) -> measures.MeasureKind:
    codings = [_dict(coding) for coding in _list(_dict(body.get("code")).get("coding"))]
    found = {codes.BY_LOINC[coding["code"]] for coding in codings
             if coding.get("system") == codes.LOINC and isinstance(coding.get("code"), str)
             and coding["code"] in codes.BY_LOINC}
    accepted = ", ".join(code.loinc for code in codes.MEASURES.values())
    if not found:
        raise _refuse("code_unknown", "code-invalid",
                      "Le code de la mesure doit être un de ces codes LOINC "
                      f"(système {codes.LOINC}) : {accepted}.", "code")
    if len(found) > 1:
        raise _refuse("code_ambiguous", "code-invalid",
                      "La mesure porte les codes LOINC de plusieurs mesures différentes : "
                      "envoyez-en une par Observation.", "code")
    kind = measures.BY_KEY[found.pop()]
    if kind not in measures.kinds_for(patient, today):
        raise _refuse("kind_not_for_age", "business-rule",
                      "Le périmètre crânien n’est suivi que pour les enfants.", "code")
    return kind


def _number(quantity, kind: measures.MeasureKind, where: str) -> str:
    """The quantity's value as the form's text, once its unit is the kind's UCUM code."""
    expected = codes.MEASURES[kind.key].ucum
    if not isinstance(quantity, dict) or "value" not in quantity:
        raise _refuse("value_missing", "required",
                      "La mesure doit avoir une valeur (valueQuantity.value).", where)
    value = quantity["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse("value_type", "value",
                      "La valeur doit être un nombre JSON (valueQuantity.value).",
                      f"{where}.value")
    if quantity.get("system") != codes.UCUM or quantity.get("code") != expected:
        raise _refuse("unit", "code-invalid",
                      f"L’unité doit être le code UCUM « {expected} » (système "
                      f"{codes.UCUM}).", f"{where}.code")
    return repr(value) if isinstance(value, float) else str(value)


def _values(body: dict, kind: measures.MeasureKind) -> dict:
    code = codes.MEASURES[kind.key]
    if not code.components:
        return {"value": _number(body.get("valueQuantity"), kind, "valueQuantity")}
    by_code = {}
    for component in map(_dict, _list(body.get("component"))):
        for coding in map(_dict, _list(_dict(component.get("code")).get("coding"))):
            if coding.get("system") == codes.LOINC and isinstance(coding.get("code"), str):
                by_code.setdefault(coding["code"], component)
    found = {}
    for name, loinc in code.components:
        if loinc not in by_code:
            raise _refuse("component_missing", "required",
                          "Une tension doit avoir deux composants : la systolique (LOINC "
                          "8480-6) et la diastolique (LOINC 8462-4).", "component")
        found[name] = _number(by_code[loinc].get("valueQuantity"), kind,
                              "component.valueQuantity")
    return found


def _when(body: dict, now: datetime) -> tuple[date, str]:
    """The local day and time ("" when none) of effectiveDateTime or effectiveInstant."""
    raw = body.get("effectiveDateTime", body.get("effectiveInstant"))
    if raw is None:
        raise _refuse("date_missing", "required",
                      "La mesure doit être datée (effectiveDateTime, par exemple 2026-03-14 "
                      "ou 2026-03-14T08:30:00+01:00).", "effectiveDateTime")
    if not isinstance(raw, str):
        raise _refuse("date_invalid", "value", "La date de la mesure n’est pas une date.",
                      "effectiveDateTime")
    if not (DAY.fullmatch(raw) or DATE_TIME.fullmatch(raw)):
        raise _refuse("date_incomplete", "value",
                      "La date de la mesure doit donner au moins le jour (AAAA-MM-JJ).",
                      "effectiveDateTime")
    try:
        moment = (datetime.fromisoformat(raw) if DATE_TIME.fullmatch(raw)
                  else date.fromisoformat(raw))
    except ValueError:
        raise _refuse("date_invalid", "value", "La date de la mesure n’est pas une date réelle.",
                      "effectiveDateTime") from None
    if not isinstance(moment, datetime):
        return moment, ""
    if moment > now + CLOCK_SKEW:
        raise _refuse("date_future", "value", "La date de la mesure est dans le futur.",
                      "effectiveDateTime")
    local = moment.astimezone(SITE_ZONE)
    return local.date(), local.strftime("%H:%M")


def _problem(problem: Problem, kind: measures.MeasureKind) -> InvalidResource:
    """A problem of the measures form, said for an Observation."""
    where = ("effectiveDateTime" if problem.field in ("measured_on", "time")
             else "component" if kind.key == "blood_pressure" else "valueQuantity.value")
    unit = kind.unit
    reason, params = problem.reason, problem.params
    if reason == "number_range":
        label = {"systolic": "La tension systolique", "diastolic": "La tension diastolique"
                 }.get(problem.field, "La valeur")
        return _refuse("value_range", "value",
                       f"{label} doit être comprise entre {_french(params['minimum'])} et "
                       f"{_french(params['maximum'])} {unit}.", where)
    messages = {
        "number_decimals": ("value_decimals", f"La valeur a trop de décimales : "
                                              f"{params.get('decimals', 0)} au plus."),
        "number_invalid": ("value_type", "La valeur doit être un nombre."),
        "date_future": ("date_future", "La date de la mesure est dans le futur."),
        "date_before_birth": ("date_before_birth",
                              "La date de la mesure est avant la date de naissance."),
        "date_invalid": ("date_invalid", "La date de la mesure n’est pas une date réelle."),
        "pressure_order": ("pressure_order",
                           "La tension systolique doit être plus haute que la diastolique."),
    }
    reason, message = messages.get(reason, ("invalid", "La mesure n’est pas valable."))
    return _refuse(reason, "value" if reason != "pressure_order" else "business-rule",
                   message, where)


def observation_to_measure(body, patient: User, *, now: datetime) -> IncomingMeasure:
    """Read an incoming Observation (a JSON object as a dict) for `patient` at `now` (an
    aware datetime): the measure to record, or InvalidResource saying why not. The
    subject, when given, must be this patient ("Patient/<id>"); the status final (or
    amended, corrected); one known LOINC code (codes.MEASURES; blood pressure as the
    85354-9 panel with its two components); the UCUM unit of that code; a day, with or
    without a time; and the value(s) must pass the measures form's own rules."""
    if not isinstance(body, dict):
        raise InvalidResource("not_object", "structure",
                              "Le corps de la requête doit être un objet JSON : une "
                              "ressource Observation.")
    if body.get("resourceType") != "Observation":
        raise InvalidResource("resource_type", "structure",
                              "Le corps doit être une ressource Observation.", ("resourceType",))
    validate(body)
    if body["status"] not in ACCEPTED_STATUSES:
        raise _refuse("status", "value", "Le statut de la mesure doit être « final ».",
                      "status")
    if "subject" in body and _dict(body["subject"]).get("reference") != f"Patient/{patient.id}":
        raise _refuse("subject", "invalid",
                      "La mesure doit concerner la personne de cet espace (subject : "
                      "Patient/ suivi de son identifiant).", "subject")
    today = now.astimezone(SITE_ZONE).date()
    kind = _kind(body, patient, today)
    values = _values(body, kind)
    day, clock = _when(body, now)
    reading = measures.validate(kind, {**values, "time": clock,
                                       "measured_on_day": str(day.day),
                                       "measured_on_month": str(day.month),
                                       "measured_on_year": str(day.year)},
                                today, born=patient.birth_date)
    if reading.problems:
        raise _problem(reading.problems[0], kind)
    return IncomingMeasure(kind, day, reading.values)
