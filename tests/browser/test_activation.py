"""Activation, opposition and provisional codes in a real browser (ACCESSIBILITY.md items 2,
8, 13, 14, 19, 21 and layer 1).

The whole adult activation is done with the keyboard only (Tab, typing, Space, Enter), with
JavaScript on (htmx swaps each step in place: no page load, focus on the new heading, the
address bar follows) and off (plain forms). axe runs on every page reached.

The browser tests share one database and the demo code is single-use: each test imports its
own insured person and issues its own code through the domain API (`person` fixture).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select
from stdnum.fr.nir import calc_check_digits

from domain import activation, insured
from domain.models import InsuredPerson, SpaceStatus, User
from domain.notify import Mailer, Outbox
from extensions import db, keys
from tests.browser import support
from tests.browser.support import JS_MODES

pytestmark = pytest.mark.browser

CSV_HEADER = ("nir,vitale_serial,birth_name,given_names,birth_date,sex,email,phone,address,"
              "representative_nirs\n")
PASSWORD = "Le chat dort sur le toit bleu"
ADULT_STEPS = 8
FOCUS_TIMEOUT_MS = 2_000
JS_PARAMS = pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)

# Step pages of the adult activation: (path, step number, heading).
STEP_CODE = ("/activation", 1, "Activer mon espace santé")
STEP_IDENTITY = ("/activation/identite", 2, "Confirmer votre identité")
STEP_TERMS = ("/activation/conditions", 3, "Conditions d’utilisation")
STEP_CONTACTS = ("/activation/coordonnees", 4, "Vos coordonnées")
STEP_CONTACTS_CHECK = ("/activation/coordonnees/verification", 4, "Confirmer vos coordonnées")
STEP_CREDENTIALS = ("/activation/identifiants", 5,
                    "Choisir votre identifiant et votre mot de passe")
STEP_FACTOR = ("/activation/second-facteur", 6,
               "Protéger votre compte avec un code à chaque connexion")
STEP_SUMMARY = ("/activation/recapitulatif", 7, "Vérifier avant de créer votre espace")
STEP_DONE = ("/activation/termine", 8, "Votre espace santé est prêt")


# --------------------------------------------------------------------------- test people

@dataclass(frozen=True)
class Person:
    nir: str
    vitale: str
    birth: date
    email: str | None
    phone: str | None
    code: str | None  # the clear activation code, formatted ABCD-EFGH-JKLM
    tag: str  # unique, for logins and addresses

    @property
    def nir_typed(self) -> str:
        """As printed on a carte Vitale: 2 54 07 13 055 123 92."""
        n = self.nir
        return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}"

    @property
    def login(self) -> str:
        return f"essai.{self.tag}"


def _new_person(app, *, email: bool = False, phone: bool = False, code: bool = True) -> Person:
    """An adult with a fresh valid NIR (and, if asked, a live activation code)."""
    rng = random.SystemRandom()
    with app.app_context():
        while True:
            birth = date(rng.randint(1950, 1999), rng.randint(1, 12), rng.randint(1, 28))
            sex = rng.choice("12")
            first13 = (f"{sex}{birth:%y}{birth:%m}75{rng.randint(101, 120):03d}"
                       f"{rng.randint(1, 999):03d}")
            nir = first13 + calc_check_digits(first13)
            if insured.find_by_nir(db.session, keys.ring, nir) is None:
                break
        tag = f"{nir[7:13]}{rng.randint(0, 99):02d}"
        vitale = f"5{rng.randint(0, 10 ** 10 - 1):010d}"
        mail = f"essai.{tag}@example.org" if email else ""
        mobile = f"06{rng.randint(0, 10 ** 8 - 1):08d}" if phone else ""
        report = insured.import_csv(
            db.session, keys.ring,
            CSV_HEADER + f"{nir},{vitale},Essai,Alix,{birth.isoformat()},{sex},{mail},{mobile},,\n",
            date.today())
        assert report.created == 1, report.errors
        record = insured.find_by_nir(db.session, keys.ring, nir)
        issued = activation.issue_code(db.session, keys.ring, record,
                                       datetime.now(UTC)) if code else None
        db.session.commit()
    return Person(nir=nir, vitale=vitale, birth=birth, email=mail or None,
                  phone=mobile or None,
                  code=activation.format_code(issued.code) if issued else None, tag=tag)


@pytest.fixture
def person(app):
    """Factory: a new insured adult for this test (see _new_person)."""
    return lambda **options: _new_person(app, **options)


def space_status(app, nir: str) -> SpaceStatus:
    with app.app_context():
        return insured.find_by_nir(db.session, keys.ring, nir).space_status


# --------------------------------------------------------------------------- browser pages

@pytest.fixture
def open_page(browsing):
    """Factory: a page in a fresh context (no cookies); JavaScript errors are collected."""
    contexts = []

    def make(js: bool = True, width: int = 1280):
        context = browsing.new_context(js=js, width=width)
        contexts.append(context)
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda error: page.js_errors.append(str(error)))
        return page

    with support.limits_off():  # every test here posts forms from 127.0.0.1
        yield make
    for context in contexts:
        context.close()


def email_code(app, to: str) -> str:
    messages = [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
                if message["To"] == to]
    assert messages, f"no e-mail sent to {to}"
    body = messages[-1].get_body(("plain",)).get_content()
    return re.search(r"\b(\d{6})\b", body).group(1)


def sms_code(app, to: str) -> str:
    """The last 6-digit code sent by SMS to a number typed as 06XXXXXXXX."""
    international = "+33" + to[1:]
    messages = [message for message in Outbox(app.config["OUTBOX_DIR"]).messages("sms")
                if message["to"] == international]
    assert messages, f"no SMS sent to {international}"
    return re.search(r"\b(\d{6})\b", messages[-1]["text"]).group(1)


# --------------------------------------------------------------------------- keyboard

IS_FOCUSED = "selector => !!document.activeElement && document.activeElement.matches(selector)"


def tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until the focused element matches `selector` (never clicks)."""
    seen = []
    for _ in range(limit):
        if page.evaluate(IS_FOCUSED, selector):
            return
        page.keyboard.press("Tab")
        info = support.focused(page)
        seen.append(info and f"{info['tag']}#{info['id']} {info['text'][:25]!r}")
    if not page.evaluate(IS_FOCUSED, selector):
        raise AssertionError(f"Tab never reached {selector} in {limit} presses: {seen}")


