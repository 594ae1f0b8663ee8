"""A person's access history: every audited action on their space, newest first, read
page by page from a sequence number (constant time whatever the history's length), with
the filters the patient's page offers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from sqlalchemy import BigInteger, bindparam, false, or_, select
from sqlalchemy.orm import Session

from domain.db import Prepared, mapped_columns, one_of, one_of_values
from domain.models import AccountRow, AuditEvent, CareRelation, EmergencyAccess, User
from domain.people import by_id as accounts_by_id

MINE = "mine"
PROFESSIONALS = "professionals"
PROFESSIONAL_ROLES = ("professional", "professional_emergency")
# A connected app's API calls (domain/apps.py ACTING_AS): shown with the professionals'.
APPLICATION = "application"
# The largest `avant` the database can compare with audit_events.seq (a 32-bit integer on
# PostgreSQL, unless the column becomes a BigInteger).
SEQ_MAX = 2**63 - 1 if isinstance(AuditEvent.__table__.c.seq.type, BigInteger) else 2**31 - 1
PERSON_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Filters:
    """The history page's filters: the tab (professionals' actions or the person's own),
    a period in days (both ends included) and one actor's id."""

    tab: str = PROFESSIONALS
    since: date | None = None
    until: date | None = None
    person_id: str | None = None


@dataclass(frozen=True)
class Row:
    """One line of the history: the audit event (a row of its columns) and its actor's
    account (read-only; None when there is no actor or the account is gone)."""

    event: AuditEvent  # a row of its columns
    actor: AccountRow | None

    @property
    def mode(self) -> str:
        """How the actor acted: normal, emergency or assisted."""
        if self.event.acting_as == "professional_emergency":
            return "emergency"
        if self.event.assisted_by_id:
            return "assisted"
        if self.event.acting_as == APPLICATION:
            return "application"
        return "normal"

    @property
    def details(self) -> dict:
        return json.loads(self.event.details or "{}")


@cache
def _page_sql(mine: bool, person: str | None, since: bool, until: bool,
              before: bool) -> Prepared:
    """A page of the history for one shape of filters, compiled once and run on the
    driver's cursor (the page only shows the events: rows of their columns): the patient,
    the person, the days, the cursor and the page's size are parameters. `person`: None
    (everyone), "id", or "nobody" for something that is no id."""
    patient_id = bindparam("patient_id")
    query = select(*mapped_columns(AuditEvent)).where(AuditEvent.subject_id == patient_id)
    if mine:
        # One's own actions, and those of whoever acts for one (a parent, a guardian).
        query = query.where(or_(AuditEvent.actor_id == patient_id,
                                AuditEvent.acting_as == "representative"))
    else:
        # Equalities rather than IN (a list, which would be written into the SQL on each
        # run): the statement is Prepared.
        query = query.where(or_(*(AuditEvent.acting_as == acting_as
                                  for acting_as in PROFESSIONAL_ROLES + (APPLICATION,))),
                            or_(AuditEvent.actor_id.is_(None),
                                AuditEvent.actor_id != patient_id))
    if person is not None:
        # Something that is no id names nobody (and never reaches the database, which may
        # refuse its characters).
        query = query.where(AuditEvent.actor_id == bindparam("person_id")
                            if person == "id" else false())
    if since:
        query = query.where(AuditEvent.occurred_at >= bindparam(
            "since", type_=AuditEvent.occurred_at.type))
    if until:
        query = query.where(AuditEvent.occurred_at < bindparam(
            "until", type_=AuditEvent.occurred_at.type))
    if before:
        query = query.where(AuditEvent.seq < bindparam("before"))
    return Prepared(query.order_by(AuditEvent.seq.desc()).limit(bindparam("limit")))


def cursor(value: str | None) -> int | None:
    """The page asked for by the address (`avant`): a sequence number the database can
    hold; anything else (text, zero, negative, too large) is None, the newest page."""
    if not value or len(value) > len(str(SEQ_MAX)) or not re.fullmatch(r"[0-9]+", value):
        return None
    number = int(value)
    return number if 1 <= number <= SEQ_MAX else None


def _rows(session: Session, patient: User, events: list[AuditEvent],
          with_people: bool) -> tuple[list[Row], list[AccountRow]]:
    """The events with their actors' accounts, and with `with_people` the professionals
    the filter offers, by name (names are sealed: sorted here, not by SQL), read in the
    same statement."""
    ids = sorted({event.actor_id for event in events if event.actor_id})
    if not with_people:
        found = accounts_by_id(session, ids)
        return [Row(event, found.get(event.actor_id)) for event in events], []
    found, around = {}, []
    for row in _actors_and_people_sql(len(ids)).all(session, {"patient_id": patient.id,
                                                              **one_of_values("id", ids)}):
        account = AccountRow(row[:-1])
        found[account.id] = account
        if row.around:
            around.append(account)
    return ([Row(event, found.get(event.actor_id)) for event in events],
            sorted(around, key=lambda person: (person.name_order, person.id)))


def page(session: Session, patient: User, filters: Filters, before: int | None = None,
         per_page: int = 25, *, with_people: bool = False,
         ) -> tuple[list[Row], int | None, list[AccountRow]]:
    """One page, newest first, the sequence number to ask for the next (older) one, and
    with `with_people` the professionals the filter offers (read with the page's actors:
    one statement for both)."""
    person = None if not filters.person_id else (
        "id" if PERSON_ID.fullmatch(filters.person_id) else "nobody")
    until = filters.until if filters.until and filters.until < date.max else None
    query = _page_sql(filters.tab == MINE, person, bool(filters.since), until is not None,
                      before is not None)
    parameters = {"patient_id": patient.id, "limit": per_page + 1}
    if person == "id":
        parameters["person_id"] = filters.person_id
    if before is not None:
        parameters["before"] = before
    if filters.since:
        parameters["since"] = datetime.combine(filters.since, time(), UTC)
    if until:  # up to 31/12/9999: no end at all
        parameters["until"] = datetime.combine(until + timedelta(days=1), time(), UTC)
    events = query.all(session, parameters)
    more = len(events) > per_page
    events = events[:per_page]
    rows, people_around = _rows(session, patient, events, with_people)
    return rows, (events[-1].seq if more else None), people_around


def every(session: Session, patient: User, filters: Filters,
          batch: int = 1000) -> Iterator[Row]:
    """The whole filtered history, newest first, a batch at a time (for the CSV)."""
    before = None
    while True:
        rows, before, _people = page(session, patient, filters, before, batch)
        yield from rows
        if before is None:
            return


# The professionals around the patient: a care relation or an emergency access.
_AROUND = select(CareRelation.professional_id).where(
    CareRelation.patient_id == bindparam("patient_id")).union(
    select(EmergencyAccess.professional_id).where(
        EmergencyAccess.patient_id == bindparam("patient_id")))


@cache
def _actors_and_people_sql(count: int) -> Prepared:
    """The accounts of `count` actors (parameters id0…) and of the people around, each
    with whether it is one of the people around (the professionals who can appear in the
    history, for the filter: a handful of rows, whatever the history's length, the audit
    trail itself never read for them); built once per count (a page names at most its
    number of events)."""
    around = User.id.in_(_AROUND)
    return Prepared(select(*AccountRow.selected(), around.label("around")).where(
        or_(one_of(User.id, "id", count), around) if count else around))
