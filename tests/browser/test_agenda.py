"""The agenda in a real browser (ACCESSIBILITY.md items 2, 4, 8, 11, 13–15, 21 and the htmx
patterns): axe (the WCAG 2.2 AA tags of the other browser tests) on the list empty and with
items, the past list, one item, the delete confirmation, the month table (before and after
moving between months, with and without JavaScript), the add form with errors, and the
export page; keyboard only to add an appointment and to change months; the whole add,
change, delete flow with JavaScript off; no sideways scrolling and 44 px targets at 320 px.

Items are put in through the domain API (as the forms would) and the demo patient's agenda,
subscription and date of birth are restored after each test, so the other modules find the
demo data as the seed left it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from domain import agenda, audit
from domain.models import AgendaItem, CalendarFeed, User
from extensions import db, keys
from tests.browser import flows, support
from tests.browser.flows import ALL_COMBOS, banner, focused_id, status_of, submit

pytestmark = pytest.mark.browser

LOGIN = "camille.martin"
SWAP_TIMEOUT_MS = 5_000
LONG_WORD = "Ophtalmologie" * 15  # 195 letters without a space: must wrap, not overflow


def today() -> date:
    return agenda.today()


def _patient() -> User:
    return db.session.execute(select(User).where(User.login == LOGIN)).scalar_one()


class Agenda:
    """The demo patient's agenda for one test, filled through the domain API."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            self.born = _patient().birth_date

    def add(self, offset: int, kind: str = "appointment", at: str | None = "09:30",
            title: str = "Dentiste", place: str | None = "Cabinet des Lilas, Lyon",
            professional: str | None = "Dr Claire Moreau", note: str | None = None) -> str:
        with self.app.app_context():
            item = agenda.add(db.session, keys.ring, _patient(), {
                "kind": kind, "title": title, "time": at, "place": place,
                "professional": professional, "note": note,
                "date": (today() + timedelta(days=offset)).isoformat()}, audit.Actor())
            db.session.commit()
            return item.id

    def items(self) -> list[AgendaItem]:
        with self.app.app_context():
            return list(db.session.scalars(select(AgendaItem).where(
                AgendaItem.patient_id == _patient().id)))

    def view(self, item_id: str) -> agenda.ItemView:
        with self.app.app_context():
            return agenda.get(db.session, keys.ring, _patient(), item_id, "read", audit.Actor())

    def birth_date(self, born: date | None) -> None:
        with self.app.app_context():
            _patient().birth_date = born
            db.session.commit()

    def empty(self) -> None:
        with self.app.app_context():
            patient = _patient()
            for model in (AgendaItem, CalendarFeed):
                db.session.execute(delete(model).where(model.patient_id == patient.id))
            patient.birth_date = self.born
            db.session.commit()


@pytest.fixture
def data(app):
    state = Agenda(app)
    state.empty()
    yield state
    state.empty()


class Findings(flows.Findings):
    def page(self, page, js: bool, width: int, where: str) -> None:
        """The shared checks, and a title that starts with the h1."""
        self.title(page, where)
        super().page(page, js, width, where)


