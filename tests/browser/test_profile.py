"""The medical profile in a real browser (issue 5; ACCESSIBILITY.md items 2, 8, 11, 13–15, 21
and the htmx patterns): the twelve section pages, the overview, measures with their chart and
table, entourage, advance directives as a document, and the printable summary.

axe (WCAG 2.2 AA tags, the options of the other browser tests) runs on every page empty and
filled, after a failed form (422) and after each htmx swap (add, edit form, save, delete
confirmation, delete). Focus after each swap is read from `document.activeElement`. One
section is used by keyboard only (Tab, Enter, Space and typing); the whole add, edit and
delete flow also runs with JavaScript off. At 320 px the page never scrolls sideways.

Data is put in through the domain API (as the patient would through the forms) or through
the UI itself; each test starts and ends with an empty profile for the demo patient (entries,
"Non concerné" states, measures and advance-directive documents), so the order of the tests
does not matter and the other modules find the profile as the demo seed left it.
"""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from domain import audit, measures, profile, vault
from domain.models import Category, Document, Measure, ProfileEntry, ProfileSection, User
from domain.representation import today_in_france
from extensions import blobs, db, keys
from tests.browser import flows, support
from tests.browser.flows import (
    CLEAR_LIVE,
    COMBOS,
    MARK,
    NOT_RELOADED,
    SUMMARY_FOCUSED,
    banner,
    focused_id,
    submit,
    summary_links,
    tab_to_id,
)

pytestmark = pytest.mark.browser

LOGIN = "camille.martin"
SWAP_TIMEOUT_MS = 5_000
PDF = "/profil/resume.pdf"
PDF_STATUS = "/profil/resume/etat"
POLLING = {"HX-Request": "true", "HX-Target": "summary-status"}

# One valid entry per section, as the add form would send it; `main` is its line on the page
# (the entry's h3). For the sections the flows can run on: `edit` changes the main field;
# `invalid` gives `errors` and carries values that must be kept (`kept`: field id without
# the prefix -> value); `edit_invalid` gives `edit_errors`.
SAMPLES: dict[str, dict] = {
    "maladies": {
        "form": {"condition": "asthma", "since_year": "2015", "note": "Crises au printemps"},
        "main": "Asthme",
        "edit": {"condition": "other", "condition_other": "Rhinite allergique"},
        "edited": "Rhinite allergique",
        "invalid": {"condition": "other", "condition_other": "", "since_year": "2999",
                    "note": "Texte gardé"},
        "errors": {"condition_other", "since"},
        "kept": {"note": "Texte gardé", "since-year": "2999", "condition": "other"},
        "edit_invalid": {"condition": "", "condition_other": ""},
        "edit_errors": {"condition"},
    },
    "traitements": {
        "form": {"name": "Ventoline", "dose": "2 bouffées si besoin", "since_year": "2015"},
        "main": "Ventoline",
        "edit": {"name": "Salbutamol"},
        "edited": "Salbutamol",
        "invalid": {"name": "", "dose": "Dose gardée", "since_year": "2020",
                    "until_year": "2010"},
        "errors": {"name", "until"},
        "kept": {"dose": "Dose gardée", "until-year": "2010"},
        "edit_invalid": {"name": ""},
        "edit_errors": {"name"},
    },
    "hospitalisations": {
        "form": {"reason": "Appendicite", "place": "CHU de Nantes", "start_month": "6",
                 "start_year": "2019"},
        "main": "Appendicite",
    },
    "handicaps": {
        "form": {"type": "visual", "rate": "50", "human_help": "non", "note": "Lunettes"},
        "main": "Visuel",
    },
    "groupe-sanguin": {"form": {"group": "A+"}, "main": "A+"},
    "allergies": {
        "form": {"substance": "penicillins", "reaction": "Urticaire", "severity": "moderate"},
        "main": "Pénicillines",
        "edit": {"substance": "latex", "severity": "severe"},
        "edited": "Latex",
        "invalid": {"substance": "", "reaction": "Réaction gardée"},
        "errors": {"substance", "severity"},
        "kept": {"reaction": "Réaction gardée"},
        "edit_invalid": {"substance": ""},
        "edit_errors": {"substance"},
    },
    "antecedents-familiaux": {
        "form": {"relative": "mother", "condition": "diabetes_type_2"},
        "main": "Diabète de type 2 (Mère)",
    },
    "mode-de-vie": {
        "form": {"topic": "activity", "description": "Marche 30 minutes par jour."},
        "main": "Activité physique",
    },
    "vaccinations": {
        "form": {"vaccine": "dtp", "given_on_day": "14", "given_on_month": "3",
                 "given_on_year": "2020", "dose": "1", "lot": "AB123",
                 "vaccinator": "Dr Bernard"},
        "main": "Diphtérie, tétanos, polio (rappel adulte)",
        "edit": {"vaccine": "influenza"},
        "edited": "Grippe",
        "invalid": {"vaccine": "influenza", "given_on_day": "31", "given_on_month": "2",
                    "given_on_year": "2020", "lot": "LOT-GARDE"},
        "errors": {"given_on"},
        "kept": {"lot": "LOT-GARDE", "given_on": "31", "vaccine": "influenza"},
        "edit_invalid": {"given_on_year": ""},
        "edit_errors": {"given_on"},
    },
    "contacts-urgence": {
        "form": {"name": "Jean Martin", "relation": "Frère", "phone": "06 12 34 56 78"},
        "main": "Jean Martin",
        "edit": {"name": "Jeanne Martin"},
        "edited": "Jeanne Martin",
        "invalid": {"name": "Paul Durand", "phone": "123"},
        "errors": {"phone"},
        "kept": {"name": "Paul Durand", "phone": "123"},
        "edit_invalid": {"phone": "abc"},
        "edit_errors": {"phone"},
    },
    "personne-de-confiance": {
        "form": {"name": "Sophie Martin", "relation": "Sœur", "phone": "06 11 22 33 44",
                 "consent_on_day": "1", "consent_on_month": "2", "consent_on_year": "2024"},
        "main": "Sophie Martin",
    },
    "directives-anticipees": {
        "form": {"resuscitation": "no_opinion", "life_support": "Pas d’acharnement.",
                 "pain_relief": "Soulager la douleur.", "place": "À la maison",
                 "written_on_day": "3", "written_on_month": "3", "written_on_year": "2025"},
        "main": "Directives rédigées le 3 mars 2025",
    },
}
SLUGS = tuple(SAMPLES)
assert set(SLUGS) == set(profile.BY_SLUG), "a sample per section"

