"""Access control in a real browser, from both sides (ACCESSIBILITY.md items 2, 4–8, 11,
13–15, 20, 21 and the htmx patterns):

- the patient (camille.martin): "Qui peut accéder à mon espace" (/acces: attending doctor,
  professionals who accessed, blocked ones, search by name or RPPS number with the
  "Bloquer …" and "Désigner … comme médecin traitant" buttons), the matrix in plain words
  (/acces/qui-voit-quoi), the emergency settings (/acces/urgence: three yes/no groups) and
  the access history (/acces/historique: tabs as links with aria-current, filters, CSV link,
  a table with its caption in a focusable scrolling region, and "Voir les actions plus
  anciennes", which loads the next 25 rows with htmx or goes to the next page without
  JavaScript);
- the professional (dr.bernard): emergency access (/pro/urgence), its errors (422, error
  summary) and the patient page it opens, with its emergency banner.

axe (WCAG 2.2 AA tags, the options of the other browser tests) runs on every page and state
(empty, filled, after an error, after each htmx "load more"). Each test runs at two of the
four combinations of width (1280, 320 px) and JavaScript (on, off), chosen so that every page
is seen at both widths and in both modes across the tests: js-1280 and sans-js-320, or js-320
and sans-js-1280 where test_pro_portal.py already uses the first two (it checks /acces and the
matrix as the professional's statement changes them; here /acces is seen with blocks, an
attending doctor and searches); the "load more" tests run JavaScript on, then off, at both
widths. Blocking then unblocking a professional and changing the emergency settings are done
by keyboard only. At 320 px the page never scrolls sideways; the history table scrolls
inside its own focusable, named region.

History rows are seeded with domain.audit.record (professional actions on the demo patient)
on a date of their own in 2001, and the pages are read filtered on that date, so the counts
do not depend on what the other tests did. The audit trail is append-only (each row chains to
the previous one): those rows stay. Everything else a test changes (care relations, the
attending doctor, the emergency settings, emergency accesses) is put back afterwards, so the
order of the tests does not matter and the other modules find the demo data as they expect.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from domain import audit, care
from domain.models import CareRelation, EmergencyAccess, User
from extensions import db, keys
from tests.browser import flows, support
from tests.browser.flows import (
    CLEAR_LIVE,
    COMBOS,
    FOCUS,
    MARK,
    NOT_RELOADED,
    banner,
    focused_id,
    press_and_load,
    submit,
    tab_to_id,
    tab_to_text,
)

pytestmark = pytest.mark.browser

PATIENT = "camille.martin"
DOCTOR = "dr.bernard"
PHARMACIST = "pharma.petit"
DOCTOR_NAME = "Julien Bernard"
DOCTOR_RPPS = "10001234565"
PHARMACIST_NAME = "Sophie Petit"
PHARMACIST_RPPS = "10007654329"
NIR = "2 88 03 75 108 021 50"
BORN = {"born": "14", "born-month": "3", "born-year": "1988"}
REASON = "Patiente inconsciente aux urgences, recherche d’allergies et de traitements"
PATIENT_URL = re.compile(r"/pro/patients/([0-9a-f]{32})$")
PER_PAGE = 25

OTHER_COMBOS = [pytest.param(True, 320, id="js-320"),
                pytest.param(False, 1280, id="sans-js-1280")]
WIDTHS = [pytest.param(1280, id="1280"), pytest.param(320, id="320")]

# Application problems found by these tests and not fixed yet: key -> what is wrong (the
# contract is flows.Findings's).
KNOWN_PROBLEMS: dict[str, str] = {}


# --------------------------------------------------------------------------- data

def _user(login: str) -> User:
    return db.session.execute(select(User).where(User.login == login)).scalar_one()


_history_days = itertools.count()


class Access:
    """The demo patient's access settings for one test, put back afterwards."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            patient = _user(PATIENT)
            self.patient_id = patient.id
            self.settings_before = self._settings(patient)
            self.relations_before = {
                row.professional_id: (row.declared_at, row.blocked, row.blocked_at)
                for row in self._relations()}
            self.emergencies_before = set(db.session.execute(select(EmergencyAccess.id).where(
                EmergencyAccess.patient_id == patient.id)).scalars())

    @staticmethod
    def _settings(patient: User) -> tuple:
        return (patient.attending_doctor_id, patient.emergency_samu, patient.emergency_others,
                patient.emergency_hidden)

    def _relations(self) -> list[CareRelation]:
        return list(db.session.execute(select(CareRelation).where(
            CareRelation.patient_id == self.patient_id)).scalars())

    def clear(self) -> None:
        """No care relation, no attending doctor, the default emergency settings."""
        with self.app.app_context():
            for row in self._relations():
                db.session.delete(row)
            patient = _user(PATIENT)
            patient.attending_doctor_id = None
            patient.emergency_samu = patient.emergency_others = True
            patient.emergency_hidden = False
            db.session.commit()

    def declare(self, login: str) -> None:
        with self.app.app_context():
            care.declare(db.session, keys.ring, _user(login), _user(PATIENT), audit.Actor())
            db.session.commit()

    def block(self, login: str) -> None:
        with self.app.app_context():
            care.set_blocked(db.session, keys.ring, _user(PATIENT), _user(login), True,
                             audit.Actor())
            db.session.commit()

    def attending(self, login: str | None) -> None:
        with self.app.app_context():
            care.set_attending(db.session, keys.ring, _user(PATIENT),
                               _user(login) if login else None, audit.Actor())
            db.session.commit()

    def blocked(self, login: str) -> bool:
        with self.app.app_context():
            found = care.relation(db.session, self.patient_id, _user(login).id)
            return found is not None and found.blocked

    def attending_id(self) -> str | None:
        with self.app.app_context():
            return _user(PATIENT).attending_doctor_id

    def user_id(self, login: str) -> str:
        with self.app.app_context():
            return _user(login).id

    def emergency_settings(self) -> tuple[bool, bool, bool]:
        with self.app.app_context():
            patient = _user(PATIENT)
            return patient.emergency_samu, patient.emergency_others, patient.emergency_hidden

    def set_emergency(self, *, samu: bool = True, others: bool = True,
                      hidden: bool = False) -> None:
        with self.app.app_context():
            patient = _user(PATIENT)
            patient.emergency_samu, patient.emergency_others = samu, others
            patient.emergency_hidden = hidden
            db.session.commit()

    def emergencies(self) -> set[str]:
        with self.app.app_context():
            return set(db.session.execute(select(EmergencyAccess.id).where(
                EmergencyAccess.patient_id == self.patient_id)).scalars()) \
                - self.emergencies_before

    def fill_history(self, count: int) -> date:
        """`count` document readings by the doctor and the pharmacist (alternately), and one
        action of the patient's own, all on a day of their own in 2001: read the history
        filtered on that day."""
        day = date(2001, 1, 1) + timedelta(days=next(_history_days))
        with self.app.app_context():
            patient = _user(PATIENT)
            doctor, pharmacist = _user(DOCTOR), _user(PHARMACIST)
            start = datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)
            for index in range(count):
                who = doctor if index % 2 else pharmacist
                audit.record(db.session, keys.ring, "document.read",
                             actor=audit.Actor(user_id=who.id, acting_as="professional"),
                             subject_id=patient.id, target_type="document",
                             target_id=f"{index:032x}", now=start + timedelta(minutes=index))
            audit.record(db.session, keys.ring, "profile.entry_added",
                         actor=audit.Actor(user_id=patient.id, acting_as="patient"),
                         subject_id=patient.id, now=start + timedelta(minutes=count))
            db.session.commit()
        return day

    def restore(self) -> None:
        with self.app.app_context():
            added = self.emergencies()
            if added:
                db.session.execute(delete(EmergencyAccess).where(
                    EmergencyAccess.id.in_(added)))
            for row in self._relations():
                before = self.relations_before.get(row.professional_id)
                if before is None:
                    db.session.delete(row)
                else:
                    row.declared_at, row.blocked, row.blocked_at = before
            present = {row.professional_id for row in self._relations()}
            for professional_id, (declared_at, blocked, blocked_at) in \
                    self.relations_before.items():
                if professional_id not in present:
                    professional = db.session.get(User, professional_id)
                    db.session.add(CareRelation(
                        patient_id=self.patient_id, professional_id=professional_id,
                        professional_sector=professional.sector.value,
                        declared_at=declared_at, blocked=blocked, blocked_at=blocked_at))
            patient = _user(PATIENT)
            (patient.attending_doctor_id, patient.emergency_samu, patient.emergency_others,
             patient.emergency_hidden) = self.settings_before
            db.session.commit()