# --------------------------------------------------------------------------- lists and pages

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_the_list_empty_then_with_items_and_every_page_of_an_item(open_page, data, js, width):
    findings = Findings()
    page = open_page(js=js, width=width)
    assert page.goto("/agenda").status == 200
    # French says "0 rendez-vous ou rappel" once the catalogue has the plural forms.
    expect(page.locator("#list-title")).to_have_text(
        re.compile(r"^0 rendez-vous (ou rappel|et rappels) à venir$"))
    findings.check(page.get_by_text("Aucun rendez-vous ni rappel à venir.").count() == 1,
                   "empty: no sentence saying so")
    findings.page(page, js, width, "/agenda vide")
    assert page.goto("/agenda/passes").status == 200
    findings.page(page, js, width, "/agenda/passes vide")

    data.birth_date(today().replace(year=today().year - 25) - timedelta(days=10))
    first = data.add(0, note="Apporter la radio")
    data.add(0, kind="reminder", at=None, title="Ordonnance à renouveler", place=None,
             professional=None)
    data.add(1, title=LONG_WORD, place=LONG_WORD, professional=LONG_WORD)
    data.add(40, title="Prise de sang")
    past = data.add(-3, title="Kinésithérapeute")
    page.goto("/agenda")
    expect(page.locator("#list-title")).to_have_text("4 rendez-vous et rappels à venir")
    days = page.locator("h3.agenda-day")
    expect(days).to_have_count(3)
    expect(days.first).to_contain_text("aujourd’hui")
    findings.check(page.locator("li.agenda-item").first.inner_text().startswith(
        "Dans la journée"), "the reminder without a time does not open its day")
    link = page.get_by_role("link", name=re.compile(r"^Dentiste ?, .* 09:30$"))
    findings.check(link.count() == 1, "the item's link does not say its day and time")
    suggestion = page.locator("section[aria-labelledby=due-title] button")
    findings.check(suggestion.count() == 1, "no vaccination suggested")
    findings.page(page, js, width, "/agenda avec des éléments et une vaccination à prévoir")

    page.goto("/agenda/passes")
    expect(page.locator("li.agenda-item a")).to_have_count(1)
    findings.page(page, js, width, "/agenda/passes avec un élément")
    assert page.goto(f"/agenda/{past}").status == 200
    findings.check(page.get_by_text("Cette date est passée.").count() == 1,
                   "a past item does not say so")
    assert page.goto(f"/agenda/{first}").status == 200
    expect(page.locator("dd.agenda-note")).to_have_text("Apporter la radio")
    findings.page(page, js, width, "une fiche de rendez-vous")
    assert page.goto(f"/agenda/{first}/supprimer").status == 200
    findings.page(page, js, width, "la confirmation de suppression")
    assert page.goto(f"/agenda/{first}/modifier").status == 200
    findings.page(page, js, width, "le formulaire de modification")
    findings.done()


@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_the_month_table_full_days_and_long_titles(open_page, data, js, width):
    findings = Findings()
    page = open_page(js=js, width=width)
    on = today()
    for hour in range(10):
        data.add(0, at=f"{8 + hour:02d}:00", title=f"Séance {hour + 1}")
    other = 1 if (on + timedelta(days=1)).month == on.month else -1
    data.add(other, title=LONG_WORD, kind="reminder", at=None)
    assert page.goto("/agenda/mois").status == 200
    table = page.locator("table.month")
    expect(table.locator("thead th[scope=col]")).to_have_count(7)
    expect(table.locator("thead th").first).to_contain_text("lundi")
    expect(table.locator("td[aria-current=date]")).to_have_count(1)
    expect(table.locator("td[aria-current=date] .month__number")).to_have_text(str(on.day))
    expect(table.locator("td a")).to_have_count(11)
    findings.page(page, js, width, "/agenda/mois avec une journée pleine")
    findings.done()


# --------------------------------------------------------------------------- month navigation

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_moving_between_months_by_keyboard(open_page, data, js, width):
    """Tab to "Mois suivant", Enter: the next month, with JavaScript as an htmx swap (the
    address, the title and the focus follow) and without as a new page; then back."""
    findings = Findings()
    page = open_page(js=js, width=width)
    on = today()
    following = (on.replace(day=28) + timedelta(days=5)).replace(day=1)
    item_id = data.add((following.replace(day=15) - on).days, title="Radiologie")
    page.goto("/agenda/mois")
    page.evaluate("() => { window.__sansRechargement = true; }")
    support.tab_until(page, lambda info: info["tag"] == "a"
                      and info["text"].startswith("Mois suivant"))
    month_name = following.strftime("%Y-%m")
    if js:
        with page.expect_response(lambda response: f"/agenda/mois/{month_name}" in response.url
                                  and response.request.headers.get("hx-request") == "true",
                                  timeout=SWAP_TIMEOUT_MS):
            page.keyboard.press("Enter")
        support.wait_until(page, "() => document.activeElement && "
                                 "document.activeElement.id === 'month-title'")
        findings.check(page.evaluate("() => window.__sansRechargement === true"),
                       "the page was loaded again instead of swapping the month")
    else:
        with page.expect_navigation():
            page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/agenda/mois/{month_name}$"))
    heading = page.locator("#month-title").inner_text()
    findings.check(page.title().startswith(heading), f"title {page.title()!r} after moving")
    expect(page.locator("table.month td a")).to_have_count(1)
    expect(page.locator("table.month td a")).to_have_attribute("href", f"/agenda/{item_id}")
    expect(page.locator("td[aria-current=date]")).to_have_count(0)
    findings.page(page, js, width, f"/agenda/mois/{month_name} après le lien Mois suivant")
    support.tab_until(page, lambda info: info["tag"] == "a"
                      and info["text"].startswith("Mois précédent"))
    if js:
        with page.expect_response(lambda response: "/agenda/mois/" in response.url,
                                  timeout=SWAP_TIMEOUT_MS):
            page.keyboard.press("Enter")
        support.wait_until(page, "() => document.activeElement && "
                                 "document.activeElement.id === 'month-title'")
    else:
        with page.expect_navigation():
            page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/agenda/mois/{on.strftime('%Y-%m')}$"))
    expect(page.locator("td[aria-current=date]")).to_have_count(1)
    findings.done()


