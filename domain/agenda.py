"""The medical agenda: appointments and reminders, their lists, the month grid, the
vaccinations to plan, and the e-mail of the day before.

The day and time of an item stay clear (lists, the month grid, the ten-a-day limit and the
reminder run are indexed queries on them); what, where, with whom and the note are one JSON
object sealed with the patient key, bound to the table, column, row and patient
(SECURITY.md "Cryptography" 5). Day and time are the local wall time the person typed, in
the site's time zone (Europe/Paris). Every read, change and refusal is audited with
identifiers only. The calendar export and the private subscription are in
domain/agenda_export.py.
"""

from __future__ import annotations

import calendar
import json
import re
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from domain import audit, policy, profile, vaccination
from domain.crypto import Keyring, open_sealed, seal
from domain.db import PagedList, Prepared, mapped_columns
from domain.forms import CONTROL, Field, Problem, Reading, read
from domain.keys import patient_key
from domain.models import AgendaItem, ItemKind, User
from domain.models.base import new_id, utcnow

SITE_ZONE = ZoneInfo("Europe/Paris")
DAY_LIMIT = 10          # items a day, whatever their kind
PAGE_SIZE = 20          # items on a list page
YEARS_AHEAD = 10        # the furthest day an item can be on
EARLIEST_MONTH_YEAR = 1900
SECRET_FIELDS = ("title", "place", "professional", "note")
FIELDS = (
    Field("kind", "choice", required=True, choices=tuple(kind.value for kind in ItemKind)),
    Field("title", "text", required=True, max_length=200),
    Field("date", "date", required=True),
    # Read as text and parsed below (8:30, 8h30, 8 h 30, 14): forgiving about how an hour
    # is written, strict about what it means.
    Field("time", "text", max_length=20),
    Field("place", "text", max_length=200),
    Field("professional", "text", max_length=200),
    Field("note", "longtext", max_length=1000),
)
TIME_RE = re.compile(r"(\d{1,2})(?:[:h.](\d{2})?)?", re.ASCII)


class ItemNotFound(Exception):
    """No such item in this person's agenda (also when it exists but is someone else's)."""


class DayFull(Exception):
    """The day already holds DAY_LIMIT items."""


class SuggestionGone(Exception):
    """The vaccination is no longer due, or is already in the agenda."""


def today() -> date:
    """Today in the site's time zone (the server may run in UTC)."""
    return datetime.now(SITE_ZONE).date()


