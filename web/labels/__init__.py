"""Wording tables shared by several areas: professions, document categories, the medical
profile's sections, fields and values, the catalogue's categories and data uses. Templates
read them through Jinja filters (`section.key|section_title`, `section|main_text(item.values)`),
so views need not pass the tables in each render call."""

from __future__ import annotations

from flask import Flask

from web.i18n import in_request_language
from web.labels import access, catalogue, documents, profile, profile_display


def _lookup(table: dict):
    """A filter giving a key's words; an unknown key is an error, as it was in templates."""
    return table.__getitem__


FILTERS = {
    # Access: professions and the history of accesses.
    "profession_name": _lookup(access.PROFESSION_NAMES),
    "access_mode": _lookup(access.MODE_LABELS),
    "action_label": access.action_label,
    "outcome_label": _lookup(access.OUTCOME_LABELS),
    # The catalogue of apps: `app.category|app_category`, `use.scope|data_label`,
    # `app.description|in_language`.
    "app_category": _lookup(catalogue.CATEGORY_LABELS),
    "app_sector": _lookup(catalogue.SECTOR_LABELS),
    "accessibility_status": _lookup(catalogue.ACCESSIBILITY_LABELS),
    "data_label": catalogue.data_label,
    "in_language": catalogue.in_language,
    # Documents.
    "category_label": _lookup(documents.CATEGORY_LABELS),
    "kind_label": documents.kind_label,
    "human_size": documents.human_size,
    # The medical profile: `section.key|section_title`, `section.key|field_label(name)`.
    "section_title": _lookup(profile.SECTION_TITLES),
    "section_hint": _lookup(profile.SECTION_HINTS),
    "add_label": _lookup(profile.ADD_LABELS),
    "field_label": profile.field_label,
    "field_hint": profile.field_hint,
    "field_options": profile.field_options,
    "vaccine_name": _lookup(profile.VACCINES),
    "measure_label": _lookup(profile.MEASURES),
    "unit_label": _lookup(profile.UNITS),
    # Values in the UI language: `section|main_text(item.values)`, `kind|measure_text(values)`.
    "main_text": profile_display.main_text,
    "entry_details": profile_display.details,
    "value_text": profile_display.value_text,
    "partial_date": profile_display.partial_date,
    "measure_text": profile_display.measure_text,
}


def init_app(app: Flask) -> None:
    # Words in the request's language, even for a key written in the template
    # (`"general_practitioner"|profession_name`), which Jinja would otherwise translate once,
    # when it compiles the template.
    app.jinja_env.filters.update({name: in_request_language(function)
                                  for name, function in FILTERS.items()})