# --------------------------------------------------------------------------- the add form

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_the_add_form_with_errors_then_the_eleventh_item(open_page, data, js, width):
    findings = Findings()
    page = open_page(js=js, width=width)
    assert page.goto("/agenda/ajouter").status == 200
    findings.page(page, js, width, "/agenda/ajouter")
    form = page.locator("main form.form")
    form.locator("#place").fill("Gardé")
    assert submit(page, form.get_by_role("button", name="Ajouter à mon agenda")) == 422
    findings.check(page.title().startswith("Erreur :"), f"title {page.title()!r}")
    summary = page.locator("[data-error-summary]")
    expect(summary).to_have_count(1)
    links = summary.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    findings.check(links == ["#kind", "#title", "#date"], f"summary links {links}")
    if js:
        findings.check(page.evaluate(
            "() => document.activeElement.hasAttribute('data-error-summary')"),
            "the error summary does not take the focus")
    for error in page.locator(".field-error").all():
        findings.check(error.locator(".visually-hidden").inner_text().strip() == "Erreur :",
                       "an inline error without a hidden 'Erreur :'")
    expect(page.locator("#place")).to_have_value("Gardé")
    findings.page(page, js, width, "/agenda/ajouter avec des erreurs")

    day = today() + timedelta(days=4)
    for hour in range(10):
        data.add(4, at=f"{8 + hour:02d}:00")
    form.locator("#kind-reminder").check()
    form.locator("#title").fill("Onzième")
    form.locator("#date").fill(str(day.day))
    form.locator("#date-month").fill(str(day.month))
    form.locator("#date-year").fill(str(day.year))
    assert submit(page, form.get_by_role("button", name="Ajouter à mon agenda")) == 422
    expect(summary).to_contain_text("Vous avez déjà 10 rendez-vous ou rappels ce jour-là")
    expect(page.locator("#title")).to_have_value("Onzième")
    findings.page(page, js, width, "/agenda/ajouter : onzième élément du jour")
    assert len(data.items()) == 10
    findings.done()


@pytest.mark.parametrize("js", [True, False], ids=["js", "sans-js"])
def test_keyboard_only_add_an_appointment(open_page, data, js):
    """From the list: Tab, Enter, Space and typing only; never a click."""
    page = open_page(js=js, width=1280)
    page.goto("/agenda")
    support.tab_until(page, lambda info: info["tag"] == "a"
                      and info["text"] == "Ajouter un rendez-vous ou un rappel")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/agenda/ajouter$"))
    support.tab_until(page, lambda info: info["id"] == "kind")
    page.keyboard.press("Space")
    assert page.locator("#kind").is_checked()
    page.keyboard.press("Tab")
    assert focused_id(page) == "title", "the title follows the kind"
    page.keyboard.type("Cardiologue")
    day = today() + timedelta(days=9)
    for field, value in (("date", day.day), ("date-month", day.month),
                         ("date-year", day.year), ("time", "10h15"),
                         ("place", "Hôpital de la Croix-Rousse"),
                         ("professional", "Dr Anne Lefort"), ("note", "Électrocardiogramme")):
        page.keyboard.press("Tab")
        assert focused_id(page) == field, (field, focused_id(page))
        page.keyboard.type(str(value))
    support.tab_until(page, lambda info: info["tag"] == "button"
                      and info["text"] == "Ajouter à mon agenda")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert status_of(page) == 200
    expect(page.locator("h1")).to_have_text("Cardiologue")
    assert "C’est enregistré dans votre agenda." in banner(page)
    [item] = data.items()
    view = data.view(item.id)
    assert (view.kind.value, view.day, view.at.strftime("%H:%M")) == ("appointment", day,
                                                                      "10:15")
    assert view.values == {"title": "Cardiologue", "place": "Hôpital de la Croix-Rousse",
                           "professional": "Dr Anne Lefort", "note": "Électrocardiogramme"}
    assert not page.js_errors