MEASURE_SAMPLES = {  # slug -> two valid measures (form fields without the date)
    "poids": ({"value": "72,5"}, {"value": "71"}),
    "taille": ({"value": "168"}, {"value": "168,5"}),
    "tour-de-taille": ({"value": "80"}, {"value": "79,5"}),
    "temperature": ({"value": "37,2"}, {"value": "38,4"}),
    "glycemie": ({"value": "0,95"}, {"value": "1,1"}),
    "tension": ({"systolic": "125", "diastolic": "80"}, {"systolic": "132", "diastolic": "85"}),
    "frequence-cardiaque": ({"value": "64"}, {"value": "72"}),
    "douleur": ({"value": "3"}, {"value": "6"}),
}
MEASURE_TITLES = {"poids": "Poids", "tension": "Tension artérielle"}


# --------------------------------------------------------------------------- data

def _patient() -> User:
    return db.session.execute(select(User).where(User.login == LOGIN)).scalar_one()


class Profile:
    """The demo patient's profile for one test, filled through the domain API."""

    def __init__(self, app):
        self.app = app

    def add(self, slug: str, form: dict | None = None, author: str = LOGIN) -> str:
        """An entry written by the patient, or by a professional (then locked)."""
        section = profile.BY_SLUG[slug]
        with self.app.app_context():
            reading = profile.validate(section, form or SAMPLES[slug]["form"], today_in_france())
            assert reading.ok, (slug, reading.problems)
            writer = db.session.execute(select(User).where(User.login == author)).scalar_one()
            entry = profile.add_entry(db.session, keys.ring, _patient(), section,
                                      reading.values, author=writer, actor=audit.Actor())
            db.session.commit()
            return entry.id

    def not_concerned(self, slug: str) -> None:
        with self.app.app_context():
            profile.set_not_concerned(db.session, keys.ring, _patient(),
                                      profile.BY_SLUG[slug], True, audit.Actor())
            db.session.commit()

    def measure(self, slug: str, form: dict, day: date, time: str = "") -> str:
        kind = measures.BY_SLUG[slug]
        sent = {**form, "measured_on_day": str(day.day), "measured_on_month": str(day.month),
                "measured_on_year": str(day.year), "time": time}
        with self.app.app_context():
            reading = measures.validate(kind, sent, today_in_france())
            assert reading.ok, (slug, reading.problems)
            measure = measures.add(db.session, keys.ring, _patient(), kind, reading.values,
                                   audit.Actor())
            db.session.commit()
            return measure.id

    def entry_ids(self, slug: str) -> list[str]:
        with self.app.app_context():
            return list(db.session.execute(select(ProfileEntry.id).where(
                ProfileEntry.patient_id == _patient().id,
                ProfileEntry.section == profile.BY_SLUG[slug].key)).scalars())

    def measure_count(self, slug: str) -> int:
        with self.app.app_context():
            return len(db.session.execute(select(Measure.id).where(
                Measure.patient_id == _patient().id,
                Measure.kind == measures.BY_SLUG[slug].key)).scalars().all())

    def directive_documents(self) -> list[str]:
        with self.app.app_context():
            return list(db.session.execute(select(Document.id).where(
                Document.patient_id == _patient().id,
                Document.category == Category.ADVANCE_DIRECTIVES)).scalars())

    def empty(self) -> None:
        with self.app.app_context():
            patient = _patient()
            patient_id = patient.id
            for model in (ProfileEntry, ProfileSection):
                db.session.execute(delete(model).where(model.patient_id == patient_id))
            for measure in db.session.scalars(select(Measure).where(
                    Measure.patient_id == patient_id)).all():  # counted off with their rows
                measures.delete(db.session, keys.ring, patient,
                                measures.MeasureView(measure, {}), audit.Actor())
            for document in db.session.execute(select(Document).where(
                    Document.patient_id == patient_id,
                    Document.category == Category.ADVANCE_DIRECTIVES)).scalars().all():
                vault.delete_document(db.session, keys.ring, blobs.store, document,
                                      audit.Actor())
            db.session.commit()


@pytest.fixture
def data(app):
    """An empty profile for the demo patient, emptied again afterwards."""
    state = Profile(app)
    state.empty()
    yield state
    state.empty()


# --------------------------------------------------------------------------- browser

# Application problems found by these tests and not fixed yet: key -> what is wrong (the
# contract is flows.Findings's).
KNOWN_PROBLEMS: dict[str, str] = {}


class Findings(flows.Findings):
    known_problems = KNOWN_PROBLEMS


def fill(form, values: dict) -> None:
    """Fill a form's fields by name: selects, radio groups, text inputs and textareas."""
    for name, value in values.items():
        field = form.locator(f"[name='{name}']")
        kind = field.first.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if kind.startswith("select"):
            field.select_option(value)
        elif kind == "input:radio":
            form.locator(f"input[name='{name}'][value='{value}']").check()
        else:
            field.fill(value)


def add_form(page):
    return page.locator("#section-content form[aria-labelledby=add-title]")


SETTLED = """(id) => { const element = document.getElementById(id);
  return !!element && !element.hasAttribute("aria-busy") &&
    !document.querySelector(".htmx-request, .htmx-settling, .htmx-swapping, .htmx-added"); }"""


def wait_settled(page, element_id: str) -> None:
    deadline_ms = SWAP_TIMEOUT_MS
    waited = 0
    while not page.evaluate(SETTLED, element_id):
        if waited > deadline_ms:
            raise AssertionError(f"#{element_id} never settled")
        page.wait_for_timeout(25)
        waited += 25
    page.wait_for_timeout(60)  # app.js moves focus in htmx:afterSettle


def focus_is(page, test_js: str) -> tuple[bool, str]:
    """flows.focus_is, waiting at most 0.4 s."""
    return flows.focus_is(page, test_js, timeout=0.4)


def action_name(action: str, main: str) -> re.Pattern:
    """ "Modifier" then the entry's name (the separator is the template's business)."""
    return re.compile(rf"^{action}\b.*{re.escape(main)}$")


def check_error_summary(findings: Findings, page, scope, prefix: str, fields: set[str],
                        where: str) -> None:
    """The summary links to each field in error; each field is marked and explained."""
    summary = scope.locator("[data-error-summary]")
    findings.check(summary.count() == 1, f"{where}: {summary.count()} error summaries")
    if not summary.count():
        return
    findings.check(summary.get_attribute("role") == "alert", f"{where}: summary not an alert")
    links = summary_links(scope)
    findings.check({href.removeprefix(f"#{prefix}") for href in links} == fields,
                   f"{where}: summary links {links}, expected fields {sorted(fields)}")
    for href in links:
        findings.check(page.locator(href).count() == 1, f"{where}: {href} leads nowhere")
        target = page.locator(href)
        if target.count() == 1 and target.get_attribute("type") != "radio":
            findings.check(target.get_attribute("aria-invalid") == "true",
                           f"{where}: {href} has no aria-invalid=true")
    for error in scope.locator(".field-error").all():
        findings.check(error.locator(".visually-hidden").inner_text().strip() == "Erreur :",
                       f"{where}: inline error without a hidden 'Erreur :'")


