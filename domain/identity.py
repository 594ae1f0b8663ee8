"""Identifiers of insured people: NIR (social security number), carte Vitale serial,
contact details. Each check returns the normalised value or raises InvalidIdentifier with
a reason code the views translate."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime

from stdnum.exceptions import ValidationError
from stdnum.fr import nir as stdnum_nir

EMAIL = re.compile(r"^[^@\s<>]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}$")


class InvalidIdentifier(ValueError):
    """`reason` is a short code: nir_format, nir_key, vitale_format, vitale_is_date…"""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def normalise_nir(value: str) -> str:
    """15 characters, upper case, no spaces or dots; checks the format and the 2-digit key."""
    compact = re.sub(r"[\s.\-]", "", value or "").upper()
    if len(compact) != 15 or not re.fullmatch(r"[12378]\d{4}(\d{2}|2A|2B)\d{8}", compact):
        raise InvalidIdentifier("nir_format")
    try:
        return stdnum_nir.validate(compact)
    except ValidationError as exc:
        raise InvalidIdentifier("nir_key") from exc


def _looks_like_date(digits: str) -> bool:
    for pattern in ("%d%m%Y", "%Y%m%d", "%d%m%y"):
        try:
            datetime.strptime(digits, pattern)
            return True
        except ValueError:
            continue
    return False


def normalise_vitale(value: str, nir: str | None = None) -> str:
    """A carte Vitale serial: 8 to 13 digits (11 on a card with a photo), not a date, not
    the NIR."""
    digits = re.sub(r"[\s.\-]", "", value or "")
    if not digits.isdigit() or not 8 <= len(digits) <= 13:
        raise InvalidIdentifier("vitale_format")
    if len(digits) in (6, 8) and _looks_like_date(digits):
        raise InvalidIdentifier("vitale_is_date")
    if nir and (digits == nir[:13] or digits in nir):
        raise InvalidIdentifier("vitale_is_nir")
    return digits


def normalise_email(value: str) -> str:
    """An e-mail address, trimmed and in lower case; InvalidIdentifier("email_format") when
    it does not look like one."""
    value = (value or "").strip()
    if not EMAIL.fullmatch(value):
        raise InvalidIdentifier("email_format")
    return value.lower()


def normalise_phone(value: str) -> str:
    """French numbers, returned as +33XXXXXXXXX."""
    digits = re.sub(r"[\s.\-()]", "", value or "")
    if digits.startswith("0033"):
        digits = "+33" + digits[4:]
    if re.fullmatch(r"0[1-9]\d{8}", digits):
        digits = "+33" + digits[1:]
    if not re.fullmatch(r"\+33[1-9]\d{8}", digits):
        raise InvalidIdentifier("phone_format")
    return digits


def parse_date(value: str) -> date:
    """A date written YYYY-MM-DD or DD/MM/YYYY; InvalidIdentifier("date_format") otherwise."""
    value = (value or "").strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise InvalidIdentifier("date_format")


def mask_email(email: str) -> str:
    """j***@e***.fr — enough to recognise one's own address, not to learn someone else's."""
    local, _, domain = email.partition("@")
    name, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{name[:1]}***.{tld}"


def mask_phone(phone: str) -> str:
    """+33 6 ** ** ** 42"""
    return f"{phone[:3]} {phone[3]} ** ** ** {phone[-2:]}"


def _login_part(name: str) -> str:
    """A name as login characters: accents dropped, lower case, letters, digits, hyphens."""
    plain = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    part = re.sub(r"[^a-z0-9-]", "", re.sub(r"[\s_]+", "-", plain.lower()))
    return re.sub(r"-{2,}", "-", part).strip("-")[:24].strip("-") or "espace"


def login_candidates(given_names: str, birth_name: str, numbers: Iterable[int]) -> list[str]:
    """Logins built from a person's names plus a number, in three shapes for each number:
    jeanne.dupont427, jdupont427, dupont.jeanne427 (the caller checks which are free)."""
    first = _login_part((given_names or "").split(" ")[0])
    last = _login_part(birth_name)
    return [login for number in numbers
            for login in (f"{first}.{last}{number}", f"{first[0]}{last}{number}",
                          f"{last}.{first}{number}")]
