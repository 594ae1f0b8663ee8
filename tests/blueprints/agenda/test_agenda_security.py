"""Attacks on the agenda, made as an outsider would make them: another patient's ids, made-up
ids, the wrong role, no CSRF token, extra form fields, and hostile text in every field
(script, very long text, control characters, right-to-left marks)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from domain import agenda, audit
from domain.models import AgendaItem, AuditEvent, CalendarFeed, Role, User
from extensions import db, keys
from tests.audit_trail import AUDIT_ORDER
from tests.blueprints.agenda.test_agenda_pages import (
    PATIENT,
    add_ok,
    appointment,
    count,
    post,
    soup,
    token,
    words,
)
from tests.conftest import csrf_from

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEXT_FIELDS = ("title", "place", "professional", "note")


def _stranger(app) -> tuple[str, str]:
    """Another patient with one appointment; their id and the item's."""
    with app.app_context():
        wrapped = keys.ring.new_patient_key()
        stranger = User(role=Role.PATIENT, login="autre.patient", given_name="Autre",
                        family_name="Patient", birth_date=date(1980, 1, 1),
                        email="autre@example.org", wrapped_key=wrapped.wrapped,
                        kek_version=wrapped.kek_version)
        db.session.add(stranger)
        db.session.flush()
        item = agenda.add(db.session, keys.ring, stranger, {
            "kind": "appointment", "title": "Secret du voisin", "note": "Note du voisin",
            "date": (agenda.today() + timedelta(days=1)).isoformat(), "time": "10:00"},
            audit.Actor())
        db.session.commit()
        return stranger.id, item.id


def _refusals(app, target_id: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.outcome == "denied")
        if target_id:
            query = query.where(AuditEvent.target_id == target_id)
        return list(db.session.scalars(query.order_by(*AUDIT_ORDER)))


def _sealed(app, item_id: str) -> bytes:
    with app.app_context():
        return db.session.get(AgendaItem, item_id).payload_sealed


# --------------------------------------------------------------------------- other people's ids