# --------------------------------------------------------------------------- 1. sections

@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_section_page_empty_and_filled(open_page, data, slug, js, width):
    """Each section page empty (with "Je ne suis pas concerné") and with one entry; without
    JavaScript also the edit page behind the entry's "Modifier" link."""
    findings = Findings()
    page = open_page(js=js, width=width)
    assert page.goto(f"/profil/{slug}").status == 200
    title = page.locator("h1").inner_text().strip()
    assert page.title().startswith(title), page.title()
    content = page.locator("#section-content")
    expect(content.locator("#entries-title")).to_have_text("0 entrée")  # French: 0 is singular
    findings.check(content.get_by_role("button", name="Je ne suis pas concerné").count() == 1,
                   "empty: no 'Je ne suis pas concerné' button")
    findings.check(add_form(page).count() == 1, "empty: no add form")
    findings.check(add_form(page).locator("[id^=add-]").count() >= 1,
                   "empty: add form fields are not prefixed add-")
    findings.axe(page, js, f"/profil/{slug} vide")
    if width == 320:
        findings.reflow(page, f"/profil/{slug} vide")

    entry_id = data.add(slug)
    locked = None
    if slug == "vaccinations":  # and one given by the doctor: shown, not editable
        locked = data.add(slug, {**SAMPLES[slug]["form"], "vaccine": "influenza",
                                 "given_on_year": "2024"}, author="dr.bernard")
    page.goto(f"/profil/{slug}")
    if locked:
        mine = content.locator(f"li#entry-{locked}")
        findings.check("Saisie par un professionnel de santé" in mine.inner_text(),
                       "the doctor's entry has no badge")
        findings.check(mine.get_by_role("link").count() == 0,
                       "the doctor's entry can be changed")
    entry = content.locator(f"li#entry-{entry_id}")
    expect(entry).to_have_count(1)
    expect(entry.locator("h3")).to_have_text(SAMPLES[slug]["main"])
    expect(content.locator("#entries-title")).to_have_text("2 entrées" if locked else "1 entrée")
    findings.check(entry.get_attribute("tabindex") == "-1", "entry li without tabindex=-1")
    findings.check(content.get_by_role("button", name="Je ne suis pas concerné").count() == 0,
                   "filled: 'Je ne suis pas concerné' still offered")
    for action in ("Modifier", "Supprimer"):
        link = entry.get_by_role("link", name=action_name(action, SAMPLES[slug]["main"]))
        findings.check(link.count() == 1, f"filled: no {action!r} link naming the entry: "
                       + repr(entry.locator("a").evaluate_all("l => l.map(a => a.textContent)")))
    findings.axe(page, js, f"/profil/{slug} avec une entrée")
    if width == 320:
        findings.reflow(page, f"/profil/{slug} avec une entrée")

    if not js:
        assert page.goto(f"/profil/{slug}/{entry_id}/modifier").status == 200
        findings.check(page.locator("main form.form button[type=submit]").count() == 1,
                       "edit page without a submit button")
        findings.axe(page, js, f"/profil/{slug}/…/modifier")
        findings.reflow(page, f"/profil/{slug}/…/modifier")
        # (The delete page is the same for every section: see the flow without JavaScript.)
    findings.done()


# --------------------------------------------------------------------------- 2. htmx flows

def clear_live(page) -> None:
    page.evaluate(CLEAR_LIVE)


def live_text(page) -> str:
    return page.locator("#live-region").inner_text().strip()


def click_and_swap(page, locator, url_part: str, target: str) -> int:
    """Activate a control that sends an htmx request; wait for the swap to settle; the
    status of the answer."""
    with page.expect_response(lambda response: url_part in response.url
                              and response.request.headers.get("hx-request") == "true",
                              timeout=SWAP_TIMEOUT_MS) as answer:
        locator.click()
    status = answer.value.status
    wait_settled(page, target)
    return status


def check_kept(findings: Findings, page, prefix: str, kept: dict, where: str) -> None:
    for suffix, value in kept.items():
        field = page.locator(f"#{prefix}{suffix}")
        shown = field.input_value() if field.count() == 1 else None
        findings.check(shown == value, f"{where}: #{prefix}{suffix} shows {shown!r}, "
                                       f"typed {value!r}")


