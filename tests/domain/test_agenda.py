"""The agenda without HTTP: the form's rules, sealed items, the ten-a-day limit, the lists
and the month grid, vaccinations to plan, the e-mail of the day before (once), and the
iCalendar files and subscription tokens, parsed back with the `icalendar` library."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from domain import agenda, agenda_export, audit, policy, profile
from domain.crypto import CryptoError, token_hash
from domain.models import AgendaItem, AuditEvent, CalendarFeed, ItemKind, Role, User
from extensions import db, keys
from tests.audit_trail import AUDIT_ORDER

TODAY = date(2026, 3, 10)   # a Tuesday
ACTOR = audit.Actor(user_id=None, ip="127.0.0.1")
PARIS = ZoneInfo("Europe/Paris")
WORDING = agenda_export.Wording("Agenda santé", {ItemKind.APPOINTMENT: "Rendez-vous",
                                                 ItemKind.REMINDER: "Rappel"}, "Avec :")


def form(day: date = TODAY, **changes) -> dict:
    base = {"kind": "appointment", "title": "Dentiste", "date_day": str(day.day),
            "date_month": str(day.month), "date_year": str(day.year), "time": "9:30",
            "place": "Cabinet des Lilas", "professional": "Dr Durand", "note": "Apporter la radio"}
    base.update(changes)
    return base


def values(day: date = TODAY, **changes) -> dict:
    reading = agenda.validate(form(day, **changes), TODAY)
    assert reading.ok, reading.problems
    return reading.values


def problems(sent: dict, born: date | None = None) -> list[tuple[str, str]]:
    return [(p.field, p.reason) for p in agenda.validate(sent, TODAY, born).problems]


def new_patient(login: str = "autre.patient", born: date | None = date(1975, 6, 1),
                email: str | None = "autre@example.org") -> User:
    wrapped = keys.ring.new_patient_key()
    person = User(role=Role.PATIENT, login=login, given_name="Autre", family_name="Patient",
                  birth_date=born, email=email, wrapped_key=wrapped.wrapped,
                  kek_version=wrapped.kek_version)
    db.session.add(person)
    db.session.flush()
    return person


@pytest.fixture
def people(app, demo_users):
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        yield camille, new_patient()
        db.session.rollback()


def add(patient: User, day: date = TODAY, **changes) -> AgendaItem:
    return agenda.add(db.session, keys.ring, patient, values(day, **changes), ACTOR)


def details(event: AuditEvent) -> dict:
    return json.loads(event.details)


def events(action: str, outcome: str | None = None) -> list[AuditEvent]:
    db.session.commit()  # audit rows are written at commit, as the view does
    query = select(AuditEvent).where(AuditEvent.action == action)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    return list(db.session.scalars(query.order_by(*AUDIT_ORDER)))


# --------------------------------------------------------------------------- the form

def test_a_complete_appointment_is_read_into_clean_values():
    assert values() == {"kind": "appointment", "title": "Dentiste", "date": "2026-03-10",
                        "time": "09:30", "place": "Cabinet des Lilas",
                        "professional": "Dr Durand", "note": "Apporter la radio"}


@pytest.mark.parametrize(("typed", "clock"), [
    ("9:30", "09:30"), ("09:30", "09:30"), ("9h30", "09:30"), ("9 h 30", "09:30"),
    ("14h", "14:00"), ("14", "14:00"), ("8.05", "08:05"), ("0:00", "00:00"),
    ("23:59", "23:59"), ("12H15", "12:15")])
def test_times_are_read_however_they_are_written(typed, clock):
    assert values(time=typed)["time"] == clock


@pytest.mark.parametrize("typed", ["24:00", "12:60", "9:5", "midi", "9:30:00", "-1", "１０:００"])
def test_a_time_that_is_not_one_is_refused(typed):
    assert problems(form(time=typed)) == [("time", "time_invalid")]


def test_an_appointment_needs_a_time_a_reminder_does_not():
    assert problems(form(time="")) == [("time", "time_required")]
    reminder = agenda.validate(form(kind="reminder", time=""), TODAY)
    assert reminder.ok and "time" not in reminder.values
    assert agenda.validate(form(kind="reminder", time="7h"), TODAY).values["time"] == "07:00"


def test_an_empty_form_names_every_required_field_in_form_order():
    assert problems({}) == [("kind", "required"), ("title", "required"), ("date", "required")]
    assert problems({"kind": "visit"}) == [("kind", "choice"), ("title", "required"),
                                           ("date", "required")]


def test_dates_past_allowed_future_within_ten_years_not_before_birth():
    assert agenda.validate(form(date(2001, 5, 4)), TODAY).ok  # a past appointment
    assert agenda.validate(form(date(2036, 3, 10)), TODAY).ok
    assert problems(form(date(2036, 3, 11))) == [("date", "date_future")]
    assert problems(form(date(1980, 1, 1)), born=date(1988, 3, 14)) == [
        ("date", "date_before_birth")]
    assert problems(form(date_day="31", date_month="2")) == [("date", "date_invalid")]
    assert problems(form(date_day="", date_month="")) == [("date", "date_incomplete")]
    assert agenda.latest_day(date(2028, 2, 29)) == date(2038, 2, 28)


def test_lengths_title_200_place_and_professional_200_note_1000():
    assert agenda.validate(form(title="T" * 200, place="P" * 200, professional="D" * 200,
                                note="N" * 1000), TODAY).ok
    assert problems(form(title="T" * 201, place="P" * 201, professional="D" * 201,
                         note="N" * 1001)) == [
        ("title", "too_long"), ("place", "too_long"), ("professional", "too_long"),
        ("note", "too_long")]
    reading = agenda.validate(form(note="N" * 5000), TODAY)
    assert reading.typed["note"] == "N" * 5000  # given back whole to be shortened
    assert reading.problems[0].params == {"maximum": 1000, "length": 5000}


def test_control_characters_and_direction_marks_are_taken_out_markup_is_kept_as_text():
    hostile = "Ca\x00bi\x1bnet \u202egnp.exe\u202c \u200fDr\u2066 X\u2069 <b>"
    reading = agenda.validate(form(title=hostile, place=hostile, professional=hostile,
                                   note="ligne 1\r\nligne\x07 2\u202e"), TODAY)
    assert reading.ok
    for name in ("title", "place", "professional"):
        assert reading.values[name] == "Ca bi net gnp.exe Dr X <b>"
    assert reading.values["note"] == "ligne 1\nligne 2"
    assert problems(form(title="\u202e\u200f\x00")) == [("title", "required")]
    refused = agenda.validate(form(title="A\x00\u202e" * 150, note="un\r\ndeux\x1b",
                                   date_day="3\x00"), TODAY)
    assert [p.field for p in refused.problems] == ["title", "date"]
    assert refused.typed["title"] == "A" * 150  # given back without what it cannot keep
    assert refused.typed["note"] == "un\ndeux" and refused.typed["date"]["day"] == "3"


# --------------------------------------------------------------------------- items

def test_add_read_update_delete_and_every_step_audited(people):
    camille, _other = people
    item = add(camille, TODAY + timedelta(days=3))
    assert (item.kind, item.day, item.at) == (ItemKind.APPOINTMENT, date(2026, 3, 13),
                                              time(9, 30))
    view = agenda.get(db.session, keys.ring, camille, item.id, "read", ACTOR)
    assert view.values == {"title": "Dentiste", "place": "Cabinet des Lilas",
                           "professional": "Dr Durand", "note": "Apporter la radio"}
    assert agenda.echo(view) == {"kind": "appointment", "title": "Dentiste",
                                 "date": {"day": "13", "month": "3", "year": "2026"},
                                 "time": "09:30", "place": "Cabinet des Lilas",
                                 "professional": "Dr Durand", "note": "Apporter la radio"}
    agenda.update(db.session, keys.ring, camille, view,
                  values(TODAY + timedelta(days=4), kind="reminder", time="", title="Radio",
                         note=""), ACTOR)
    again = agenda.get(db.session, keys.ring, camille, item.id, "edit", ACTOR)
    assert (again.kind, again.day, again.at, again.title, again.values["note"]) == (
        ItemKind.REMINDER, date(2026, 3, 14), None, "Radio", None)
    agenda.delete(db.session, keys.ring, camille, again, ACTOR)
    db.session.flush()
    assert db.session.get(AgendaItem, item.id) is None
    for action in ("agenda.added", "agenda.updated", "agenda.deleted"):
        [event] = events(action)
        assert (event.subject_id, event.target_id, event.target_type) == (
            camille.id, item.id, "agenda_item")
    assert len(events("agenda.read")) == 2
    assert "Dentiste" not in str([event.details for event in events("agenda.added")])


def test_what_where_who_and_the_note_are_sealed_and_bound_to_their_row(people):
    camille, _other = people
    first = add(camille, title="Oncologue", place="Institut Curie", note="Résultats biopsie")
    second = add(camille, title="Dentiste")
    for secret in (b"Oncologue", b"Curie", b"biopsie", "Résultats".encode()):
        assert secret not in first.payload_sealed
    first.payload_sealed, second.payload_sealed = second.payload_sealed, first.payload_sealed
    with pytest.raises(CryptoError):
        agenda.get(db.session, keys.ring, camille, first.id, "read", ACTOR)


def test_another_patients_item_is_not_found_and_the_refusal_is_audited(people):
    camille, other = people
    theirs = add(other)
    for action, logged in (("read", "agenda.read"), ("edit", "agenda.updated"),
                           ("delete", "agenda.deleted")):
        with pytest.raises(agenda.ItemNotFound):
            agenda.get(db.session, keys.ring, camille, theirs.id, action, ACTOR)
        [event] = events(logged, "denied")
        assert (event.subject_id, event.target_id) == (other.id, theirs.id)
    with pytest.raises(agenda.ItemNotFound):
        agenda.get(db.session, keys.ring, camille, "x" * 500, "read", ACTOR)
    assert all(len(event.target_id) <= 32 for event in events("agenda.read", "denied"))


def test_ten_items_a_day_then_the_eleventh_is_refused(people):
    camille, other = people
    for hour in range(10):
        add(camille, TODAY + timedelta(days=1), time=f"{8 + hour}:00")
    with pytest.raises(agenda.DayFull):
        add(camille, TODAY + timedelta(days=1), kind="reminder", time="")
    add(other, TODAY + timedelta(days=1))  # the limit is each person's own
    moved = add(camille, TODAY + timedelta(days=2))
    view = agenda.get(db.session, keys.ring, camille, moved.id, "edit", ACTOR)
    with pytest.raises(agenda.DayFull):
        agenda.update(db.session, keys.ring, camille, view,
                      values(TODAY + timedelta(days=1)), ACTOR)
    full_day = db.session.scalars(select(AgendaItem).where(
        AgendaItem.patient_id == camille.id, AgendaItem.day == TODAY + timedelta(days=1))
        ).first()
    view = agenda.get(db.session, keys.ring, camille, full_day.id, "edit", ACTOR)
    agenda.update(db.session, keys.ring, camille, view,  # staying on its full day is fine
                  values(TODAY + timedelta(days=1), title="Changé"), ACTOR)
    assert agenda.count_on(db.session, camille, TODAY + timedelta(days=1)) == 10


# --------------------------------------------------------------------------- lists and month

def test_upcoming_from_today_soonest_first_past_latest_first_twenty_a_page(people):
    camille, other = people
    add(other, TODAY)
    made = {}
    for offset in range(-12, 13):  # 12 past days, today and 12 days ahead, two items a day
        day = TODAY + timedelta(days=offset)
        made[(day, "10:00")] = add(camille, day, time="10:00", title=f"A {offset}").id
        made[(day, None)] = add(camille, day, kind="reminder", time="", title=f"R {offset}").id
    upcoming = agenda.listing(db.session, keys.ring, camille, "upcoming", TODAY, 1, ACTOR)
    assert (upcoming.total, upcoming.pages, len(upcoming.items)) == (26, 2, 20)
    order = [(view.day, view.at) for view in upcoming.items]
    assert order[:3] == [(TODAY, None), (TODAY, time(10)), (TODAY + timedelta(days=1), None)]
    assert order == sorted(order, key=lambda pair: (pair[0], pair[1] or time.min))
    second = agenda.listing(db.session, keys.ring, camille, "upcoming", TODAY, 2, ACTOR)
    assert len(second.items) == 6 and second.items[-1].title == "A 12"
    assert agenda.listing(db.session, keys.ring, camille, "upcoming", TODAY, 99, ACTOR
                          ).page == 2
    past = agenda.listing(db.session, keys.ring, camille, "past", TODAY, 1, ACTOR)
    assert past.total == 24 and past.items[0].title == "A -1" and past.items[1].title == "R -1"
    assert all(view.day < TODAY for view in past.items)
    groups = upcoming.by_day()
    assert groups[0][0] == TODAY and [view.title for view in groups[0][1]] == ["R 0", "A 0"]
    assert {details(event)["view"] for event in events("agenda.read")} == {"upcoming", "past"}


def test_the_month_is_weeks_of_seven_days_monday_first(people):
    camille, other = people
    dentist = add(camille, date(2026, 3, 1), time="8:00")
    reminder = add(camille, date(2026, 3, 31), kind="reminder", time="")
    add(camille, date(2026, 4, 1))
    add(other, date(2026, 3, 5))
    grid = agenda.month_grid(db.session, keys.ring, camille, 2026, 3, TODAY, ACTOR)
    assert grid.first == date(2026, 3, 1) and grid.count == 2
    assert len(grid.weeks) == 6 and all(len(week) == 7 for week in grid.weeks)
    assert [day for day, _items in grid.weeks[0]] == [None] * 6 + [date(2026, 3, 1)]
    assert grid.weeks[0][6][1][0].id == dentist.id
    assert grid.weeks[5][1] == (date(2026, 3, 31), [grid.weeks[5][1][1][0]])
    assert grid.weeks[5][1][1][0].id == reminder.id
    assert (grid.previous, grid.following) == (date(2026, 2, 1), date(2026, 4, 1))
    december = agenda.month_grid(db.session, keys.ring, camille, 2036, 3, TODAY, ACTOR)
    assert december.following is None  # ten years ahead at most
    january = agenda.month_grid(db.session, keys.ring, camille, 1900, 1, TODAY, ACTOR)
    assert january.previous is None
    assert not agenda.month_in_range(2036, 4, TODAY) and not agenda.month_in_range(2026, 13,
                                                                                   TODAY)
    assert [details(event)["month"] for event in events("agenda.read")] == [
        "2026-03", "2036-03", "1900-01"]


# --------------------------------------------------------------------------- suggestions

def _vaccinated(patient: User, vaccine: str, given_on: str) -> None:
    section = profile.BY_KEY["vaccinations"]
    profile.add_entry(db.session, keys.ring, patient, section,
                      {"vaccine": vaccine, "given_on": given_on}, author=patient, actor=ACTOR)


def test_due_vaccinations_are_suggested_once_and_become_reminders(people):
    camille, other = people
    camille.birth_date = date(2001, 3, 1)    # 25 on 1 March 2026: the adult booster is due
    other.birth_date = date(1961, 5, 1)      # 65 on 1 May: upcoming within 90 days
    found = agenda.suggestions(db.session, keys.ring, camille, TODAY)
    assert [(s.due.rule, s.due.status, s.day(TODAY)) for s in found] == [
        ("adult_dtp_25", "due", TODAY)]
    item = agenda.add_suggestion(db.session, keys.ring, camille, "adult_dtp_25", TODAY,
                                 lambda code: f"Vaccin {code}", ACTOR)
    view = agenda.get(db.session, keys.ring, camille, item.id, "read", ACTOR)
    assert (view.kind, view.day, view.at, view.title) == (ItemKind.REMINDER, TODAY, None,
                                                          "Vaccin dtp")
    assert view.values["vaccine"] == {"rule": "adult_dtp_25", "vaccine": "dtp",
                                      "due_on": "2026-03-01"}
    assert agenda.suggestions(db.session, keys.ring, camille, TODAY) == []
    with pytest.raises(agenda.SuggestionGone):
        agenda.add_suggestion(db.session, keys.ring, camille, "adult_dtp_25", TODAY,
                              str, ACTOR)
    with pytest.raises(agenda.SuggestionGone):
        agenda.add_suggestion(db.session, keys.ring, camille, "made_up", TODAY, str, ACTOR)
    # Editing the reminder keeps its mark; deleting it suggests the vaccination again.
    agenda.update(db.session, keys.ring, camille, view, values(TODAY + timedelta(days=9),
                                                                kind="reminder"), ACTOR)
    assert agenda.suggestions(db.session, keys.ring, camille, TODAY) == []
    agenda.delete(db.session, keys.ring, camille, agenda.get(
        db.session, keys.ring, camille, item.id, "delete", ACTOR), ACTOR)
    db.session.flush()
    assert len(agenda.suggestions(db.session, keys.ring, camille, TODAY)) == 1
    # A dose in the record means nothing is due; an upcoming one goes on its own day.
    _vaccinated(camille, "dtp", "2026-03-01")
    assert agenda.suggestions(db.session, keys.ring, camille, TODAY) == []
    upcoming = {s.due.rule: s for s in agenda.suggestions(db.session, keys.ring, other, TODAY)}
    assert (upcoming["adult_dtp_65"].due.status, upcoming["adult_dtp_65"].day(TODAY)) == (
        "upcoming", date(2026, 5, 1))
    assert upcoming["adult_dtp_45"].day(TODAY) == TODAY  # overdue: today
    later = agenda.add_suggestion(db.session, keys.ring, other, "adult_dtp_65", TODAY, str,
                                  ACTOR)
    assert later.day == date(2026, 5, 1)
    [event] = events("agenda.added")[:1]
    assert details(event) == {"kind": "reminder", "source": "vaccination"}


def test_no_birth_date_no_suggestion(people):
    camille, _other = people
    camille.birth_date = None
    assert agenda.suggestions(db.session, keys.ring, camille, TODAY) == []


def test_a_suggestion_on_a_full_day_is_refused(people):
    camille, _other = people
    camille.birth_date = date(2001, 3, 1)
    for hour in range(10):
        add(camille, TODAY, time=f"{8 + hour}:00")
    with pytest.raises(agenda.DayFull):
        agenda.add_suggestion(db.session, keys.ring, camille, "adult_dtp_25", TODAY, str,
                              ACTOR)


# --------------------------------------------------------------------------- reminders

class Sender:
    def __init__(self, answer=True, fail=False):
        self.calls: list[tuple[str, date, list[tuple[str, time | None]]]] = []
        self.answer, self.fail = answer, fail

    def __call__(self, patient, day, items):
        if self.fail:
            raise OSError("SMTP down")
        self.calls.append((patient.id, day, [(item.kind.value, item.at) for item in items]))
        return self.answer


def test_the_day_before_everyone_is_told_once(people):
    camille, other = people
    tomorrow = TODAY + timedelta(days=1)
    first = add(camille, tomorrow, time="14:00")
    add(camille, tomorrow, kind="reminder", time="")
    add(other, tomorrow, time="8:15")
    add(camille, TODAY)                          # today: too late
    add(camille, TODAY + timedelta(days=2))      # the day after tomorrow: not yet
    db.session.commit()
    sender = Sender()
    run = agenda.reminders(db.session, keys.ring, TODAY, sender)
    assert (run.patients, run.items, run.unreachable) == (2, 3, 0)
    assert sorted(sender.calls) == sorted([
        (camille.id, tomorrow, [("reminder", None), ("appointment", time(14))]),
        (other.id, tomorrow, [("appointment", time(8, 15))])])
    assert db.session.scalar(select(func.count()).select_from(AgendaItem).where(
        AgendaItem.reminded_at.is_not(None))) == 3
    again = Sender()
    assert agenda.reminders(db.session, keys.ring, TODAY, again).patients == 0
    assert again.calls == []
    reminded = events("agenda.reminded")
    assert {(event.subject_id, details(event)["items"]) for event in reminded} == {
        (camille.id, 2), (other.id, 1)}
    assert all(event.actor_id is None for event in reminded)
    # Moving an item to another day or time means a new reminder; a title change does not.
    view = agenda.get(db.session, keys.ring, camille, first.id, "edit", ACTOR)
    agenda.update(db.session, keys.ring, camille, view, values(tomorrow, time="14:00",
                                                                title="Autre titre"), ACTOR)
    assert first.reminded_at is not None
    agenda.update(db.session, keys.ring, camille, view, values(tomorrow, time="15:00"), ACTOR)
    assert first.reminded_at is None
    db.session.commit()
    third = Sender()
    assert agenda.reminders(db.session, keys.ring, TODAY, third).items == 1
    assert third.calls == [(camille.id, tomorrow, [("appointment", time(15))])]


def test_a_failed_sending_is_tried_again_unreachable_and_closed_spaces_are_not_marked(people):
    camille, other = people
    tomorrow = TODAY + timedelta(days=1)
    add(camille, tomorrow)
    db.session.commit()
    with pytest.raises(OSError):
        agenda.reminders(db.session, keys.ring, TODAY, Sender(fail=True))
    assert db.session.scalars(select(AgendaItem.reminded_at)).all() == [None]
    run = agenda.reminders(db.session, keys.ring, TODAY, Sender(answer=False))
    assert (run.patients, run.unreachable) == (0, 1)
    assert db.session.scalars(select(AgendaItem.reminded_at)).all() == [None]
    assert events("agenda.reminded") == []
    camille.enabled = False
    db.session.commit()
    closed = Sender()
    assert agenda.reminders(db.session, keys.ring, TODAY, closed).patients == 0
    assert closed.calls == []


# --------------------------------------------------------------------------- iCalendar

def _parse(body: bytes) -> list:
    calendar = Calendar.from_ical(body)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    return list(calendar.walk("VEVENT"))


def test_the_download_has_every_item_with_its_note_in_paris_time(people):
    camille, other = people
    appointment = add(camille, date(2026, 7, 14), time="9:30", note="Ligne 1\nLigne 2 ; , \\")
    reminder = add(camille, date(2026, 1, 5), kind="reminder", time="", title="Ordonnance",
                   place="", professional="", note="")
    add(other, date(2026, 7, 14))
    body = agenda_export.export(db.session, keys.ring, camille, WORDING, "carnet.example",
                                ACTOR)
    assert b"TZID=Europe/Paris" in body and b"BEGIN:VTIMEZONE" in body
    found = {str(event["UID"]): event for event in _parse(body)}
    assert set(found) == {f"{appointment.id}@carnet.example", f"{reminder.id}@carnet.example"}
    summer = found[f"{appointment.id}@carnet.example"]
    start = summer.decoded("DTSTART")
    assert start == datetime(2026, 7, 14, 9, 30, tzinfo=PARIS)
    assert start.astimezone(UTC).hour == 7  # summer time: UTC+2
    assert "DTEND" not in summer  # no duration is made up
    assert str(summer["SUMMARY"]) == "Dentiste" and str(summer["LOCATION"]) == "Cabinet des Lilas"
    assert str(summer["DESCRIPTION"]) == ("Rendez-vous\nAvec : Dr Durand\n\n"
                                          "Ligne 1\nLigne 2 ; , \\")
    winter = found[f"{reminder.id}@carnet.example"]
    assert winter.decoded("DTSTART") == date(2026, 1, 5)
    assert winter.decoded("DTEND") == date(2026, 1, 6)
    assert "LOCATION" not in winter and str(winter["DESCRIPTION"]) == "Rappel"
    [event] = events("agenda.exported")
    assert (event.subject_id, details(event)) == (camille.id, {"items": 2})


def test_an_empty_agenda_is_a_valid_calendar():
    body = agenda_export.build_calendar([], WORDING, with_notes=True, uid_domain="x.example")
    assert _parse(body) == [] and b"VTIMEZONE" not in body


def test_the_subscription_token_is_hashed_sealed_replaced_and_revoked(people):
    camille, other = people
    add(camille, TODAY + timedelta(days=5), note="Note privée")
    add(camille, TODAY - timedelta(days=400), title="Très ancien")
    add(other, TODAY)
    assert agenda_export.feed_token(db.session, keys.ring, camille) is None
    token = agenda_export.regenerate(db.session, keys.ring, camille, ACTOR)
    assert len(token) >= 43
    row = db.session.get(CalendarFeed, camille.id)
    assert row.token_hash == token_hash(token) and token.encode() not in row.token_sealed
    assert agenda_export.feed_token(db.session, keys.ring, camille) == token
    body = agenda_export.feed(db.session, keys.ring, token, WORDING, "x.example", TODAY,
                              audit.Actor(ip="10.0.0.1"))
    [event] = _parse(body)  # the note never, items older than a year neither
    assert str(event["SUMMARY"]) == "Dentiste" and b"Note" not in body
    [read] = events("agenda.feed_read")
    assert (read.actor_id, read.subject_id, read.outcome, read.ip) == (
        None, camille.id, "success", "10.0.0.1")
    assert token not in str(read.details)

    newer = agenda_export.regenerate(db.session, keys.ring, camille, ACTOR)
    assert newer != token and db.session.scalar(select(func.count()).select_from(
        CalendarFeed)) == 1
    for wrong in (token, "", "x" * 43, newer[:-1], newer + "x", "a" * 5000):
        with pytest.raises(agenda_export.FeedNotFound):
            agenda_export.feed(db.session, keys.ring, wrong, WORDING, "x.example", TODAY,
                               ACTOR)
    agenda_export.feed(db.session, keys.ring, newer, WORDING, "x.example", TODAY, ACTOR)
    camille.enabled = False  # a closed space answers to nobody
    with pytest.raises(agenda_export.FeedNotFound):
        agenda_export.feed(db.session, keys.ring, newer, WORDING, "x.example", TODAY, ACTOR)
    camille.enabled = True
    assert agenda_export.revoke(db.session, keys.ring, camille, ACTOR)
    assert not agenda_export.revoke(db.session, keys.ring, camille, ACTOR)
    with pytest.raises(agenda_export.FeedNotFound):
        agenda_export.feed(db.session, keys.ring, newer, WORDING, "x.example", TODAY, ACTOR)
    denied = events("agenda.feed_read", "denied")
    assert len(denied) == 8
    assert [event.subject_id for event in denied].count(camille.id) == 1  # the closed space
    assert [details(event)["replaced"] for event in events("agenda.feed_regenerated")] == [
        False, True]


def test_the_demo_agenda_is_filled_once(people):
    from domain.demo import agenda as demo_agenda

    camille, _other = people
    assert demo_agenda.seed_agenda(db.session, keys.ring, "camille.martin", TODAY)
    assert not demo_agenda.seed_agenda(db.session, keys.ring, "camille.martin", TODAY)
    upcoming = agenda.listing(db.session, keys.ring, camille, "upcoming", TODAY, 1, ACTOR)
    past = agenda.listing(db.session, keys.ring, camille, "past", TODAY, 1, ACTOR)
    assert (upcoming.total, past.total) == (3, 1)
    assert [view.kind for view in upcoming.items] == [
        ItemKind.APPOINTMENT, ItemKind.APPOINTMENT, ItemKind.REMINDER]


@pytest.mark.parametrize("role", [*Role, None])
@pytest.mark.parametrize("is_owner", [True, False])
def test_the_agenda_rule_is_the_owner_patient_alone(role, is_owner):
    assert policy.agenda_allowed(role, is_owner=is_owner) == (
        role == Role.PATIENT and is_owner)
