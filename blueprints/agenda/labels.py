"""Words of the agenda in the UI language: kinds, fields, and one plain sentence for each
problem its form can have."""

from __future__ import annotations

from datetime import time

from domain.agenda import DAY_LIMIT, YEARS_AHEAD
from domain.agenda_export import Wording
from domain.forms import Problem
from domain.models import ItemKind
from web import form_messages
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l

KINDS = {ItemKind.APPOINTMENT.value: _l("Rendez-vous"), ItemKind.REMINDER.value: _l("Rappel")}
KIND_HINTS = {
    ItemKind.APPOINTMENT.value: _l("Chez un professionnel de santé, à une heure précise."),
    ItemKind.REMINDER.value: _l("Une chose à ne pas oublier : un vaccin, un examen, une "
                                "ordonnance à renouveler…"),
}
FIELDS = {
    "kind": _l("Type"),
    "title": _l("Titre"),
    "date": _l("Date"),
    "time": _l("Heure"),
    "place": _l("Lieu"),
    "professional": _l("Professionnel de santé"),
    "note": _l("Note"),
}
HINTS = {
    "title": _l("Par exemple : Dentiste, Prise de sang, Vaccin contre la grippe."),
    "date": _l("Par exemple : 27 3 2026."),
    "time": _l("Obligatoire pour un rendez-vous, facultative pour un rappel. Par exemple : "
               "14:30."),
    "place": _l("Par exemple : Cabinet médical des Tilleuls, Lyon."),
    "professional": _l("Par exemple : Dr Julien Bernard."),
    "note": _l("Seulement pour vous : elle n’est envoyée ni par e-mail ni dans l’abonnement "
               "de calendrier."),
}


def clock(at: time | None) -> str:
    return at.strftime("%H:%M") if at else ""


def message(problem: Problem) -> str:
    """One sentence per problem, naming the field and saying how to correct it."""
    label = str(FIELDS.get(problem.field, problem.field))
    if problem.reason == "required" and problem.field == "kind":
        return _("Type : choisissez « Rendez-vous » ou « Rappel ».")
    shared = form_messages.common(label, problem)
    if shared is not None:
        return shared
    if problem.reason == "date_incomplete":
        return _("%(field)s : indiquez le jour, le mois et l’année, par exemple 27 3 2026.",
                 field=label)
    if problem.reason == "date_invalid":
        return _("%(field)s : saisissez une date réelle, par exemple 27 3 2026 (jour, mois, "
                 "année sur 4 chiffres).", field=label)
    if problem.reason == "date_future":
        return _("%(field)s : choisissez une date dans les %(years)s prochaines années.",
                 field=label, years=YEARS_AHEAD)
    if problem.reason == "date_before_birth":
        return _("%(field)s : la date ne peut pas être avant votre date de naissance.",
                 field=label)
    if problem.reason == "time_invalid":
        return _("%(field)s : saisissez une heure entre 0:00 et 23:59, par exemple 14:30.",
                 field=label)
    if problem.reason == "time_required":
        return _("%(field)s : indiquez l’heure du rendez-vous, par exemple 14:30. Pour un "
                 "rappel sans heure, choisissez « Rappel ».", field=label)
    if problem.reason == "day_full":
        return _("Vous avez déjà %(limit)s rendez-vous ou rappels ce jour-là : choisissez un "
                 "autre jour, ou supprimez ou déplacez un élément de ce jour.", limit=DAY_LIMIT)
    return _("%(field)s : vérifiez ce champ.", field=label)


def wording() -> Wording:
    """The words of a calendar file, in the language of the request."""
    return Wording(calendar_name=_("Agenda santé"),
                   kinds={ItemKind(key): str(value) for key, value in KINDS.items()},
                   professional=_("Avec :"))
