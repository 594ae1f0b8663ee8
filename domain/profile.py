"""The medical profile: its sections, their entries and the "Non concerné" statement.

Every entry is one sealed JSON object (SECURITY.md "Cryptography" 5: the patient key, with
table, column and row id as associated data). Codes from the bundled lists are stored beside
the label key so a FHIR export can use them. Every change and every refusal is audited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import Select, bindparam, cast, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from domain import audit, policy
from domain.crypto import Keyring, open_sealed, seal
from domain.db import Prepared, mapped_columns, one_of, one_of_values
from domain.errors import NotAllowed
from domain.forms import Field, Problem, Reading, read
from domain.keys import patient_key
from domain.models import AuthorKind, ProfileEntry, ProfileSection, User
from domain.models.base import new_id, utcnow
from domain.vaccination import schedule

CODES_FILE = Path(__file__).parent / "data" / "profile_codes.json"


@cache
def codes() -> dict:
    """The bundled code lists (data/profile_codes.json), read once: list name -> items."""
    return json.loads(CODES_FILE.read_text(encoding="utf-8"))


@cache
def code_of(listing: str, key: str) -> tuple[str | None, str | None]:
    """(system, code) of a bundled list item, for a later FHIR export."""
    for item in codes()[listing]:
        if item["key"] == key:
            return item["system"], item["code"]
    return None, None


@dataclass(frozen=True)
class Section:
    """A section of the medical profile: its key, address slug and fields, the most entries
    it may hold, its group, and how its entries are coded and sorted."""

    key: str
    slug: str
    fields: tuple[Field, ...]
    limit: int = 100
    group: str = "health"          # health, vaccinations or entourage
    coded: Mapping[str, str] = field(default_factory=dict)  # field name -> bundled list
    adults_only: bool = False
    sort_field: str | None = None  # newest first by this field, else by creation


def _keys(listing: str) -> tuple[str, ...]:
    return tuple(item["key"] for item in codes()[listing])


SECTIONS: tuple[Section, ...] = (
    Section("conditions", "maladies", (
        Field("condition", "coded", required=True),
        Field("since", "partial_date"),
        Field("note", "text", max_length=500)), coded={"condition": "conditions"},
        sort_field="since"),
    Section("treatments", "traitements", (
        Field("name", "text", required=True),
        Field("dose", "text"),
        Field("since", "partial_date"),
        Field("until", "partial_date", not_before="since")), sort_field="since"),
    Section("hospitalisations", "hospitalisations", (
        Field("reason", "text", required=True),
        Field("place", "text"),
        Field("start", "partial_date", required=True),
        Field("end", "partial_date", not_before="start")), sort_field="start"),
    Section("disabilities", "handicaps", (
        Field("type", "choice", required=True, choices=(
            "motor", "visual", "hearing", "cognitive", "psychic", "multiple", "other")),
        Field("rate", "number", minimum=0, maximum=100, unit="%"),
        Field("human_help", "yesno", required=True),
        Field("note", "text", max_length=500))),
    Section("blood_group", "groupe-sanguin", (
        Field("group", "choice", required=True, choices=(
            "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")),), limit=1),
    Section("allergies", "allergies", (
        Field("substance", "coded", required=True),
        Field("reaction", "text", max_length=500),
        Field("severity", "choice", required=True, choices=(
            "mild", "moderate", "severe", "unknown"))), coded={"substance": "allergens"}),
    Section("family_history", "antecedents-familiaux", (
        Field("relative", "choice", required=True, choices=(
            "mother", "father", "sister", "brother", "grandparent", "child", "other")),
        Field("condition", "coded", required=True)), coded={"condition": "conditions"}),
    Section("lifestyle", "mode-de-vie", (
        Field("topic", "choice", required=True, choices=(
            "food", "activity", "sleep", "screens", "alcohol", "tobacco")),
        Field("description", "longtext", required=True, max_length=1000))),
    Section("vaccinations", "vaccinations", (
        Field("vaccine", "choice", required=True,
              choices=tuple(item["code"] for item in schedule()["vaccines"])),
        Field("given_on", "date", required=True),
        Field("dose", "number", minimum=1, maximum=10),
        Field("lot", "text", max_length=40),
        Field("vaccinator", "text")), limit=500, group="vaccinations", sort_field="given_on"),
    Section("emergency_contacts", "contacts-urgence", (
        Field("name", "text", required=True, max_length=100),
        Field("relation", "text", max_length=100),
        Field("phone", "phone", required=True)), limit=3, group="entourage"),
    Section("trusted_person", "personne-de-confiance", (
        Field("name", "text", required=True, max_length=100),
        Field("relation", "text", max_length=100),
        Field("phone", "phone", required=True),
        Field("consent_on", "date", required=True)), limit=1, group="entourage"),
    Section("directives", "directives-anticipees", (
        Field("resuscitation", "choice", required=True, choices=(
            "wanted", "not_wanted", "no_opinion")),
        Field("life_support", "longtext", max_length=2000),
        Field("pain_relief", "longtext", max_length=2000),
        Field("place", "text"),
        Field("other", "longtext", max_length=2000),
        Field("written_on", "date", required=True)), limit=1, group="entourage",
        adults_only=True),
)
BY_KEY = {section.key: section for section in SECTIONS}
BY_SLUG = {section.slug: section for section in SECTIONS}
HEALTH_SECTIONS = tuple(section for section in SECTIONS if section.group == "health")


class EntryNotFound(Exception):
    """No such entry in this person's profile (also when it exists but is not theirs)."""