def latest_day(on: date) -> date:
    """The furthest day an item can be on: YEARS_AHEAD years after `on` (the 28th when `on`
    is 29 February)."""
    try:
        return on.replace(year=on.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return on.replace(year=on.year + YEARS_AHEAD, day=28)


def parse_time(text: str) -> time | None:
    """"8:30", "8h30", "8 h 30", "08.30", "14h", "14" -> a time; None if it is no time."""
    match = TIME_RE.fullmatch(text.replace(" ", "").lower())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    return time(hours, minutes) if hours < 24 and minutes < 60 else None


def _printable(typed):
    """What was typed, given back without control characters or direction marks (a NUL or
    a right-to-left override has no business in a form shown again)."""
    if isinstance(typed, dict):
        return {name: _printable(value) for name, value in typed.items()}
    return CONTROL.sub("", typed.replace("\r\n", "\n"))


def validate(form: Mapping[str, str], on: date, born: date | None = None) -> Reading:
    """Read the item form: clean values (date as ISO text, time as HH:MM), what was typed,
    and problems. Past days are allowed (a past appointment can be recorded); the furthest
    day is YEARS_AHEAD years from `on`, reported as "date_future"; none before birth. An
    appointment needs a time, a reminder may have one."""
    reading = read(FIELDS, form, latest_day(on), born=born)
    reading.typed = {name: _printable(value) for name, value in reading.typed.items()}
    raw_time = reading.values.pop("time", None)
    if raw_time is not None:
        parsed = parse_time(raw_time)
        if parsed is None:
            reading.problems.append(Problem("time", "time_invalid"))
        else:
            reading.values["time"] = parsed.strftime("%H:%M")
    elif reading.values.get("kind") == ItemKind.APPOINTMENT.value and not any(
            problem.field == "time" for problem in reading.problems):
        reading.problems.append(Problem("time", "time_required"))
    order = [spec.name for spec in FIELDS]
    reading.problems.sort(key=lambda problem: order.index(problem.field)
                          if problem.field in order else len(order))
    return reading


def echo(view: ItemView) -> dict:
    """What the form shows to change an item: the inverse of validate()."""
    return {"kind": view.kind.value, "title": view.title,
            "date": {"day": str(view.day.day), "month": str(view.day.month),
                     "year": str(view.day.year)},
            "time": view.at.strftime("%H:%M") if view.at else "",
            **{name: view.values.get(name) or "" for name in SECRET_FIELDS[1:]}}


# --------------------------------------------------------------------------- items

@dataclass(frozen=True)
class ItemView:
    """An agenda item with its sealed part opened: `values` holds the title, place,
    professional and note (and the vaccination marker, if it came from a suggestion)."""

    item: AgendaItem  # or, in lists, a row of its columns (read-only)
    values: dict

    @property
    def id(self) -> str:
        return self.item.id

    @property
    def kind(self) -> ItemKind:
        return self.item.kind

    @property
    def day(self) -> date:
        return self.item.day

    @property
    def at(self) -> time | None:
        return self.item.at

    @property
    def title(self) -> str:
        return self.values["title"]


def _associated(item_id: str, patient_id: str) -> str:
    return f"agenda_items.payload.{item_id}.{patient_id}"


def _seal(keyring: Keyring, patient: User, item_id: str, payload: dict) -> bytes:
    return seal(patient_key(keyring, patient), json.dumps(payload).encode(),
                _associated(item_id, patient.id))


def _open(key: bytes, item: AgendaItem) -> ItemView:
    return ItemView(item, json.loads(open_sealed(key, item.payload_sealed,
                                                 _associated(item.id, item.patient_id))))


def _payload(values: Mapping) -> dict:
    return {name: values.get(name) for name in SECRET_FIELDS}


def _clock(values: Mapping) -> tuple[date, time | None]:
    at = values.get("time")
    return date.fromisoformat(values["date"]), (time.fromisoformat(at) if at else None)


def count_on(session: Session, patient: User, day: date, excluding: str | None = None) -> int:
    """How many items the patient has on `day`, not counting the item `excluding` (the one
    being moved)."""
    query = select(func.count()).select_from(AgendaItem).where(
        AgendaItem.patient_id == patient.id, AgendaItem.day == day)
    if excluding:
        query = query.where(AgendaItem.id != excluding)
    return session.scalar(query) or 0


def add(session: Session, keyring: Keyring, patient: User, values: Mapping, actor: audit.Actor,
        marker: dict | None = None, source: str = "form") -> AgendaItem:
    """Add an item (validated values); refused with DayFull beyond DAY_LIMIT a day.
    `marker` (the vaccination a suggestion came from) is sealed with the rest."""
    day, at = _clock(values)
    if count_on(session, patient, day) >= DAY_LIMIT:
        raise DayFull(day)
    payload = _payload(values)
    if marker:
        payload["vaccine"] = marker
    item_id, now = new_id(), utcnow()
    item = AgendaItem(id=item_id, patient_id=patient.id, kind=ItemKind(values["kind"]), day=day,
                      at=at, payload_sealed=_seal(keyring, patient, item_id, payload),
                      created_at=now, updated_at=now)
    session.add(item)
    session.flush()
    audit.record(session, keyring, "agenda.added", actor=actor, subject_id=patient.id,
                 target_type="agenda_item", target_id=item_id,
                 details={"kind": item.kind.value, "source": source})
    return item


DENIED_ACTIONS = {"read": "agenda.read", "edit": "agenda.updated", "delete": "agenda.deleted"}


def get(session: Session, keyring: Keyring, patient: User, item_id: str, action: str,
        actor: audit.Actor) -> ItemView:
    """One of the patient's items, opened (audited as a read); someone else's or a made-up
    id is refused exactly like a missing one, and the refusal is audited under the action
    that was tried ("read", "edit" or "delete")."""
    item = session.get(AgendaItem, item_id) if len(item_id) <= 32 else None
    if item is None or not policy.agenda_allowed(patient.role,
                                                 is_owner=item.patient_id == patient.id):
        audit.record(session, keyring, DENIED_ACTIONS[action], actor=actor, outcome="denied",
                     subject_id=item.patient_id if item else None, target_type="agenda_item",
                     target_id=item_id[:32])
        raise ItemNotFound(item_id)
    audit.record(session, keyring, "agenda.read", actor=actor, subject_id=patient.id,
                 target_type="agenda_item", target_id=item.id, details={"view": action})
    return _open(patient_key(keyring, patient), item)


def update(session: Session, keyring: Keyring, patient: User, view: ItemView, values: Mapping,
           actor: audit.Actor) -> None:
    """Change an item; moving it to a full day raises DayFull. A new day or time means a
    new e-mail the day before."""
    day, at = _clock(values)
    item = view.item
    if day != item.day and count_on(session, patient, day, excluding=item.id) >= DAY_LIMIT:
        raise DayFull(day)
    payload = _payload(values)
    if "vaccine" in view.values:
        payload["vaccine"] = view.values["vaccine"]
    if (day, at) != (item.day, item.at):
        item.reminded_at = None
    item.kind, item.day, item.at = ItemKind(values["kind"]), day, at
    item.payload_sealed = _seal(keyring, patient, item.id, payload)
    item.updated_at = utcnow()
    audit.record(session, keyring, "agenda.updated", actor=actor, subject_id=patient.id,
                 target_type="agenda_item", target_id=item.id,
                 details={"kind": item.kind.value})


def delete(session: Session, keyring: Keyring, patient: User, view: ItemView,
           actor: audit.Actor) -> None:
    """Delete an item obtained through get(); audited as "agenda.deleted"."""
    session.delete(view.item)
    audit.record(session, keyring, "agenda.deleted", actor=actor, subject_id=patient.id,
                 target_type="agenda_item", target_id=view.item.id)


# --------------------------------------------------------------------------- lists

@dataclass
class Listing:
    """One page of the upcoming or past list: its opened items, the page number, the number
    of pages and the total of items."""

    items: list[ItemView]
    page: int
    pages: int
    total: int

    def by_day(self) -> list[tuple[date, list[ItemView]]]:
        """The page's items grouped under their day, in the page's order."""
        groups: list[tuple[date, list[ItemView]]] = []
        for view in self.items:
            if not groups or groups[-1][0] != view.day:
                groups.append((view.day, []))
            groups[-1][1].append(view)
        return groups


@cache
def _listing_sql(upcoming: bool) -> PagedList:
    """A page of the upcoming or past items with their count (domain.db.PagedList),
    compiled once: the patient, the day and the page's bounds are parameters."""
    on = bindparam("on", type_=AgendaItem.day.type)
    mine = AgendaItem.patient_id == bindparam("patient_id")
    if upcoming:
        where = (mine, AgendaItem.day >= on)
        order = (AgendaItem.day, AgendaItem.at.asc().nulls_first(), AgendaItem.created_at,
                 AgendaItem.id)
    else:
        where = (mine, AgendaItem.day < on)
        order = (AgendaItem.day.desc(), AgendaItem.at.desc().nulls_last(),
                 AgendaItem.created_at.desc(), AgendaItem.id)
    return PagedList(mapped_columns(AgendaItem), AgendaItem, where, order)


def listing(session: Session, keyring: Keyring, patient: User, when: str, on: date, page: int,
            actor: audit.Actor) -> Listing:
    """Upcoming items (from `on`, soonest first; items without a time open their day) or
    past ones (latest first), PAGE_SIZE a page; only the page's items are opened."""
    items, figures, page, pages = _listing_sql(when == "upcoming").read(
        session, {"patient_id": patient.id, "on": on}, page, PAGE_SIZE)
    key = patient_key(keyring, patient) if items else b""
    audit.record(session, keyring, "agenda.read", actor=actor, subject_id=patient.id,
                 details={"view": when, "page": page})
    return Listing([_open(key, item) for item in items], page, pages, figures["total"])


@cache
def _between_sql(from_first: bool, to_last: bool) -> Prepared:
    """The items of a span of days, compiled once per shape (a month, a whole agenda)."""
    query = select(*mapped_columns(AgendaItem)).where(
        AgendaItem.patient_id == bindparam("patient_id"))
    if from_first:
        query = query.where(AgendaItem.day >= bindparam("first", type_=AgendaItem.day.type))
    if to_last:
        query = query.where(AgendaItem.day <= bindparam("last", type_=AgendaItem.day.type))
    return Prepared(query.order_by(AgendaItem.day, AgendaItem.at.asc().nulls_first(),
                                   AgendaItem.created_at, AgendaItem.id))


def between(session: Session, keyring: Keyring, patient: User, first: date | None = None,
            last: date | None = None) -> list[ItemView]:
    """The patient's items from `first` to `last` (both optional, both included), opened,
    in day and time order."""
    shape = _between_sql(bool(first), bool(last))
    items = shape.all(session, {"patient_id": patient.id,
                                **({"first": first} if first else {}),
                                **({"last": last} if last else {})})
    key = patient_key(keyring, patient) if items else b""
    return [_open(key, item) for item in items]


def _next_statement():
    """The next item from a day and time (parameters: the patient, today, the clock)."""
    today_ = bindparam("today", type_=AgendaItem.day.type)
    clock = bindparam("clock", type_=AgendaItem.at.type)
    # From today on (a range of the patient's index, read in its order up to the first
    # item), except today's items whose time has passed.
    not_passed = (AgendaItem.day > today_) | AgendaItem.at.is_(None) | (AgendaItem.at >= clock)
    return (select(*mapped_columns(AgendaItem))
            .where(AgendaItem.patient_id == bindparam("patient_id"), AgendaItem.day >= today_,
                   not_passed)
            .order_by(AgendaItem.day, AgendaItem.at.asc().nulls_first(), AgendaItem.created_at)
            .limit(1))


# The next item, read along with other things in one round trip (the dashboard's statement,
# domain/news.py): its columns, all None when there is none, go to open_next().
NEXT_SOURCE = _next_statement().subquery("next_item")
_NEXT_ROW = namedtuple("NextItem", [column.key for column in NEXT_SOURCE.c])


def next_parameters(patient: User, now: datetime) -> dict:
    """The parameters of NEXT_SOURCE: the patient, and `now`'s day and time in Paris."""
    local = now.astimezone(SITE_ZONE)
    return {"patient_id": patient.id, "today": local.date(),
            "clock": local.time().replace(tzinfo=None)}


def open_next(keyring: Keyring, patient: User, columns: tuple) -> ItemView | None:
    """The next item from NEXT_SOURCE's columns, opened; None when they are all None."""
    if columns[0] is None:
        return None
    return _open(patient_key(keyring, patient), _NEXT_ROW._make(columns))


@dataclass
class Month:
    """A month grid: weeks of (day, items) cells, Monday first, the month's item count, and
    the first days of the months before and after (None when out of range)."""

    year: int
    month: int
    weeks: list[list[tuple[date | None, list[ItemView]]]]  # Monday first; None: not this month
    count: int
    previous: date | None
    following: date | None

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)


