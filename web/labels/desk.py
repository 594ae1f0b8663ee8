"""The desk's words: what a person came for, how it ended, the outcome the adviser records,
the help sheets, and the generic page titles of an assisted session."""

from __future__ import annotations

from web.i18n import lazy_gettext as _l

PURPOSES = {
    "activate": _l("Activer mon espace santé"),
    "oppose": _l("Refuser la création de mon espace"),
    "provisional_code": _l("Obtenir un code provisoire"),
    "documents": _l("Me connecter et retrouver un document"),
    "measure": _l("Ajouter une mesure"),
    "close": _l("Fermer mon espace"),
    "other": _l("Autre chose"),
}

OUTCOMES = {
    "activated": _l("Espace activé"),
    "refused": _l("Création refusée"),
    "code_requested": _l("Code demandé"),
    "help_only": _l("Aide seulement"),
    "none": _l("Résultat pas encore noté"),
}

END_REASONS = {
    "button": _l("terminé par le bouton"),
    "idle": _l("terminé après 5 minutes sans action"),
    "sign_out": _l("terminé par la déconnexion"),
    "resumed": _l("terminé à la reprise du guichet"),
}

# The help sheets, printed at the desk: (slug, title).
SHEETS = (
    ("activer", _l("Activer son espace santé")),
    ("refuser", _l("Refuser la création de son espace santé")),
    ("arnaques", _l("Se protéger des arnaques")),
    ("a-la-maison", _l("Continuer à la maison")),
)

# In an assisted session every private page has one of these titles, whatever it shows:
# the browser's history, the tab switcher and a shared screen never name anything.
ASSISTED_TITLES = {
    "space": _l("Mon espace santé"),
    "documents": _l("Documents"),
    "profile": _l("Profil médical"),
    "messages": _l("Messagerie"),
    "agenda": _l("Agenda"),
    "access": _l("Accès et historique"),
    "catalogue": _l("Catalogue de services"),
    "account": _l("Mon compte"),
}
ASSISTED_DEFAULT_TITLE = _l("Mon espace santé")
