"""Helpers for the browser tests: pages to visit, signing in through the real form, axe.

Importable by the test modules (unlike conftest.py): the list of pages is needed when
pytest collects the tests, to give every page its own test id. The flow tests' own helpers
(findings, signed-in pages, focus and form steps) are in flows.py.
"""

from __future__ import annotations

import contextlib
import functools
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyotp
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from domain import sign_in as sign_in_delays
from domain.models import SignInStep, User
from domain.policy import Area
from extensions import db, limiter
from tests.conftest import DEMO, last_sms_code
from tests.qr_checks import QR_IMAGE_ENDPOINTS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]
VIEWPORTS = {320: {"width": 320, "height": 640}, 360: {"width": 360, "height": 640},
             1280: {"width": 1280, "height": 900}}
JS_MODES = {True: "js", False: "sans-js"}
TIMEOUT_MS = 10_000

# Who visits: None is a signed-out visitor.
ROLES = {
    "anonyme": None,
    "patient": "camille.martin",
    "professionnel": "dr.bernard",
    "pharmacien": "pharma.petit",
    "conseiller": "conseil.durand",
}

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
# (the consent page answers only an app's request: it is a target below, CONSENT_PATH;
# the PDF summary's address is a download once the PDF is made, and its waiting page has
# its own test, tests/browser/test_profile.py test_the_pdf_summary_waiting_page; the QR
# images answer only in their set-up flows, whose tests load them)
SKIPPED_ENDPOINTS = {"assets.static_file", "pages.language", "apps.authorize",
                     "profile.summary_pdf", *QR_IMAGE_ENDPOINTS}
NOT_FOUND_PATH = "/page-qui-n-existe-pas"

# With JavaScript disabled, Chromium never runs timer callbacks, and axe waits on
# setTimeout between its checks: run short timers as microtasks, never run long ones
# (axe only uses those as time-outs). Only evaluated by the test, never by the page.
TIMER_SHIM = """() => {
  window.setTimeout = function (callback, delay) {
    var args = Array.prototype.slice.call(arguments, 2);
    if (!(delay > 1000)) { Promise.resolve().then(function () { callback.apply(null, args); }); }
    return 1;
  };
  window.clearTimeout = function () {};
}"""


# --------------------------------------------------------------------------- pages to visit

@dataclass(frozen=True)
class Route:
    path: str
    endpoint: str
    area: Area | None


@dataclass(frozen=True)
class Probe:
    routes: tuple[Route, ...]
    answers: dict  # role -> {path: (status, mimetype)}


@functools.cache
def probe() -> Probe:
    """What each role gets on every GET route, asked of a throw-away app at collection time.

    Each page needs its own test id, so the pages are listed before the live server starts:
    a probe app on its own temporary SQLite database, seeded with the demo accounts; each role
    signs in with the test client and fetches every route. The browser tests then check the
    live server answers the same (test_pages.py).
    """
    from alembic import command

    from app import create_app
    from domain import demo
    from extensions import keys
    from tests.conftest import sign_in as client_sign_in
    from web.cli import alembic_config

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'probe.db'}"
        saved = limiter.enabled
        application = create_app({
            "TESTING": True,
            "DATABASE_URL": url,
            "PASSWORD_HASH_PROFILE": "fast",
            "OUTBOX_DIR": str(Path(folder) / "outbox"),
            "RATELIMIT_STORAGE_URI": "memory://",
        }, instance_path=folder)
        limiter.enabled = False
        try:
            with application.app_context():
                command.upgrade(alembic_config(url), "head")
                demo.seed(db.session, keys.ring, "fast")
                db.session.commit()
            routes = routes_of(application)
            answers = {}
            for role, login in ROLES.items():
                client = application.test_client()
                if login:
                    client_sign_in(client, application, login)
                answers[role] = {}
                for route in routes:
                    response = client.get(route.path)
                    answers[role][route.path] = (response.status_code, response.mimetype)
        finally:
            limiter.enabled = saved
            with application.app_context():
                db.engine.dispose()
    return Probe(routes, answers)


def discover_routes() -> tuple[Route, ...]:
    return probe().routes


def routes_of(application) -> tuple[Route, ...]:
    found = []
    for rule in application.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.arguments or \
                rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        view = application.view_functions[rule.endpoint]
        found.append(Route(rule.rule, rule.endpoint, getattr(view, "carnet_area", None)))
    return tuple(sorted(found, key=lambda route: route.path))