@pytest.fixture
def access(app):
    """The demo patient without care relations, attending doctor or emergency changes;
    whatever was there is put back afterwards."""
    state = Access(app)
    state.clear()
    yield state
    state.restore()


# --------------------------------------------------------------------------- browser

# A table wider than its scrolling region: the region must be reachable by keyboard and
# named (WCAG 2.1.1, 4.1.2); the page itself must not scroll sideways (1.4.10).
SCROLL_REGIONS = """() => Array.from(document.querySelectorAll("main table")).map(table => {
  const region = table.closest(".table-scroll");
  return {caption: table.caption ? table.caption.textContent.trim() : null,
          region: !!region,
          scrolls: region ? region.scrollWidth > region.clientWidth + 1 : false,
          tabindex: region ? region.getAttribute("tabindex") : null,
          role: region ? region.getAttribute("role") : null,
          named: region ? !!(region.getAttribute("aria-label") ||
            (region.getAttribute("aria-labelledby") &&
             document.getElementById(region.getAttribute("aria-labelledby")))) : false,
          tableRight: table.getBoundingClientRect().right,
          regionRight: region ? region.getBoundingClientRect().right : null};
})"""


class Findings(flows.Findings):
    """The shared checks; at 320 px also wide tables in a named focusable region."""

    known_problems = KNOWN_PROBLEMS

    def reflow(self, page, where: str, known: str | None = None) -> None:
        super().reflow(page, where, known)
        for table in page.evaluate(SCROLL_REGIONS):
            self.check(table["region"], f"{where}: table {table['caption']!r} is not in a "
                                        f"scrolling region")
            if table["scrolls"]:
                self.check(table["tabindex"] == "0" and table["named"],
                           f"{where}: the scrolling region of {table['caption']!r} is not "
                           f"focusable and named: {table}")


def check_banner(findings: Findings, page, text: str, where: str) -> None:
    """A success message after a redirect: shown in a role=status banner."""
    found = page.locator("main .banner", has_text=text)
    findings.check(found.count() == 1, f"{where}: no banner saying {text!r} ({banner(page)!r})")
    if found.count() == 1:
        findings.check(found.get_attribute("role") == "status",
                       f"{where}: the banner {text!r} is not role=status")