def test_another_patients_item_answers_404_everywhere_and_each_refusal_is_audited(
        signed_in, app):
    client = signed_in(PATIENT)
    stranger_id, item_id = _stranger(app)
    before = _sealed(app, item_id)
    base = f"/agenda/{item_id}"
    for path in (base, f"{base}/modifier", f"{base}/supprimer"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Secret du voisin" not in response.get_data(as_text=True)
    for path in (f"{base}/modifier", f"{base}/supprimer"):
        assert post(client, path, appointment()).status_code == 404, path
    events = _refusals(app, item_id)
    assert [event.action for event in events] == [
        "agenda.read", "agenda.updated", "agenda.deleted", "agenda.updated", "agenda.deleted"]
    with app.app_context():
        me = db.session.scalars(select(User.id).where(User.login == PATIENT)).one()
    assert all(event.actor_id == me and event.subject_id == stranger_id
               and event.target_type == "agenda_item" for event in events)
    assert _sealed(app, item_id) == before and count(app) == 1
    for path in ("/agenda", "/agenda/mois", "/agenda/passes"):
        assert "Secret du voisin" not in client.get(path).get_data(as_text=True)
    download = client.get("/agenda/exporter/mon-agenda.ics").get_data()
    assert Calendar.from_ical(download).walk("VEVENT") == []


@pytest.mark.parametrize("item_id", [
    "x" * 1000, "' OR 1=1 --", "%2e%2e", "é" * 40, "0" * 32, "<script>", "1;DROP TABLE users"])
def test_absurd_ids_answer_404_and_are_audited_short(signed_in, app, item_id):
    client = signed_in(PATIENT)
    for path in (f"/agenda/{item_id}", f"/agenda/{item_id}/modifier",
                 f"/agenda/{item_id}/supprimer"):
        assert client.get(path).status_code == 404, path
    events = _refusals(app)
    assert len(events) == 3 and all(len(event.target_id) <= 32 for event in events)


# --------------------------------------------------------------------------- roles

def _agenda_paths(app, item_id: str) -> list[tuple[str, str]]:
    values = {"item_id": item_id, "month": "2026-03", "filename": "x.ics", "space_id": "0" * 32}
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("agenda.") or rule.endpoint == "agenda.feed_read":
            continue
        path = rule.build({name: values[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.append((method, path))
    return paths


@pytest.mark.parametrize("login", ["dr.bernard", "pharma.petit", "conseil.durand"])
def test_professionals_and_advisers_never_enter_the_agenda(signed_in, app, login):
    patient = signed_in(PATIENT)
    item_id = add_ok(patient)
    paths = _agenda_paths(app, item_id)
    assert len(paths) >= 16
    other = signed_in(login)
    csrf = csrf_from(other.get("/mon-compte/sessions").get_data(as_text=True))
    for method, path in paths:
        response = (other.get(path) if method == "GET" else
                    other.post(path, data={"csrf_token": csrf, **appointment()}))
        assert response.status_code == 403, (login, method, path, response.status_code)
        assert "Dentiste" not in response.get_data(as_text=True)
    assert count(app) == 1


def test_signed_out_visitors_go_to_sign_in(client, app, demo_users):
    for path in ("/agenda", "/agenda/passes", "/agenda/mois", "/agenda/mois/2026-03",
                 "/agenda/ajouter", "/agenda/exporter", "/agenda/exporter/mon-agenda.ics",
                 "/agenda/" + "0" * 32):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/connexion"), path


# --------------------------------------------------------------------------- CSRF

def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(signed_in, app):
    client = signed_in(PATIENT)
    item_id = add_ok(client)
    post(client, "/agenda/exporter/abonnement")
    before = _sealed(app, item_id)
    with app.app_context():
        patient = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        patient.birth_date = agenda.today().replace(year=agenda.today().year - 25) - timedelta(
            days=10)
        db.session.commit()
        feed_hash = db.session.get(CalendarFeed, patient.id).token_hash
    attempts = [
        ("/agenda/ajouter", appointment(title="Sans jeton")),
        (f"/agenda/{item_id}/modifier", appointment(title="Changé sans jeton")),
        (f"/agenda/{item_id}/supprimer", {}),
        ("/agenda/a-prevoir", {"regle": "adult_dtp_25"}),
        ("/agenda/exporter/abonnement", {}),
        ("/agenda/exporter/abonnement/arreter", {}),
    ]
    for forged in (None, "forged-token", token(signed_in(PATIENT))):  # another session's
        for path, form in attempts:
            data = dict(form)
            if forged:
                data["csrf_token"] = forged
            response = client.post(path, data=data)
            assert response.status_code == 400, (path, forged, response.status_code)
            assert "La demande n’a pas pu être traitée" in response.get_data(as_text=True)
            htmx = client.post(path, data=form, headers={"HX-Request": "true",
                                                         "X-CSRFToken": forged or ""})
            assert htmx.status_code == 400, path
    assert count(app) == 1 and _sealed(app, item_id) == before
    with app.app_context():
        assert db.session.get(CalendarFeed, patient.id).token_hash == feed_hash


def test_extra_form_fields_cannot_choose_the_owner_the_id_or_the_reminder_state(signed_in, app):
    client = signed_in(PATIENT)
    stranger_id, _theirs = _stranger(app)
    item_id = add_ok(client, {**appointment(), "patient_id": stranger_id, "id": "0" * 32,
                              "reminded_at": "2026-01-01T00:00:00", "vaccine": "dtp"})
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        me = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        assert (item.patient_id, item.reminded_at) == (me.id, None) and item_id != "0" * 32
        view = agenda.get(db.session, keys.ring, me, item_id, "read", audit.Actor())
        assert set(view.values) == {"title", "place", "professional", "note"}


# --------------------------------------------------------------------------- hostile text

@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("payload", [SCRIPT, IMG], ids=["script", "attribute"])
def test_markup_in_every_field_is_shown_as_text(signed_in, app, field, payload):
    client = signed_in(PATIENT)
    item_id = add_ok(client, appointment(**{field: f"Avant {payload} après"}))
    pages = [client.get(path) for path in (
        f"/agenda/{item_id}", f"/agenda/{item_id}/modifier", f"/agenda/{item_id}/supprimer",
        "/agenda", "/agenda/mois/" + (agenda.today() + timedelta(days=3)).strftime("%Y-%m"))]
    for response in pages:
        html = response.get_data(as_text=True)
        assert payload not in html
        assert "<script>alert" not in html and "<img src=x" not in html
    assert f"Avant {payload} après" in words(pages[0])
    assert soup(pages[1]).select_one(f"#{field}").get(
        "value", soup(pages[1]).select_one(f"#{field}").get_text()) == f"Avant {payload} après"
    [event] = Calendar.from_ical(client.get("/agenda/exporter/mon-agenda.ics").get_data()
                                 ).walk("VEVENT")
    carried = {"title": "SUMMARY", "place": "LOCATION", "professional": "DESCRIPTION",
               "note": "DESCRIPTION"}[field]
    assert f"Avant {payload} après" in str(event[carried])


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_very_long_text_in_every_field_is_refused_and_given_back_whole(signed_in, app, field):
    client = signed_in(PATIENT)
    maximum = 1000 if field == "note" else 200
    long_text = "é" * (maximum + 1)
    response = post(client, "/agenda/ajouter", appointment(**{field: long_text}))
    assert response.status_code == 422
    assert [a["href"] for a in soup(response).select("[data-error-summary] a")] == [f"#{field}"]
    assert f"{maximum} caractères au plus (vous en avez saisi {maximum + 1})" in words(response)
    shown = soup(response).select_one(f"#{field}")
    assert (shown.get("value") if shown.name == "input" else shown.get_text()) == long_text
    huge = post(client, "/agenda/ajouter", appointment(**{field: "x" * 100_000}))
    assert huge.status_code in (413, 422)
    assert count(app) == 0


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_control_characters_and_right_to_left_marks_are_taken_out(signed_in, app, field):
    client = signed_in(PATIENT)
    hostile = "Dr\x00 Mar\x1b[31mtin \u202eexe.pdf\u202c \u200f\u2067X\u2069\x7f\x85 fin"
    item_id = add_ok(client, appointment(**{field: hostile}))
    with app.app_context():
        me = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        view = agenda.get(db.session, keys.ring, me, item_id, "read", audit.Actor())
    assert view.values[field] == "Dr Mar [31mtin exe.pdf X fin"
    html = client.get(f"/agenda/{item_id}").get_data(as_text=True)
    for mark in ("\x00", "\x1b", "\u202e", "\u202c", "\u200f", "\u2067", "\u2069", "\x7f"):
        assert mark not in html
    body = client.get("/agenda/exporter/mon-agenda.ics").get_data(as_text=True)
    assert "\u202e" not in body and "\x1b" not in body


@pytest.mark.parametrize(("name", "value"), [
    ("kind", SCRIPT), ("kind", "admin"), ("time", SCRIPT), ("time", "\u202e10:00"),
    ("date_day", SCRIPT), ("date_year", "9" * 50), ("date_month", "\x00")])
def test_hostile_values_in_the_other_fields_are_refused_politely(signed_in, app, name, value):
    client = signed_in(PATIENT)
    response = post(client, "/agenda/ajouter", appointment(**{name: value}))
    if name == "time" and value == "\u202e10:00":  # the mark is taken out: 10:00 is fine
        assert response.status_code == 303
        return
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert SCRIPT not in html and "\x00" not in html
    assert count(app) == 0