@dataclass(frozen=True)
class Target:
    """One page in one state, seen by one role."""

    role: str
    path: str
    status: int = 200
    state: str | None = None  # name of a STATES function that reaches the page

    @property
    def name(self) -> str:
        return self.state or self.path

    @property
    def id(self) -> str:
        return f"{self.role}:{self.name}"

    @property
    def moves_focus(self) -> bool:
        """With JavaScript, app.js focuses the error summary of these pages on load, or
        the h1 of the page a switch of spaces lands on."""
        return self.status == 422 or self.state in LANDS_ON_H1


def role_may_see(role: str, route: Route) -> bool:
    """Pages (HTML) that answer the role 200; a server error stays in, to fail loudly."""
    status, mimetype = probe().answers[role][route.path]
    return (status == 200 and mimetype == "text/html") or status >= 500


CONSENT_PATH = ("/oauth/autoriser?response_type=code&client_id=exemple-balance&state=x"
                "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fretour"
                "&scope=patient%2FObservation.rs+patient%2FObservation.c"
                "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                "&code_challenge_method=S256")


@functools.cache
def targets() -> tuple[Target, ...]:
    found = []
    for role in ROLES:
        found += [Target(role, route.path) for route in discover_routes()
                  if role_may_see(role, route)]
    found += [
        Target("anonyme", NOT_FOUND_PATH, status=404),
        Target("professionnel", "/mon-espace", status=403),
        Target("anonyme", "/connexion", status=422, state="connexion-erreur"),
        Target("anonyme", "/connexion/code", status=422, state="code-erreur"),
        Target("anonyme", "/connexion/code", status=422, state="code-sms-erreur"),
        Target("patient", "/espace/<leo>/mon-espace", state="espace-de-leo"),
        Target("patient", "/espace/<leo>/documents", state="documents-de-leo"),
        Target("patient", "/espace/<leo>/documents/ajouter", state="ajout-pour-leo"),
        Target("patient", "/espace/<leo>/profil/vaccinations", state="vaccins-de-leo"),
        Target("patient", "/espace/<leo>/agenda", state="agenda-de-leo"),
        Target("patient", "/espace/<leo>/acces/historique", state="historique-de-leo"),
        Target("patient", "/espace/<leo>/messagerie", state="messages-de-leo"),
        Target("patient", "/espace/<leo>/profil/mesures/imc", state="imc-de-leo"),
        *(Target("conseiller", f"/conseiller/fiches/{slug}")
          for slug in ("activer", "refuser", "arnaques", "a-la-maison")),
        # A service of the catalogue (routes with an argument are not discovered), and the
        # list filtered by category.
        Target("patient", "/catalogue/exemple-balance"),
        Target("patient", "/catalogue?categorie=grossesse"),
        # The consent page, as an app sends the person to it (issue 19).
        Target("patient", CONSENT_PATH),
    ]
    return tuple(found)


def state_login_error(page, app) -> None:
    """The sign-in form sent empty: error summary, inline errors, "Erreur :" title."""
    with limits_off():
        page.goto("/connexion")
        submit_main_form(page)


def _wrong_code(login: str):
    """One wrong code, shown as the form's error (422). The account's earlier wrong codes
    are forgotten first: they count until a success (domain/sign_in.py), and with the
    modules in random order, those of other modules plus this state's own loads could reach
    the fifth, which answers the wait page (429) instead."""
    def reach(page, app) -> None:
        with app.app_context():
            user_id = db.session.scalars(select(User.id).where(User.login == login)).one()
            sign_in_delays.forget(db.session, user_id, SignInStep.SECOND_FACTOR)
            db.session.commit()
        with limits_off():
            page.goto("/connexion")
            page.fill("#login", login)
            page.fill("#password", DEMO[login].password)
            submit_main_form(page)
            page.wait_for_url(re.compile(r"/connexion/code"))
            page.fill("#code", "000000")
            submit_main_form(page)

    return reach


LANDS_ON_H1 = ("espace-de-leo",)  # the switch's own page: its h1 takes the focus


def _in_leos_space(*then: str):
    """Camille switches to her son's space from the header, then follows links there."""
    def reach(page, app) -> None:
        page.goto("/mon-espace")
        with page.expect_navigation():
            page.locator("nav.space-switch a", has_text="Espace de Léo").click()
        for link in then:
            target = page.locator(link).first
            if target.is_visible():
                with page.expect_navigation():
                    target.click()
            else:  # the main menu is on the menu page on a phone: follow the same link
                page.goto(target.get_attribute("href"))

    return reach


STATES = {
    "espace-de-leo": _in_leos_space(),
    "documents-de-leo": _in_leos_space("nav.main-nav a[href$='/documents']"),
    "ajout-pour-leo": _in_leos_space("main a[href$='/documents']",
                                     "main a[href$='/documents/ajouter']"),
    "vaccins-de-leo": _in_leos_space("nav.main-nav a[href$='/profil']",
                                     "main a[href$='/profil/vaccinations']"),
    "imc-de-leo": _in_leos_space("nav.main-nav a[href$='/profil']",
                                 "main a[href$='/profil/mesures']",
                                 "main a[href$='/profil/mesures/imc']"),
    "agenda-de-leo": _in_leos_space("nav.main-nav a[href$='/agenda']"),
    "messages-de-leo": _in_leos_space("nav.main-nav a[href$='/messagerie']"),
    "historique-de-leo": _in_leos_space("nav.main-nav a[href$='/acces']",
                                        "main a[href*='/acces/historique']"),
    "connexion-erreur": state_login_error,
    "code-erreur": _wrong_code("dr.bernard"),
    "code-sms-erreur": _wrong_code("pharma.petit"),
}


def submit_main_form(page) -> None:
    """Click the first submit button of the page's main form and wait for the answer."""
    with page.expect_navigation():
        page.locator("main form.form button[type=submit]").first.click()


# --------------------------------------------------------------------------- signing in

@contextlib.contextmanager
def limits_off():
    """Flask-Limiter is initialised already: switch the extension itself off, then back."""
    saved = limiter.enabled
    limiter.enabled = False
    try:
        yield
    finally:
        limiter.enabled = saved


def totp_code(app, login: str, secret: str | None = None) -> str:
    """An unused TOTP code that stays valid for at least 10 s (waits for a step if needed).

    Like tests.conftest.next_totp, but never hands out the previous step just before it
    expires, and waits for the next 30-second step instead of failing when this account
    already used the three steps the server accepts. `secret`: another one than the demo
    account's (a new phone's), sharing the account's count of used steps.
    """
    totp = pyotp.TOTP(secret or DEMO[login].totp_secret)
    while True:
        with app.app_context():
            last = db.session.execute(
                select(User.last_totp_step).where(User.login == login)).scalar_one()
        now = time.time()
        current = int(now) // 30
        left = (current + 1) * 30 - now
        for step in (current - 1, current, current + 1):
            if step > last and (step >= current or left >= 10):
                return totp.at(step * 30)
        time.sleep(left + 0.2)


def second_factor_code(app, login: str) -> str:
    return last_sms_code(app) if DEMO[login].totp_secret is None else totp_code(app, login)


def sign_in(page, app, login: str) -> None:
    """Both steps of the real sign-in form; ends on the role's home page."""
    with limits_off():
        page.goto("/connexion")
        page.fill("#login", login)
        page.fill("#password", DEMO[login].password)
        submit_main_form(page)
        page.wait_for_url(re.compile(r"/connexion/code"))
        page.fill("#code", second_factor_code(app, login))
        submit_main_form(page)
    assert "/connexion" not in page.url, f"sign-in failed for {login}: {page.url}"


# --------------------------------------------------------------------------- checks

def axe_violations(page, js_enabled: bool) -> list[dict]:
    if not js_enabled:
        page.evaluate(TIMER_SHIM)
    return Axe().run(page, options=AXE_OPTIONS).response["violations"]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']}"
                     f" — {violation['helpUrl']}")
        for node in violation["nodes"][:8]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {node['target']}: {node['html'][:160]}")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


