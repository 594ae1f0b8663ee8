"""The professional portal in a real browser (issue 6; ACCESSIBILITY.md items 2, 4, 5, 7, 8,
13, 14, 21): the professional's home, the patient search (NIR, birth date and the statement
that the patient was informed), the patient page, the deposit and vaccination forms, and on
the patient's side "Qui peut accéder à mon espace" and the authorisation matrix in plain
words.

axe (WCAG 2.2 AA tags, the options of the other browser tests) runs on every page empty,
after a failed form (422) and filled, at 1280 and 320 px, JavaScript on and off (two or four
combinations per page). The search and a vaccination are done by keyboard only (Tab, Space,
Enter and typing); a small PNG is deposited through the form and then shows on the patient
page and, for the patient, in her vault as deposited by a professional. At 320 px no page
scrolls sideways.

The professional's care relation with the demo patient, the documents and the profile
entries each test adds are removed afterwards (domain API and plain deletes), so the order
of the tests does not matter and the other modules find the data as the demo seed left it.
"""

from __future__ import annotations

import io
import re
import tempfile
from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import delete, select

from domain import audit, care, profile, vault
from domain.models import CareRelation, Category, Document, ProfileEntry, User
from extensions import blobs, db, keys
from tests.browser import flows, support
from tests.browser.flows import (
    ALL_COMBOS,
    COMBOS,
    banner,
    press_and_load,
    submit,
    tab_to_id,
    tab_to_text,
)

pytestmark = pytest.mark.browser

PATIENT = "camille.martin"
DOCTOR = "dr.bernard"
PHARMACIST = "pharma.petit"
NIR = "2 88 03 75 108 021 50"
BORN = {"born": "14", "born-month": "3", "born-year": "1988"}
PATIENT_NAME = "Camille Martin"
PATIENT_URL = re.compile(r"/pro/patients/([0-9a-f]{32})$")

# Application problems found by these tests and not fixed yet: key -> what is wrong (the
# contract is flows.Findings's).
KNOWN_PROBLEMS: dict[str, str] = {}


# --------------------------------------------------------------------------- data

def _user(login: str) -> User:
    return db.session.execute(select(User).where(User.login == login)).scalar_one()


class Portal:
    """The demo patient as the professionals see her, for one test; whatever the test
    added (care relations, documents, profile entries) is removed afterwards."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            patient = _user(PATIENT)
            self.patient_id = patient.id
            self.relations_before = self._relations()
            self.documents_before = self.document_ids()
            self.entries_before = self.entry_ids()

    def _relations(self) -> dict[str, tuple]:
        rows = db.session.execute(select(CareRelation).where(
            CareRelation.patient_id == self.patient_id)).scalars()
        return {row.professional_id: (row.declared_at, row.blocked, row.blocked_at)
                for row in rows}

    def document_ids(self) -> set[str]:
        with self.app.app_context():
            return set(db.session.execute(select(Document.id).where(
                Document.patient_id == self.patient_id)).scalars())

    def entry_ids(self, section: str | None = None) -> set[str]:
        with self.app.app_context():
            query = select(ProfileEntry.id).where(ProfileEntry.patient_id == self.patient_id)
            if section:
                query = query.where(ProfileEntry.section == section)
            return set(db.session.execute(query).scalars())

    def declare(self, login: str) -> None:
        """The professional's statement, as the search form records it."""
        with self.app.app_context():
            care.declare(db.session, keys.ring, _user(login), _user(PATIENT), audit.Actor())
            db.session.commit()

    def withdraw(self, login: str) -> None:
        """No statement (yet) from this professional; put back by restore()."""
        with self.app.app_context():
            found = care.relation(db.session, self.patient_id, _user(login).id)
            if found is not None:
                found.declared_at, found.blocked, found.blocked_at = None, False, None
                db.session.commit()

    def relation(self, login: str) -> CareRelation | None:
        with self.app.app_context():
            found = care.relation(db.session, self.patient_id, _user(login).id)
            if found is not None:
                db.session.expunge(found)
            return found

    def document(self, *, title: str, category: Category, author: str = PATIENT,
                 hidden: bool = False, day: date = date(2025, 1, 15)) -> str:
        content = f"Contenu de {title}".encode()
        with self.app.app_context(), tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "document"
            path.write_bytes(content)
            added = vault.add_document(
                db.session, keys.ring, blobs.store, patient=_user(PATIENT),
                author=_user(author), path=path, size=len(content), kind="txt",
                mimetype="text/plain; charset=utf-8", file_name=f"{title}.txt", title=title,
                category=category, document_date=day, hidden=hidden, source="test",
                actor=audit.Actor())
            db.session.commit()
            return added.id

    def entry(self, slug: str, form: dict, author: str = PATIENT) -> str:
        section = profile.BY_SLUG[slug]
        with self.app.app_context():
            reading = profile.validate(section, form, date.today())
            assert reading.ok, (slug, reading.problems)
            added = profile.add_entry(db.session, keys.ring, _user(PATIENT), section,
                                      reading.values, author=_user(author),
                                      actor=audit.Actor())
            db.session.commit()
            return added.id

    def restore(self) -> None:
        with self.app.app_context():
            patient = _user(PATIENT)
            for document in db.session.execute(select(Document).where(
                    Document.patient_id == patient.id)).scalars().all():
                if document.id not in self.documents_before:
                    vault.delete_document(db.session, keys.ring, blobs.store, document,
                                          audit.Actor())
            added = self.entry_ids() - self.entries_before
            if added:
                db.session.execute(delete(ProfileEntry).where(ProfileEntry.id.in_(added)))
            for row in db.session.execute(select(CareRelation).where(
                    CareRelation.patient_id == patient.id)).scalars().all():
                before = self.relations_before.get(row.professional_id)
                if before is None:
                    db.session.delete(row)
                else:
                    row.declared_at, row.blocked, row.blocked_at = before
            db.session.commit()