def htmx_flow(page, data, slug: str, width: int) -> Findings:
    """Add (error, then success), edit (form, error, cancel, save) and delete (confirmation,
    "Non, garder", confirm) with htmx, checking focus, the live region and axe after each
    swap."""
    sample = SAMPLES[slug]
    js = True
    findings = Findings()
    first = data.add(slug)  # the entry that will be edited
    page.goto(f"/profil/{slug}")
    page.evaluate(MARK)
    entry = page.locator(f"li#entry-{first}")

    # 1. Add with errors: 422, the form comes back with its summary, which takes the focus.
    fill(add_form(page), sample["invalid"])
    status = click_and_swap(page, add_form(page).get_by_role("button", name="Ajouter"),
                            f"/profil/{slug}", "section-content")
    findings.check(status == 422, f"add with errors answered {status}, not 422")
    ok, where = focus_is(page, f"{SUMMARY_FOCUSED} && "
                               "!!e.closest('form[aria-labelledby=add-title]')")
    findings.check(ok, f"after a failed add, focus is on {where}, not the error summary")
    check_error_summary(findings, page, add_form(page), "add-", sample["errors"],
                        "failed add")
    check_kept(findings, page, "add-", sample["kept"], "failed add")
    findings.check(page.title().startswith("Erreur :"), f"title after a failed add with "
                   f"htmx: {page.title()!r}")
    findings.axe(page, js, f"/profil/{slug} après un ajout en erreur (htmx)")
    if width == 320:
        findings.reflow(page, f"/profil/{slug} après un ajout en erreur")

    # 2. Open the inline edit form (the add form still shows its errors).
    clear_live(page)
    click_and_swap(page, entry.get_by_role("link", name=action_name("Modifier", sample["main"])),
                   f"/{first}/modifier", f"entry-{first}")
    findings.check(entry.locator("form").count() == 1, "no inline edit form")
    ok, where = focus_is(page, f"e.id === 'edit-{first}-title'")
    findings.check(ok, f"after opening the edit form, focus is on {where}, not its h3")
    findings.axe(page, js, f"/profil/{slug} formulaire de modification ouvert (htmx)")

    # 3. Save with errors: 422 in place, the entry's summary takes the focus.
    fill(entry.locator("form"), sample["edit_invalid"])
    status = click_and_swap(page, entry.get_by_role("button", name="Enregistrer"),
                            f"/{first}/modifier", f"entry-{first}")
    findings.check(status == 422, f"edit with errors answered {status}, not 422")
    ok, where = focus_is(page, f"{SUMMARY_FOCUSED} && !!e.closest('#entry-{first}')")
    findings.check(ok, f"after a failed edit, focus is on {where}, not the entry's summary")
    check_error_summary(findings, page, entry, f"edit-{first}-",
                        sample["edit_errors"],
                        "failed edit")
    findings.check(page.title().startswith("Erreur :"), f"title after a failed edit with "
                   f"htmx: {page.title()!r}")
    findings.axe(page, js, f"/profil/{slug} modification en erreur (htmx)")
    # (The add form still shows its summary: two summaries on the page.)
    findings.check("error-summary-title" not in page.evaluate(support.DUPLICATE_IDS),
                   "two error summaries share id=error-summary-title")
    if width == 320:
        findings.reflow(page, f"/profil/{slug} modification en erreur")

    # 4. Save: the entry comes back changed, focused, and "Modifié." is announced.
    fill(entry.locator("form"), {**sample["form"], **sample["edit"]})
    click_and_swap(page, entry.get_by_role("button", name="Enregistrer"),
                   f"/{first}/modifier", f"entry-{first}")
    expect(entry.locator("h3")).to_have_text(sample["edited"])
    findings.check(live_text(page) == "Modifié.", f"live region says {live_text(page)!r}")
    ok, where = focus_is(page, f"e.id === 'entry-{first}'")
    findings.check(ok, f"after saving, focus is on {where}, not li#entry-{first}")
    findings.axe(page, js, f"/profil/{slug} après modification (htmx)")

    # 5. Open the edit form again and cancel: the entry comes back, focus stays with it.
    click_and_swap(page, entry.get_by_role("link", name=action_name("Modifier",
                                                                  sample["edited"])),
                   f"/{first}/modifier", f"entry-{first}")
    click_and_swap(page, entry.get_by_role("link", name="Annuler"), f"/{first}",
                   f"entry-{first}")
    expect(entry.locator("h3")).to_have_text(sample["edited"])
    ok, where = focus_is(page, f"!!e.closest('#entry-{first}')")
    findings.check(ok, f"after 'Annuler', focus is on {where}, not on or in li#entry-{first}")

    # 6. Add: the new entry is focused, "Ajouté." is announced, the form is clean again.
    clear_live(page)
    fill(add_form(page), sample["form"])
    status = click_and_swap(page, add_form(page).get_by_role("button", name="Ajouter"),
                            f"/profil/{slug}", "section-content")
    findings.check(status == 200, f"add answered {status}")
    expect(page.locator("#entries-title")).to_have_text("2 entrées")
    added = [entry_id for entry_id in data.entry_ids(slug) if entry_id != first]
    assert len(added) == 1, added
    new = page.locator(f"li#entry-{added[0]}")
    findings.check(live_text(page) == "Ajouté.", f"live region says {live_text(page)!r}")
    ok, where = focus_is(page, f"e.id === 'entry-{added[0]}'")
    findings.check(ok, f"after adding, focus is on {where}, not the new li#entry-{added[0]}")
    findings.check(add_form(page).locator("[data-error-summary]").count() == 0,
                   "the add form still shows the old errors")
    findings.axe(page, js, f"/profil/{slug} après un ajout (htmx)")

    # 7. Delete: the confirmation replaces the entry and takes the focus; "Non, garder".
    click_and_swap(page, new.get_by_role("link", name=action_name("Supprimer", sample["main"])),
                   f"/{added[0]}/supprimer", f"entry-{added[0]}")
    ok, where = focus_is(page, f"e.id === 'confirm-{added[0]}'")
    findings.check(ok, f"on the delete confirmation, focus is on {where}, not its paragraph")
    findings.axe(page, js, f"/profil/{slug} confirmation de suppression (htmx)")
    if width == 320:
        findings.reflow(page, f"/profil/{slug} confirmation de suppression")
    click_and_swap(page, new.get_by_role("link", name="Non, garder"), f"/{added[0]}",
                   f"entry-{added[0]}")
    expect(new.locator("h3")).to_have_text(sample["main"])
    ok, where = focus_is(page, f"!!e.closest('#entry-{added[0]}')")
    findings.check(ok, f"after 'Non, garder', focus is on {where}, "
                       f"not on or in li#entry-{added[0]}")

    # 8. Delete for real: the list comes back, its heading focused, "Supprimé." announced.
    clear_live(page)
    click_and_swap(page, new.get_by_role("link", name=action_name("Supprimer", sample["main"])),
                   f"/{added[0]}/supprimer", f"entry-{added[0]}")
    click_and_swap(page, new.get_by_role("button", name="Oui, supprimer"),
                   f"/{added[0]}/supprimer", "section-content")
    expect(page.locator("#entries-title")).to_have_text("1 entrée")
    expect(page.locator(f"li#entry-{added[0]}")).to_have_count(0)
    findings.check(live_text(page) == "Supprimé.", f"live region says {live_text(page)!r}")
    ok, where = focus_is(page, "e.id === 'entries-title'")
    findings.check(ok, f"after deleting, focus is on {where}, not h2#entries-title")
    findings.axe(page, js, f"/profil/{slug} après suppression (htmx)")

    findings.check(page.evaluate(NOT_RELOADED), "the page was loaded again during the flow")
    findings.check(data.entry_ids(slug) == [first], "the profile does not hold what it shows")
    return findings


@pytest.mark.parametrize(("slug", "width"), [
    pytest.param("maladies", 1280, id="maladies-1280"),
    pytest.param("allergies", 320, id="allergies-320"),
    pytest.param("contacts-urgence", 1280, id="contacts-urgence-1280"),
])
def test_add_edit_delete_with_htmx(open_page, data, slug, width):
    page = open_page(js=True, width=width)
    htmx_flow(page, data, slug, width).done()


# --------------------------------------------------------------------------- 3. keyboard

def press_and_swap(page, key: str, url_part: str, target: str) -> int:
    with page.expect_response(lambda response: url_part in response.url
                              and response.request.headers.get("hx-request") == "true",
                              timeout=SWAP_TIMEOUT_MS) as answer:
        page.keyboard.press(key)
    status = answer.value.status
    wait_settled(page, target)
    return status


def tab_to(page, tag: str, pattern: str) -> dict:
    return support.tab_until(page, lambda info: info["tag"] == tag
                             and re.fullmatch(pattern, info["text"]) is not None)