def assert_no_axe_violations(page, js_enabled: bool, where: str = "") -> None:
    violations = axe_violations(page, js_enabled)
    assert not violations, (f"axe found {len(violations)} violation(s) on "
                            f"{where or page.url}:\n{describe_violations(violations)}")


# Every link and control of the page, main's included (issue 17): only a link inside a
# sentence is excepted (WCAG 2.5.8 "inline"), i.e. an inline link with text of its own
# block around it: other links' and controls' words, and the text of the blocks inside
# its block (a form's labels and headings), are no sentence (a « Cancel » link beside a
# form's button stands alone).
SMALL_TARGETS = """() => {
  const selector = "a[href], button, select, textarea, input:not([type=hidden]), .button, " +
    "summary";
  const controls = "a[href], button, select, textarea, .button";
  const blockOf = node => {
    let block = node.parentElement;
    while (block && getComputedStyle(block).display.startsWith("inline")) {
      block = block.parentElement;
    }
    return block;
  };
  const inSentence = element => {
    if (getComputedStyle(element).display !== "inline") { return false; }
    const block = blockOf(element);
    if (block === null) { return false; }
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (element.contains(node) || !node.textContent.trim()) { continue; }
      if (blockOf(node) !== block) { continue; }  // a label, a heading: another line
      const control = node.parentElement.closest(controls);
      if (control && block.contains(control)) { continue; }
      return true;
    }
    return false;
  };
  const small = [];
  for (const element of document.querySelectorAll(selector)) {
    if (!element.closest("header, nav, main, footer, .assist-bar")) { continue; }
    if (element.matches("a[href]") && inSentence(element)) { continue; }
    let box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) { continue; }  // not rendered (hidden)
    if (getComputedStyle(element).visibility === "hidden") { continue; }
    if (element.type === "checkbox" || element.type === "radio") {
      const label = element.closest("label") || (element.id &&
        document.querySelector('label[for="' + CSS.escape(element.id) + '"]'));
      if (label) { box = label.getBoundingClientRect(); }
    }
    if (box.width < 43.5 || box.height < 43.5) {
      small.push(element.outerHTML.slice(0, 120) + " is " + Math.round(box.width) + "×" +
        Math.round(box.height));
    }
  }
  return small;
}"""