def section_names(page, title_id: str) -> list[str]:
    """The names (h3) listed under one of /acces's h2 (attending, active, blocked)."""
    return page.locator(f"ul[aria-labelledby={title_id}] li h3").all_inner_texts()


def search(page, query: str) -> None:
    page.fill("#q", query)
    with page.expect_navigation():
        page.get_by_role("button", name="Chercher").click()
    assert "q=" in page.url, page.url


# --------------------------------------------------------------------------- 1. /acces

@pytest.mark.parametrize(("js", "width"), OTHER_COMBOS)
def test_overview_states(open_page, access, js, width):
    """/acces empty; with an attending doctor, a professional who accessed and a blocked
    one; searching by name, by RPPS number (a blocked professional: "Déjà bloqué."), and for
    nobody (a status message)."""
    findings = Findings()
    page = open_page(PATIENT, js=js, width=width)
    assert page.goto("/acces").status == 200
    main = page.locator("main")
    text = main.inner_text()
    findings.check("Vous n’avez pas indiqué de médecin traitant" in text,
                   "empty: no sentence about the missing attending doctor")
    findings.check("Aucun professionnel n’a encore accédé à votre espace" in text,
                   "empty: no sentence about nobody having accessed")
    findings.check("Vous n’avez bloqué personne" in text, "empty: no sentence about blocks")
    search_label = "Nom de famille ou numéro de professionnel (RPPS, 11 chiffres)"
    findings.check(page.get_by_label(search_label).count() == 1,
                   "the search field #q has no visible label")
    findings.check(page.locator("form[role=search]").count() == 1, "no search landmark")
    findings.page(page, js, width, "/acces vide")

    access.declare(DOCTOR)
    access.attending(DOCTOR)
    access.block(PHARMACIST)
    assert page.goto("/acces").status == 200
    findings.check(DOCTOR_NAME in page.locator("#attending-title + p").inner_text(),
                   "the attending doctor is not named under 'Mon médecin traitant'")
    findings.check(page.get_by_role("button", name=f"Retirer {DOCTOR_NAME} comme médecin "
                                                   "traitant").count() == 1,
                   "no 'Retirer … comme médecin traitant' button")
    findings.check(section_names(page, "active-title") == [DOCTOR_NAME],
                   f"accessed: {section_names(page, 'active-title')}")
    findings.check(section_names(page, "blocked-title") == [PHARMACIST_NAME],
                   f"blocked: {section_names(page, 'blocked-title')}")
    findings.check(page.get_by_role("button", name=f"Bloquer {DOCTOR_NAME}").count() == 1,
                   "no 'Bloquer Julien Bernard' button in the list")
    findings.check(page.get_by_role("button", name=f"Débloquer {PHARMACIST_NAME}").count()
                   == 1, "no 'Débloquer Sophie Petit' button")
    findings.page(page, js, width, "/acces rempli")

    search(page, "bernard")  # the family name, any case
    results = page.locator("ul[aria-label='Résultats de la recherche'] li")
    findings.check(results.count() == 1, f"search 'bernard': {results.count()} results")
    findings.check(page.locator("#q").input_value() == "bernard", "the query is not kept")
    # Already the attending doctor: "Bloquer" only, no "Désigner".
    findings.check(results.get_by_role("button", name=f"Bloquer {DOCTOR_NAME}").count() == 1,
                   "search: no 'Bloquer Julien Bernard'")
    findings.check(results.get_by_role("button", name=re.compile("^Désigner")).count() == 0,
                   "search: offers to designate the attending doctor again")
    findings.page(page, js, width, "/acces?q=bernard")

    search(page, PHARMACIST_RPPS)
    results = page.locator("ul[aria-label='Résultats de la recherche'] li")
    findings.check(results.count() == 1 and "Déjà bloqué." in results.inner_text(),
                   "search by RPPS of a blocked pharmacist: no 'Déjà bloqué.'")
    findings.check(results.get_by_role("button").count() == 0,
                   "a blocked professional can be blocked or designated again")
    findings.page(page, js, width, f"/acces?q={PHARMACIST_RPPS}")

    search(page, "Zzyzx")
    status = page.locator("main [role=status]", has_text="Aucun professionnel de santé ne "
                                                         "correspond à « Zzyzx »")
    findings.check(status.count() == 1, "no result: no status message naming the query")
    findings.page(page, js, width, "/acces?q=Zzyzx (aucun résultat)")
    findings.done()