def test_keyboard_only_add_edit_delete(open_page, data):
    """Treatments, JavaScript on: Tab to move, Enter or Space to act, typing in the fields;
    never a click."""
    findings = Findings()
    page = open_page(js=True, width=1280)
    page.goto("/profil/traitements")
    page.evaluate(MARK)

    # Add.
    tab_to_id(page, "add-name")
    page.keyboard.type("Ventoline")
    page.keyboard.press("Tab")
    assert focused_id(page) == "add-dose"
    page.keyboard.type("2 bouffées si besoin")
    tab_to_id(page, "add-since-year")
    page.keyboard.type("2015")
    tab_to(page, "button", "Ajouter")
    assert press_and_swap(page, "Enter", "/profil/traitements", "section-content") == 200
    expect(page.locator("#live-region")).to_have_text("Ajouté.")
    (entry_id,) = data.entry_ids("traitements")
    ok, where = focus_is(page, f"e.id === 'entry-{entry_id}'")
    findings.check(ok, f"after adding, focus is on {where}, not the new entry")

    # Edit: Tab from the new entry reaches its "Modifier" link.
    tab_to(page, "a", r"Modifier\b.*Ventoline")
    clear_live(page)
    press_and_swap(page, "Enter", f"/{entry_id}/modifier", f"entry-{entry_id}")
    ok, where = focus_is(page, f"e.id === 'edit-{entry_id}-title'")
    findings.check(ok, f"after opening the edit form, focus is on {where}, not its h3")
    page.keyboard.press("Tab")
    assert focused_id(page) == f"edit-{entry_id}-name", "the first field follows the h3"
    assert page.locator(f"#edit-{entry_id}-name").input_value() == "Ventoline"
    page.keyboard.press("Control+A")
    page.keyboard.type("Salbutamol")
    tab_to(page, "button", "Enregistrer")
    press_and_swap(page, "Space", f"/{entry_id}/modifier", f"entry-{entry_id}")
    expect(page.locator(f"#entry-{entry_id} h3")).to_have_text("Salbutamol")
    expect(page.locator("#live-region")).to_have_text("Modifié.")
    ok, where = focus_is(page, f"e.id === 'entry-{entry_id}'")
    findings.check(ok, f"after saving, focus is on {where}, not the entry")

    # Delete: the confirmation, then "Oui, supprimer" with Space.
    tab_to(page, "a", r"Supprimer\b.*Salbutamol")
    press_and_swap(page, "Enter", f"/{entry_id}/supprimer", f"entry-{entry_id}")
    ok, where = focus_is(page, f"e.id === 'confirm-{entry_id}'")
    findings.check(ok, f"on the delete confirmation, focus is on {where}")
    page.keyboard.press("Tab")
    assert support.focused(page)["text"] == "Oui, supprimer", support.focused(page)
    clear_live(page)
    press_and_swap(page, "Space", f"/{entry_id}/supprimer", "section-content")
    expect(page.locator("#live-region")).to_have_text("Supprimé.")
    ok, where = focus_is(page, "e.id === 'entries-title'")
    findings.check(ok, f"after deleting, focus is on {where}, not h2#entries-title")
    findings.check(page.evaluate(NOT_RELOADED), "the page was loaded again")
    findings.check(not page.js_errors, f"JavaScript errors: {page.js_errors}")
    assert data.entry_ids("traitements") == []
    findings.done()


# --------------------------------------------------------------------------- 4. without JS

@pytest.mark.parametrize(("slug", "width"), [
    pytest.param("maladies", 320, id="maladies-320"),
    pytest.param("contacts-urgence", 1280, id="contacts-urgence-1280"),
])
def test_add_edit_delete_without_javascript(open_page, data, slug, width):
    """"Non concerné" and back, add (error, success), edit page (error, success), delete
    page: every step a full page, post-redirect-get."""
    sample = SAMPLES[slug]
    js = False
    findings = Findings()
    page = open_page(js=js, width=width)
    page.goto(f"/profil/{slug}")

    # "Je ne suis pas concerné", then take it back.
    assert submit(page, page.get_by_role("button", name="Je ne suis pas concerné")) == 200
    findings.check("ne pas être concerné" in banner(page), f"banner: {banner(page)!r}")
    findings.check(page.locator("#section-content .notice").count() == 1,
                   "no 'Non concerné' notice")
    findings.axe(page, js, f"/profil/{slug} non concerné")
    if width == 320:
        findings.reflow(page, f"/profil/{slug} non concerné")
    assert submit(page, page.get_by_role("button", name=re.compile("Retirer"))) == 200
    findings.check(page.get_by_role("button", name="Je ne suis pas concerné").count() == 1,
                   "'Je ne suis pas concerné' not offered again")

    # Add with errors: the page comes back (422) with the summary and the typed values.
    fill(add_form(page), sample["invalid"])
    status = submit(page, add_form(page).get_by_role("button", name="Ajouter"))
    findings.check(status == 422, f"add with errors answered {status}, not 422")
    findings.check(page.title().startswith("Erreur :"), f"title after a failed add: "
                                                         f"{page.title()!r}")
    check_error_summary(findings, page, add_form(page), "add-", sample["errors"],
                        "failed add (sans JS)")
    check_kept(findings, page, "add-", sample["kept"], "failed add (sans JS)")
    findings.axe(page, js, f"/profil/{slug} ajout en erreur")
    if width == 320:
        findings.reflow(page, f"/profil/{slug} ajout en erreur")

    # Add.
    fill(add_form(page), sample["form"])
    assert submit(page, add_form(page).get_by_role("button", name="Ajouter")) == 200
    (entry_id,) = data.entry_ids(slug)
    findings.check(page.url.endswith(f"/profil/{slug}#entry-{entry_id}"), page.url)
    findings.check("enregistré" in banner(page), f"banner after adding: {banner(page)!r}")
    entry = page.locator(f"li#entry-{entry_id}")
    expect(entry.locator("h3")).to_have_text(sample["main"])

    # The entry's own page (what the inline "Annuler" and "Non, garder" fetch).
    assert page.goto(f"/profil/{slug}/{entry_id}").status == 200
    findings.check(page.locator("h1").inner_text().strip() == sample["main"],
                   f"entry page h1: {page.locator('h1').inner_text()!r}")
    findings.axe(page, js, f"/profil/{slug}/<id>")
    page.goto(f"/profil/{slug}")

    # The edit page: error, then success.
    assert submit(page, entry.get_by_role("link", name=action_name("Modifier",
                                                                 sample["main"]))) == 200
    assert page.url.endswith(f"/profil/{slug}/{entry_id}/modifier"), page.url
    form = page.locator("main form.form")
    fill(form, sample["edit_invalid"])
    status = submit(page, form.get_by_role("button", name="Enregistrer"))
    findings.check(status == 422, f"edit with errors answered {status}, not 422")
    findings.check(page.title().startswith("Erreur :"), f"title after a failed edit: "
                                                         f"{page.title()!r}")
    check_error_summary(findings, page, page.locator("main"), "", sample["edit_errors"],
                        "failed edit (sans JS)")
    findings.axe(page, js, f"/profil/{slug}/…/modifier en erreur")
    if width == 320:
        findings.reflow(page, f"/profil/{slug}/…/modifier en erreur")
    fill(form, {**sample["form"], **sample["edit"]})
    assert submit(page, form.get_by_role("button", name="Enregistrer")) == 200
    findings.check(page.url.endswith(f"/profil/{slug}#entry-{entry_id}"), page.url)
    findings.check("modifié" in banner(page), f"banner after editing: {banner(page)!r}")
    expect(entry.locator("h3")).to_have_text(sample["edited"])

    # The delete page.
    assert submit(page, entry.get_by_role("link", name=action_name("Supprimer",
                                                                 sample["edited"]))) == 200
    assert page.url.endswith(f"/profil/{slug}/{entry_id}/supprimer"), page.url
    findings.axe(page, js, f"/profil/{slug}/…/supprimer")
    if width == 320:
        findings.reflow(page, f"/profil/{slug}/…/supprimer")
    assert submit(page, page.get_by_role("button", name="Oui, supprimer")) == 200
    findings.check(page.url.endswith(f"/profil/{slug}"), page.url)
    findings.check("supprimé" in banner(page), f"banner after deleting: {banner(page)!r}")
    expect(page.locator(f"li#entry-{entry_id}")).to_have_count(0)
    findings.axe(page, js, f"/profil/{slug} après suppression")
    assert data.entry_ids(slug) == []
    findings.done()


