"""Words of the access pages: professions and what each audited action means."""

from __future__ import annotations

from domain.models import Profession
from web.i18n import lazy_gettext as _l

PROFESSION_NAMES = {
    Profession.DOCTOR: _l("Médecin"),
    Profession.PHARMACIST: _l("Pharmacien"),
    Profession.NURSE: _l("Infirmier"),
    Profession.MIDWIFE: _l("Sage-femme"),
    Profession.BIOLOGIST: _l("Biologiste"),
    Profession.PHYSIOTHERAPIST: _l("Masseur-kinésithérapeute"),
    Profession.DENTIST: _l("Chirurgien-dentiste"),
}
MODE_LABELS = {"normal": _l("Normal"), "emergency": _l("En urgence"),
               "assisted": _l("Accompagné par un conseiller"),
               "application": _l("Par un service connecté")}
ACTION_LABELS = {
    "care.patient_search": _l("Recherche de votre espace"),
    "care.declared": _l("Accès à votre espace (patient informé, sans opposition)"),
    "care.patient_open": _l("Ouverture de votre espace"),
    "care.emergency_started": _l("Accès en urgence à votre espace"),
    "document.list": _l("Liste de vos documents"),
    "document.read": _l("Lecture d’un document"),
    "document.download": _l("Téléchargement d’un document"),
    "document.added": _l("Ajout d’un document"),
    "document.deposit": _l("Dépôt d’un document"),
    "profile.entry_add": _l("Ajout dans le profil médical"),
    "profile.entry_confirmed": _l("Vaccination confirmée par un professionnel"),
    "document.updated": _l("Modification d’un document"),
    "document.deleted": _l("Suppression d’un document"),
    "document.hidden": _l("Document masqué"),
    "document.shown": _l("Document de nouveau visible"),
    "document.edit": _l("Modification d’un document"),
    "document.delete": _l("Suppression d’un document"),
    "document.hide": _l("Masquage d’un document"),
    "profile.read_by_professional": _l("Lecture de votre profil médical"),
    "profile.measures_read_by_professional": _l("Lecture de vos mesures"),
    "profile.entry_added": _l("Ajout dans le profil médical"),
    "profile.entry_read": _l("Lecture d’une entrée du profil"),
    "profile.entry_edit": _l("Modification dans le profil médical"),
    "profile.entry_delete": _l("Suppression dans le profil médical"),
    "profile.not_concerned": _l("Mention « Non concerné »"),
    "profile.measure_added": _l("Ajout d’une mesure"),
    "profile.measure_deleted": _l("Suppression d’une mesure"),
    "profile.measure_delete": _l("Suppression d’une mesure"),
    "profile.summary": _l("Résumé du profil imprimé"),
    "access.blocked": _l("Professionnel bloqué"),
    "access.unblocked": _l("Professionnel débloqué"),
    "access.attending_doctor": _l("Choix du médecin traitant"),
    "access.emergency_settings": _l("Paramètres d’urgence modifiés"),
    "account.exported": _l("Export de votre espace"),
    "message.started": _l("Nouvelle conversation"),
    "message.sent": _l("Envoi d’un message"),
    "message.read": _l("Lecture d’une conversation"),
    "message.inbox": _l("Liste de vos conversations"),
    "message.closed": _l("Conversation close"),
    "message.attachment_download": _l("Téléchargement d’une pièce jointe"),
    "agenda.read": _l("Lecture de votre agenda"),
    "agenda.added": _l("Ajout dans l’agenda"),
    "agenda.updated": _l("Modification dans l’agenda"),
    "agenda.deleted": _l("Suppression dans l’agenda"),
    "agenda.exported": _l("Export de l’agenda (.ics)"),
    "agenda.feed_read": _l("Lecture de l’abonnement à l’agenda"),
    "agenda.feed_regenerated": _l("Nouvelle adresse d’abonnement à l’agenda"),
    "agenda.feed_revoked": _l("Abonnement à l’agenda arrêté"),
    "agenda.reminded": _l("Rappel de rendez-vous envoyé"),
    "app.connected": _l("Service connecté à votre espace"),
    "app.disconnected": _l("Accès d’un service retiré"),
    "app.code_reused": _l("Code d’autorisation réutilisé (refusé)"),
    "app.refresh_reused": _l("Jeton de renouvellement réutilisé : accès du service coupé"),
    "app.token_revoked": _l("Jeton rendu par le service"),
    "api.read": _l("Lecture par un service connecté"),
    "api.search": _l("Recherche par un service connecté"),
    "api.create": _l("Ajout par un service connecté"),
}
OUTCOME_LABELS = {"success": _l("autorisé"), "denied": _l("refusé"),
                  "refused": _l("refusé")}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, _l("Autre action")))