def month_in_range(year: int, month: int, on: date) -> bool:
    """Whether the month can be shown: a real month, from EARLIEST_MONTH_YEAR up to the
    month of latest_day(on)."""
    return (1 <= month <= 12 and EARLIEST_MONTH_YEAR <= year
            and (year, month) <= (latest_day(on).year, latest_day(on).month))


def month_grid(session: Session, keyring: Keyring, patient: User, year: int, month: int,
               on: date, actor: audit.Actor) -> Month:
    """A month as weeks of seven days, Monday first, each day with its items; the months
    before and after when they can be shown."""
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    by_day: dict[date, list[ItemView]] = {}
    views = between(session, keyring, patient, first, last)
    for view in views:
        by_day.setdefault(view.day, []).append(view)
    weeks = [[(day, by_day.get(day, [])) if day.month == month else (None, [])
              for day in week]
             for week in calendar.Calendar(calendar.MONDAY).monthdatescalendar(year, month)]
    previous = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    audit.record(session, keyring, "agenda.read", actor=actor, subject_id=patient.id,
                 details={"view": "month", "month": f"{year:04d}-{month:02d}"})
    return Month(year, month, weeks, len(views),
                 previous if month_in_range(previous.year, previous.month, on) else None,
                 following if month_in_range(following.year, following.month, on) else None)