@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_designate_then_remove_the_attending_doctor(open_page, access, js, width):
    """Search by RPPS number, "Désigner … comme médecin traitant", then "Retirer …"."""
    findings = Findings()
    page = open_page(PATIENT, js=js, width=width)
    page.goto("/acces")
    search(page, DOCTOR_RPPS)
    results = page.locator("ul[aria-label='Résultats de la recherche'] li")
    findings.check(results.count() == 1 and DOCTOR_NAME in results.inner_text(),
                   f"search by RPPS {DOCTOR_RPPS}: {results.all_inner_texts()}")
    designate = page.get_by_role("button", name=f"Désigner {DOCTOR_NAME} comme médecin "
                                                "traitant")
    findings.check(designate.count() == 1, "no 'Désigner … comme médecin traitant' button")
    findings.page(page, js, width, f"/acces?q={DOCTOR_RPPS}")
    assert submit(page, designate) == 200
    assert page.url.endswith("/acces"), page.url
    check_banner(findings, page, f"{DOCTOR_NAME} est votre médecin traitant.", "designated")
    findings.check(access.attending_id() == access.user_id(DOCTOR), "not saved")
    findings.check(DOCTOR_NAME in page.locator("#attending-title + p").inner_text(),
                   "the attending doctor is not shown")
    findings.page(page, js, width, "/acces après « Désigner »")

    remove = page.get_by_role("button", name=f"Retirer {DOCTOR_NAME} comme médecin traitant")
    assert submit(page, remove) == 200
    check_banner(findings, page, "Vous n’avez plus de médecin traitant déclaré ici.",
                 "removed")
    findings.check(access.attending_id() is None, "the attending doctor was not removed")
    findings.check("Vous n’avez pas indiqué de médecin traitant" in
                   page.locator("#attending-title + p").inner_text(),
                   "after 'Retirer', the page still shows an attending doctor")
    findings.done()


@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_block_then_unblock_by_keyboard(open_page, access, js, width):
    """Tab, typing, Enter and Space only: search the doctor, block him, unblock him."""
    findings = Findings()
    access.declare(DOCTOR)
    page = open_page(PATIENT, js=js, width=width)
    page.goto("/acces")
    tab_to_id(page, "q")
    page.keyboard.type("Bernard")
    assert press_and_load(page, "Enter") == 200  # implicit submission of the search form
    assert re.search(r"/acces\?q=Bernard$", page.url), page.url

    # From the search field, Tab goes to the results (the list above has its own
    # "Bloquer" button for the doctor, who accessed the space).
    tab_to_id(page, "q")
    info = tab_to_text(page, f"Bloquer {DOCTOR_NAME}", "button")
    findings.check(info["top"] >= 0 and info["bottom"] <= page.viewport_size["height"],
                   f"the focused 'Bloquer' button is off screen: {info}")
    findings.check(page.evaluate("() => !!document.activeElement.closest("
                                 "\"ul[aria-label='Résultats de la recherche']\")"),
                   "from #q, Tab does not reach the results' 'Bloquer' button first")
    assert press_and_load(page, " ") == 200  # Space on the button
    # Nothing is blocked yet: a page says what will change and asks (issue 17, item 5).
    findings.check(page.locator("h1").inner_text() == f"Bloquer {DOCTOR_NAME} ?",
                   f"no confirmation page: {page.locator('h1').inner_text()!r}")
    findings.check(not access.blocked(DOCTOR), "blocked before the confirmation")
    findings.page(page, js, width, "confirmation du blocage")
    tab_to_text(page, f"Oui, bloquer {DOCTOR_NAME}", "button")
    assert press_and_load(page, "Enter") == 200
    assert page.url.endswith("/acces"), page.url
    check_banner(findings, page, f"Accès bloqué pour {DOCTOR_NAME} : cette personne ne voit "
                                 "plus rien de votre espace.", "after blocking")
    findings.check(access.blocked(DOCTOR), "the doctor is not blocked")
    findings.check(section_names(page, "blocked-title") == [DOCTOR_NAME],
                   f"blocked list: {section_names(page, 'blocked-title')}")
    findings.check(section_names(page, "active-title") == [],
                   f"the blocked doctor is still listed as accessing: "
                   f"{section_names(page, 'active-title')}")
    findings.page(page, js, width, "/acces après un blocage au clavier")

    tab_to_text(page, f"Débloquer {DOCTOR_NAME}", "button")
    assert press_and_load(page, "Enter") == 200
    check_banner(findings, page, f"Accès débloqué pour {DOCTOR_NAME}.", "after unblocking")
    findings.check(not access.blocked(DOCTOR), "the doctor is still blocked")
    findings.check(section_names(page, "blocked-title") == [],
                   f"blocked list: {section_names(page, 'blocked-title')}")
    findings.check(section_names(page, "active-title") == [DOCTOR_NAME],
                   f"accessed list: {section_names(page, 'active-title')}")
    findings.page(page, js, width, "/acces après un déblocage au clavier")
    findings.done()


@pytest.mark.parametrize(("js", "width"), OTHER_COMBOS)
def test_matrix(open_page, js, width):
    """/acces/qui-voit-quoi, at the two combinations test_pro_portal.py does not use."""
    findings = Findings()
    page = open_page(PATIENT, js=js, width=width)
    page.goto("/acces")
    matrix = page.locator("main").get_by_role("link", name="Qui peut voir quoi dans mon espace")
    assert submit(page, matrix) == 200
    assert page.url.endswith("/acces/qui-voit-quoi"), page.url
    professions = page.locator("main section.profile-section > h2").all_inner_texts()
    findings.check(len(professions) == 7, f"professions: {professions}")
    findings.check(page.get_by_role("link", name="Accès et historique").count() == 1,
                   "no link back to /acces")
    findings.page(page, js, width, "/acces/qui-voit-quoi")
    findings.done()


# --------------------------------------------------------------------------- 2. emergency

SETTING_IDS = {"samu": ("samu", "samu-non"), "others": ("others", "others-non"),
               "hidden": ("hidden", "hidden-non")}


def checked_settings(page) -> dict[str, str]:
    return {name: page.locator(f"input[name={name}]:checked").get_attribute("value")
            for name in SETTING_IDS}


