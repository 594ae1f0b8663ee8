"""The words FHIR resources and the patient summary carry, handed in by the web layer in the
person's language: the domain knows codes, never words (as domain/agenda_export.py's
Wording for calendar files)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

# The IPS sections this project fills, in the order the summary shows them.
IPS_SECTIONS = ("allergies", "problems", "medications", "immunizations", "results")


@dataclass(frozen=True)
class Wording:
    """Labels by key, as web/labels/ holds them: the bundled lists' items (`conditions`,
    `allergens`), `vaccines` by schedule code, `measures` by measure kind (and "systolic",
    "diastolic"), `units` by the project's unit, allergy `severities`, document
    `categories` and agenda `item_kinds` by value. For the patient summary: its
    `document_title`, a title and the column headings of its table for each section of
    IPS_SECTIONS, and the sentences of an empty section. `language` is the BCP 47 tag the
    words are in; `number` writes a number as the person reads it."""

    language: str
    conditions: Mapping[str, str]
    allergens: Mapping[str, str]
    vaccines: Mapping[str, str]
    measures: Mapping[str, str]
    units: Mapping[str, str]
    severities: Mapping[str, str]
    categories: Mapping[str, str]
    item_kinds: Mapping[str, str]
    document_title: str
    sections: Mapping[str, str]
    columns: Mapping[str, tuple[str, ...]]
    nothing_recorded: str
    not_concerned: str
    number: Callable[[float], str] = str
