"""How profile entries read on a page and in the summary: a main line and the details,
every value in the UI language (dates, numbers, choices, bundled-list labels)."""

from __future__ import annotations

from datetime import date

from domain.profile import Section
from domain.vaccination import vaccine_diseases
from web.i18n import format_date, format_decimal
from web.i18n import gettext as _
from web.labels.profile import (
    ADD_LABELS,
    CHOICES,
    CODED,
    DISEASES,
    SECTION_HINTS,
    SECTION_TITLES,
    UNITS,
    VACCINES,
    field_hint,
    field_label,
)

MAIN_FIELD = {
    "conditions": "condition", "treatments": "name", "hospitalisations": "reason",
    "disabilities": "type", "blood_group": "group", "allergies": "substance",
    "family_history": "condition", "lifestyle": "topic", "vaccinations": "vaccine",
    "emergency_contacts": "name", "trusted_person": "name", "directives": "written_on",
}


def partial_date(value: str) -> str:
    """"2015" → 2015, "2015-03" → mars 2015, "2015-03-14" → 14 mars 2015."""
    parts = value.split("-")
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return format_date(date(int(parts[0]), int(parts[1]), 1), "MMMM y")
    return format_date(date.fromisoformat(value), "d MMMM y")


def value_text(section: Section, name: str, value) -> str:
    """One stored value as text."""
    spec = next(item for item in section.fields if item.name == name)
    if spec.kind == "coded":
        if value.get("key"):
            return str(CODED[section.coded[name]][value["key"]])
        return value.get("text") or ""
    if name == "vaccine":
        return str(VACCINES.get(value, value))
    if spec.kind in ("choice", "yesno"):
        return str(CHOICES.get(name, {}).get(value, value))
    if spec.kind in ("date", "partial_date"):
        return partial_date(value)
    if spec.kind == "number":
        number = format_decimal(value)
        return f"{number} %" if spec.unit == "%" else number
    return str(value)


def main_text(section: Section, values: dict) -> str:
    name = MAIN_FIELD[section.key]
    text = value_text(section, name, values[name]) if name in values else ""
    if section.key == "family_history" and "relative" in values:
        return _("%(condition)s (%(relative)s)", condition=text,
                 relative=value_text(section, "relative", values["relative"]))
    if section.key == "directives":
        return _("Directives rédigées le %(date)s", date=text)
    return text


def details(section: Section, values: dict, *,
            professional: bool = False) -> list[tuple[str, str]]:
    """(label, text) for every filled field but the main one; a vaccination also says
    which diseases it protects against. A professional reads the labels in his words."""
    skip = {MAIN_FIELD[section.key]} | ({"relative"} if section.key == "family_history"
                                        else set())
    rows = [(field_label(section.key, spec.name, professional=professional),
             value_text(section, spec.name, values[spec.name]))
            for spec in section.fields if spec.name in values and spec.name not in skip]
    if section.key == "vaccinations" and values.get("vaccine") in vaccine_diseases():
        rows.append((_("Protège contre"), ", ".join(sorted(
            str(DISEASES[code]) for code in vaccine_diseases()[values["vaccine"]]))))
    return rows


def measure_text(kind, values: dict) -> str:
    """A measure with its unit: "72,5 kg", "120/80 mmHg"."""
    unit = str(UNITS.get(kind.unit, kind.unit))
    if "systolic" in values:
        return _("%(systolic)s/%(diastolic)s %(unit)s", systolic=values["systolic"],
                 diastolic=values["diastolic"], unit=unit)
    return _("%(value)s %(unit)s", value=format_decimal(values["value"]), unit=unit)


def pro_details(section: Section, values: dict) -> list[tuple[str, str]]:
    return details(section, values, professional=True)


def helpers(section: Section | None = None, *, professional: bool = False) -> dict:
    """What every template showing the profile uses (the patient's pages, the summary and
    the professional's view of it) to show fields and values."""
    return {"titles": SECTION_TITLES, "hints": SECTION_HINTS, "add_labels": ADD_LABELS,
            "choices": CHOICES, "coded": CODED, "vaccines": VACCINES,
            "field_hint": field_hint, "field_label": field_label, "main_text": main_text,
            "details": pro_details if professional else details, "value_text": value_text,
            "section": section}