class SectionFull(Exception):
    """The section already holds as many entries as it may."""


@dataclass(frozen=True)
class EntryView:
    """A profile entry with its sealed values opened. From load(), `entry` is a row of its
    columns (read-only); get_entry() gives the ORM object, which a change needs."""

    entry: ProfileEntry
    values: dict

    @property
    def id(self) -> str:
        return self.entry.id


@dataclass
class SectionView:
    """A section as a page shows it: its opened entries, whether the person said "Non
    concerné", when it last changed, and the total when only the newest were opened."""

    section: Section
    entries: list[EntryView] = field(default_factory=list)
    not_concerned: bool = False
    updated_at: datetime | None = None
    total: int | None = None  # when only the newest entries were opened

    @property
    def count(self) -> int:
        return len(self.entries) if self.total is None else self.total

    @property
    def more(self) -> int:
        """Entries not opened for this page."""
        return self.count - len(self.entries)

    @property
    def full(self) -> bool:
        return self.count >= self.section.limit


def is_minor(patient: User, today: date) -> bool:
    """Whether the patient is under 18 on `today`; False when the birth date is unknown."""
    born = patient.birth_date
    return born is not None and (today.year - born.year
                                 - ((today.month, today.day) < (born.month, born.day))) < 18


def validate(section: Section, form: Mapping[str, str], today: date,
             born: date | None = None) -> Reading:
    """Read a section's form: clean values, what was typed, and problems (no date before
    the person's birth)."""
    coded_keys = {name: _keys(listing) for name, listing in section.coded.items()}
    reading = read(section.fields, form, today, coded_keys, born)
    for name, listing in section.coded.items():
        value = reading.values.get(name)
        if value and value["key"]:
            value["system"], value["code"] = code_of(listing, value["key"])
    return reading


def _associated(table: str, row_id: str, patient_id: str) -> str:
    return f"{table}.payload.{row_id}.{patient_id}"


def _open(key: bytes, entry: ProfileEntry) -> EntryView:
    return EntryView(entry, json.loads(open_sealed(
        key, entry.payload_sealed, _associated("profile_entries", entry.id, entry.patient_id))))


def _sort(view: SectionView) -> None:
    name = view.section.sort_field
    view.entries.sort(key=lambda item: item.entry.created_at, reverse=True)
    if name:
        view.entries.sort(key=lambda item: str(item.values.get(name) or ""), reverse=True)


@dataclass(frozen=True)
class _LoadStatements:
    every: Prepared
    newest: Prepared


# load()'s rows: an entry, or a section's state ("Non concerné"), told apart by `row_kind`.
ENTRY_ROW, STATE_ROW = "entry", "state"


