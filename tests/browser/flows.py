"""Helpers of the flow tests (profile, professional portal, access pages, messaging, agenda,
documents): the findings collected on each page, signed-in pages, focus, forms, keys."""

from __future__ import annotations

import contextlib

import pytest

from tests.browser.support import (
    DUPLICATE_IDS,
    HEADING_SKIPS,
    HORIZONTAL_OVERFLOW,
    JS_MODES,
    ROLES,
    SMALL_TARGETS,
    axe_violations,
    describe_violations,
    limits_off,
    tab_until,
    wait_until,
)

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
        """The title starts with the h1 (after "Erreur : "), or at least holds it; except a
        generic one (data-generic: a private page whose h1 names an item keeps a title
        naming the kind of page, ACCESSIBILITY.md item 2)."""
        h1 = page.locator("h1")
        if h1.count() != 1:
            return  # said by axe()
        if page.locator("title").get_attribute("data-generic") is not None:
            return
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
