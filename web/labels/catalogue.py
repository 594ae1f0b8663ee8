"""Words of the catalogue: categories, publishers' sectors, accessibility levels, and what
each kind of data an app asks for means in plain words (also for the consent screen)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import get_locale

from domain.catalogue import RESOURCE_PERMISSIONS
from web.i18n import lazy_gettext as _l

CATEGORY_LABELS = {
    "prevention": _l("Prévention"),
    "maladie_chronique": _l("Maladie chronique"),
    "grossesse": _l("Grossesse"),
    "sante_mentale": _l("Santé mentale"),
    "activite_physique": _l("Activité physique"),
    "nutrition": _l("Nutrition"),
    "sommeil": _l("Sommeil"),
    "medicaments": _l("Médicaments et traitements"),
}
SECTOR_LABELS = {
    "editeur": _l("Éditeur de logiciels"),
    "public": _l("Organisme public"),
    "etablissement_sante": _l("Établissement de santé"),
    "association": _l("Association"),
    "professionnel_sante": _l("Professionnel de santé"),
}
# The levels of an accessibility statement (RGAA): what the service's own statement says.
ACCESSIBILITY_LABELS = {
    "totalement": _l("Totalement conforme, selon la déclaration du service"),
    "partiellement": _l("Partiellement conforme, selon la déclaration du service"),
    "non": _l("Non conforme, selon la déclaration du service"),
}
# What reading ("r", "s" or "rs") or adding ("c") each kind of data lets an app do. The
# same words as the consent page's (web/labels/apps.py).
READ_LABELS = {
    "Patient": _l("Lire votre nom, votre date de naissance et votre sexe"),
    "Observation": _l("Lire vos mesures (poids, taille, tension…)"),
    "DocumentReference": _l("Lire la liste de vos documents et les ouvrir (sauf ceux que "
                            "vous avez masqués)"),
    "Immunization": _l("Lire vos vaccinations"),
    "AllergyIntolerance": _l("Lire vos allergies"),
    "Condition": _l("Lire vos maladies et problèmes de santé"),
    "MedicationStatement": _l("Lire vos traitements"),
    "Appointment": _l("Lire vos rendez-vous"),
}
CREATE_LABELS = {
    "Observation": _l("Ajouter des mesures à votre profil (par exemple un poids)"),
    "DocumentReference": _l("Déposer des documents dans votre espace"),
}


def data_label(scope: str) -> str:
    """A SMART scope ("patient/Observation.rs") in plain words; an unknown one is an
    error, as the catalogue never holds one."""
    resource, letters = scope.removeprefix("patient/").split(".")
    if letters not in RESOURCE_PERMISSIONS[resource]:
        raise KeyError(scope)
    return str(CREATE_LABELS[resource] if letters == "c" else READ_LABELS[resource])


def in_language(texts: Mapping[str, str]) -> str:
    """A text the catalogue gives per language, in the page's language (French if the
    entry has none in it)."""
    return texts.get(str(get_locale() or "fr")) or texts["fr"]
