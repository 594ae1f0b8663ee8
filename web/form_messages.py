"""The sentences every form shares for the same problems (domain/forms.py reasons), each
naming its field or saying how to fix it, with an example, so an error summary stands
alone. A form overrides any of them for one field (web/forms.py)."""

from __future__ import annotations

from domain.forms import Problem
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l

PAST_DATE_INVALID = _l("Saisissez une date réelle, par exemple 14 3 1988 (jour, mois, année sur "
                       "4 chiffres).")
PAST_DATE_NOT_PAST = _l("Vérifiez l’année : la date doit être passée, par exemple 1988.")
PASSWORD_RULES = {
    "too_short": _l("Le mot de passe doit contenir au moins 12 caractères, par exemple une "
                    "phrase de 4 mots."),
    "too_long": _l("Le mot de passe doit contenir au plus 256 caractères."),
    "common": _l("Ce mot de passe est trop courant. Choisissez une phrase facile à retenir "
                 "pour vous, par exemple « Le chat dort sur le toit bleu »."),
    "personal": _l("Le mot de passe ne doit pas contenir votre nom ni votre identifiant."),
}

# (field kind, reason) -> sentence: what a kind says when the form says nothing else.
BY_KIND = {
    ("nir", "required"): _l("Saisissez votre numéro de sécurité sociale (15 caractères), par "
                            "exemple 2 88 03 75 108 021 50."),
    ("nir", "nir_key"): _l("Ce numéro de sécurité sociale n’est pas valide : vérifiez les 15 "
                           "caractères, y compris la clé (les 2 derniers chiffres)."),
    ("nir", "nir_format"): _l("Le numéro de sécurité sociale a 15 caractères : 13 chiffres (2A "
                              "ou 2B pour la Corse) et une clé de 2 chiffres."),
    ("vitale", "required"): _l("Saisissez le numéro de série de votre carte Vitale, par exemple "
                               "12345678901 (au dos de la carte)."),
    ("vitale", "vitale_is_date"): _l("Ce numéro ressemble à une date. Le numéro de série est au "
                                     "dos de la carte, par exemple 12345678901."),
    ("vitale", "vitale_is_nir"): _l("Ce numéro est votre numéro de sécurité sociale. Le numéro "
                                    "de série est un autre numéro, au dos de la carte."),
    ("vitale", "vitale_format"): _l("Le numéro de série de la carte Vitale a de 8 à 13 "
                                    "chiffres, par exemple 12345678901."),
    ("email", "email_format"): _l("Saisissez une adresse e-mail complète, par exemple "
                                  "prenom.nom@exemple.fr."),
    ("french_phone", "phone_format"): _l("Saisissez un numéro de téléphone français à 10 "
                                         "chiffres, par exemple 06 12 34 56 78."),
    ("login", "required"): _l("Choisissez un identifiant de 3 à 64 caractères : lettres sans "
                              "accents, chiffres, point, tiret, par exemple jeanne.dupont."),
    ("login", "login_format"): _l("Choisissez un identifiant de 3 à 64 caractères : lettres "
                                  "sans accents, chiffres, point, tiret, par exemple "
                                  "jeanne.dupont."),
    **{("new_password", f"password_{rule}"): sentence
       for rule, sentence in PASSWORD_RULES.items()},
    ("password_confirm", "mismatch"): _l("Les deux mots de passe sont différents. Saisissez le "
                                         "même mot de passe deux fois."),
    ("password", "required"): _l("Saisissez votre mot de passe"),
    ("password", "too_long"): _l("Le mot de passe fait au plus 256 caractères"),
    ("one_time_code", "required"): _l("Saisissez le code à 6 chiffres, par exemple 123456."),
    ("one_time_code", "code_format"): _l("Le code contient 6 chiffres, par exemple 123456."),
    ("past_date", "date_invalid"): PAST_DATE_INVALID,
    ("past_date", "date_future"): PAST_DATE_NOT_PAST,
    ("past_date", "date_too_early"): PAST_DATE_NOT_PAST,
}


def common(label: str, problem: Problem) -> str | None:
    """The sentence for a problem any field can have, or None for the caller's own."""
    if problem.reason == "required":
        return _("%(field)s : ce champ est obligatoire.", field=label)
    if problem.reason == "too_long":
        return _("%(field)s : %(maximum)s caractères au plus (vous en avez saisi "
                 "%(length)s).", field=label, maximum=problem.params["maximum"],
                 length=problem.params["length"])
    if problem.reason == "choice":
        return _("%(field)s : choisissez une des réponses proposées.", field=label)
    return None


def sentence(kind: str, problem: Problem, label: str | None = None) -> str:
    """The shared sentence for a problem of a field of this kind; with the field's label,
    the sentences every field shares; at worst, a plain "check this field"."""
    found = BY_KIND.get((kind, problem.reason))
    if found is not None:
        return str(found)
    shared = common(label, problem) if label else None
    if shared is not None:
        return shared
    return _("%(field)s : vérifiez ce champ.", field=label or problem.field)
