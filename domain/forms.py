"""The one reader of what people submit in a form, whatever the area: each form declares its
fields once (a tuple of `Field`), and read() gives back the clean values, what was typed
and the problems.

Each field kind reads its raw inputs (kept as typed, so a form that fails shows them again),
checks them and returns a clean value. Problems are reason codes with parameters; web/
turns them into sentences in the person's language (web/forms.py, web/form_messages.py).
Nothing here knows about Flask: CSRF stays with Flask-WTF's CSRFProtect.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from domain.identity import (
    InvalidIdentifier,
    normalise_email,
    normalise_nir,
    normalise_phone,
    normalise_vitale,
)
from domain.passwords import password_problems

# Control characters and the bidirectional overrides that can disguise text.
CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
PHONE = re.compile(r"(?:0[1-9][0-9]{8}|\+[1-9][0-9]{7,14})")  # ASCII digits only
EARLIEST_YEAR = 1890
# What is given back to correct: far beyond every limit, so a too-long text comes back whole
# (the request size limit bounds what arrives at all).
RAW_LIMIT = 20_000
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")  # a login one chooses
ONE_TIME_CODE = re.compile(r"\d{6}")
# How much of an identifier is read (and shown again), trimmed: beyond, nothing valid hides.
BOUNDS = {"nir": 40, "vitale": 40, "email": 254, "french_phone": 30, "login": 64,
          "one_time_code": 20, "activation_code": 40}
# Kinds never shown again: what they keep as typed is only whether something was typed.
SECRETS = ("password", "new_password", "password_confirm")
ACCOUNT_KINDS = frozenset((*BOUNDS, "yes", "file", *SECRETS))  # read by _account()


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field: a reason code and what its sentence needs."""

    field: str
    reason: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Field:
    """One input of a form. `kind`: text, longtext, choice, coded, date, partial_date,
    number, yesno, phone; and for identities and accounts: nir, vitale (a carte Vitale
    serial, `related` names the NIR field), email, french_phone, login (one to choose),
    password (to check, never cleaned), new_password (the rules of domain/passwords.py;
    `related` names the login field), password_confirm (`related` names the password),
    one_time_code (6 digits), activation_code, past_date (a whole date, today or before,
    returned as a `date`), yes (a checkbox or radio answered "oui": True or False) and file
    (the name of a chosen file; web/ keeps the file itself)."""

    name: str
    kind: str = "text"
    required: bool = False
    max_length: int = 200
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    decimals: int = 0
    not_before: str | None = None  # a date field this one may not precede
    unit: str = ""
    related: str | None = None  # a field read before this one, that this one is read with
    required_unless: str | None = None  # required when that other input is empty too

    def inputs(self) -> tuple[str, ...]:
        """The names of the form inputs behind this field."""
        if self.kind in ("date", "partial_date", "past_date"):
            return (f"{self.name}_day", f"{self.name}_month", f"{self.name}_year")
        if self.kind == "coded":
            return (self.name, f"{self.name}_other")
        return (self.name,)


@dataclass
class Reading:
    """A form as read: clean values, what was typed (to show it again), the problems."""

    values: dict
    typed: dict
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def clean_text(raw: str, multiline: bool = False) -> str:
    """Control characters and direction overrides become spaces; runs of spaces collapse
    (line by line when `multiline`)."""
    text = CONTROL.sub(" ", raw or "")
    if multiline:
        lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
        return "\n".join(lines).strip()
    return " ".join(text.split())