def type_into(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


MARK_STEP = """() => { const step = document.getElementById("etape");
  if (step) { step.setAttribute("data-old-step", ""); } }"""
NEW_STEP_SETTLED = """() => { const step = document.getElementById("etape");
  return !!step && !step.hasAttribute("data-old-step") &&
    !step.classList.contains("htmx-swapping") && !step.classList.contains("htmx-settling") &&
    !step.classList.contains("htmx-added") && !step.hasAttribute("aria-busy"); }"""
FOCUS_IN_STEP = """() => { const element = document.activeElement;
  return !!element && element !== document.body && !!element.closest("#etape"); }"""


def press_and_wait(page, js: bool, key: str = "Enter", swap: bool = True) -> None:
    """Press `key` on the focused control and wait for the answer: a page load without
    JavaScript; with it, the htmx swap of the step (`swap`) or a page load."""
    if not js or not swap:
        with page.expect_navigation():
            page.keyboard.press(key)
        return
    page.evaluate(MARK_STEP)
    page.keyboard.press(key)
    page.wait_for_function(NEW_STEP_SETTLED)
    try:  # app.js moves the focus right after the settle; wait for it, briefly
        page.wait_for_function(FOCUS_IN_STEP, timeout=FOCUS_TIMEOUT_MS)
    except PlaywrightError:
        pass  # the assertions on the focus say what happened


def check_no_horizontal_scroll(page, where: str) -> None:
    overflow = page.evaluate(support.HORIZONTAL_OVERFLOW)
    assert overflow is None, f"horizontal scroll at 320 px on {where}: {overflow}"


def check_page(page, js: bool, where: str) -> None:
    """axe (WCAG 2.2 AA tags), one h1, no JavaScript error."""
    assert page.locator("h1").count() == 1, f"one h1 on {where}"
    support.assert_no_axe_violations(page, js, where=where)
    assert not page.js_errors, f"JavaScript errors on {where}: {page.js_errors}"


def check_step(page, js: bool, step: tuple[str, int, str], *, error: bool = False,
               total: int = ADULT_STEPS, loaded: bool = False) -> None:
    """The page of this step: address, title, heading, focus and marker (JavaScript), axe.

    `loaded`: reached by a full page load (the focus stays at the top of the page)."""
    path, number, heading = step
    page.wait_for_url(re.compile(re.escape(path) + r"(\?.*)?$"))
    title = page.title()
    prefix = ("Erreur : " if error else "") + f"Étape {number} sur {total}"
    assert title.startswith(prefix), f"{path}: title {title!r} should start with {prefix!r}"
    assert heading in title, f"{path}: title {title!r} should name the step {heading!r}"
    assert page.locator("h1").inner_text().strip() == heading
    if js and not loaded:
        assert page.evaluate("window.__marker") == 1, f"{path}: a full page load happened"
        info = support.focused(page)
        if error:
            assert info and info["errorSummary"], f"{path}: error summary not focused: {info}"
        else:
            assert info and info["tag"] == "h1", f"{path}: focus on {info}, not on the h1"
    check_page(page, js, f"{path} ({JS_MODES[js]}{', erreur' if error else ''})")


# --------------------------------------------------------------------------- 1. activation

def start(page, js: bool, code: str) -> None:
    """Step 1, code typed with the keyboard; ends on the identity step."""
    page.goto("/activation")
    if js:
        page.evaluate("window.__marker = 1")
    check_step(page, js, STEP_CODE, loaded=True)
    type_into(page, "#code", code)
    press_and_wait(page, js)


def type_identity(page, person: Person, day: int | None = None) -> None:
    type_into(page, "#nir", person.nir_typed)
    type_into(page, "#birth", str(day or person.birth.day))
    type_into(page, "#birth-month", str(person.birth.month))
    type_into(page, "#birth-year", str(person.birth.year))


@JS_PARAMS
def test_adult_activation_with_the_keyboard_only(open_page, app, person, js):
    someone = person()
    page = open_page(js=js)
    mobile = f"06{someone.tag[:8]}"
    mail = f"{someone.login}@example.org"

    # 1. The code (the first page is a full load: the focus stays at the top).
    start(page, js, someone.code)
    # 2. Identity.
    check_step(page, js, STEP_IDENTITY)
    type_identity(page, someone)
    press_and_wait(page, js)
    # 3. Terms: the checkbox is ticked with Space.
    check_step(page, js, STEP_TERMS)
    tab_to(page, "#accept")
    page.keyboard.press("Space")
    assert page.locator("#accept").is_checked(), "Space ticks the checkbox"
    tab_to(page, "#etape form.form button[type=submit]")
    press_and_wait(page, js)
    # 4. Contacts, then the two codes received.
    check_step(page, js, STEP_CONTACTS)
    type_into(page, "#email", mail)
    type_into(page, "#phone", f"{mobile[:2]} {mobile[2:4]} {mobile[4:6]} {mobile[6:8]} "
                              f"{mobile[8:]}")
    press_and_wait(page, js)
    check_step(page, js, STEP_CONTACTS_CHECK)
    type_into(page, "#email_code", email_code(app, mail))
    type_into(page, "#phone_code", sms_code(app, mobile))
    press_and_wait(page, js)
    # 5. Login and password (with JavaScript, the rules are checked as one types).
    check_step(page, js, STEP_CREDENTIALS)
    type_into(page, "#login", someone.login)
    type_into(page, "#password", PASSWORD)
    if js:
        status = page.locator("#password-rules [data-password-status]")
        status.wait_for(state="attached")
        page.wait_for_function(
            "() => !document.getElementById('password-rules-box').hasAttribute('aria-busy')")
        assert status.inner_text() == "Toutes les règles sont respectées."
        assert page.evaluate(IS_FOCUSED, "#password"), "checking the rules keeps the focus"
    type_into(page, "#password_confirm", PASSWORD)
    press_and_wait(page, js)
    # 6. Second factor: the key shown in text, a code from the "application".
    check_step(page, js, STEP_FACTOR)
    assert page.locator("#method").is_checked(), "the authenticator app is the default"
    assert page.evaluate("(() => { const i = document.querySelector('main img.qr');"
                         " return !!i && i.complete && i.naturalWidth > 0; })()"), \
        "the QR code (an image of its own) did not load"
    secret = page.locator(".code-display").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    type_into(page, "#code", pyotp.TOTP(secret).now())
    tab_to(page, "button[name=action][value=confirm]")
    press_and_wait(page, js)
    # 7. Summary, then 8. done.
    check_step(page, js, STEP_SUMMARY)
    assert someone.login in page.locator("dl.summary").inner_text()
    tab_to(page, "#etape form.form button[type=submit]")
    press_and_wait(page, js)
    check_step(page, js, STEP_DONE)
    assert someone.login in page.locator("main").inner_text()

    assert space_status(app, someone.nir) == SpaceStatus.ACTIVE
    with app.app_context():
        user = db.session.execute(select(User).where(User.login == someone.login)).scalar_one()
        assert db.session.execute(select(InsuredPerson.id).where(
            InsuredPerson.user_id == user.id)).first() is not None


# --------------------------------------------------------------------------- 2. errors

@JS_PARAMS
def test_wrong_identity_shows_a_focused_error_summary(open_page, app, person, js):
    someone = person()
    page = open_page(js=js)
    start(page, js, someone.code)
    check_step(page, js, STEP_IDENTITY)
    type_identity(page, someone, day=someone.birth.day % 28 + 1)
    press_and_wait(page, js)

    check_step(page, js, STEP_IDENTITY, error=True)
    summary = page.locator("[data-error-summary]")
    assert summary.get_attribute("role") == "alert"
    assert "Essais restants : 4" in summary.inner_text()
    links = summary.locator("a")
    assert links.count() == 1 and links.get_attribute("href") == "#nir"
    field = page.locator("#nir")
    assert field.get_attribute("aria-invalid") == "true"
    assert "nir-error" in field.get_attribute("aria-describedby").split()
    assert page.locator("#nir-error").inner_text().startswith("Erreur :")
    assert field.input_value() == someone.nir_typed, "what was typed is kept"
    # The summary's link takes the keyboard to the field.
    tab_to(page, "[data-error-summary] a")
    page.keyboard.press("Enter")
    page.wait_for_function(IS_FOCUSED, arg="#nir", timeout=FOCUS_TIMEOUT_MS)
    assert space_status(app, someone.nir) == SpaceStatus.PENDING


# --------------------------------------------------------------------------- 3. opposition

def _download_proof(page) -> bytes:
    link = page.locator("main a[href$='/attestation.pdf']")
    assert "PDF" in link.inner_text()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "attestation-opposition.pdf"
    return Path(download.path()).read_bytes()


@pytest.mark.parametrize("with_code", [True, False], ids=["avec-code", "sans-code"])
@JS_PARAMS
def test_opposition_and_its_proof(open_page, app, person, js, with_code):
    someone = person(code=with_code, email=not with_code)
    page = open_page(js=js)
    mode = JS_MODES[js]
    if with_code:
        page.goto("/activation/opposition")
        check_page(page, js, f"opposition ({mode})")
        type_into(page, "#code", someone.code)
    else:
        page.goto("/activation/opposition/sans-code")
        check_page(page, js, f"opposition sans code ({mode})")
        page.fill("#nir", someone.nir_typed)
        page.fill("#vitale", someone.vitale)
        page.fill("#birth", str(someone.birth.day))
        page.fill("#birth-month", str(someone.birth.month))
        page.fill("#birth-year", str(someone.birth.year))
        page.focus("#birth-year")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    if not with_code:
        # One neutral answer whoever the numbers belong to (no existence oracle): the
        # refusal is recorded at once and its proof goes to the e-mail on file.
        assert page.title().startswith("Demande de refus reçue"), page.title()
        assert "cette page ne dit pas ce qui a été fait" in page.locator("main").inner_text()
        check_page(page, js, f"demande de refus reçue ({mode})")
        assert space_status(app, someone.nir) == SpaceStatus.OPPOSED
        proofs = [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
                  if message["To"] == someone.email]
        assert len(proofs) == 1
        (attachment,) = list(proofs[0].iter_attachments())
        assert attachment.get_filename() == "attestation-opposition.pdf"
        assert attachment.get_content().startswith(b"%PDF")
        return
    page.wait_for_url(re.compile(r"/activation/opposition/confirmer$"))
    assert page.title().startswith("Confirmer votre refus")
    check_page(page, js, f"confirmer le refus ({mode})")
    with page.expect_navigation():
        page.get_by_role("button", name="Je confirme mon refus").click()

    page.wait_for_url(re.compile(r"/activation/opposition/attestation$"))
    assert page.title().startswith("Votre refus est enregistré")
    status = page.locator("main [role=status]")
    assert re.search(r"Référence : OPP-[A-Z0-9]{10}", status.inner_text()), status.inner_text()
    check_page(page, js, f"refus enregistré ({mode})")
    assert _download_proof(page).startswith(b"%PDF")
    assert space_status(app, someone.nir) == SpaceStatus.OPPOSED


# --------------------------------------------------------------------------- 4. provisional

@JS_PARAMS
def test_provisional_code_request(open_page, app, person, js):
    someone = person(email=True, code=False)
    page = open_page(js=js)
    mode = JS_MODES[js]
    page.goto("/activation/code-provisoire")
    check_page(page, js, f"code provisoire ({mode})")
    page.fill("#nir", someone.nir)
    page.fill("#vitale", someone.vitale)
    page.fill("#birth", f"{someone.birth.day:02d}")
    page.fill("#birth-month", f"{someone.birth.month:02d}")
    page.fill("#birth-year", str(someone.birth.year))
    page.focus("#birth-year")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.url.endswith("/activation/code-provisoire")
    assert page.title().startswith("Demande enregistrée"), page.title()
    status = page.locator("main [role=status]")
    # One fixed sentence whatever happened: never a masked destination (no oracle).
    assert "Regardez ici" not in status.inner_text() and "***" not in status.inner_text()
    assert "nous envoyons un code provisoire" in status.inner_text(), status.inner_text()
    check_page(page, js, f"code provisoire envoyé ({mode})")
    messages = [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
                if message["To"] == someone.email]
    assert len(messages) == 1
    assert re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}",
                     messages[0].get_body(("plain",)).get_content())