@cache
def _load_statements(shape: str | int, whole: int = 0) -> _LoadStatements:
    """load()'s statements, built once per shape (the overview asks on every visit; the
    window subquery costs more to build than to run): the patient, the section(s) and
    `first` are parameters. `shape` is how the sections are named: "every" (not at all),
    or the number of sections asked, one parameter each (domain.db.one_of); `whole`, the
    number of sections whose every entry the newest query reads along with the first
    ones of the others (one parameter each). Each row of the newest query also holds its
    section's number of entries and last change, counted over every entry of the section
    before the newest are picked (one statement less than counting apart). The sections'
    states come in the same statement, after the entries (UNION ALL: one statement less
    again), as rows of the entries' columns where a state has none (NULL). The rows are
    plain columns, read on the driver's cursor (domain.db.Prepared): the pages only read
    entries, and a change takes its entry through get_entry()."""

    def asked(column) -> tuple:
        return () if shape == "every" else (one_of(column, "section", shape),)

    entry_columns = mapped_columns(ProfileEntry)
    mine = (ProfileEntry.patient_id == bindparam("patient_id"), *asked(ProfileEntry.section))
    by_section = {"partition_by": ProfileEntry.section}
    ranked = select(
        *entry_columns,
        func.row_number().over(**by_section, order_by=(ProfileEntry.created_at.desc(),
                                                       ProfileEntry.id)).label("rank"),
        func.count().over(**by_section).label("section_total"),
        func.max(ProfileEntry.updated_at).over(**by_section).label("section_changed"),
    ).where(*mine).subquery()
    # A state as a row of the entries' columns: its own where they are the same, its
    # sealed state as the payload, NULL elsewhere.
    state_of = {"patient_id": ProfileSection.patient_id, "section": ProfileSection.section,
                "payload_sealed": ProfileSection.state_sealed,
                "updated_at": ProfileSection.updated_at}
    counted = (ranked.c.section_total, ranked.c.section_changed)

    def states(*more) -> Select:
        return select(*(state_of.get(column.key, cast(null(), column.type)).label(column.key)
                        for column in entry_columns),
                      *(cast(null(), column.type) for column in more),
                      literal(STATE_ROW).label("row_kind")).where(
            ProfileSection.patient_id == bindparam("patient_id"),
            *asked(ProfileSection.section))

    return _LoadStatements(
        every=Prepared(union_all(
            select(*entry_columns, literal(ENTRY_ROW).label("row_kind")).where(*mine),
            states())),
        newest=Prepared(union_all(
            select(*(ranked.c[column.key] for column in entry_columns), *counted,
                   literal(ENTRY_ROW).label("row_kind"))
            .where(or_(ranked.c.rank <= bindparam("first"),
                       *((one_of(ranked.c.section, "whole", whole),) if whole else ()))),
            states(*counted))))


_EVERY_SECTION = frozenset(section.key for section in SECTIONS)


def load(session: Session, keyring: Keyring, patient: User,
         sections: tuple[Section, ...] = SECTIONS, first: int | None = None,
         only_asked: bool = False, whole: tuple[Section, ...] = ()) -> dict[str, SectionView]:
    """The patient's sections with their entries opened. With `first`, only the most
    recently added `first` entries of each section are read and opened (the overview and
    the summary), the counts and last changes still cover every entry, and the sections in
    `whole` (among `sections`) are read whole, in the same query (the summary: what can
    harm if missed is never cut). `only_asked`: no row of another section is read at all
    (a professional's reading: the sections the policy lets them see)."""
    key = patient_key(keyring, patient)
    views = {section.key: SectionView(section) for section in sections}
    # Asked for every section, or for a few entries of each of the person's own (the
    # overview, the summary: a bounded number of rows), the statements name no section at
    # all; a row of a section that is not asked for is passed over, never opened.
    every = _EVERY_SECTION <= views.keys() or (first is not None and not only_asked)
    whole_keys = [section.key for section in whole if section.key in views] if first else []
    sql = _load_statements("every" if every else len(views), len(whole_keys))
    mine = {"patient_id": patient.id, **({} if every else one_of_values("section", views))}
    if first is None:
        rows = sql.every.all(session, mine)
    else:
        rows = sql.newest.all(session, {**mine, "first": first,
                                        **one_of_values("whole", whole_keys)})
    for row in rows:
        view = views.get(row.section)
        if view is None:
            continue
        changed = row.updated_at
        if row.row_kind == STATE_ROW:
            view.not_concerned = json.loads(open_sealed(key, row.payload_sealed, _associated(
                "profile_sections", row.section, patient.id)))["not_concerned"]
        else:
            if first is not None and view.total is None:
                # The section's count and last change, over all its entries (max() keeps
                # the column's UTC type).
                view.total, changed = row.section_total, max(changed, row.section_changed)
            view.entries.append(_open(key, row))
        if view.updated_at is None or changed > view.updated_at:
            view.updated_at = changed
    for view in views.values():
        _sort(view)
    return views