# --------------------------------------------------------------------------- 5. other pages

def fill_everything(data) -> None:
    """An entry in every section but one, "Non concerné" there, and a few measures."""
    for slug in SLUGS:
        if slug != "handicaps":
            data.add(slug)
    data.not_concerned("handicaps")
    week_ago = today_in_france() - timedelta(days=7)
    data.measure("poids", {"value": "72,5"}, week_ago)
    data.measure("taille", {"value": "168"}, week_ago)
    data.measure("tension", {"systolic": "125", "diastolic": "80"}, today_in_france(), "8:30")


def check_overview(findings: Findings, page) -> None:
    for slug, section in profile.BY_SLUG.items():
        heading = page.locator(f"h2#section-{slug}")
        if section.group != "health":
            continue
        findings.check(heading.count() == 1, f"/profil: no heading for {slug}")
        meta = page.locator(f".profile-section:has(> #section-{slug}) .meta").inner_text()
        expected = "Non concerné" if slug == "handicaps" else "1 entrée"
        findings.check(meta.startswith(expected), f"/profil {slug}: {meta!r}")
        findings.check("dernière modification le" in meta, f"/profil {slug}: no last change")
        if slug != "handicaps":
            findings.check(SAMPLES[slug]["main"] in page.locator(
                f".profile-section:has(> #section-{slug})").inner_text(),
                f"/profil {slug}: the entry is not listed")


def check_measures_overview(findings: Findings, page) -> None:
    text = page.locator("main").inner_text()
    findings.check("Indice de masse corporelle" in text and "25,7" in text,
                   "/profil/mesures: no BMI of 25,7 (72,5 kg, 168 cm)")
    findings.check("72,5" in text and "125" in text, "/profil/mesures: latest measures missing")


def check_entourage(findings: Findings, page) -> None:
    text = page.locator("main").inner_text()
    for slug in ("contacts-urgence", "personne-de-confiance", "directives-anticipees"):
        findings.check(SAMPLES[slug]["main"] in text, f"/profil/entourage: {slug} not shown")


def check_summary(findings: Findings, page) -> None:
    text = page.locator("main").inner_text()
    for slug in ("groupe-sanguin", "allergies", "maladies", "vaccinations",
                 "contacts-urgence"):
        findings.check(SAMPLES[slug]["main"] in text, f"/profil/resume: {slug} not shown")
    link = page.locator("main a[href$='/profil/resume.pdf']")
    findings.check(link.count() == 1, "/profil/resume: no link to the PDF")
    response = pdf_when_made(page)
    findings.check(response.status == 200 and response.headers["content-type"]
                   == "application/pdf" and response.body().startswith(b"%PDF"),
                   f"/profil/resume.pdf answered {response.status} "
                   f"{response.headers.get('content-type')}")


def pdf_when_made(page, timeout: float = 60):
    """The PDF summary through the page's own cookies: asked for, waited for (as the
    waiting page's htmx asks), asked for again."""
    response = page.request.get(PDF)
    deadline = time.monotonic() + timeout
    while response.headers["content-type"].startswith("text/html"):
        assert time.monotonic() < deadline, "the PDF summary was not made in time"
        if page.request.get(PDF_STATUS, headers=POLLING).status != 204:
            response = page.request.get(PDF)
        else:
            page.wait_for_timeout(200)
    return response


@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_the_pdf_summary_waiting_page(open_page, data, js, width):
    """The PDF is made off the request: the link lands on a waiting page that passes the
    checks; with JavaScript it says in place (announced, focus kept) when the PDF is
    ready; without, its link asks again. Either way the PDF then downloads."""
    fill_everything(data)
    findings = Findings()
    page = open_page(js=js, width=width)
    page.goto("/profil/resume")
    page.get_by_role("link", name="Télécharger le résumé (PDF)").click()
    page.wait_for_load_state()
    findings.check(page.url.endswith(PDF), page.url)
    findings.check(page.title().startswith("Votre résumé PDF est en préparation"),
                   page.title())
    findings.axe(page, js, "résumé PDF en préparation")
    if width == 320:
        findings.reflow(page, "résumé PDF en préparation")
    status = page.locator("#summary-status")
    findings.check(status.get_attribute("role") == "status", "the status is no live region")
    if js:
        page.locator(".back-link a").focus()
        expect(status).to_contain_text("Votre résumé est prêt", timeout=60_000)
        findings.check(page.evaluate(
            "() => !!document.activeElement.closest('.back-link')"),
            "the focus moved when the status changed")
        findings.axe(page, js, "résumé PDF prêt")
        link = status.get_by_role("link", name="Télécharger le résumé (PDF)")
    else:
        pdf_when_made(page)
        link = status.get_by_role("link", name="Télécharger le résumé (PDF) s’il est prêt")
    with page.expect_download() as info:
        link.click()
    findings.check(info.value.suggested_filename == "resume-sante.pdf",
                   info.value.suggested_filename)
    findings.done()


