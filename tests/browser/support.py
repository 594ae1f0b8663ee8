"""Helpers for the browser tests: pages to visit, signing in through the real form, axe.

Importable by the test modules (unlike conftest.py): the list of pages is needed when
pytest collects the tests, to give every page its own test id.
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
import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from domain.models import User
from domain.policy import Area
from extensions import db, limiter
from tests.conftest import DEMO, last_sms_code

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]
VIEWPORTS = {320: {"width": 320, "height": 640}, 1280: {"width": 1280, "height": 900}}
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
SKIPPED_ENDPOINTS = {"assets.static_file", "pages.language"}
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
        """With JavaScript, app.js focuses the error summary of these pages on load."""
        return self.status == 422


def role_may_see(role: str, route: Route) -> bool:
    """Pages (HTML) that answer the role 200; a server error stays in, to fail loudly."""
    status, mimetype = probe().answers[role][route.path]
    return (status == 200 and mimetype == "text/html") or status >= 500


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
    ]
    return tuple(found)


def state_login_error(page, app) -> None:
    """The sign-in form sent empty: error summary, inline errors, "Erreur :" title."""
    with limits_off():
        page.goto("/connexion")
        submit_main_form(page)


def _wrong_code(login: str):
    def reach(page, app) -> None:
        with limits_off():
            page.goto("/connexion")
            page.fill("#login", login)
            page.fill("#password", DEMO[login].password)
            submit_main_form(page)
            page.wait_for_url(re.compile(r"/connexion/code"))
            page.fill("#code", "000000")
            submit_main_form(page)

    return reach


STATES = {
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


def totp_code(app, login: str) -> str:
    """An unused TOTP code that stays valid for at least 10 s (waits for a step if needed).

    Like tests.conftest.next_totp, but never hands out the previous step just before it
    expires, and waits for the next 30-second step instead of failing when this account
    already used the three steps the server accepts.
    """
    totp = pyotp.TOTP(DEMO[login].totp_secret)
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


SMALL_TARGETS = """() => {
  const selector = "header a[href], nav a[href], footer a[href], button, select, textarea, " +
    "input:not([type=hidden]), .button, summary";
  const small = [];
  for (const element of document.querySelectorAll(selector)) {
    if (!element.closest("header, nav, main, footer")) { continue; }
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


# --------------------------------------------------------------------------- flow tests

# (JavaScript, width): the two ends most pages are checked at, and all four combinations.
COMBOS = [pytest.param(True, 1280, id="js-1280"), pytest.param(False, 320, id="sans-js-320")]
ALL_COMBOS = [pytest.param(js, width, id=f"{JS_MODES[js]}-{width}")
              for js in (True, False) for width in (1280, 320)]

ROLE_OF = {login: role for role, login in ROLES.items() if login is not None}

# Where the focus is, said in a line: tag, id, whether it is the error summary, its text.
FOCUS = """() => { const e = document.activeElement;
  if (!e || e === document.body) { return "body"; }
  return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (e.hasAttribute("data-error-summary") ? "[data-error-summary]" : "") +
    " " + JSON.stringify((e.textContent || "").trim().slice(0, 60)); }"""
SUMMARY_FOCUSED = "e.hasAttribute('data-error-summary')"
CLEAR_LIVE = "() => { document.getElementById('live-region').textContent = ''; }"
# Set before an htmx request: still true after it if the document was not reloaded.
MARK = "() => { window.__sansRechargement = true; }"
NOT_RELOADED = "() => window.__sansRechargement === true"


@contextlib.contextmanager
def page_opener(browsing):
    """Yields `open_page(login, js, width)`: a page in a fresh context signed in as `login`
    (by default the demo patient; None: signed out), with the cookies of the run's single
    sign-in per role, its JavaScript errors collected in page.js_errors. Rate limits are
    off meanwhile; the contexts are closed at the end."""
    contexts = []

    def open_page(login: str | None = ROLES["patient"], js: bool = True, width: int = 1280):
        context = browsing.new_context(role=login and ROLE_OF[login], js=js, width=width)
        contexts.append(context)
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda error: page.js_errors.append(str(error)))
        return page

    try:
        with limits_off():
            yield open_page
    finally:
        for context in contexts:
            context.close()


class Findings:
    """Problems seen along a flow, reported together at the end, so that one problem does
    not hide the next states' checks.

    `known_problems` (a module sets its own in a subclass): application problems found by
    the tests and not fixed yet, key -> what is wrong. A check tied to a key that fails
    makes its test xfail (after every other check of the test passed); a check tied to a
    key that passes fails the test, so whoever fixes the application removes the entry
    (the same contract as xfail(strict=True)).
    """

    known_problems: dict[str, str] = {}

    def __init__(self):
        self.problems: list[str] = []
        self.known_checked: set[str] = set()
        self.known_seen: dict[str, list[str]] = {}

    def check(self, condition: bool, message: str, known: str | None = None) -> None:
        if known is not None:
            assert known in self.known_problems, known
            self.known_checked.add(known)
            if not condition:
                self.known_seen.setdefault(known, []).append(message)
            return
        if not condition:
            self.problems.append(message)

    def page(self, page, js: bool, width: int, where: str) -> None:
        """axe() and headings(); at 320 px, reflow()."""
        self.axe(page, js, where, width)
        self.headings(page, where)
        if width == 320:
            self.reflow(page, where)

    def axe(self, page, js: bool, where: str, width: int | None = None) -> None:
        """One h1, axe, unique ids, no JavaScript error."""
        if page.locator("h1").count() != 1:
            self.problems.append(f"{where}: {page.locator('h1').count()} h1")
        violations = axe_violations(page, js)
        if violations:
            mode = JS_MODES[js] if width is None else f"{JS_MODES[js]}, {width} px"
            self.problems.append(f"axe on {where} ({mode}, {page.url}):\n"
                                 + describe_violations(violations))
        duplicates = page.evaluate(DUPLICATE_IDS)
        if duplicates:
            self.problems.append(f"{where}: duplicate ids {duplicates}")
        if getattr(page, "js_errors", None):
            self.problems.append(f"JavaScript errors on {where}: {page.js_errors}")
            page.js_errors.clear()

    def headings(self, page, where: str) -> None:
        skips = page.evaluate(HEADING_SKIPS)
        if skips:
            self.problems.append(f"{where}: skipped heading levels {skips}")

    def title(self, page, where: str) -> None:
        """The title starts with the h1 (after "Erreur : "), or at least holds it."""
        h1 = page.locator("h1")
        if h1.count() != 1:
            return  # said by axe()
        heading, title = h1.inner_text().strip(), page.title()
        if not title.removeprefix("Erreur : ").startswith(heading) and heading not in title:
            self.problems.append(f"{where}: title {title!r} without the h1")

    def reflow(self, page, where: str, known: str | None = None) -> None:
        """At 320 px: no sideways scroll, targets of 44×44 CSS px."""
        overflow = page.evaluate(HORIZONTAL_OVERFLOW)
        self.check(overflow is None, f"horizontal scroll at 320 px on {where}: {overflow}",
                   known=known)
        small = page.evaluate(SMALL_TARGETS)
        if small:
            self.problems.append(f"targets under 44×44 CSS px on {where}: " + "; ".join(small))

    def done(self) -> None:
        problems = list(self.problems)
        fixed = sorted(self.known_checked - set(self.known_seen))
        problems += [f"KNOWN_PROBLEMS[{key!r}] no longer happens: remove it from "
                     f"KNOWN_PROBLEMS" for key in fixed]
        seen = [f"(known: {key}) {message}" for key, messages in self.known_seen.items()
                for message in messages]
        assert not problems, f"{len(problems)} problem(s):\n\n" + "\n\n".join(
            problems + seen)
        if seen:
            pytest.xfail("known application problem(s): " + " | ".join(
                f"{key}: {self.known_problems[key]}" for key in self.known_seen))


def status_of(page) -> int:
    return page.evaluate("performance.getEntriesByType('navigation')[0].responseStatus")


def click_and_load(page, control) -> int:
    """Click a link or button that loads a page; the status of that page."""
    with page.expect_navigation():
        control.click()
    return status_of(page)


def submit(page, button=None) -> int:
    """Send the page's main form (or click `button`); the status of the final answer."""
    return click_and_load(page, button or page.locator("main form.form button[type=submit]")
                          .first)


def press_and_load(page, key: str = "Enter") -> int:
    with page.expect_navigation():
        page.keyboard.press(key)
    return status_of(page)


def focus_is(page, test_js: str, timeout: float = 0.5) -> tuple[bool, str]:
    """Wait (briefly) until `test_js` holds for `e`, document.activeElement; where the
    focus is."""
    try:
        wait_until(page, f"() => {{ const e = document.activeElement; "
                         f"return !!e && ({test_js}); }}", timeout=timeout)
        return True, page.evaluate(FOCUS)
    except AssertionError:
        return False, page.evaluate(FOCUS)


def focused_id(page) -> str | None:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


def tab_to_id(page, element_id: str, limit: int = 60) -> dict:
    return tab_until(page, lambda info: info["id"] == element_id, limit)


def tab_to_text(page, text: str, tag: str | None = None, limit: int = 60) -> dict:
    return tab_until(page, lambda info: info["text"] == text
                     and (tag is None or info["tag"] == tag), limit)


def banner(page) -> str:
    return " ".join(page.locator("main .banner").all_inner_texts()).strip()


def summary_links(scope) -> list[str]:
    return scope.locator("[data-error-summary] a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")


BEFORE_ALL = """(element, selectors) => selectors.every(selector =>
  !!(element.compareDocumentPosition(document.querySelector(selector)) & 4))"""


def check_failed_form(findings: Findings, page, js: bool, status: int | None,
                      fields: list[str], where: str, *, above: tuple[str, ...] = (),
                      not_marked: tuple[str, ...] = (), focus_timeout: float = 0.5):
    """422 (`status` None: htmx kept the document); "Erreur :" title; one summary in main,
    role=alert, before the elements `above` names (selectors), linking to each field in
    error in the order of the form; each such field (but those in `not_marked`) marked
    aria-invalid and described by its inline error, which starts with a hidden "Erreur :";
    with JavaScript the summary has the focus.

    The summary, for the caller's own checks; None if there is not exactly one.
    """
    if status is not None:
        findings.check(status == 422, f"{where}: answered {status}, not 422")
    findings.check(page.title().startswith("Erreur :"), f"{where}: title {page.title()!r}")
    summary = page.locator("main [data-error-summary]")
    findings.check(summary.count() == 1, f"{where}: {summary.count()} error summaries")
    if summary.count() != 1:
        return None
    findings.check(summary.get_attribute("role") == "alert", f"{where}: summary not an alert")
    if above:
        findings.check(summary.evaluate(BEFORE_ALL, list(above)),
                       f"{where}: the summary is not above {' and '.join(above)}")
    links = summary_links(page.locator("main"))
    findings.check(links == [f"#{field}" for field in fields],
                   f"{where}: summary links {links}, expected {['#' + f for f in fields]}")
    for href in links:
        target = page.locator(href)
        findings.check(target.count() == 1, f"{where}: {href} leads nowhere")
        if target.count() != 1 or href[1:] in not_marked:
            continue
        findings.check(target.get_attribute("aria-invalid") == "true",
                       f"{where}: {href} has no aria-invalid=true")
        described = (target.get_attribute("aria-describedby") or "").split()
        findings.check(f"{href[1:]}-error" in described,
                       f"{where}: {href} not described by its error ({described})")
    for error in page.locator("main .field-error").all():
        findings.check(error.locator(".visually-hidden").inner_text().strip() == "Erreur :",
                       f"{where}: inline error without a hidden 'Erreur :'")
    if js:
        ok, focus = focus_is(page, SUMMARY_FOCUSED, timeout=focus_timeout)
        findings.check(ok, f"{where}: focus is on {focus}, not on the error summary")
    return summary