# --------------------------------------------------------------------------- without JavaScript

def test_add_change_delete_and_a_suggestion_without_javascript(open_page, data):
    findings = Findings()
    page = open_page(js=False, width=320)
    data.birth_date(today().replace(year=today().year - 25) - timedelta(days=10))
    page.goto("/agenda")
    with page.expect_navigation():
        page.get_by_role("link", name="Ajouter un rendez-vous ou un rappel").click()
    form = page.locator("main form.form")
    form.locator("#kind-reminder").check()
    form.locator("#title").fill("Renouveler l’ordonnance")
    day = today() + timedelta(days=2)
    form.locator("#date").fill(str(day.day))
    form.locator("#date-month").fill(str(day.month))
    form.locator("#date-year").fill(str(day.year))
    assert submit(page, form.get_by_role("button", name="Ajouter à mon agenda")) == 200
    expect(page.locator("h1")).to_have_text("Renouveler l’ordonnance")
    findings.check("C’est enregistré" in banner(page), f"banner {banner(page)!r}")
    findings.page(page, False, 320, "la fiche après l’ajout")

    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^Modifier")).click()
    form = page.locator("main form.form")
    expect(form.locator("#title")).to_have_value("Renouveler l’ordonnance")
    form.locator("#time").fill("7h45")
    form.locator("#title").fill("")
    assert submit(page, form.get_by_role("button", name="Enregistrer les changements")) == 422
    findings.page(page, False, 320, "le formulaire de modification avec une erreur")
    form.locator("#title").fill("Pharmacie")
    assert submit(page, form.get_by_role("button", name="Enregistrer les changements")) == 200
    expect(page.locator("h1")).to_have_text("Pharmacie")
    expect(page.locator("main dl")).to_contain_text("07:45")

    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^Supprimer")).click()
    findings.check(len(data.items()) == 1, "the confirmation page deleted already")
    assert submit(page, page.get_by_role("button", name="Oui, supprimer")) == 200
    expect(page).to_have_url(re.compile(r"/agenda$"))
    findings.check("C’est supprimé de votre agenda." in banner(page), banner(page))
    assert data.items() == []

    button = page.locator("section[aria-labelledby=due-title] button")
    assert submit(page, button) == 200
    expect(page.locator("h1")).to_have_text("Diphtérie, tétanos, polio (rappel adulte)")
    findings.page(page, False, 320, "la fiche du rappel de vaccination")
    [item] = data.items()
    assert (item.day, item.at, item.kind.value) == (today(), None, "reminder")
    findings.done()


# --------------------------------------------------------------------------- export

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_the_export_page_and_its_subscription_address(open_page, data, js, width, app):
    findings = Findings()
    page = open_page(js=js, width=width)
    data.add(2)
    assert page.goto("/agenda/exporter").status == 200
    findings.page(page, js, width, "/agenda/exporter sans abonnement")
    support.tab_until(page, lambda info: info["tag"] == "button"
                      and info["text"] == "Créer mon adresse d’abonnement")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    address = page.locator("#feed-url")
    expect(address).to_have_attribute("readonly", "")
    url = address.input_value()
    assert re.fullmatch(r"https?://[^/]+/agenda/abonnement/[A-Za-z0-9_-]{43}\.ics", url), url
    findings.check("Votre adresse d’abonnement est créée." in banner(page), banner(page))
    findings.page(page, js, width, "/agenda/exporter avec une adresse")
    feed = page.context.request.get("/" + url.split("/", 3)[3])
    assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
    download = page.context.request.get("/agenda/exporter/mon-agenda.ics")
    assert download.status == 200 and b"BEGIN:VCALENDAR" in download.body()
    findings.done()
