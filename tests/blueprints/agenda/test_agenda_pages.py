"""The agenda over HTTP, as the demo patient: add (errors, the eleventh item of a day),
show, change, delete with its confirmation, the upcoming and past lists with their pages,
the month table and its htmx swap, vaccinations to plan, the .ics download and the private
subscription address."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

from babel.dates import format_date
from bs4 import BeautifulSoup
from icalendar import Calendar
from sqlalchemy import func, select

from domain import agenda, audit, profile
from domain.models import AgendaItem, AuditEvent, CalendarFeed, User
from extensions import db, keys
from tests.audit_trail import AUDIT_ORDER
from tests.conftest import csrf_from
from tests.html_checks import check_page

PATIENT = "camille.martin"
ITEM_RE = re.compile(r"^/agenda/([0-9a-f]{32})$")


def today() -> date:
    return agenda.today()


def day_fields(day: date) -> dict:
    return {"date_day": str(day.day), "date_month": str(day.month), "date_year": str(day.year)}


def appointment(day: date | None = None, **changes) -> dict:
    form = {"kind": "appointment", "title": "Dentiste", "time": "9h30",
            "place": "Cabinet des Lilas", "professional": "Dr Durand",
            "note": "Apporter la radio", **day_fields(day or today() + timedelta(days=3))}
    form.update(changes)
    return form


def token(client, path: str = "/agenda/ajouter") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def post(client, path: str, form: dict | None = None, csrf: bool = True, headers=None):
    data = dict(form or {})
    if csrf:
        data["csrf_token"] = token(client)
    return client.post(path, data=data, headers=headers or {})


def add_ok(client, form: dict | None = None) -> str:
    response = post(client, "/agenda/ajouter", form or appointment())
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    return ITEM_RE.match(response.headers["Location"]).group(1)


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def words(response) -> str:
    return " ".join(soup(response).get_text(" ").split())


def count(app, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(AgendaItem)
        for name, value in where.items():
            query = query.where(getattr(AgendaItem, name) == value)
        return db.session.scalar(query)


def audited(app, action: str, outcome: str = "success") -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.outcome == outcome)
            .order_by(*AUDIT_ORDER)))


# --------------------------------------------------------------------------- add and show

def test_an_appointment_is_added_shown_and_listed(signed_in, app):
    client = signed_in(PATIENT)
    page = client.get("/agenda/ajouter")
    assert page.status_code == 200 and check_page(page.get_data(as_text=True)) == []
    html = soup(page)
    assert html.select_one("main form[action='/agenda/ajouter']").has_attr("novalidate")
    assert [radio["value"] for radio in html.select("input[name=kind]")] == [
        "appointment", "reminder"]
    assert html.select_one("fieldset legend").get_text(" ", strip=True).startswith("Type")
    assert "1 000 caractères au plus" in words(page), html.select_one("#note-hint") or (
        html.select_one("#note").parent)
    item_id = add_ok(client)
    shown = client.get(f"/agenda/{item_id}")
    assert check_page(shown.get_data(as_text=True)) == []
    text = words(shown)
    day = today() + timedelta(days=3)
    for expected in ("Dentiste", "Rendez-vous", "09:30", "Cabinet des Lilas", "Dr Durand",
                     "Apporter la radio", str(day.year), "C’est enregistré dans votre agenda."):
        assert expected in text, expected
    listed = client.get("/agenda")
    assert check_page(listed.get_data(as_text=True)) == []
    entry = soup(listed).select_one("li.agenda-item")
    assert entry.a["href"] == f"/agenda/{item_id}"
    assert {"09:30", "Dentiste", "Cabinet des Lilas", "Dr Durand"} <= set(
        entry.get_text("|", strip=True).split("|")) | {entry.a.contents[0].strip()}
    assert "Apporter la radio" not in listed.get_data(as_text=True)  # the note: item page only
    assert "1 rendez-vous ou rappel à venir" in words(listed)


def test_a_reminder_needs_no_time_and_opens_its_day(signed_in, app):
    client = signed_in(PATIENT)
    day = today() + timedelta(days=1)
    add_ok(client, appointment(day, time="8:00", title="Prise de sang"))
    add_ok(client, appointment(day, kind="reminder", time="", title="Ordonnance",
                               place="", professional="", note=""))
    listed = soup(client.get("/agenda"))
    titles = [a.contents[0].strip() for a in listed.select("li.agenda-item p a")]
    assert titles == ["Ordonnance", "Prise de sang"]
    assert "Dans la journée" in listed.select("li.agenda-item")[0].get_text()


def test_a_past_appointment_can_be_recorded_and_goes_to_past(signed_in, app):
    client = signed_in(PATIENT)
    item_id = add_ok(client, appointment(today() - timedelta(days=40)))
    shown = words(client.get(f"/agenda/{item_id}"))
    assert "Cette date est passée : vous le retrouverez dans « Passés »." in shown
    assert "Cette date est passée." in shown
    assert "Aucun rendez-vous ni rappel à venir." in words(client.get("/agenda"))
    past = client.get("/agenda/passes")
    assert check_page(past.get_data(as_text=True)) == []
    assert soup(past).select_one("li.agenda-item a")["href"] == f"/agenda/{item_id}"


def test_a_failed_form_says_why_links_each_field_and_keeps_what_was_typed(signed_in, app):
    client = signed_in(PATIENT)
    response = post(client, "/agenda/ajouter", {
        "kind": "appointment", "title": "", "date_day": "31", "date_month": "2",
        "date_year": str(today().year + 1), "time": "", "place": "Gardé",
        "note": "N" * 1001})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert check_page(html) == []
    assert "<title>Erreur :" in html
    page = soup(response)
    links = [a["href"] for a in page.select("[data-error-summary] a")]
    assert links == ["#title", "#date", "#time", "#note"]
    for href in links:
        field = page.select_one(href)
        assert field["aria-invalid"] == "true"
        assert f"{href[1:]}-error" in field["aria-describedby"].split()
    text = words(response)
    assert "Titre : ce champ est obligatoire." in text
    assert "Date : saisissez une date réelle, par exemple 27 3 2026" in text
    assert "Heure : indiquez l’heure du rendez-vous, par exemple 14:30." in text
    assert "Note : 1000 caractères au plus (vous en avez saisi 1001)." in text
    assert page.select_one("#place")["value"] == "Gardé"
    assert page.select_one("#date")["value"] == "31"
    assert page.select_one("#note").get_text() == "N" * 1001
    assert page.select_one("input[name=kind][value=appointment]").has_attr("checked")
    assert count(app) == 0
    nothing = post(client, "/agenda/ajouter", {})
    assert [a["href"] for a in soup(nothing).select("[data-error-summary] a")] == [
        "#kind", "#title", "#date"]
    assert "Type : choisissez « Rendez-vous » ou « Rappel »." in words(nothing)


def test_the_eleventh_item_of_a_day_is_refused_and_the_form_is_kept(signed_in, app):
    client = signed_in(PATIENT)
    day = today() + timedelta(days=5)
    for hour in range(10):
        add_ok(client, appointment(day, time=f"{8 + hour}:00"))
    response = post(client, "/agenda/ajouter", appointment(day, title="Onzième",
                                                            kind="reminder", time=""))
    assert response.status_code == 422
    assert check_page(response.get_data(as_text=True)) == []
    text = words(response)
    assert ("Vous avez déjà 10 rendez-vous ou rappels ce jour-là : choisissez un autre jour"
            in text)
    page = soup(response)
    assert [a["href"] for a in page.select("[data-error-summary] a")] == ["#date"]
    assert page.select_one("#title")["value"] == "Onzième"
    assert page.select_one("input[name=kind][value=reminder]").has_attr("checked")
    assert count(app, day=day) == 10
    add_ok(client, appointment(day + timedelta(days=1), title="Le lendemain"))


# --------------------------------------------------------------------------- change and delete

def test_change_then_delete_after_a_confirmation_page(signed_in, app):
    client = signed_in(PATIENT)
    item_id = add_ok(client)
    form = client.get(f"/agenda/{item_id}/modifier")
    assert form.status_code == 200 and check_page(form.get_data(as_text=True)) == []
    page = soup(form)
    assert page.select_one("#title")["value"] == "Dentiste"
    assert page.select_one("#time")["value"] == "09:30"
    assert page.select_one("#note").get_text() == "Apporter la radio"
    later = today() + timedelta(days=20)
    bad = post(client, f"/agenda/{item_id}/modifier", appointment(later, time="26:00"))
    assert bad.status_code == 422 and check_page(bad.get_data(as_text=True)) == []
    assert "Heure : saisissez une heure entre 0:00 et 23:59" in words(bad)
    changed = post(client, f"/agenda/{item_id}/modifier", appointment(
        later, title="Orthodontiste", time="16:45", note=""))
    assert changed.status_code == 303 and changed.headers["Location"] == f"/agenda/{item_id}"
    text = words(client.get(f"/agenda/{item_id}"))
    assert "Orthodontiste" in text and "16:45" in text and "Apporter la radio" not in text
    confirm = client.get(f"/agenda/{item_id}/supprimer")
    assert confirm.status_code == 200 and check_page(confirm.get_data(as_text=True)) == []
    assert "Voulez-vous vraiment le supprimer de votre agenda ?" in words(confirm)
    assert count(app) == 1  # asking is not deleting
    gone = post(client, f"/agenda/{item_id}/supprimer")
    assert gone.status_code == 303 and gone.headers["Location"] == "/agenda"
    assert count(app) == 0
    assert client.get(f"/agenda/{item_id}").status_code == 404
    assert [len(audited(app, action)) for action in (
        "agenda.added", "agenda.updated", "agenda.deleted")] == [1, 1, 1]


def test_moving_an_item_to_a_full_day_is_refused(signed_in, app):
    client = signed_in(PATIENT)
    full = today() + timedelta(days=2)
    for hour in range(10):
        add_ok(client, appointment(full, time=f"{8 + hour}:00"))
    item_id = add_ok(client, appointment(full + timedelta(days=1), title="À déplacer"))
    response = post(client, f"/agenda/{item_id}/modifier", appointment(full,
                                                                       title="À déplacer"))
    assert response.status_code == 422
    assert "Vous avez déjà 10 rendez-vous ou rappels ce jour-là" in words(response)
    assert count(app, day=full) == 10


# --------------------------------------------------------------------------- lists and month

def _seed(app, days: list[int], login: str = PATIENT) -> list[str]:
    with app.app_context():
        patient = db.session.scalars(select(User).where(User.login == login)).one()
        made = []
        for offset in days:
            day = agenda.today() + timedelta(days=offset)
            made.append(agenda.add(db.session, keys.ring, patient, {
                "kind": "appointment", "title": f"Rendez-vous {offset}",
                "date": day.isoformat(), "time": "10:00"}, audit.Actor()).id)
        db.session.commit()
        return made


def test_lists_have_pages_of_twenty_with_real_links(signed_in, app):
    client = signed_in(PATIENT)
    _seed(app, list(range(0, 25)) + list(range(-3, 0)))
    first = client.get("/agenda")
    page = soup(first)
    assert len(page.select("li.agenda-item")) == 20
    assert "25 rendez-vous et rappels à venir" in words(first)
    assert page.select_one("h3.agenda-day .badge").get_text() == "aujourd’hui"
    following = page.select_one("nav.pagination a[rel=next]")
    assert following["href"] == "/agenda?page=2"
    second = client.get(following["href"])
    assert check_page(second.get_data(as_text=True)) == []
    assert len(soup(second).select("li.agenda-item")) == 5
    assert soup(second).select_one("nav.pagination a[rel=prev]")["href"] == "/agenda"
    assert "À prévoir : vaccinations" not in words(second)  # on the first page only
    for absurd in ("0", "-1", "abc", "99999999999", "2%00"):
        assert client.get(f"/agenda?page={absurd}").status_code == 200
    past = soup(client.get("/agenda/passes"))
    assert [a.contents[0].strip() for a in past.select("li.agenda-item p a")] == [
        "Rendez-vous -1", "Rendez-vous -2", "Rendez-vous -3"]
    assert past.select_one("nav.tabs a[aria-current=page]")["href"] == "/agenda/passes"


def test_the_month_is_a_table_with_headers_links_and_today(signed_in, app):
    client = signed_in(PATIENT)
    [item_id] = _seed(app, [0])
    on = today()
    response = client.get("/agenda/mois")
    assert response.status_code == 200 and check_page(response.get_data(as_text=True)) == []
    page = soup(response)
    table = page.select_one("table.month")
    month_name = format_date(on, "LLLL y", locale="fr")
    assert table.caption.get_text(strip=True) == (
        f"{month_name.capitalize()} : vos rendez-vous et rappels, jour par jour")
    assert page.title.get_text().startswith(f"{month_name.capitalize()} – Agenda du mois")
    headers = table.select("thead th")
    assert [th["scope"] for th in headers] == ["col"] * 7
    assert [th.select_one(".visually-hidden").get_text() for th in headers] == [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
    current = table.select("td[aria-current=date]")
    assert len(current) == 1 and current[0].select_one(".month__number").get_text() == str(
        on.day)
    link = current[0].select_one("a")
    assert link["href"] == f"/agenda/{item_id}" and "Rendez-vous 0" in link.get_text()
    rows = table.select("tbody tr")
    assert all(len(row.find_all("td")) == 7 for row in rows)
    previous = page.select_one("nav.pagination a[rel=prev]")
    following = page.select_one("nav.pagination a[rel=next]")
    before = (on.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    after = (on.replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    assert previous["href"] == f"/agenda/mois/{before}" and "Mois précédent" in previous.text
    assert following["href"] == f"/agenda/mois/{after}" and "Mois suivant" in following.text
    assert previous["hx-get"] == previous["href"] and previous["hx-push-url"] == "true"
    other = client.get(previous["href"])
    assert other.status_code == 200 and check_page(other.get_data(as_text=True)) == []
    assert soup(other).select("td[aria-current=date]") == []
    assert soup(other).select_one("nav.pagination a[href='/agenda/mois']").get_text() == (
        "Ce mois-ci")


def test_the_month_as_an_htmx_fragment(signed_in, app):
    client = signed_in(PATIENT)
    response = client.get("/agenda/mois/2026-02", headers={
        "HX-Request": "true", "HX-Target": "month-content"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<main" not in html
    assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]
    page = BeautifulSoup(html, "html.parser")
    assert page.title.get_text() == "Février 2026 – Agenda du mois – Carnet santé"
    assert page.select_one("#month-content > h2")["data-focus-after-swap"] is not None
    assert page.select_one("#month-content table.month caption")
    whole = client.get("/agenda/mois/2026-02", headers={"HX-Request": "true",
                                                       "HX-History-Restore-Request": "true"})
    assert "<main" in whole.get_data(as_text=True)


def test_months_out_of_range_or_made_up_answer_404(signed_in, app):
    client = signed_in(PATIENT)
    latest = agenda.latest_day(today())
    for path in ("/agenda/mois/2026-13", "/agenda/mois/2026-00", "/agenda/mois/1899-12",
                 "/agenda/mois/abc", "/agenda/mois/2026-2", "/agenda/mois/02-2026",
                 f"/agenda/mois/{latest.year + 1}-01", "/agenda/mois/2026-02-01"):
        assert client.get(path).status_code == 404, path
    assert client.get("/agenda/mois/1900-01").status_code == 200
    assert client.get(f"/agenda/mois/{latest:%Y-%m}").status_code == 200


# --------------------------------------------------------------------------- suggestions

def test_a_due_vaccination_is_suggested_and_added_as_a_reminder(signed_in, app):
    client = signed_in(PATIENT)
    born = today().replace(year=today().year - 25) - timedelta(days=10)
    with app.app_context():
        patient = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        patient.birth_date = born
        db.session.commit()
    listed = client.get("/agenda")
    section = soup(listed).select_one("section[aria-labelledby=due-title]")
    assert section.h2.get_text() == "À prévoir : vaccinations"
    assert "Diphtérie, tétanos, polio (rappel adulte)" in section.get_text()
    form = section.select_one("form")
    assert form["action"] == "/agenda/a-prevoir"
    rule = form.select_one("input[name=regle]")["value"]
    assert rule == "adult_dtp_25"
    added = post(client, "/agenda/a-prevoir", {"regle": rule})
    assert added.status_code == 303
    item_id = ITEM_RE.match(added.headers["Location"]).group(1)
    shown = words(client.get(f"/agenda/{item_id}"))
    assert "Diphtérie, tétanos, polio (rappel adulte)" in shown and "Rappel" in shown
    assert "Le rappel est ajouté à votre agenda." in shown
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        assert (item.day, item.at) == (today(), None)  # overdue: today
    again = soup(client.get("/agenda")).select_one("section[aria-labelledby=due-title]")
    assert again.select("form") == []
    twice = post(client, "/agenda/a-prevoir", {"regle": rule})
    assert twice.status_code == 303 and count(app) == 1
    assert "n’est plus à prévoir ou est déjà dans votre agenda" in words(
        client.get(twice.headers["Location"]))
    assert post(client, "/agenda/a-prevoir", {"regle": "x" * 500}).status_code == 303
    assert count(app) == 1
    [event] = audited(app, "agenda.added")
    assert json.loads(event.details) == {"kind": "reminder", "source": "vaccination"}


def test_vaccinations_recorded_in_the_profile_are_not_suggested(signed_in, app):
    client = signed_in(PATIENT)
    with app.app_context():
        patient = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        patient.birth_date = today().replace(year=today().year - 25) - timedelta(days=10)
        section = profile.BY_KEY["vaccinations"]
        profile.add_entry(db.session, keys.ring, patient, section,
                          {"vaccine": "dtp", "given_on": today().isoformat()},
                          author=patient, actor=audit.Actor())
        db.session.commit()
    section = soup(client.get("/agenda")).select_one("section[aria-labelledby=due-title]")
    assert section.select("form") == []
    assert "Aucune vaccination n’est à prévoir" in section.get_text()


# --------------------------------------------------------------------------- export

def test_the_download_is_an_ics_with_every_item_and_its_note(signed_in, app):
    client = signed_in(PATIENT)
    page = client.get("/agenda/exporter")
    assert page.status_code == 200 and check_page(page.get_data(as_text=True)) == []
    link = soup(page).select_one("a[href='/agenda/exporter/mon-agenda.ics']")
    assert link is not None and "(fichier .ics)" in link.get_text()
    add_ok(client, appointment(today() + timedelta(days=3), time="14:05"))
    response = client.get("/agenda/exporter/mon-agenda.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == 'attachment; filename="mon-agenda.ics"'
    assert response.headers["Cache-Control"] == "no-store"
    [event] = Calendar.from_ical(response.get_data()).walk("VEVENT")
    start = event.decoded("DTSTART")
    assert (start.hour, start.minute, str(start.tzinfo)) == (14, 5, "Europe/Paris")
    assert "Apporter la radio" in str(event["DESCRIPTION"])
    assert str(event["UID"]).endswith("@127.0.0.1")
    [exported] = audited(app, "agenda.exported")
    assert json.loads(exported.details) == {"items": 1}


def test_the_subscription_address_works_without_a_session_and_can_be_replaced(
        signed_in, app, client):
    patient = signed_in(PATIENT)
    add_ok(patient, appointment(today() + timedelta(days=2)))
    page = soup(patient.get("/agenda/exporter"))
    assert page.select_one("#feed-url") is None
    assert page.select_one("form[action='/agenda/exporter/abonnement'] button").get_text() == (
        "Créer mon adresse d’abonnement")
    created = post(patient, "/agenda/exporter/abonnement")
    assert created.headers["Location"] == "/agenda/exporter#abonnement"
    shown = patient.get("/agenda/exporter")
    assert check_page(shown.get_data(as_text=True)) == []
    address = soup(shown).select_one("#feed-url")["value"]
    assert re.fullmatch(r"http://127\.0\.0\.1:5000/agenda/abonnement/[A-Za-z0-9_-]{43}\.ics",
                        address)
    path = address.removeprefix("http://127.0.0.1:5000")
    feed = client.get(path)  # another client: no cookie at all
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert feed.headers["Cache-Control"] == "no-store"
    assert feed.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in feed.headers
    [event] = Calendar.from_ical(feed.get_data()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Dentiste" and str(event["LOCATION"]) == "Cabinet des Lilas"
    assert "Apporter la radio" not in feed.get_data(as_text=True)
    [read] = audited(app, "agenda.feed_read")
    assert read.actor_id is None and read.subject_id == _patient_id(app)

    replaced = post(patient, "/agenda/exporter/abonnement")
    assert replaced.status_code == 303
    assert "l’ancienne ne fonctionne plus" in words(patient.get("/agenda/exporter"))
    assert client.get(path).status_code == 404
    newer = soup(patient.get("/agenda/exporter")).select_one("#feed-url")["value"]
    assert newer != address
    newer_path = newer.removeprefix("http://127.0.0.1:5000")
    assert client.get(newer_path).status_code == 200
    stopped = post(patient, "/agenda/exporter/abonnement/arreter")
    assert stopped.status_code == 303
    assert client.get(newer_path).status_code == 404
    assert soup(patient.get("/agenda/exporter")).select_one("#feed-url") is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 0
    assert len(audited(app, "agenda.feed_read", "denied")) == 2
    assert len(audited(app, "agenda.feed_regenerated")) == 2
    for made_up in ("/agenda/abonnement/inconnu.ics", "/agenda/abonnement/" + "a" * 43,
                    "/agenda/abonnement/" + "a" * 43 + ".ics"):
        assert client.get(made_up).status_code == 404


def _patient_id(app) -> str:
    with app.app_context():
        return db.session.scalars(select(User.id).where(User.login == PATIENT)).one()