@pytest.mark.parametrize(("js", "width"), OTHER_COMBOS)
def test_emergency_settings_page(open_page, access, js, width):
    """Three yes/no groups in fieldsets, the saved state shown again after saving."""
    findings = Findings()
    page = open_page(PATIENT, js=js, width=width)
    page.goto("/acces")
    settings = page.locator("main").get_by_role("link", name="Accès en cas d’urgence")
    assert submit(page, settings) == 200
    assert page.url.endswith("/acces/urgence"), page.url
    findings.check(checked_settings(page) == {"samu": "oui", "others": "oui", "hidden": "non"},
                   f"defaults shown: {checked_settings(page)}")
    legends = page.locator("main form fieldset > legend").all_inner_texts()
    findings.check(len(legends) == 3, f"{len(legends)} fieldsets with a legend, not 3")
    findings.page(page, js, width, "/acces/urgence")

    page.check("#samu-non")
    page.check("#hidden")
    assert submit(page) == 200
    assert page.url.endswith("/acces/urgence"), page.url
    check_banner(findings, page, "Vos paramètres d’urgence sont enregistrés.", "after saving")
    findings.check(access.emergency_settings() == (False, True, True),
                   f"saved: {access.emergency_settings()}")
    findings.check(checked_settings(page) == {"samu": "non", "others": "oui", "hidden": "oui"},
                   f"shown after saving: {checked_settings(page)}")
    findings.page(page, js, width, "/acces/urgence après enregistrement")
    findings.done()


def test_emergency_settings_by_keyboard(open_page, access):
    """Tab to each group (it lands on the checked radio), an arrow key to choose the other
    answer (the only way into a radio group's other button), Tab to "Enregistrer", Enter."""
    findings = Findings()
    page = open_page(PATIENT, js=True, width=1280)
    page.goto("/acces/urgence")
    tab_to_id(page, "samu")
    page.keyboard.press("ArrowDown")
    findings.check(focused_id(page) == "samu-non" and page.is_checked("#samu-non"),
                   "ArrowDown in the SAMU group did not choose 'Non'")
    page.keyboard.press("Tab")
    findings.check(focused_id(page) == "others", f"Tab after the SAMU group went to "
                                                 f"#{focused_id(page)}, not #others")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    findings.check(focused_id(page) == "hidden-non", f"Tab went to #{focused_id(page)}, "
                                                     "not the checked #hidden-non")
    page.keyboard.press("ArrowUp")
    findings.check(page.is_checked("#hidden"), "ArrowUp did not choose 'Oui'")
    tab_to_text(page, "Enregistrer", "button")
    assert press_and_load(page, "Enter") == 200
    check_banner(findings, page, "Vos paramètres d’urgence sont enregistrés.", "after saving")
    findings.check(access.emergency_settings() == (False, False, True),
                   f"saved: {access.emergency_settings()}")
    findings.check(checked_settings(page) == {"samu": "non", "others": "non", "hidden": "oui"},
                   f"shown after saving: {checked_settings(page)}")

    # Back to the defaults, still by keyboard: Space on the other radio after arrowing.
    tab_to_id(page, "samu-non")
    page.keyboard.press("ArrowUp")
    tab_to_id(page, "others-non")
    page.keyboard.press("ArrowUp")
    tab_to_id(page, "hidden")
    page.keyboard.press("ArrowDown")
    tab_to_text(page, "Enregistrer", "button")
    assert press_and_load(page, " ") == 200
    findings.check(access.emergency_settings() == (True, True, False),
                   f"saved: {access.emergency_settings()}")
    findings.done()


def fill_emergency(page, nir: str = NIR, born: dict | None = None, reason: str = "") -> None:
    page.fill("#nir", nir)
    for field, value in (born or BORN).items():
        page.fill(f"#{field}", value)
    page.fill("#reason", reason)


def check_failed_emergency(findings: Findings, page, js: bool, status: int,
                           fields: list[str], where: str, typed: dict | None = None) -> None:
    """flows.check_failed_form, the summary above the h1; typed values kept."""
    if flows.check_failed_form(findings, page, js, status, fields, where,
                                 above=("main h1",)) is None:
        return
    expected = {"nir": NIR, **BORN} if typed is None else typed
    kept = {field: page.locator(f"#{field}").input_value() for field in expected}
    findings.check(kept == expected, f"{where}: typed values not kept: {kept}")