# --------------------------------------------------------------------------- 5. 320 px

def test_identity_and_second_factor_reflow_at_320(open_page, app, person):
    someone = person()
    page = open_page(js=True, width=320)
    mobile, mail = f"06{someone.tag[:8]}", f"{someone.login}@example.org"
    start(page, True, someone.code)
    check_step(page, True, STEP_IDENTITY)
    check_no_horizontal_scroll(page, "/activation/identite")

    def fill_and_send(values: dict, button: str = "#etape form.form button[type=submit]"):
        for selector, value in values.items():
            page.fill(selector, value)
        page.focus(button)
        press_and_wait(page, True)

    fill_and_send({"#nir": someone.nir, "#birth": str(someone.birth.day),
                   "#birth-month": str(someone.birth.month),
                   "#birth-year": str(someone.birth.year)})
    page.wait_for_url(re.compile(r"/activation/conditions$"))
    page.check("#accept")
    fill_and_send({})
    page.wait_for_url(re.compile(r"/activation/coordonnees$"))
    fill_and_send({"#email": mail, "#phone": mobile})
    page.wait_for_url(re.compile(r"/activation/coordonnees/verification$"))
    fill_and_send({"#email_code": email_code(app, mail), "#phone_code": sms_code(app, mobile)})
    page.wait_for_url(re.compile(r"/activation/identifiants$"))
    fill_and_send({"#login": someone.login, "#password": PASSWORD,
                   "#password_confirm": PASSWORD})
    check_step(page, True, STEP_FACTOR)
    check_no_horizontal_scroll(page, "/activation/second-facteur")
    secret = page.locator(".code-display").inner_text().strip()
    box = page.locator(".code-display").bounding_box()
    assert box and box["x"] + box["width"] <= 320.5, f"the key overflows at 320 px: {box}"
    assert len(secret) == 32