HORIZONTAL_OVERFLOW = """() => {
  const doc = document.documentElement;
  if (doc.scrollWidth <= window.innerWidth) { return null; }
  const wide = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (box.right > window.innerWidth + 0.5 && box.width > 0) {
      wide.push(element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") +
        (element.className && typeof element.className === "string" ?
          "." + element.className.trim().split(/\\s+/).join(".") : "") +
        " right=" + Math.round(box.right));
    }
  }
  return {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, wide: wide.slice(0, 10)};
}"""

POSITIVE_TABINDEX = """() => Array.from(document.querySelectorAll("[tabindex]"))
  .filter(element => parseInt(element.getAttribute("tabindex"), 10) > 0)
  .map(element => element.outerHTML.slice(0, 120))"""

FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) { return null; }
  const box = element.getBoundingClientRect();
  return {id: element.id, tag: element.tagName.toLowerCase(),
          classes: element.className && typeof element.className === "string" ?
            element.className : "",
          text: (element.textContent || "").trim().slice(0, 80),
          top: box.top, left: box.left, bottom: box.bottom, right: box.right,
          width: box.width, height: box.height,
          extend: element.hasAttribute("data-session-extend"),
          formAction: element.form ? element.form.getAttribute("action") : null,
          errorSummary: element.hasAttribute("data-error-summary")};
}"""


def wait_until(page, expression: str, timeout: float = 5.0) -> None:
    """Poll a JavaScript function until it returns true.

    Not page.wait_for_function: its predicate is eval'ed in the page, which the app's CSP
    (no 'unsafe-eval') forbids.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)


def focused(page) -> dict | None:
    return page.evaluate(FOCUSED)


def tab_until(page, predicate, limit: int = 60) -> dict:
    """Press Tab until `predicate(focused element info)` holds; fail after `limit` presses."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focused(page)
        if info is not None and predicate(info):
            return info
        seen.append(info and f"{info['tag']}#{info['id']} {info['text'][:30]!r}")
    raise AssertionError(f"never reached the element after {limit} Tab presses: {seen}")


# Page checks shared by the flow tests: ids used twice, heading levels skipped in main.
DUPLICATE_IDS = """() => { const seen = new Set(), twice = [];
  for (const element of document.querySelectorAll("[id]")) {
    if (seen.has(element.id)) { twice.push(element.id); }
    seen.add(element.id);
  }
  return twice; }"""

HEADING_SKIPS = """() => { const skips = []; let previous = 0;
  for (const h of document.querySelectorAll("main h1, main h2, main h3, main h4, main h5")) {
    const level = parseInt(h.tagName.slice(1), 10);
    if (previous && level > previous + 1) {
      skips.push("h" + previous + " → h" + level + " " + JSON.stringify(h.textContent.trim()));
    }
    previous = level;
  }
  return skips; }"""