@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_emergency_access_end_to_end(open_page, access, js, width):
    """dr.bernard: /pro/urgence empty, sent empty (422, three errors), without a reason
    (422), with a too short one (422), then with a reason: the patient page with its
    emergency banner. camille: the access in her history, with the reason and "En urgence",
    and the doctor among the professionals who accessed her space."""
    findings = Findings()
    doctor = open_page(DOCTOR, js=js, width=width)
    assert doctor.goto("/pro/urgence").status == 200
    reason_label = doctor.locator("label[for=reason]").inner_text()
    findings.check("(obligatoire)" in reason_label, f"reason label: {reason_label!r}")
    findings.check("reason-hint" in (doctor.get_attribute("#reason", "aria-describedby")
                                     or ""), "#reason is not described by its hint")
    findings.check(doctor.locator("fieldset legend", has_text="Date de naissance du patient")
                   .count() == 1, "the birth date is not in a fieldset with a legend")
    findings.page(doctor, js, width, "/pro/urgence")

    status = submit(doctor)
    check_failed_emergency(findings, doctor, js, status, ["nir", "born", "reason"],
                           "envoyé vide", typed={"nir": "", "born": "", "reason": ""})
    nir_error = doctor.locator("#nir-error").inner_text() if \
        doctor.locator("#nir-error").count() else ""
    findings.check("patient" in nir_error and "votre" not in nir_error,
                   f"/pro/urgence sent empty: the NIR error speaks to the patient, not the "
                   f"professional: {nir_error!r}")
    findings.check("14 3 1988" in doctor.locator("#born-error").inner_text(),
                   "the birth date error gives no example")
    findings.page(doctor, js, width, "/pro/urgence envoyé vide (422)")

    fill_emergency(doctor, reason="")
    status = submit(doctor)
    check_failed_emergency(findings, doctor, js, status, ["reason"], "sans raison")
    findings.check("Donnez la raison" in doctor.locator("#reason-error").inner_text(),
                   "no 'Donnez la raison' message")

    doctor.fill("#reason", "urgence")
    status = submit(doctor)
    check_failed_emergency(findings, doctor, js, status, ["reason"], "raison trop courte")
    findings.check(doctor.locator("#reason").input_value() == "urgence",
                   "the short reason is not kept")
    findings.check("au moins 10" in doctor.locator("#reason-error").inner_text(),
                   "the message does not say how long the reason must be")
    findings.check(not access.emergencies(), "an emergency access was opened without reason")

    doctor.fill("#reason", REASON)
    assert submit(doctor) == 200
    findings.check(PATIENT_URL.search(doctor.url) is not None, f"went to {doctor.url}")
    # The banner's wording and place are the application's business: a banner in main
    # that says "urgence" and until when.
    emergency_banner = doctor.locator("main .banner", has_text=re.compile(
        r"urgence.*jusqu’au \d", re.IGNORECASE))
    findings.check(emergency_banner.count() == 1, f"no emergency banner: {banner(doctor)!r}")
    findings.check(doctor.locator("h1").inner_text().strip() == "Camille Martin",
                   f"h1: {doctor.locator('h1').inner_text()!r}")
    findings.check(len(access.emergencies()) == 1, "no emergency access recorded")
    findings.page(doctor, js, width, "/pro/patients/… en urgence")

    patient = open_page(PATIENT, js=js, width=width)
    assert patient.goto("/acces/historique").status == 200
    # The newest such row is this test's (each test leaves its audit rows behind).
    row = patient.locator("main table tbody tr",
                          has_text="Accès en urgence à votre espace").first
    findings.check(row.count() == 1, "no 'Accès en urgence à votre espace' row")
    if row.count() == 1:
        cells = row.locator("th, td").all_inner_texts()
        findings.check(DOCTOR_NAME in cells[1] and "Médecin" in cells[1],
                       f"who: {cells[1]!r}")
        findings.check(f"Raison donnée : {REASON}" in cells[2], f"action: {cells[2]!r}")
        findings.check(cells[3].strip() == "En urgence", f"mode: {cells[3]!r}")
        findings.check(row.locator("td strong", has_text="En urgence").count() == 1,
                       "'En urgence' is not emphasised")
    findings.page(patient, js, width, "/acces/historique après un accès en urgence")

    # The patient told of an emergency access comes to /acces to see (or block) who it was.
    assert patient.goto("/acces").status == 200
    findings.check(DOCTOR_NAME in section_names(patient, "active-title"),
                   f"/acces after an emergency access by {DOCTOR_NAME}: 'Professionnels qui "
                   f"ont accédé à mon espace' lists {section_names(patient, 'active-title')}")
    findings.done()


def test_emergency_refused_by_the_patients_settings(open_page, access):
    """Other professionals not allowed (dr.bernard is not SAMU): 422 on the NIR field, and
    the refusal shows in the patient's history."""
    findings = Findings()
    access.set_emergency(samu=True, others=False)
    doctor = open_page(DOCTOR, js=True, width=320)
    doctor.goto("/pro/urgence")
    fill_emergency(doctor, reason=REASON)
    status = submit(doctor)
    check_failed_emergency(findings, doctor, True, status, ["nir"], "refusé par le patient")
    findings.check("ne permettent pas" in doctor.locator("#nir-error").inner_text(),
                   f"message: {doctor.locator('#nir-error').inner_text()!r}")
    findings.check(doctor.locator("#reason").input_value() == REASON, "the reason is lost")
    findings.check(not access.emergencies(), "an emergency access was opened")
    findings.page(doctor, True, 320, "/pro/urgence refusé (422)")

    patient = open_page(PATIENT, js=False, width=1280)
    patient.goto("/acces/historique")
    row = patient.locator("main table tbody tr", has_text="Accès en urgence à votre espace")
    findings.check(row.count() >= 1 and "refusé" in row.first.inner_text(),
                   "the refused emergency access is not in the history as refused")
    findings.done()


# --------------------------------------------------------------------------- 3. history

def history_url(day: date, **extra) -> str:
    query = "&".join(f"{key}={value}" for key, value in
                     {"du": day.isoformat(), "au": day.isoformat(), **extra}.items())
    return f"/acces/historique?{query}"


def body_rows(page):
    return page.locator("main table tbody tr:not(#history-more)")


def more_link(page):
    return page.locator("tr#history-more a")