def _number(raw: str, spec: Field) -> tuple[float | None, Problem | None]:
    text = raw.replace(",", ".").replace(" ", "").replace("\u202f", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None, Problem(spec.name, "number_invalid")
    if not number.is_finite():
        return None, Problem(spec.name, "number_invalid")
    if number.normalize().as_tuple().exponent < -spec.decimals:  # type: ignore[operator]
        return None, Problem(spec.name, "number_decimals", {"decimals": spec.decimals})
    if (spec.minimum is not None and number < Decimal(str(spec.minimum))) or (
            spec.maximum is not None and number > Decimal(str(spec.maximum))):
        return None, Problem(spec.name, "number_range",
                             {"minimum": spec.minimum, "maximum": spec.maximum,
                              "unit": spec.unit})
    value = float(number)
    if not math.isfinite(value):  # only a field without a maximum gets here
        return None, Problem(spec.name, "number_invalid")
    return (int(value) if spec.decimals == 0 else value), None


def _date(parts: dict, spec: Field, today: date,
          born: date | None) -> tuple[str | None, Problem | None]:
    """A full date, or for partial dates a year, a month and year, or a whole date,
    returned as ISO text ("2015", "2015-03", "2015-03-14")."""
    day, month, year = (parts[key].strip() for key in ("day", "month", "year"))
    if not (day or month or year):
        return None, Problem(spec.name, "required") if spec.required else None
    partial = spec.kind == "partial_date"
    if not year or (not partial and not (day and month)) or (day and not month):
        return None, Problem(spec.name, "date_incomplete")
    try:
        numbers = [int(value) for value in (year, month or "1", day or "1")]
        value = date(*numbers)
    except (ValueError, OverflowError):
        return None, Problem(spec.name, "date_invalid")
    if value.year < EARLIEST_YEAR:
        return None, Problem(spec.name, "date_invalid")
    if value > today:
        return None, Problem(spec.name, "date_future")
    # Every date of one's profile is in one's life: only the parts typed are compared.
    if born and (value < born if day else (value.year, month and value.month) < (
            born.year, month and born.month)):
        return None, Problem(spec.name, "date_before_birth")
    if day:
        return value.isoformat(), None
    return (f"{value.year:04d}-{value.month:02d}" if month else f"{value.year:04d}"), None


def read(fields: tuple[Field, ...], form: Mapping[str, str], today: date,
         coded_keys: Mapping[str, tuple[str, ...]] | None = None,
         born: date | None = None, personal: tuple[str, ...] = ()) -> Reading:
    """Read every field, in order; returns clean values, what was typed, and the problems.
    `personal`: words a new password may not contain (the person's names)."""
    values: dict = {}
    typed: dict = {}
    problems: list[Problem] = []
    for spec in fields:
        if spec.kind in ("date", "partial_date"):
            parts = {key: (form.get(f"{spec.name}_{key}") or "")[:6]
                     for key in ("day", "month", "year")}
            typed[spec.name] = parts
            value, problem = _date(parts, spec, today, born)
        elif spec.kind == "past_date":
            parts = {key: (form.get(f"{spec.name}_{key}") or "").strip()[:4]
                     for key in ("day", "month", "year")}
            typed[spec.name] = parts
            value, problem = _past_date(parts, spec, today)
        elif spec.kind in ACCOUNT_KINDS:
            value, problem = _account(spec, form, values, typed, personal)
        else:
            raw = form.get(spec.name) or ""
            typed[spec.name] = raw[:RAW_LIMIT]
            value, problem = _one(spec, raw, form, typed, coded_keys or {})
        if problem:
            problems.append(problem)
        elif value is not None:
            values[spec.name] = value
    for spec in fields:
        earlier = values.get(spec.not_before) if spec.not_before else None
        later = values.get(spec.name)
        if earlier and later and str(later) < str(earlier)[: len(str(later))]:
            problems.append(Problem(spec.name, "date_order", {"other": spec.not_before}))
    return Reading(values, typed, problems)


def _past_date(parts: dict, spec: Field, today: date) -> tuple[date | None, Problem | None]:
    """Day, month and year all given, a real date, not in the future nor before 1890."""
    if not any(parts.values()):
        return None, Problem(spec.name, "required") if spec.required else None
    try:
        value = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        return None, Problem(spec.name, "date_invalid")
    if value > today:
        return None, Problem(spec.name, "date_future")
    if value.year < EARLIEST_YEAR:
        return None, Problem(spec.name, "date_too_early")
    return value, None


def _account(spec: Field, form: Mapping[str, str], values: dict, typed: dict,
             personal: tuple[str, ...]):
    """The identifiers, codes, secrets and confirmations of the identity and account forms."""
    kind = spec.kind
    if kind in SECRETS:
        raw = form.get(spec.name) or ""
        typed[spec.name] = bool(raw)
        return _secret(spec, raw, values, typed, personal)
    if kind == "yes":
        checked = form.get(spec.name) == "oui"
        typed[spec.name] = checked
        if spec.required and not checked:
            return None, Problem(spec.name, "required")
        return checked, None
    if kind == "file":
        typed[spec.name] = ""  # a browser never shows a chosen file again
        file_name = clean_text(form.get(spec.name) or "")
        if not file_name:
            return None, Problem(spec.name, "required") if spec.required else None
        return file_name, None
    text = (form.get(spec.name) or "").strip()[:BOUNDS[kind]]
    typed[spec.name] = text.lower() if kind == "login" else text
    if not text:
        other = (form.get(spec.required_unless) or "").strip() if spec.required_unless else ""
        missing = spec.required or (spec.required_unless is not None and not other)
        return None, Problem(spec.name, "required") if missing else None
    try:
        if kind == "nir":
            return normalise_nir(text), None
        if kind == "vitale":
            return normalise_vitale(text, values.get(spec.related or "")), None
        if kind == "email":
            return normalise_email(text), None
        if kind == "french_phone":
            return normalise_phone(text), None
    except InvalidIdentifier as invalid:
        return None, Problem(spec.name, invalid.reason)
    if kind == "login":
        login = text.lower()
        return (login, None) if LOGIN.fullmatch(login) else (
            None, Problem(spec.name, "login_format"))
    if kind == "one_time_code":
        code = re.sub(r"\s", "", text)
        return (code, None) if ONE_TIME_CODE.fullmatch(code) else (
            None, Problem(spec.name, "code_format"))
    return text, None  # activation_code: the domain looks it up (domain/activation.py)


def _secret(spec: Field, raw: str, values: dict, typed: dict, personal: tuple[str, ...]):
    """Passwords are read as typed: no trimming, no cleaning."""
    if spec.kind == "password":
        if not raw.strip():
            return None, Problem(spec.name, "required") if spec.required else None
        if len(raw) > spec.max_length:
            return None, Problem(spec.name, "too_long", {"maximum": spec.max_length,
                                                         "length": len(raw)})
        return raw, None
    if spec.kind == "new_password":
        login = typed.get(spec.related) if spec.related else None
        found = password_problems(raw, personal + ((login,) if isinstance(login, str) else ()))
        if found:  # the first one is told; all of them tick the rules shown as one types
            return None, Problem(spec.name, f"password_{found[0]}", {"problems": found})
        return raw, None
    password = values.get(spec.related or "")
    if password is not None and raw != password:  # said only once the password is right
        return None, Problem(spec.name, "mismatch")
    return None, None


def _one(spec: Field, raw: str, form: Mapping[str, str], typed: dict,
         coded_keys: Mapping[str, tuple[str, ...]]):
    if spec.kind == "coded":
        other = form.get(f"{spec.name}_other") or ""
        typed[f"{spec.name}_other"] = other[:RAW_LIMIT]
        return _coded(spec, raw.strip(), clean_text(other), coded_keys.get(spec.name, ()))
    text = clean_text(raw, multiline=spec.kind == "longtext")
    if not text:
        return None, Problem(spec.name, "required") if spec.required else None
    if spec.kind in ("text", "longtext"):
        if len(text) > spec.max_length:
            return None, Problem(spec.name, "too_long", {"maximum": spec.max_length,
                                                         "length": len(text)})
        return text, None
    if spec.kind in ("choice", "yesno"):
        choices = ("oui", "non") if spec.kind == "yesno" else spec.choices
        return (text, None) if text in choices else (None, Problem(spec.name, "choice"))
    if spec.kind == "number":
        return _number(text, spec)
    if spec.kind == "phone":
        phone = re.sub(r"[\s.\-()]", "", text.replace("(0)", ""))  # +33 (0)6… → +336…
        if not PHONE.fullmatch(phone):
            return None, Problem(spec.name, "phone_invalid")
        return phone, None
    raise ValueError(f"unknown field kind {spec.kind}")


def _coded(spec: Field, key: str, other: str, keys: tuple[str, ...]):
    """A pick from a short bundled list, or "other" with free text."""
    if key == "other" or (not key and other):
        if not other:
            return None, Problem(f"{spec.name}_other", "required")
        if len(other) > spec.max_length:
            return None, Problem(f"{spec.name}_other", "too_long",
                                 {"maximum": spec.max_length, "length": len(other)})
        return {"key": None, "text": other}, None
    if not key:
        return None, Problem(spec.name, "required") if spec.required else None
    if key not in keys:
        return None, Problem(spec.name, "choice")
    return {"key": key, "text": None}, None


def echo(fields: tuple[Field, ...], values: Mapping) -> dict:
    """What a form shows to change stored values: the inverse of read()."""
    typed: dict = {}
    for spec in fields:
        value = values.get(spec.name)
        if spec.kind == "past_date":
            typed[spec.name] = {"year": str(value.year), "month": str(value.month),
                                "day": str(value.day)} if value else {
                "year": "", "month": "", "day": ""}
        elif spec.kind in SECRETS or spec.kind == "yes":
            typed[spec.name] = bool(value) if spec.kind == "yes" else False
        elif spec.kind in ("date", "partial_date"):
            parts = (value or "").split("-")
            parts += [""] * (3 - len(parts))
            typed[spec.name] = {"year": parts[0], "month": parts[1].lstrip("0"),
                                "day": parts[2].lstrip("0")}
        elif spec.kind == "coded":
            typed[spec.name] = (value or {}).get("key") or ("other" if value else "")
            typed[f"{spec.name}_other"] = (value or {}).get("text") or ""
        elif spec.kind == "number" and value is not None:
            typed[spec.name] = str(value).replace(".", ",")
        else:
            typed[spec.name] = "" if value is None else str(value)
    return typed