PROFILE_PAGES = {
    "profil": ("/profil", check_overview),
    "mesures": ("/profil/mesures", check_measures_overview),
    "entourage": ("/profil/entourage", check_entourage),
    "resume": ("/profil/resume", check_summary),
}


@pytest.mark.parametrize("name", PROFILE_PAGES)
@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_profile_page_empty_and_filled(open_page, data, name, js, width):
    path, check_filled = PROFILE_PAGES[name]
    findings = Findings()
    page = open_page(js=js, width=width)
    assert page.goto(path).status == 200
    findings.axe(page, js, f"{path} vide")
    if width == 320:
        findings.reflow(page, f"{path} vide")
    fill_everything(data)
    assert page.goto(path).status == 200
    check_filled(findings, page)
    findings.axe(page, js, f"{path} rempli")
    if width == 320:
        findings.reflow(page, f"{path} rempli")
    findings.done()


@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_directives_document(open_page, data, tmp_path, js, width):
    """The upload form for written advance directives: errors, then a document that shows
    on the entourage page."""
    findings = Findings()
    page = open_page(js=js, width=width)
    page.goto("/profil/entourage/document-directives")
    form = page.locator("main form.form")
    status = submit(page, form.get_by_role("button", name="Enregistrer"))
    findings.check(status == 422, f"empty form answered {status}, not 422")
    findings.check(page.title().startswith("Erreur :"), page.title())
    check_error_summary(findings, page, page.locator("main"), "", {"file", "date"},
                        "directives sans fichier")
    if js:
        ok, where = focus_is(page, SUMMARY_FOCUSED)
        findings.check(ok, f"after the failed upload, focus is on {where}, not the summary")
    findings.axe(page, js, "document-directives en erreur")
    if width == 320:
        findings.reflow(page, "document-directives en erreur")

    file = tmp_path / "directives été.txt"
    file.write_text("Je ne souhaite pas d’acharnement thérapeutique.\n", encoding="utf-8")
    page.set_input_files("#file", str(file))
    fill(form, {"date_day": "3", "date_month": "3", "date_year": "2025"})
    assert submit(page, form.get_by_role("button", name="Enregistrer")) == 200
    findings.check(page.url.endswith("/profil/entourage"), page.url)
    findings.check("directives anticipées sont enregistrées" in banner(page), banner(page))
    link = page.get_by_role("link", name="Document de directives anticipées du 3 mars 2025")
    findings.check(link.count() == 1, "no link to the directives document")
    findings.axe(page, js, "/profil/entourage avec un document de directives")
    if width == 320:
        findings.reflow(page, "/profil/entourage avec un document de directives")
    findings.check(len(data.directive_documents()) == 1, "not one directives document")
    findings.done()


# --------------------------------------------------------------------------- 6. measures

def check_chart_and_table(findings: Findings, page, slug: str, count: int,
                          where: str) -> None:
    """The SVG chart named by its title and description, then right below it the table
    with its caption and headers: one row per measure."""
    label = page.locator("h1").inner_text().strip()
    chart = page.locator("#measure-content figure.chart")
    findings.check(chart.count() == 1, f"{where}: no chart")
    if chart.count() != 1:
        return
    svg = chart.locator("svg[role=img]")
    findings.check(svg.count() == 1, f"{where}: no svg[role=img]")
    labelled = (svg.get_attribute("aria-labelledby") or "").split()
    title = chart.locator("svg > title")
    desc = chart.locator("svg > desc")
    findings.check(title.count() == 1 and desc.count() == 1, f"{where}: no title/desc")
    if title.count() == 1 and desc.count() == 1:
        findings.check(labelled == [title.get_attribute("id"), desc.get_attribute("id")],
                       f"{where}: svg aria-labelledby={labelled}")
        findings.check(title.text_content().startswith(label.split(" (")[0]),
                       f"{where}: chart title {title.text_content()!r}")
        findings.check(title.text_content().strip() != "" and
                       desc.text_content().startswith(f"{count} mesures"),
                       f"{where}: chart description {desc.text_content()!r}")
    series = 2 if slug == "tension" else 1
    markers = chart.locator("svg[role=img] g.chart__marker").count()
    findings.check(markers == count * series, f"{where}: {markers} markers, "
                                              f"expected {count * series}")
    if series == 2:
        findings.check(chart.locator(".chart__legend li").count() == 2, f"{where}: no legend")
    region = page.locator("#measure-content figure.chart + .table-scroll")
    findings.check(region.count() == 1, f"{where}: the table is not right below the chart")
    if region.count() != 1:
        return
    findings.check(region.get_attribute("role") == "region"
                   and region.get_attribute("tabindex") == "0",
                   f"{where}: the table's scrolling region is not a focusable region")
    caption = region.locator("table > caption")
    findings.check(caption.count() == 1 and caption.inner_text().strip() != "",
                   f"{where}: no caption")
    if caption.count() == 1:
        findings.check(region.get_attribute("aria-labelledby") == caption.get_attribute("id"),
                       f"{where}: the region is not named by the caption")
    columns = region.locator("thead th[scope=col]").count()
    rows = region.locator("tbody th[scope=row]").count()
    findings.check(columns >= 3, f"{where}: {columns} column headers")
    findings.check(rows == count, f"{where}: {rows} row headers, expected {count}")


def check_today_prefilled(findings: Findings, page) -> None:
    today = today_in_france()
    shown = [page.locator(selector).input_value() for selector in
             ("#add-measured_on", "#add-measured_on-month", "#add-measured_on-year")]
    findings.check(shown == [str(today.day), str(today.month), str(today.year)],
                   f"the date is not today's: {shown}")


MEASURE_CASES = [
    pytest.param(slug, *((True, 1280) if index % 2 == 0 else (False, 320)),
                 id=f"{slug}-{'js-1280' if index % 2 == 0 else 'sans-js-320'}")
    for index, slug in enumerate(MEASURE_SAMPLES)]