@pytest.fixture
def portal(app):
    state = Portal(app)
    yield state
    state.restore()


def outbox_emails(app) -> dict[str, str]:
    """The e-mails in the test app's outbox: file name -> subject and plain text."""
    folder = Path(app.config["OUTBOX_DIR"]) / "email"
    found = {}
    for path in folder.glob("*.eml") if folder.exists() else ():
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        found[path.name] = f"{message['subject']}\n{message.get_body(('plain',)).get_content()}"
    return found


def png_file(tmp_path, name: str = "radio poignet.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), (20, 90, 160)).save(buffer, "PNG")
    path = tmp_path / name
    path.write_bytes(buffer.getvalue())
    return path


# --------------------------------------------------------------------------- browser

class Findings(flows.Findings):
    known_problems = KNOWN_PROBLEMS


def check_failed_form(findings: Findings, page, js: bool, status: int, fields: list[str],
                      where: str) -> None:
    """flows.check_failed_form, the summary at the top of main (before the h1 and the
    form)."""
    flows.check_failed_form(findings, page, js, status, fields, where,
                              above=("main h1", "main form.form"))


def fill_search(page, nir: str = NIR, born: dict | None = None, informed: bool = True):
    page.fill("#nir", nir)
    for field, value in (born or BORN).items():
        page.fill(f"#{field}", value)
    if informed:
        page.check("#informed")
    else:
        page.uncheck("#informed")


def values(page, ids) -> dict:
    return {field: page.locator(f"#{field}").input_value() for field in ids}


def tab_and_type(page, element_id: str, text: str) -> None:
    """Tab once: the focus must reach `element_id` (the form's order); then type."""
    page.keyboard.press("Tab")
    where = page.evaluate("document.activeElement.id")
    assert where == element_id, f"Tab went to #{where}, expected #{element_id}"
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


# --------------------------------------------------------------------------- 1. home

@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_pro_home(open_page, js, width):
    findings = Findings()
    page = open_page(DOCTOR, js=js, width=width)
    assert page.goto("/pro").status == 200
    findings.check(page.locator("h1").inner_text().strip() == "Espace professionnel",
                   f"/pro: h1 {page.locator('h1').inner_text()!r}")
    button = page.get_by_role("link", name="Trouver un patient")
    findings.check(button.count() == 1 and button.get_attribute("href") == "/pro/patients",
                   "/pro: no 'Trouver un patient' link to /pro/patients")
    findings.check(page.locator("main dl.summary").count() == 1, "/pro: no summary of "
                                                                 "the professional")
    findings.page(page, js, width, "/pro")
    findings.done()


# --------------------------------------------------------------------------- 2. search

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_search_errors_then_patient_page(open_page, portal, js, width):
    """Empty search, then a malformed NIR with an impossible date (typed values kept), then
    a valid pair that matches no open space, then the right one: the patient page."""
    findings = Findings()
    portal.withdraw(DOCTOR)
    page = open_page(DOCTOR, js=js, width=width)
    assert page.goto("/pro/patients").status == 200
    findings.check(page.title().startswith("Trouver un patient"), page.title())
    findings.check(page.locator("form.form[novalidate]").count() == 1, "form without novalidate")
    nir_hint = (page.locator("#nir").get_attribute("aria-describedby") or "").split()
    findings.check("nir-hint" in nir_hint, "#nir not described by its hint")
    findings.check(page.locator("#nir").get_attribute("autocomplete") == "off",
                   "#nir: the patient's NIR must not be autofilled with the doctor's data")
    findings.check(page.locator("fieldset:has(#born) legend").count() == 1,
                   "the birth date is not in a fieldset with a legend")
    findings.check("(obligatoire)" in page.locator("label[for=informed]").inner_text(),
                   "#informed is required but its label does not say so (item 7)")
    # The empty form, the "not found" state and the patient page are the same pages as
    # the error states for axe: all states at js-1280 and sans-js-320 (the combinations
    # of the other tests), the error states only at js-320 and sans-js-1280.
    every_state = (js, width) in ((True, 1280), (False, 320))
    if every_state:
        findings.page(page, js, width, "/pro/patients vide")

    # 1. Nothing typed.
    status = submit(page)
    check_failed_form(findings, page, js, status, ["nir", "born", "informed"],
                      "/pro/patients envoyé vide")
    nir_message = page.locator("#nir-error").inner_text()
    findings.check("votre numéro" not in nir_message,
                   f"the professional is asked for «votre numéro»: {nir_message!r}")
    findings.check("2 88 03 75 108 021 50" in nir_message,
                   f"the NIR error gives no example: {nir_message!r}")
    findings.page(page, js, width, "/pro/patients en erreur (vide)")

    # 2. A NIR too short and 31 February: both explained, what was typed is kept.
    fill_search(page, nir="2 88 03", born={"born": "31", "born-month": "2",
                                           "born-year": "1988"}, informed=True)
    status = submit(page)
    check_failed_form(findings, page, js, status, ["nir", "born"],
                      "/pro/patients NIR et date invalides")
    kept = values(page, ["nir", "born", "born-month", "born-year"])
    findings.check(kept == {"nir": "2 88 03", "born": "31", "born-month": "2",
                            "born-year": "1988"}, f"typed values not kept: {kept}")
    findings.check(page.locator("#informed").is_checked(), "the checked box was not kept")
    findings.check("15 caractères" in page.locator("#nir-error").inner_text(),
                   page.locator("#nir-error").inner_text())
    findings.check("par exemple" in page.locator("#born-error").inner_text(),
                   page.locator("#born-error").inner_text())
    findings.page(page, js, width, "/pro/patients rempli en erreur")

    # 3. Well-formed, but no open space for this pair (the birth date is wrong).
    fill_search(page, born={"born": "15", "born-month": "3", "born-year": "1988"})
    status = submit(page)
    check_failed_form(findings, page, js, status, ["nir"], "/pro/patients patient introuvable")
    findings.check("Aucun espace santé" in page.locator("#nir-error").inner_text(),
                   page.locator("#nir-error").inner_text())
    findings.check(getattr(portal.relation(DOCTOR), "declared_at", None) is None,
                   "a care relation was recorded although no patient matched")
    if every_state:
        findings.page(page, js, width, "/pro/patients patient introuvable")

    # 4. The right pair: the patient page, and the statement recorded.
    fill_search(page)
    status = submit(page)
    findings.check(status == 200, f"the search answered {status}")
    match = PATIENT_URL.search(page.url)
    assert match, f"not on the patient page: {page.url}"
    findings.check(match.group(1) == portal.patient_id, page.url)
    findings.check(page.locator("h1").inner_text().strip() == PATIENT_NAME,
                   page.locator("h1").inner_text())
    # The h1 names the patient; the title stays generic (ACCESSIBILITY.md, item 2).
    findings.check(page.title() == "Dossier patient – Carnet santé", page.title())
    relation = portal.relation(DOCTOR)
    findings.check(relation is not None and relation.declared_at is not None,
                   "the statement was not recorded")
    if every_state:
        findings.page(page, js, width, "/pro/patients/<id>")
    findings.done()


@pytest.mark.parametrize(("js", "width"), [pytest.param(True, 320, id="js-320"),
                                           pytest.param(False, 1280, id="sans-js-1280")])
def test_search_by_keyboard(open_page, portal, js, width):
    """From /pro to the patient page with Tab, Space, Enter and typing only."""
    page = open_page(DOCTOR, js=js, width=width)
    page.goto("/pro")
    tab_to_text(page, "Trouver un patient", "a")
    assert press_and_load(page) == 200
    assert page.url.endswith("/pro/patients"), page.url
    tab_to_id(page, "nir")
    page.keyboard.type(NIR)
    for field, value in BORN.items():
        tab_and_type(page, field, value)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "informed", "Tab to the checkbox"
    page.keyboard.press("Space")
    assert page.locator("#informed").is_checked()
    page.keyboard.press("Tab")
    info = support.focused(page)
    assert info["tag"] == "button" and info["text"] == "Ouvrir l’espace du patient", info
    assert press_and_load(page) == 200
    assert PATIENT_URL.search(page.url), page.url
    assert page.locator("h1").inner_text().strip() == PATIENT_NAME
    assert not page.js_errors, page.js_errors
    # The links of the patient page are reachable by keyboard too.
    tab_to_text(page, "Déposer un document", "a")
    tab_to_text(page, "Inscrire une vaccination", "a")


def test_search_when_blocked_by_the_patient(open_page, portal, app):
    """The patient blocked the doctor on /acces: the search says so (422), nothing opens."""
    findings = Findings()
    portal.declare(DOCTOR)
    mine = open_page(PATIENT, js=False, width=1280)
    mine.goto("/acces")
    assert submit(mine, mine.get_by_role("button", name="Bloquer Julien Bernard")) == 200
    assert submit(mine, mine.get_by_role("button", name="Oui, bloquer Julien Bernard")) == 200
    findings.check("bloqué" in banner(mine), banner(mine))
    findings.page(mine, False, 1280, "/acces après un blocage")

    page = open_page(DOCTOR, js=True, width=320)
    assert page.goto(f"/pro/patients/{portal.patient_id}").status == 404
    page.goto("/pro/patients")
    fill_search(page)
    status = submit(page)
    check_failed_form(findings, page, True, status, ["nir"], "/pro/patients patient bloquant")
    findings.check("ne vous permet pas" in page.locator("#nir-error").inner_text(),
                   page.locator("#nir-error").inner_text())
    findings.page(page, True, 320, "/pro/patients patient bloquant")
    findings.done()


# --------------------------------------------------------------------------- 3. patient page

@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_patient_page_empty_and_filled(open_page, portal, js, width):
    """What the doctor sees: nothing yet, then documents (not the ones the patient hid)
    and profile sections."""
    findings = Findings()
    portal.declare(DOCTOR)
    page = open_page(DOCTOR, js=js, width=width)
    path = f"/pro/patients/{portal.patient_id}"
    assert page.goto(path).status == 200
    main = page.locator("main")
    if not portal.documents_before:
        findings.check("Aucun document que votre profession peut consulter" in
                       main.inner_text(), "empty: no 'Aucun document' sentence")
    findings.check(main.get_by_role("link", name="Déposer un document").count() == 1,
                   "no 'Déposer un document' link")
    findings.check(main.get_by_role("link", name="Inscrire une vaccination").count() == 1,
                   "no 'Inscrire une vaccination' link")
    findings.check("inscrit dans l’historique du patient" in main.inner_text(),
                   "the page does not say the access is recorded")
    findings.page(page, js, width, f"{path} vide")

    portal.document(title="Compte rendu de cardiologie", category=Category.REPORTS)
    portal.document(title="Note personnelle masquée", category=Category.REPORTS, hidden=True)
    portal.document(title="Ordonnance de kinésithérapie", category=Category.PRESCRIPTIONS,
                    author=DOCTOR, day=date(2025, 2, 3))
    portal.entry("allergies", {"substance": "penicillins", "reaction": "Urticaire",
                               "severity": "moderate"})
    portal.entry("groupe-sanguin", {"group": "A+"})
    portal.entry("vaccinations", {"vaccine": "dtp", "given_on_day": "14",
                                  "given_on_month": "3", "given_on_year": "2020"})
    assert page.goto(path).status == 200
    cards = [text.strip() for text in main.locator(".document-list li.card h3").all_inner_texts()]
    findings.check(any(text.startswith("Compte rendu de cardiologie") for text in cards), cards)
    findings.check(any(text.startswith("Ordonnance de kinésithérapie") for text in cards),
                   cards)
    findings.check(not any("masquée" in text for text in cards),
                   f"a document the patient hid is listed: {cards}")
    text = main.inner_text()
    for shown in ("Pénicillines", "A+", "Diphtérie, tétanos, polio"):
        findings.check(shown in text, f"filled: {shown!r} not shown")
    link = main.get_by_role("link", name=re.compile(r"Télécharger .*Ordonnance de kinésithérapie"))
    findings.check(link.count() == 1, "no download link for the doctor's prescription")
    if link.count() == 1:
        name = link.evaluate("a => a.textContent.replace(/\\s+/g, ' ').trim()")
        findings.check(re.search(r"\([^)]+, \d+(,\d+)? [KM]o\)", name) is not None,
                       f"download link {name!r} gives neither the file type nor its size "
                       f"(item 20: «Télécharger l’ordonnance (PDF, 120 Ko)»)")
        response = page.request.get(link.get_attribute("href"))
        findings.check(response.status == 200 and response.body() ==
                       "Contenu de Ordonnance de kinésithérapie".encode(),
                       f"download answered {response.status}")
    findings.page(page, js, width, f"{path} rempli")
    findings.done()


def test_patient_page_needs_the_statement(open_page, portal):
    """Without the statement recorded by the search, the patient page and its forms are
    not found (404), and the error page passes axe."""
    findings = Findings()
    portal.withdraw(DOCTOR)
    page = open_page(DOCTOR, js=False, width=320)
    for suffix in ("", "/deposer", "/vaccinations"):
        response = page.goto(f"/pro/patients/{portal.patient_id}{suffix}")
        findings.check(response.status == 404, f"{suffix or 'patient page'}: "
                                               f"{response.status} without the statement")
    findings.page(page, False, 320, "404 sans déclaration")
    patient = open_page(PATIENT, js=False, width=1280)
    findings.check(patient.goto("/pro/patients").status in (403, 404),
                   "the patient may open the professional search")
    findings.done()


@pytest.mark.parametrize(("js", "width"), [pytest.param(True, 320, id="js-320")])
def test_pharmacist_sees_less(open_page, portal, js, width):
    """A pharmacist: only the categories and sections of the matrix; the deposit form
    offers only what a pharmacist may deposit."""
    findings = Findings()
    portal.declare(PHARMACIST)
    portal.document(title="Ordonnance de paracétamol", category=Category.PRESCRIPTIONS)
    portal.document(title="Compte rendu opératoire", category=Category.REPORTS)
    portal.entry("groupe-sanguin", {"group": "A+"})
    portal.entry("allergies", {"substance": "latex", "severity": "severe"})
    page = open_page(PHARMACIST, js=js, width=width)
    path = f"/pro/patients/{portal.patient_id}"
    assert page.goto(path).status == 200
    text = page.locator("main").inner_text()
    findings.check("Ordonnance de paracétamol" in text, "the prescription is not listed")
    findings.check("Compte rendu opératoire" not in text, "a pharmacist sees a report")
    sections = page.locator("main section.profile-section h3").all_inner_texts()
    findings.check("Allergies" in sections, f"sections: {sections}")
    findings.check(not any("sanguin" in title for title in sections),
                   f"a pharmacist sees the blood group: {sections}")
    findings.page(page, js, width, f"{path} (pharmacien)")

    assert page.goto(f"{path}/deposer").status == 200
    offered = page.locator("#category option").evaluate_all(
        "options => options.map(o => o.value).filter(v => v)")
    findings.check(sorted(offered) == ["prescriptions", "prevention"], offered)
    findings.page(page, js, width, f"{path}/deposer (pharmacien)")
    findings.done()


# --------------------------------------------------------------------------- 4. deposit

@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_deposit_a_png(open_page, portal, app, tmp_path, js, width):
    """The deposit form empty, sent empty, sent without its file (what was typed kept),
    then with a small PNG: the document shows on the patient page and, for the patient,
    in her vault as deposited by a professional."""
    findings = Findings()
    portal.declare(DOCTOR)
    page = open_page(DOCTOR, js=js, width=width)
    path = f"/pro/patients/{portal.patient_id}/deposer"
    assert page.goto(path).status == 200
    findings.check(page.title().startswith("Déposer un document"), page.title())
    described = (page.locator("#file").get_attribute("aria-describedby") or "").split()
    findings.check(bool(described) and all(page.locator(f"#{item}").count() == 1
                                           for item in described),
                   "#file is not tied to a hint: the accepted formats and the size limit "
                   "are in a paragraph above the form, not in aria-describedby (item 5)")
    categories = page.locator("#category option").evaluate_all(
        "options => options.map(o => o.value).filter(v => v)")
    findings.check("imaging" in categories and "administrative" not in categories,
                   f"doctor's deposit categories: {categories}")
    findings.page(page, js, width, f"{path} vide")

    status = submit(page)
    check_failed_form(findings, page, js, status, ["file", "title", "date", "category"],
                      f"{path} envoyé vide")
    findings.page(page, js, width, f"{path} en erreur (vide)")

    title = "Radiographie du poignet"
    page.fill("#title", title)
    page.fill("#date", "31")
    page.fill("#date-month", "2")
    page.fill("#date-year", "2025")
    page.select_option("#category", "imaging")
    status = submit(page)
    check_failed_form(findings, page, js, status, ["file", "date"],
                      f"{path} sans fichier, date impossible")
    kept = values(page, ["title", "date", "date-month", "date-year", "category"])
    findings.check(kept == {"title": title, "date": "31", "date-month": "2",
                            "date-year": "2025", "category": "imaging"},
                   f"typed values not kept: {kept}")
    findings.page(page, js, width, f"{path} rempli en erreur")

    # A date in the future (a typo in the year): the fix offered fits a document's date.
    page.fill("#date", "3")
    page.fill("#date-month", "3")
    page.fill("#date-year", str(date.today().year + 1))
    status = submit(page)
    check_failed_form(findings, page, js, status, ["file", "date"], f"{path} date future")
    date_message = page.locator("#date-error").inner_text()
    findings.check("1988" not in date_message,
                   f"a document dated next year is told «par exemple 1988»: {date_message!r}")

    day = date.today() - timedelta(days=3)
    emails_before = set(outbox_emails(app))
    page.set_input_files("#file", str(png_file(tmp_path)))
    page.fill("#date", str(day.day))
    page.fill("#date-month", str(day.month))
    page.fill("#date-year", str(day.year))
    status = submit(page)
    findings.check(status == 200, f"the deposit answered {status}")
    findings.check(page.url.endswith(f"/pro/patients/{portal.patient_id}"), page.url)
    findings.check("Le document est déposé" in banner(page), f"banner: {banner(page)!r}")
    findings.check(page.locator("main .banner[role=status]").count() == 1,
                   "the confirmation is not a role=status banner")
    link = page.locator("main .document-list a", has_text=title)
    findings.check(link.count() == 1, "the deposited document is not on the patient page")
    added = portal.document_ids() - portal.documents_before
    findings.check(len(added) == 1, f"{len(added)} documents added")
    if link.count() == 1:
        response = page.request.get(link.get_attribute("href"))
        findings.check(response.status == 200 and response.body()[:8] == b"\x89PNG\r\n\x1a\n",
                       f"the doctor's download answered {response.status}")
    findings.page(page, js, width, "/pro/patients/<id> après un dépôt")
    sent = [text for name, text in outbox_emails(app).items() if name not in emails_before]
    findings.check(len(sent) == 1 and "a ajouté un document" in sent[0],
                   f"the patient was not told by e-mail: {sent}")
    findings.check(not any(title in text for text in sent), "the e-mail gives the title")

    # The patient's vault: the document, marked as deposited by a professional.
    mine = open_page(PATIENT, js=js, width=width)
    assert mine.goto("/documents").status == 200
    card = mine.locator("#document-list li.card", has=mine.locator("h3", has_text=title))
    findings.check(card.count() == 1, "the deposited document is not in /documents")
    if card.count() == 1:
        marked = card.inner_text()
        findings.check(("Déposé par un professionnel de santé" in marked
                        or "Déposé par Julien Bernard" in marked)
                       and "Ajouté par vous" not in marked,
                       f"not marked as deposited by a professional: {marked!r}")
    findings.page(mine, js, width, "/documents avec un document déposé")
    findings.done()


# --------------------------------------------------------------------------- 5. vaccination

@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_vaccination_form(open_page, portal, js, width):
    findings = Findings()
    portal.declare(DOCTOR)
    page = open_page(DOCTOR, js=js, width=width)
    path = f"/pro/patients/{portal.patient_id}/vaccinations"
    assert page.goto(path).status == 200
    findings.check(page.title().startswith("Inscrire une vaccination"), page.title())
    findings.check(page.locator("#vaccinator").input_value() == "Julien Bernard",
                   f"vaccinator: {page.locator('#vaccinator').input_value()!r}")
    findings.check(page.locator("fieldset:has(#given_on) legend").count() == 1,
                   "the date is not in a fieldset with a legend")
    findings.page(page, js, width, f"{path} vide")

    status = submit(page)
    check_failed_form(findings, page, js, status, ["vaccine", "given_on"],
                      f"{path} envoyé vide")
    findings.page(page, js, width, f"{path} en erreur (vide)")

    page.select_option("#vaccine", "influenza")
    page.fill("#given_on", "31")
    page.fill("#given_on-month", "2")
    page.fill("#given_on-year", "2024")
    page.fill("#lot", "LOT-GARDE")
    status = submit(page)
    check_failed_form(findings, page, js, status, ["given_on"], f"{path} date impossible")
    kept = values(page, ["vaccine", "given_on", "given_on-month", "given_on-year", "lot",
                         "vaccinator"])
    findings.check(kept == {"vaccine": "influenza", "given_on": "31", "given_on-month": "2",
                            "given_on-year": "2024", "lot": "LOT-GARDE",
                            "vaccinator": "Julien Bernard"}, f"typed values not kept: {kept}")
    findings.page(page, js, width, f"{path} rempli en erreur")

    # Before the patient's birth (1988): the message speaks of the patient, not of «vous».
    page.fill("#given_on", "1")
    page.fill("#given_on-month", "1")
    page.fill("#given_on-year", "1980")
    status = submit(page)
    check_failed_form(findings, page, js, status, ["given_on"], f"{path} avant la naissance")
    birth_message = page.locator("#given_on-error").inner_text()
    findings.check("votre naissance" not in birth_message,
                   f"the professional is told «avant votre naissance»: {birth_message!r}")

    page.fill("#given_on", "15")
    page.fill("#given_on-month", "10")
    page.fill("#given_on-year", "2024")
    status = submit(page)
    findings.check(status == 200, f"the vaccination answered {status}")
    findings.check(page.url.endswith(f"/pro/patients/{portal.patient_id}"), page.url)
    findings.check("La vaccination est inscrite" in banner(page), f"banner: {banner(page)!r}")
    section = page.locator("main section[aria-labelledby=pro-section-vaccinations]")
    findings.check("Grippe" in (section.inner_text() if section.count() else ""),
                   "the vaccination is not in the patient page's vaccinations")
    findings.check(len(portal.entry_ids("vaccinations") - portal.entries_before) == 1,
                   "not one vaccination recorded")
    findings.page(page, js, width, "/pro/patients/<id> après une vaccination")
    findings.done()


@pytest.mark.parametrize(("js", "width"), [pytest.param(False, 320, id="sans-js-320"),
                                           pytest.param(True, 1280, id="js-1280")])
def test_vaccination_by_keyboard(open_page, portal, js, width):
    """From the patient page to the recorded vaccination with the keyboard only; the
    patient then sees it locked in her record."""
    portal.declare(DOCTOR)
    page = open_page(DOCTOR, js=js, width=width)
    page.goto(f"/pro/patients/{portal.patient_id}")
    tab_to_text(page, "Inscrire une vaccination", "a")
    assert press_and_load(page) == 200
    assert page.url.endswith("/vaccinations"), page.url
    tab_to_id(page, "vaccine")
    page.keyboard.type("Grippe")  # type-ahead in a closed select
    assert page.locator("#vaccine").input_value() == "influenza"
    for field, value in (("given_on", "15"), ("given_on-month", "10"),
                         ("given_on-year", "2025")):
        tab_and_type(page, field, value)
    tab_and_type(page, "dose", "1")
    tab_and_type(page, "lot", "FLU-2025")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "vaccinator"
    tab_to_text(page, "Inscrire la vaccination", "button")
    assert press_and_load(page) == 200
    assert page.url.endswith(f"/pro/patients/{portal.patient_id}"), page.url
    expect(page.locator("main .banner")).to_contain_text("La vaccination est inscrite")
    assert not page.js_errors, page.js_errors

    mine = open_page(PATIENT, js=js, width=width)
    assert mine.goto("/profil/vaccinations").status == 200
    added = portal.entry_ids("vaccinations") - portal.entries_before
    assert len(added) == 1, added
    entry = mine.locator(f"li#entry-{added.pop()}")
    expect(entry).to_contain_text("Grippe")
    expect(entry).to_contain_text("Saisie par un professionnel de santé")
    assert entry.get_by_role("link").count() == 0, "the patient can change the doctor's entry"


# --------------------------------------------------------------------------- 6. the patient

@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_who_can_access_and_the_matrix(open_page, portal, js, width):
    """/acces before and after the doctor's statement, a search for a professional, and
    the authorisation matrix in plain words."""
    findings = Findings()
    page = open_page(PATIENT, js=js, width=width)
    assert page.goto("/acces").status == 200
    findings.page(page, js, width, "/acces")
    portal.declare(DOCTOR)
    assert page.goto("/acces").status == 200
    active = page.locator("ul[aria-labelledby=active-title]")
    findings.check(active.count() == 1 and "Julien Bernard" in active.inner_text(),
                   "/acces does not list the doctor who declared an access")
    findings.page(page, js, width, "/acces avec un professionnel")
    tab_to_id(page, "q")
    page.keyboard.type("Bernard")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/acces\?q=Bernard"))
    findings.check(page.get_by_role("button", name="Désigner Julien Bernard comme médecin "
                                                   "traitant").count() == 1,
                   "the search does not offer to designate the doctor")
    findings.page(page, js, width, "/acces?q=Bernard")

    tab_to_text(page, "Qui peut voir quoi dans mon espace", "a")
    assert press_and_load(page) == 200
    assert page.url.endswith("/acces/qui-voit-quoi"), page.url
    professions = page.locator("main section.profile-section > h2").all_inner_texts()
    findings.check(len(professions) == 7 and "Médecins" in professions
                   and "Pharmaciens" in professions, f"professions: {professions}")
    findings.check("Jamais, même avec votre accord" in page.locator("main").inner_text(),
                   "the matrix does not say who never gets access")
    findings.page(page, js, width, "/acces/qui-voit-quoi")
    findings.done()