def load_for_professional(session: Session, keyring: Keyring, viewer: User, patient: User,
                          care: policy.CareFacts, actor: audit.Actor,
                          first: int | None = None) -> dict[str, SectionView]:
    """The sections this professional may read (the policy decides, section by section);
    the reading is audited with the sections it opened."""
    readable = tuple(section for section in SECTIONS if policy.profile_allowed(
        policy.ProfileAction.READ, viewer.role, is_owner=False, locked=False,
        section=section.key, care=care))
    audit.record(session, keyring, "profile.read_by_professional", actor=actor,
                 outcome="success" if readable else "denied", subject_id=patient.id,
                 details={"sections": [section.key for section in readable]})
    return load(session, keyring, patient, readable, first=first,
                only_asked=True) if readable else {}


def _count(session: Session, patient: User, section: Section) -> int:
    return session.scalar(select(func.count()).select_from(ProfileEntry).where(
        ProfileEntry.patient_id == patient.id, ProfileEntry.section == section.key)) or 0


def _state(session: Session, keyring: Keyring, patient: User, section: Section,
           not_concerned: bool) -> None:
    state = session.get(ProfileSection, (patient.id, section.key))
    sealed = seal(patient_key(keyring, patient), json.dumps(
        {"not_concerned": not_concerned}).encode(), _associated(
        "profile_sections", section.key, patient.id))
    if state is None:
        session.add(ProfileSection(patient_id=patient.id, section=section.key,
                                   state_sealed=sealed, updated_at=utcnow()))
    else:
        state.state_sealed, state.updated_at = sealed, utcnow()


def add_entry(session: Session, keyring: Keyring, patient: User, section: Section,
              values: dict, *, author: User, actor: audit.Actor) -> ProfileEntry:
    """Add an entry (validated values); adding one withdraws "Non concerné"."""
    if _count(session, patient, section) >= section.limit:
        raise SectionFull(section.key)
    by_patient = author.id == patient.id
    entry_id = new_id()
    now = utcnow()
    entry = ProfileEntry(
        id=entry_id, patient_id=patient.id, section=section.key, author_id=author.id,
        author_kind=AuthorKind.PATIENT if by_patient else AuthorKind.PROFESSIONAL,
        locked=not by_patient, created_at=now, updated_at=now,
        payload_sealed=seal(patient_key(keyring, patient), json.dumps(values).encode(),
                            _associated("profile_entries", entry_id, patient.id)))
    session.add(entry)
    if session.get(ProfileSection, (patient.id, section.key)) is not None:
        _state(session, keyring, patient, section, False)
    session.flush()
    audit.record(session, keyring, "profile.entry_added", actor=actor, subject_id=patient.id,
                 target_type="profile_entry", target_id=entry_id,
                 details={"section": section.key})
    return entry


