"""What each SMART scope lets an app do, in plain words, for the consent page and the list
of connected services. A scope this table does not know is never offered."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SCOPES = {
    "patient/Patient.r": _l("Lire votre nom, votre date de naissance et votre sexe"),
    "patient/Observation.rs": _l("Lire vos mesures (poids, taille, tension…)"),
    "patient/Observation.c": _l("Ajouter des mesures à votre profil (par exemple un poids)"),
    "patient/Immunization.rs": _l("Lire vos vaccinations"),
    "patient/AllergyIntolerance.rs": _l("Lire vos allergies"),
    "patient/Condition.rs": _l("Lire vos maladies et problèmes de santé"),
    "patient/MedicationStatement.rs": _l("Lire vos traitements"),
    "patient/DocumentReference.rs": _l("Lire la liste de vos documents et les ouvrir (sauf "
                                       "ceux que vous avez masqués)"),
    "patient/DocumentReference.c": _l("Déposer des documents dans votre espace"),
    "patient/Appointment.rs": _l("Lire vos rendez-vous"),
}


def scope_label(scope: str) -> str:
    """The plain words for a scope (the scope itself for one this table does not know)."""
    return str(SCOPES.get(scope, scope))