# ------------------------------------------------------------------ the default button

def test_enter_in_the_second_factor_code_confirms_it(open_page, app, person):
    someone = person()
    page = open_page(js=False)
    mobile, mail = f"06{someone.tag[:8]}", f"{someone.login}@example.org"
    page.goto("/activation")
    steps = [
        {"#code": someone.code},
        {"#nir": someone.nir, "#birth": str(someone.birth.day),
         "#birth-month": str(someone.birth.month), "#birth-year": str(someone.birth.year)},
        {"#accept": True},
        {"#email": mail, "#phone": mobile},
        {"#email_code": lambda: email_code(app, mail),
         "#phone_code": lambda: sms_code(app, mobile)},
        {"#login": someone.login, "#password": PASSWORD, "#password_confirm": PASSWORD},
    ]
    for values in steps:
        for selector, value in values.items():
            if value is True:
                page.check(selector)
            else:
                page.fill(selector, value() if callable(value) else value)
        support.submit_main_form(page)
    page.wait_for_url(re.compile(r"/activation/second-facteur$"))
    secret = page.locator(".code-display").inner_text().strip()
    page.fill("#code", pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.press("#code", "Enter")
    assert page.url.endswith("/activation/recapitulatif"), (
        f"Enter in the code field led to {page.url}: "
        f"{page.locator('main .banner').all_inner_texts()}")
