"""The idle warning (WCAG 2.2.1, ACCESSIBILITY.md item 17) on an app whose sessions end after
one minute: the warning appears 10 s after the page loads.

The visit runs once (module fixture) and records what it saw; the tests then check it, so
that a known problem can be marked on its own test without waiting twice.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser import support
from tests.browser.conftest import short_sessions

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def short_server(app, live_server):
    """A second app on the same database and instance folder, with 1-minute sessions."""
    with short_sessions(app, 50) as server:
        yield server


@pytest.fixture(scope="module")
def idle_visit(browsing, app, short_server):
    """Sign in, wait for the warning, press Enter on « Rester connecté », use the session."""
    seen: dict = {}
    context = browsing.new_context(js=True, server=short_server)
    try:
        page = context.new_page()
        support.sign_in(page, app, "pharma.petit")
        loaded = time.monotonic()
        seen["heading"] = page.locator("h1").inner_text()
        panel = page.locator("#session-warning")
        seen["hidden_at_first"] = panel.is_hidden()

        panel.wait_for(state="visible", timeout=15_000)
        seen["shown_after"] = time.monotonic() - loaded
        seen["role"] = panel.get_attribute("role")
        support.wait_until(page, "() => document.activeElement && "
                                 "document.activeElement !== document.body", timeout=2)
        seen["focus_when_shown"] = support.focused(page)
        seen["axe_when_shown"] = support.axe_violations(page, True)

        page.evaluate("() => { window.__settled = false; document.addEventListener("
                      "'htmx:afterSettle', () => { window.__settled = true; }); }")
        page.keyboard.press("Enter")
        expect(page.locator("#live-region")).to_contain_text("Votre session est prolongée.")
        support.wait_until(page, "() => window.__settled === true", timeout=2)
        page.wait_for_timeout(100)  # let app.js move the focus after the swap
        seen["live_region"] = page.locator("#live-region").inner_text()
        seen["hidden_after"] = page.locator("#session-warning").is_hidden()
        seen["focus_after"] = support.focused(page)

        page.goto("/pro")
        seen["url_after"] = page.url
        seen["heading_after"] = page.locator("h1").inner_text()
    except Exception as error:  # reported by the test that needs the missing step
        seen["error"] = error
    finally:
        context.close()
    return seen


def step(seen: dict, name: str):
    if name not in seen:
        raise AssertionError(f"the visit stopped before « {name} »") from seen.get("error")
    return seen[name]


def test_idle_warning_can_be_dismissed_by_keyboard(idle_visit):
    assert step(idle_visit, "hidden_at_first"), "the warning shows from the start"
    assert step(idle_visit, "shown_after") > 8, "the warning came too early"
    assert step(idle_visit, "role") == "alertdialog"
    focus = step(idle_visit, "focus_when_shown")
    assert focus["extend"] and focus["text"] == "Rester connecté", f"focus on {focus}"
    violations = step(idle_visit, "axe_when_shown")
    assert not violations, support.describe_violations(violations)
    assert "Votre session est prolongée." in step(idle_visit, "live_region")
    assert step(idle_visit, "hidden_after"), "the warning stays open"
    assert "/connexion" not in step(idle_visit, "url_after"), "the session ended anyway"
    assert step(idle_visit, "heading_after") == idle_visit["heading"]


def test_focus_returns_to_the_page_after_staying_signed_in(idle_visit):
    focus = step(idle_visit, "focus_after")
    assert focus is not None, "focus fell back to <body> after the warning closed"
