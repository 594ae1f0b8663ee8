"""Reading and checking what people type in the activation and opposition forms.

Each reader returns the clean value and a list of (field id, message) errors; messages say
how to fix the problem, with an example.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _

from domain.identity import (
    InvalidIdentifier,
    normalise_email,
    normalise_nir,
    normalise_phone,
    normalise_vitale,
)
from domain.passwords import password_problems

LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def text(values, name: str, limit: int = 200) -> str:
    return (values.get(name) or "").strip()[:limit]


def read_date(values, prefix: str, label_missing: str,
              not_past: str | None = None) -> tuple[date | None, dict, list]:
    typed = {part: text(values, f"{prefix}_{part}", 4) for part in ("day", "month", "year")}
    if not any(typed.values()):
        return None, typed, [(prefix, label_missing)]
    try:
        value = date(int(typed["year"]), int(typed["month"]), int(typed["day"]))
    except ValueError:
        return None, typed, [(prefix, _("Saisissez une date réelle, par exemple 14 3 1988 "
                                        "(jour, mois, année sur 4 chiffres)."))]
    if value > date.today() or value.year < 1890:
        return None, typed, [(prefix, not_past or _("Vérifiez l’année : la date doit être "
                                                    "passée, par exemple 1988."))]
    return value, typed, []


def read_nir(values, field: str = "nir", missing: str | None = None) -> tuple[str | None, list]:
    raw = text(values, field, 40)
    if not raw:
        return None, [(field, missing or _("Saisissez votre numéro de sécurité sociale (15 "
                                           "caractères), par exemple 2 88 03 75 108 021 50."))]
    try:
        return normalise_nir(raw), []
    except InvalidIdentifier as exc:
        if exc.reason == "nir_key":
            return None, [(field, _("Ce numéro de sécurité sociale n’est pas valide : vérifiez "
                                    "les 15 caractères, y compris la clé (les 2 derniers "
                                    "chiffres)."))]
        return None, [(field, _("Le numéro de sécurité sociale a 15 caractères : 13 chiffres "
                                "(2A ou 2B pour la Corse) et une clé de 2 chiffres."))]


def read_vitale(values, nir: str | None, field: str = "vitale") -> tuple[str | None, list]:
    raw = text(values, field, 40)
    if not raw:
        return None, [(field, _("Saisissez le numéro de série de votre carte Vitale, par "
                                "exemple 12345678901 (au dos de la carte)."))]
    try:
        return normalise_vitale(raw, nir), []
    except InvalidIdentifier as exc:
        messages = {
            "vitale_is_date": _("Ce numéro ressemble à une date. Le numéro de série est au dos "
                                "de la carte, par exemple 12345678901."),
            "vitale_is_nir": _("Ce numéro est votre numéro de sécurité sociale. Le numéro de "
                               "série est un autre numéro, au dos de la carte."),
        }
        return None, [(field, messages.get(exc.reason, _(
            "Le numéro de série de la carte Vitale a de 8 à 13 chiffres, par exemple "
            "12345678901.")))]


def read_contacts(values) -> tuple[str | None, str | None, list]:
    errors: list = []
    email = phone = None
    raw_email, raw_phone = text(values, "email", 254), text(values, "phone", 30)
    if raw_email:
        try:
            email = normalise_email(raw_email)
        except InvalidIdentifier:
            errors.append(("email", _("Saisissez une adresse e-mail complète, par exemple "
                                      "prenom.nom@exemple.fr.")))
    if raw_phone:
        try:
            phone = normalise_phone(raw_phone)
        except InvalidIdentifier:
            errors.append(("phone", _("Saisissez un numéro de téléphone français à 10 chiffres, "
                                      "par exemple 06 12 34 56 78.")))
    if not raw_email and not raw_phone:
        errors.append(("email", _("Saisissez au moins une adresse e-mail ou un numéro de "
                                  "téléphone.")))
    return email, phone, errors


def read_credentials(values, personal: tuple[str, ...]) -> tuple[str, str, list, list[str]]:
    login = text(values, "login", 64).lower()
    password = values.get("password") or ""
    confirm = values.get("password_confirm") or ""
    errors: list = []
    if not LOGIN.fullmatch(login):
        errors.append(("login", _("Choisissez un identifiant de 3 à 64 caractères : lettres sans "
                                  "accents, chiffres, point, tiret, par exemple jeanne.dupont.")))
    problems = password_problems(password, personal + (login,))
    messages = {
        "too_short": _("Le mot de passe doit contenir au moins 12 caractères, par exemple une "
                       "phrase de 4 mots."),
        "too_long": _("Le mot de passe doit contenir au plus 256 caractères."),
        "common": _("Ce mot de passe est trop courant. Choisissez une phrase facile à retenir "
                    "pour vous, par exemple « Le chat dort sur le toit bleu »."),
        "personal": _("Le mot de passe ne doit pas contenir votre nom ni votre identifiant."),
    }
    if problems:
        errors.append(("password", messages[problems[0]]))
    elif password != confirm:
        errors.append(("password_confirm", _("Les deux mots de passe sont différents. Saisissez "
                                             "le même mot de passe deux fois.")))
    return login, password, errors, problems


def read_six_digits(values, field: str, missing: str) -> tuple[str | None, list]:
    code = re.sub(r"\s", "", text(values, field, 20))
    if not code:
        return None, [(field, missing)]
    if not re.fullmatch(r"\d{6}", code):
        return None, [(field, _("Le code contient 6 chiffres, par exemple 123456."))]
    return code, []


def empty_identity() -> dict:
    return {"nir": "", "vitale": "", "birth": {"day": "", "month": "", "year": ""}}


def read_identity(values) -> tuple[str | None, str | None, date | None, dict, list]:
    """NIR, carte Vitale serial and birth date, as the provisional-code and the opposition
    pages ask for them; returns the clean values, what was typed, and the errors."""
    nir, nir_errors = read_nir(values)
    vitale, vitale_errors = read_vitale(values, nir)
    birth, typed_birth, date_errors = read_date(values, "birth", _(
        "Saisissez votre date de naissance, par exemple 14 3 1988."))
    typed = {"nir": text(values, "nir", 40), "vitale": text(values, "vitale", 40),
             "birth": typed_birth}
    return nir, vitale, birth, typed, nir_errors + vitale_errors + date_errors