@pytest.mark.parametrize(("js", "width"), COMBOS)
def test_history_states(open_page, access, js, width):
    """Nothing to show; the first page (25 rows, a caption, the "more" row); the filters
    (kept in the fields, the person filter); the "Mes actions" tab; the CSV link."""
    findings = Findings()
    day = access.fill_history(30)
    # The person filter lists the professionals with a care relation (or an emergency
    # access): as in real life, the two who acted have declared one.
    access.declare(DOCTOR)
    access.declare(PHARMACIST)
    page = open_page(PATIENT, js=js, width=width)
    page.goto("/acces")
    history = page.locator("main").get_by_role("link", name="Historique des accès")
    assert submit(page, history) == 200

    assert page.goto("/acces/historique?du=2030-01-01").status == 200
    findings.check("Aucune action ne correspond." in page.locator("main").inner_text(),
                   "no 'Aucune action ne correspond.'")
    findings.check(page.locator("#du").input_value() == "2030-01-01", "#du is not kept")
    findings.page(page, js, width, "/acces/historique vide")

    # The filters, sent through the form.
    page.goto("/acces/historique")
    page.fill("#du", day.isoformat())
    page.fill("#au", day.isoformat())
    assert submit(page, page.get_by_role("button", name="Filtrer")) == 200
    findings.check(f"du={day.isoformat()}" in page.url and f"au={day.isoformat()}"
                   in page.url, f"filters not in the address: {page.url}")
    tabs = page.locator("nav.tabs a")
    current = page.locator("nav.tabs a[aria-current=page]")
    findings.check(tabs.count() == 2 and current.count() == 1
                   and current.inner_text() == "Professionnels et services",
                   f"tabs: {tabs.all_inner_texts()}, current: {current.all_inner_texts()}")
    findings.check(page.locator("nav.tabs").get_attribute("aria-label") == "Qui a agi",
                   "the tabs' nav has no name")
    table = page.locator("main table")
    findings.check(table.locator("caption").inner_text().strip()
                   == "Professionnels et services", "the table has no caption")
    findings.check(table.locator("thead th[scope=col]").count() == 4, "no column headers")
    findings.check(body_rows(page).count() == PER_PAGE,
                   f"page 1: {body_rows(page).count()} rows, not {PER_PAGE}")
    findings.check(body_rows(page).locator("th[scope=row]").count() == PER_PAGE,
                   "the rows have no row header (the date)")
    findings.check(more_link(page).count() == 1, "no 'Voir les actions plus anciennes'")
    if more_link(page).count() == 1:
        href = more_link(page).get_attribute("href")
        findings.check(f"du={day.isoformat()}" in href and "avant=" in href,
                       f"the 'more' link loses the filters: {href}")
    csv = page.get_by_role("link", name="Télécharger cet historique (CSV)")
    findings.check(csv.count() == 1, "no CSV link")
    if csv.count() == 1:
        href = csv.get_attribute("href")
        findings.check(f"du={day.isoformat()}" in href, f"the CSV link loses the filters: "
                                                        f"{href}")
        answer = page.request.get(href)
        lines = answer.text().lstrip("\ufeff").strip().splitlines()
        findings.check(answer.ok and answer.headers["content-type"].startswith("text/csv")
                       and len(lines) == 31, f"CSV: {answer.status}, {len(lines)} lines")
    findings.page(page, js, width, "/acces/historique filtré (page 1)")

    # Only the pharmacist's actions.
    before = page.url
    page.select_option("#personne", label=PHARMACIST_NAME)
    page.wait_for_timeout(100)
    findings.check(page.url == before, "choosing a person changed the page (item 16)")
    assert submit(page, page.get_by_role("button", name="Filtrer")) == 200
    findings.check(page.locator("#personne option:checked").inner_text() == PHARMACIST_NAME,
                   "the person filter is not kept")
    who = body_rows(page).locator("td:nth-child(2)").all_inner_texts()
    findings.check(len(who) == 15 and all(PHARMACIST_NAME in name for name in who),
                   f"pharmacist only: {len(who)} rows, {set(who)}")
    findings.check(more_link(page).count() == 0, "a 'more' link for 15 rows")
    findings.page(page, js, width, "/acces/historique filtré par professionnel")

    # "Mes actions": the tab is a link; it becomes the current page.
    assert submit(page, page.get_by_role("link", name="Mes actions")) == 200
    findings.check(page.locator("nav.tabs a[aria-current=page]").all_inner_texts()
                   == ["Mes actions"], "'Mes actions' is not the current tab")
    findings.check(page.locator("#personne").count() == 0,
                   "the person filter is offered on 'Mes actions'")
    findings.check(page.locator("main table caption").inner_text().strip() == "Mes actions",
                   "caption of 'Mes actions'")
    findings.page(page, js, width, "/acces/historique?onglet=moi")
    findings.done()


SETTLED = """() => !document.querySelector(
  ".htmx-request, .htmx-settling, .htmx-swapping, .htmx-added, [aria-busy=true]")"""
ROW_FOCUS = """(index) => {
  const rows = Array.from(document.querySelectorAll("main table tbody tr:not(#history-more)"));
  return rows.indexOf(document.activeElement) === index; }"""
FOCUS_VISIBLE = """() => { const e = document.activeElement;
  const style = getComputedStyle(e);
  return {focusVisible: e.matches(":focus-visible"), outline: style.outlineStyle,
          width: style.outlineWidth, shadow: style.boxShadow}; }"""


def load_more(page, activate) -> int:
    """Activate the "more" link (a click or a key), wait for the htmx answer and the settle."""
    with page.expect_response(lambda response: "avant=" in response.url
                              and response.request.headers.get("hx-request") == "true",
                              timeout=5_000) as answer:
        activate()
    support.wait_until(page, SETTLED)
    page.wait_for_timeout(80)  # app.js moves focus in htmx:afterSettle
    return answer.value.status