# --------------------------------------------------------------------------- suggestions

@dataclass(frozen=True)
class Suggestion:
    """A vaccination the schedule says is due and not yet in the agenda; `marker` is what
    is sealed with the reminder made from it."""

    due: vaccination.DueItem

    @property
    def marker(self) -> dict:
        return {"rule": self.due.rule, "vaccine": self.due.vaccine,
                "due_on": self.due.due_on.isoformat()}

    def day(self, on: date) -> date:
        """The due date, or today when it is already past."""
        return max(self.due.due_on, on)


_REMINDERS = Prepared(select(*mapped_columns(AgendaItem)).where(
    AgendaItem.patient_id == bindparam("patient_id"), AgendaItem.kind == ItemKind.REMINDER))


def _planned(session: Session, keyring: Keyring, patient: User) -> set[tuple[str, str]]:
    """(rule, due date) of the vaccinations already put in the agenda from a suggestion."""
    items = _REMINDERS.all(session, {"patient_id": patient.id})
    key = patient_key(keyring, patient) if items else b""
    planned = set()
    for item in items:
        marker = _open(key, item).values.get("vaccine")
        if marker:
            planned.add((marker["rule"], marker["due_on"]))
    return planned


def suggestions(session: Session, keyring: Keyring, patient: User, on: date
                ) -> list[Suggestion]:
    """The vaccinations the schedule says are due (from the profile's vaccination record),
    minus those already in the agenda. Nothing without a date of birth."""
    if patient.birth_date is None:
        return []
    section = profile.BY_KEY["vaccinations"]
    entries = profile.load(session, keyring, patient, (section,))[section.key].entries
    doses = [vaccination.Dose(entry.values["vaccine"], date.fromisoformat(
        entry.values["given_on"])) for entry in entries]
    due = vaccination.due(patient.birth_date, doses, on)
    if not due:
        return []
    planned = _planned(session, keyring, patient)
    return [Suggestion(item) for item in due
            if (item.rule, item.due_on.isoformat()) not in planned]


