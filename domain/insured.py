"""Insured people: sealed identity data, lookups by blind index, and the CSV import."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.crypto import Keyring
from domain.identity import (
    InvalidIdentifier,
    normalise_email,
    normalise_nir,
    normalise_phone,
    normalise_vitale,
    parse_date,
)
from domain.models import InsuredPerson, LegalRepresentative, Representation
from domain.models.base import new_id, utcnow

SEALED_FIELDS = ("nir", "vitale", "email", "phone", "address")
CSV_COLUMNS = ("nir", "vitale_serial", "birth_name", "given_names", "birth_date", "sex",
               "email", "phone", "address", "representative_nirs")
MAJORITY_AGE = 18


SITE_ZONE = ZoneInfo("Europe/Paris")


def paris_day(now: datetime) -> date:
    """The day it is in Europe/Paris at `now`: birthdays, a minor's coming of age and the
    end of a parent's representation follow it, not the UTC day."""
    return now.astimezone(SITE_ZONE).date()


def _associated(person_id: str, field_name: str) -> str:
    return f"insured_people.{field_name}.{person_id}"


def seal_field(keyring: Keyring, person: InsuredPerson, field_name: str, value: str | None):
    """Store `value` in the person's `<field_name>_sealed` column, sealed with the server
    key and bound to the person and field; an empty value stores None."""
    sealed = (keyring.seal_server(value.encode(), _associated(person.id, field_name))
              if value else None)
    setattr(person, f"{field_name}_sealed", sealed)


def read_field(keyring: Keyring, person: InsuredPerson, field_name: str) -> str | None:
    """A sealed field of the person (one of SEALED_FIELDS), opened; None when not set."""
    sealed = getattr(person, f"{field_name}_sealed")
    if sealed is None:
        return None
    return keyring.open_server(sealed, _associated(person.id, field_name)).decode()


def nir_index(keyring: Keyring, nir: str) -> str:
    """The NIR's keyed hash (blind index), by which a person is looked up."""
    return keyring.blind_index("nir", nir)


def find_by_nir(session: Session, keyring: Keyring, nir: str) -> InsuredPerson | None:
    """Look a person up by NIR (already normalised) through its blind index."""
    return session.execute(select(InsuredPerson).where(
        InsuredPerson.nir_index == nir_index(keyring, nir))).scalar_one_or_none()


def is_minor(person: InsuredPerson, today: date) -> bool:
    """Whether the person is under MAJORITY_AGE (18) on `today`."""
    birthday_passed = (today.month, today.day) >= (person.birth_date.month, person.birth_date.day)
    age = today.year - person.birth_date.year - (0 if birthday_passed else 1)
    return age < MAJORITY_AGE


def link_family(session: Session, person: InsuredPerson) -> int:
    """When a space opens: each of the person's legal representatives who has a space may
    act in it (a minor's two parents, whoever activated it), and the person may act in the
    existing spaces of the minors they represent. Links made earlier are kept as they are
    (an ended one is not restarted). Returns how many were added."""
    pairs = session.execute(
        select(LegalRepresentative.representative_id, LegalRepresentative.minor_id).where(
            (LegalRepresentative.minor_id == person.id)
            | (LegalRepresentative.representative_id == person.id))).all()
    people = {row.id: row.user_id for row in session.scalars(select(InsuredPerson).where(
        InsuredPerson.id.in_({insured for pair in pairs for insured in pair})))}
    added = 0
    for holder, minor in pairs:
        holder_user, minor_user = people.get(holder), people.get(minor)
        if holder_user is None or minor_user is None:
            continue
        if session.scalars(select(Representation.id).where(
                Representation.representative_id == holder_user,
                Representation.represented_id == minor_user)).first() is None:
            session.add(Representation(representative_id=holder_user,
                                       represented_id=minor_user, relationship="parent"))
            added += 1
    session.flush()
    return added


def representatives(session: Session, person: InsuredPerson) -> list[InsuredPerson]:
    """The person's legal representatives, by birth name."""
    return list(session.execute(
        select(InsuredPerson).join(LegalRepresentative,
                                   LegalRepresentative.representative_id == InsuredPerson.id)
        .where(LegalRepresentative.minor_id == person.id)
        .order_by(InsuredPerson.birth_name)).scalars())


# CSV import ---------------------------------------------------------------------------------