@pytest.mark.parametrize("width", WIDTHS)
def test_history_load_more_with_htmx(open_page, access, width):
    """55 rows: 25, then 25 more and 5 more, loaded in place. Each time the first new row
    takes the focus and the live region says how many rows came."""
    findings = Findings()
    day = access.fill_history(55)
    page = open_page(PATIENT, js=True, width=width)
    page.goto(history_url(day))
    page.evaluate(MARK)
    findings.check(page.locator("#live-region").get_attribute("aria-live") == "polite"
                   and page.locator("#live-region").get_attribute("role") == "status",
                   "the live region is not a polite status")

    # By keyboard: Tab to the link, Enter.
    page.evaluate(CLEAR_LIVE)
    support.tab_until(page, lambda info: info["text"] == "Voir les actions plus anciennes")
    status = load_more(page, lambda: page.keyboard.press("Enter"))
    findings.check(status == 200, f"first 'more' answered {status}")
    findings.check(body_rows(page).count() == 2 * PER_PAGE,
                   f"after one 'more': {body_rows(page).count()} rows")
    ok = page.evaluate(ROW_FOCUS, PER_PAGE)
    findings.check(ok, f"after 'more' by keyboard, focus is on {page.evaluate(FOCUS)}, not "
                       f"the first new row (row {PER_PAGE + 1})")
    if ok:
        shown = page.evaluate(FOCUS_VISIBLE)
        findings.check(shown["focusVisible"] and (shown["outline"] != "none"
                                                  or shown["shadow"] != "none"),
                       f"the focused row shows no focus indicator: {shown}")
    live = page.locator("#live-region").inner_text().strip()
    findings.check(live == "25 actions de plus", f"live region says {live!r}")
    findings.check(page.locator("tr#history-more").count() == 1,
                   "no 'more' row after the second page")
    findings.check(page.url.endswith(history_url(day)), f"the address changed: {page.url}")
    findings.page(page, True, width, "/acces/historique après « plus » (htmx)")

    page.evaluate(CLEAR_LIVE)
    status = load_more(page, lambda: more_link(page).click())
    findings.check(status == 200, f"second 'more' answered {status}")
    findings.check(body_rows(page).count() == 55, f"after two: {body_rows(page).count()} rows")
    ok = page.evaluate(ROW_FOCUS, 2 * PER_PAGE)
    findings.check(ok, f"after the last 'more', focus is on {page.evaluate(FOCUS)}, not "
                       f"the first new row (row {2 * PER_PAGE + 1})")
    live = page.locator("#live-region").inner_text().strip()
    findings.check(live == "5 actions de plus", f"live region says {live!r}")
    findings.check(page.locator("tr#history-more").count() == 0,
                   "a 'more' row after the last page")
    times = body_rows(page).locator("th").all_inner_texts()
    findings.check(len(set(times)) == 55, f"rows repeated: {len(set(times))} distinct of 55")
    findings.check(times == sorted(times, reverse=True), "rows not newest first")
    findings.check(page.evaluate(NOT_RELOADED), "the page was loaded again")
    findings.page(page, True, width, "/acces/historique tout chargé (htmx)")
    findings.done()


@pytest.mark.parametrize("width", WIDTHS)
def test_history_load_more_without_javascript(open_page, access, width):
    """Without JavaScript the link is a plain link to the next page (the filters kept)."""
    findings = Findings()
    day = access.fill_history(30)
    page = open_page(PATIENT, js=False, width=width)
    page.goto(history_url(day))
    first = body_rows(page).locator("th").all_inner_texts()
    assert submit(page, more_link(page)) == 200
    findings.check("avant=" in page.url and f"du={day.isoformat()}" in page.url,
                   f"the next page: {page.url}")
    findings.check(page.locator("h1").inner_text().strip().startswith("Historique des accès"),
                   "page 2 is not the whole page")
    findings.check(page.locator("#du").input_value() == day.isoformat(),
                   "page 2 lost the date filter in its form")
    second = body_rows(page).locator("th").all_inner_texts()
    findings.check(len(second) == 5, f"page 2: {len(second)} rows, not 5")
    findings.check(not set(first) & set(second), "page 2 repeats rows of page 1")
    findings.check(more_link(page).count() == 0, "a 'more' link on the last page")
    # Where am I? The later page must say it shows older actions (title, heading or
    # caption), and not claim to be the first page (aria-current on the tab that leads
    # there).
    first_title = page.evaluate("() => document.title")
    said = " ".join([first_title, page.locator("h1").inner_text(),
                     page.locator("main table caption").inner_text()])
    current = page.locator("nav.tabs a[aria-current=page]")
    leads_to_first = current.count() == 1 and "avant=" not in (current.get_attribute("href")
                                                              or "")
    findings.check(re.search(r"ancienn|page 2|suite", said, re.IGNORECASE) is not None
                   and not leads_to_first,
                   f"/acces/historique?…&avant=… (no JavaScript): title {first_title!r}, "
                   f"h1 and caption are those of the first page, and the tab marked "
                   f"aria-current=page links to the first page "
                   f"({current.get_attribute('href') if current.count() else None!r})")
    findings.page(page, False, width, "/acces/historique page 2 (sans JavaScript)")
    findings.done()