@pytest.mark.parametrize(("slug", "js", "width"), MEASURE_CASES)
def test_measure_page_empty_and_with_two_measures(open_page, data, slug, js, width):
    findings = Findings()
    page = open_page(js=js, width=width)
    assert page.goto(f"/profil/mesures/{slug}").status == 200
    check_today_prefilled(findings, page)
    findings.check(page.locator("figure.chart").count() == 0, "a chart with no measure")
    findings.check("Aucune mesure" in page.locator("#measure-content").inner_text(),
                   "the empty history does not say so")
    if width == 320:  # (axe on an empty measure page: test_add_measures_through_the_form)
        findings.reflow(page, f"/profil/mesures/{slug} vide")
    first, second = MEASURE_SAMPLES[slug]
    data.measure(slug, first, today_in_france() - timedelta(days=40))
    data.measure(slug, second, today_in_france(), "8:30")
    page.goto(f"/profil/mesures/{slug}")
    check_chart_and_table(findings, page, slug, 2, f"/profil/mesures/{slug}")
    findings.axe(page, js, f"/profil/mesures/{slug} avec deux mesures")
    if width == 320:
        findings.reflow(page, f"/profil/mesures/{slug} avec deux mesures")
    findings.done()


INVALID_MEASURES = {  # slug -> (form, fields in error, words of the message)
    "poids": ({"value": "700"}, {"value"}, "vérifiez la valeur"),
    "tension": ({"systolic": "80", "diastolic": "120"}, {"diastolic"}, "plus petit"),
}


def measure_form(page):
    return page.locator("#measure-content form[aria-labelledby=add-title]")


def send_measure(page, js: bool, slug: str) -> int:
    button = measure_form(page).get_by_role("button", name="Enregistrer la mesure")
    if js:
        return click_and_swap(page, button, f"/profil/mesures/{slug}", "measure-content")
    return submit(page, button)


@pytest.mark.parametrize(("slug", "js", "width"), [
    pytest.param("poids", True, 1280, id="poids-js-1280"),
    pytest.param("poids", False, 320, id="poids-sans-js-320"),
    pytest.param("tension", True, 320, id="tension-js-320"),
    pytest.param("tension", False, 1280, id="tension-sans-js-1280"),
])
def test_add_measures_through_the_form(open_page, data, slug, js, width):
    """A value out of range (a weight of 700), then two measures, then one deleted."""
    findings = Findings()
    page = open_page(js=js, width=width)
    page.goto(f"/profil/mesures/{slug}")
    if js:
        page.evaluate(MARK)
    check_today_prefilled(findings, page)
    findings.axe(page, js, f"/profil/mesures/{slug} vide")

    invalid, fields, words = INVALID_MEASURES[slug]
    fill(measure_form(page), invalid)
    status = send_measure(page, js, slug)
    findings.check(status == 422, f"an implausible value answered {status}, not 422")
    check_error_summary(findings, page, measure_form(page), "add-", fields,
                        f"/profil/mesures/{slug} en erreur")
    summary = page.locator("[data-error-summary]")
    findings.check(words in summary.inner_text(), f"the error does not say {words!r}: "
                                                  f"{summary.inner_text()!r}")
    check_kept(findings, page, "add-", invalid, f"/profil/mesures/{slug} en erreur")
    findings.check(page.title().startswith("Erreur :"), f"title after a failed measure: "
                   f"{page.title()!r}")
    if js:
        ok, where = focus_is(page, SUMMARY_FOCUSED)
        findings.check(ok, f"after a failed measure, focus is on {where}, not the summary")
    findings.axe(page, js, f"/profil/mesures/{slug} en erreur")
    if width == 320:
        findings.reflow(page, f"/profil/mesures/{slug} en erreur")

    first, second = MEASURE_SAMPLES[slug]
    earlier = today_in_france() - timedelta(days=20)
    for values in ({**first, "measured_on": str(earlier.day), "measured_on_month":
                    str(earlier.month), "measured_on_year": str(earlier.year)},
                   {**second, "time": "8:30"}):
        if js:
            clear_live(page)
        # The date fields' names are measured_on_day/_month/_year; the day's id is bare.
        values = {("measured_on_day" if name == "measured_on" else name): value
                  for name, value in values.items()}
        fill(measure_form(page), values)
        status = send_measure(page, js, slug)
        findings.check(status == 200, f"adding a measure answered {status}")
        if js:
            findings.check(live_text(page) == "Mesure enregistrée.",
                           f"live region says {live_text(page)!r}")
            ok, where = focus_is(page, "e.id === 'history-title'")
            findings.check(ok, f"after adding a measure, focus is on {where}, "
                               f"not h2#history-title")
        else:
            findings.check("mesure est enregistrée" in banner(page), banner(page))
        check_today_prefilled(findings, page)
    check_chart_and_table(findings, page, slug, 2, f"/profil/mesures/{slug}")
    findings.axe(page, js, f"/profil/mesures/{slug} après deux ajouts")
    if width == 320:
        findings.reflow(page, f"/profil/mesures/{slug} après deux ajouts")

    if js:
        findings.check(page.evaluate(NOT_RELOADED), "the page was loaded again")

    # Delete the older one through its confirmation page.
    links = page.locator("#measure-content table a", has_text="Supprimer")
    assert submit(page, links.last) == 200
    assert re.search(rf"/profil/mesures/{slug}/\w+/supprimer$", page.url), page.url
    if not js:
        findings.axe(page, js, f"/profil/mesures/{slug}/…/supprimer")
    assert submit(page, page.get_by_role("button", name="Oui, supprimer")) == 200
    findings.check("mesure est supprimée" in banner(page), banner(page))
    findings.check(page.locator("#measure-content tbody tr").count() == 1, "not one row left")
    findings.check(data.measure_count(slug) == 1, "the measure was not deleted")
    if js:
        findings.check(not page.js_errors, f"JavaScript errors: {page.js_errors}")
    findings.done()


def test_measure_history_pages(open_page, data):
    """23 heart rates: 20 on page 1 (chart and table), 3 on page 2; at 320 px."""
    findings = Findings()
    for days in range(23):
        data.measure("frequence-cardiaque", {"value": str(60 + days)},
                     today_in_france() - timedelta(days=3 * days))
    page = open_page(js=True, width=320)
    page.goto("/profil/mesures/frequence-cardiaque")
    findings.check("Page 1 sur 2" in page.locator("#measure-content").inner_text(),
                   "no 'Page 1 sur 2'")
    check_chart_and_table(findings, page, "frequence-cardiaque", 20, "page 1")
    findings.reflow(page, "/profil/mesures/frequence-cardiaque page 1")
    older = page.locator("nav.pagination").get_by_role("link", name="Mesures plus anciennes")
    assert submit(page, older) == 200
    assert re.search(r"[?&]page=2\b", page.url), page.url
    check_chart_and_table(findings, page, "frequence-cardiaque", 3, "page 2")
    findings.check(page.locator("nav.pagination").get_by_role(
        "link", name="Mesures plus récentes").count() == 1, "page 2: no link back")
    findings.axe(page, True, "/profil/mesures/frequence-cardiaque?page=2")
    findings.reflow(page, "/profil/mesures/frequence-cardiaque page 2")
    findings.done()