def may_add(session: Session, keyring: Keyring, viewer: User, patient: User,
            section: Section, care: policy.CareFacts, actor: audit.Actor) -> None:
    """Whether a professional may add to this section of the patient's profile (a
    vaccination given): a refusal is audited and raises NotAllowed."""
    if not policy.profile_allowed(policy.ProfileAction.ADD, viewer.role, is_owner=False,
                                  locked=False, section=section.key, care=care):
        audit.record(session, keyring, "profile.entry_add", actor=actor, outcome="denied",
                     subject_id=patient.id, details={"section": section.key})
        raise NotAllowed("this section is closed to this professional")


def get_entry(session: Session, keyring: Keyring, viewer: User, patient: User,
              section: Section, entry_id: str, action: policy.ProfileAction,
              actor: audit.Actor, care: policy.CareFacts | None = None) -> EntryView:
    """One entry, if the policy lets this viewer act on it; both outcomes are audited, and
    a refusal answers exactly like an entry that does not exist."""
    entry = session.get(ProfileEntry, entry_id) if len(entry_id) <= 32 else None
    allowed = (entry is not None and entry.section == section.key
               and entry.patient_id == patient.id and policy.profile_allowed(
                   action, viewer.role, is_owner=entry.patient_id == viewer.id,
                   locked=entry.locked, section=section.key, care=care))
    audit.record(session, keyring, f"profile.entry_{action.value}", actor=actor,
                 outcome="success" if allowed else "denied",
                 subject_id=entry.patient_id if entry else None,
                 target_type="profile_entry", target_id=entry_id[:32])
    if not allowed:
        raise EntryNotFound(entry_id)
    return _open(patient_key(keyring, patient), entry)


def update_entry(session: Session, keyring: Keyring, patient: User, view: EntryView,
                 values: dict, actor: audit.Actor) -> None:
    """Replace an entry's values (already validated), sealed again with the patient key;
    audited as "profile.entry_edit". The policy decided before."""
    entry = view.entry
    entry.payload_sealed = seal(patient_key(keyring, patient), json.dumps(values).encode(),
                                _associated("profile_entries", entry.id, patient.id))
    entry.updated_at = utcnow()
    audit.record(session, keyring, "profile.entry_edit", actor=actor, subject_id=patient.id,
                 target_type="profile_entry", target_id=entry.id,
                 details={"section": entry.section})


def delete_entry(session: Session, keyring: Keyring, patient: User, view: EntryView,
                 actor: audit.Actor) -> None:
    """Delete an entry and mark its section as changed now; audited as
    "profile.entry_delete". The policy decided before."""
    entry = view.entry
    session.delete(entry)
    section = BY_KEY[entry.section]
    state = session.get(ProfileSection, (patient.id, section.key))
    if state is None:  # keep "last change" true after the last entry goes
        _state(session, keyring, patient, section, False)
    else:
        state.updated_at = utcnow()
    audit.record(session, keyring, "profile.entry_delete", actor=actor, subject_id=patient.id,
                 target_type="profile_entry", target_id=entry.id,
                 details={"section": entry.section})


def confirm_entry(session: Session, keyring: Keyring, patient: User, view: EntryView,
                  actor: audit.Actor) -> None:
    """A professional confirms an entry (a vaccination the patient recorded): it becomes
    locked for the patient. The policy decided before (ProfileAction.CONFIRM)."""
    view.entry.locked = True
    view.entry.updated_at = utcnow()
    audit.record(session, keyring, "profile.entry_confirmed", actor=actor,
                 subject_id=patient.id, target_type="profile_entry", target_id=view.entry.id,
                 details={"section": view.entry.section})


def set_not_concerned(session: Session, keyring: Keyring, patient: User, section: Section,
                      not_concerned: bool, actor: audit.Actor) -> None:
    """Say "Non concerné" (only for an empty section) or take it back."""
    if not_concerned and _count(session, patient, section):
        raise SectionFull(section.key)
    _state(session, keyring, patient, section, not_concerned)
    audit.record(session, keyring, "profile.not_concerned", actor=actor,
                 subject_id=patient.id, target_type="profile_section", target_id=section.key,
                 details={"value": not_concerned})


def problems_by_field(problems: list[Problem]) -> dict[str, Problem]:
    """Each field's first problem, by field name (what a form shows beside the field)."""
    return {problem.field: problem for problem in reversed(problems)}