def add_suggestion(session: Session, keyring: Keyring, patient: User, rule: str, on: date,
                   title_of: Callable[[str], str], actor: audit.Actor) -> AgendaItem:
    """Put a due vaccination in the agenda as a reminder on its due date (today when that
    is past), titled with the vaccine's name. SuggestionGone when it is not (or no longer)
    suggested; DayFull when that day is full."""
    chosen = next((item for item in suggestions(session, keyring, patient, on)
                   if item.due.rule == rule), None)
    if chosen is None:
        raise SuggestionGone(rule)
    values = {"kind": ItemKind.REMINDER.value, "title": title_of(chosen.due.vaccine)[:200],
              "date": chosen.day(on).isoformat()}
    return add(session, keyring, patient, values, actor, marker=chosen.marker,
               source="vaccination")


# --------------------------------------------------------------------------- reminders

@dataclass
class ReminderRun:
    """What one run of reminders() did: e-mails sent, items covered, people without an
    address, and people skipped because a concurrent run had claimed their items."""

    patients: int = 0   # e-mails sent (one per person with items tomorrow)
    items: int = 0      # items they covered
    unreachable: int = 0  # people with items tomorrow and no address
    skipped: list[str] = field(default_factory=list)  # claimed by a concurrent run


def reminders(session: Session, keyring: Keyring, on: date,
              send: Callable[[User, date, list[AgendaItem]], bool]) -> ReminderRun:
    """E-mail, once, everyone with items the day after `on`: `send(patient, day, items)`
    tells them (never the title, place or note) and answers whether anyone could be told.
    Each person's items are claimed (reminded_at) in the same transaction as the audit
    event, so a second run, even a concurrent one, sends nothing again; a failed sending
    rolls back and is tried at the next run. Closed spaces are skipped."""
    tomorrow = date.fromordinal(on.toordinal() + 1)
    run = ReminderRun()
    patient_ids = session.scalars(select(AgendaItem.patient_id).distinct().where(
        AgendaItem.day == tomorrow, AgendaItem.reminded_at.is_(None))).all()
    for patient_id in sorted(patient_ids):
        patient = session.get(User, patient_id)
        if patient is None or not patient.enabled:
            continue
        items = session.scalars(select(AgendaItem).where(
            AgendaItem.patient_id == patient_id, AgendaItem.day == tomorrow,
            AgendaItem.reminded_at.is_(None)).order_by(
            AgendaItem.at.asc().nulls_first(), AgendaItem.created_at)).all()
        now = utcnow()
        claimed = session.execute(sql_update(AgendaItem).where(
            AgendaItem.id.in_([item.id for item in items]), AgendaItem.reminded_at.is_(None))
            .values(reminded_at=now)).rowcount
        if claimed != len(items):
            session.rollback()
            run.skipped.append(patient_id)
            continue
        try:
            told = send(patient, tomorrow, list(items))
        except Exception:
            session.rollback()
            raise
        if not told:
            session.rollback()
            run.unreachable += 1
            continue
        audit.record(session, keyring, "agenda.reminded", subject_id=patient_id,
                     details={"items": len(items), "day": tomorrow.isoformat()})
        session.commit()
        run.patients += 1
        run.items += len(items)
    return run
