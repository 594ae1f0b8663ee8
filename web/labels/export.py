"""Words of the standard files, in the language of the request: the FHIR resources and the
International Patient Summary (domain.fhir.Wording), and the calendar file the space
archive carries. The tables are the profile's and the documents' own; the few words only
the summary uses are here."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from flask_babel import get_locale

from domain.agenda_export import Wording as CalendarWording
from domain.exports import Standards
from domain.fhir import Wording
from domain.models import ItemKind
from web.i18n import format_decimal
from web.i18n import gettext as _
from web.labels import documents, profile


def _words(table) -> dict[str, str]:
    return {str(getattr(key, "value", key)): str(value) for key, value in table.items()}


def _field(name: str, section: str | None = None) -> str:
    return str(profile.SECTION_FIELD_LABELS.get((section, name))
               or profile.FIELD_LABELS[name])


def item_kinds() -> dict[str, str]:
    """The agenda's kinds of item (the agenda's own words)."""
    return {ItemKind.APPOINTMENT.value: _("Rendez-vous"), ItemKind.REMINDER.value: _("Rappel")}


def fhir_wording() -> Wording:
    """The words of FHIR resources and of the patient summary."""
    return Wording(
        language=str(get_locale() or "fr"),
        conditions=_words(profile.CODED["conditions"]),
        allergens=_words(profile.CODED["allergens"]),
        vaccines=_words(profile.VACCINES),
        measures={**_words(profile.MEASURES), "systolic": _field("systolic"),
                  "diastolic": _field("diastolic")},
        units=_words(profile.UNITS),
        severities=_words(profile.CHOICES["severity"]),
        categories=_words(documents.CATEGORY_LABELS),
        item_kinds=item_kinds(),
        document_title=_("Synthèse médicale (International Patient Summary)"),
        sections={"allergies": str(profile.SECTION_TITLES["allergies"]),
                  "problems": str(profile.SECTION_TITLES["conditions"]),
                  "medications": str(profile.SECTION_TITLES["treatments"]),
                  "immunizations": str(profile.SECTION_TITLES["vaccinations"]),
                  "results": _("Mesures et résultats")},
        columns={
            "allergies": (_field("substance"), _field("reaction"), _field("severity")),
            "problems": (_field("condition"), _field("since"), _field("note")),
            "medications": (_field("name", "treatments"), _field("dose"),
                            _field("since", "treatments"), _field("until", "treatments")),
            "immunizations": (_field("vaccine"), _field("given_on"),
                              _field("dose", "vaccinations"), _field("lot")),
            "results": (_("Mesure ou document"), _("Date"), _("Valeur")),
        },
        nothing_recorded=_("Non renseigné"),
        not_concerned=_("Non concerné"),
        number=format_decimal,
    )


def calendar_wording() -> CalendarWording:
    """The words of the agenda's calendar file (as the agenda's own download says them)."""
    return CalendarWording(calendar_name=_("Agenda santé"),
                           kinds={ItemKind(key): value for key, value in item_kinds().items()},
                           professional=_("Avec :"))


def standards() -> Standards:
    """What the space archive's standard files need: the summary's and the calendar's
    words, and the domain that names calendar events (the public address's)."""
    return Standards(fhir=fhir_wording(), calendar=calendar_wording(),
                     uid_domain=urlsplit(current_app.config["PUBLIC_URL"]).hostname
                     or "carnet-sante.invalid")