@dataclass
class ImportReport:
    """What a CSV import did: people created, updated and unchanged, and the refused lines
    as (line number, reason)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    nir: str
    vitale: str
    birth_name: str
    given_names: str
    birth_date: date
    sex: str
    email: str | None
    phone: str | None
    address: str | None
    representative_nirs: list[str]

    def canonical(self) -> str:
        return "\x1f".join([self.nir, self.vitale, self.birth_name, self.given_names,
                            self.birth_date.isoformat(), self.sex, self.email or "",
                            self.phone or "", self.address or "",
                            ";".join(sorted(self.representative_nirs))])


def _clean_text(value: str, limit: int, reason: str, required: bool = True) -> str:
    value = " ".join((value or "").split())
    if any(ord(char) < 32 or 0x202A <= ord(char) <= 0x202E for char in value):
        raise InvalidIdentifier("control_characters")
    if required and not value:
        raise InvalidIdentifier(reason)
    if len(value) > limit:
        raise InvalidIdentifier("too_long")
    return value


def _parse_row(line: int, raw: dict, today: date) -> _Row:
    nir = normalise_nir(raw.get("nir", ""))
    birth_date = parse_date(raw.get("birth_date", ""))
    if birth_date > today or birth_date.year < 1890:
        raise InvalidIdentifier("birth_date_range")
    sex = (raw.get("sex") or "").strip()
    if sex not in ("1", "2") or nir[0] not in ("1", "2", "7", "8") or (
            nir[0] in "12" and nir[0] != sex):
        raise InvalidIdentifier("sex_mismatch")
    if nir[1:3] != birth_date.strftime("%y") and nir[0] in "12":
        raise InvalidIdentifier("nir_birth_year")
    email = normalise_email(raw["email"]) if (raw.get("email") or "").strip() else None
    phone = normalise_phone(raw["phone"]) if (raw.get("phone") or "").strip() else None
    representative_nirs = [normalise_nir(part) for part in
                           (raw.get("representative_nirs") or "").split(";") if part.strip()]
    return _Row(line=line, nir=nir, vitale=normalise_vitale(raw.get("vitale_serial", ""), nir),
                birth_name=_clean_text(raw.get("birth_name", ""), 100, "birth_name_missing"),
                given_names=_clean_text(raw.get("given_names", ""), 150, "given_names_missing"),
                birth_date=birth_date, sex=sex, email=email, phone=phone,
                address=_clean_text(raw.get("address", ""), 300, "", required=False) or None,
                representative_nirs=representative_nirs)


def _fill(keyring: Keyring, person: InsuredPerson, row: _Row, fingerprint: str,
          now: datetime) -> None:
    """Write an imported row into the person; a known person whose e-mail, phone or postal
    address changes gets `contact_changed_at`."""
    if person.nir_sealed is not None and (
            read_field(keyring, person, "email") != row.email
            or read_field(keyring, person, "phone") != row.phone
            or read_field(keyring, person, "address") != row.address):
        person.contact_changed_at = now
    person.vitale_index = keyring.blind_index("vitale", row.vitale)
    person.birth_name, person.given_names = row.birth_name, row.given_names
    person.birth_date, person.sex = row.birth_date, row.sex
    person.source_fingerprint = fingerprint
    for name, value in (("nir", row.nir), ("vitale", row.vitale), ("email", row.email),
                        ("phone", row.phone), ("address", row.address)):
        seal_field(keyring, person, name, value)


def import_csv(session: Session, keyring: Keyring, text: str, today: date,
               now: datetime | None = None) -> ImportReport:
    """Import insured people from CSV text.

    A known person whose e-mail or phone changes has `contact_changed_at` set to `now`.

    Bad rows are reported with their line number and a reason code and skipped; each good
    row is imported whole (person and representative links) or not at all; importing the
    same file again changes nothing.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in CSV_COLUMNS[:6] if column not in (reader.fieldnames or [])]
    if missing:
        report.errors.append((1, "missing_columns:" + ",".join(missing)))
        return report
    rows: dict[str, _Row] = {}
    for raw in reader:
        line = reader.line_num
        try:
            row = _parse_row(line, raw, today)
        except InvalidIdentifier as exc:
            report.errors.append((line, exc.reason))
            continue
        if row.nir in rows:
            report.errors.append((line, "duplicate_nir"))
            continue
        rows[row.nir] = row

    # A minor's row needs its representatives, in this file or already known.
    known = {nir: find_by_nir(session, keyring, nir) for row in rows.values()
             for nir in row.representative_nirs if nir not in rows}
    for nir, row in list(rows.items()):
        if any(rep not in rows and known.get(rep) is None for rep in row.representative_nirs):
            report.errors.append((row.line, "representative_unknown"))
            del rows[nir]
        elif row.nir in row.representative_nirs:
            report.errors.append((row.line, "representative_is_self"))
            del rows[nir]

    people: dict[str, InsuredPerson] = {}
    for row in sorted(rows.values(), key=lambda item: item.line):
        fingerprint = keyring.blind_index("import-row", row.canonical())
        person = find_by_nir(session, keyring, row.nir)
        if person is not None and person.source_fingerprint == fingerprint:
            report.unchanged += 1
            people[row.nir] = person
            continue
        if person is None:
            person = InsuredPerson(id=new_id(), nir_index=nir_index(keyring, row.nir))
            report.created += 1
        else:
            report.updated += 1
        _fill(keyring, person, row, fingerprint, now or utcnow())
        session.add(person)
        session.flush()
        people[row.nir] = person
    for row in rows.values():
        person = people[row.nir]
        for rep_nir in row.representative_nirs:
            representative = people.get(rep_nir) or known[rep_nir]
            exists = session.execute(select(LegalRepresentative.id).where(
                LegalRepresentative.minor_id == person.id,
                LegalRepresentative.representative_id == representative.id)).first()
            if not exists:
                session.add(LegalRepresentative(minor_id=person.id,
                                                representative_id=representative.id))
    session.flush()
    return report

