"""The slips a new user hit (issue 17, items 5, 6, 8 and 15), in a real browser: blocking the
attending doctor, the vaccinations still due after an in-place change, the focus after
« Rester connecté », and what a screen reader can jump to or hears."""

from __future__ import annotations

import re

import pytest

from tests.browser import support
from tests.browser.conftest import short_sessions

pytestmark = pytest.mark.browser


# --------------------------------------------------------------- 8. after « Rester connecté »

@pytest.fixture(scope="module")
def short_server(app, live_server):
    """A second app on the same database, whose warning shows 3 s after a page loads."""
    with short_sessions(app, 57) as server:
        yield server


def test_staying_signed_in_returns_the_focus_to_the_field_being_typed_in(browsing, app,
                                                                         short_server):
    context = browsing.new_context(js=True, server=short_server)
    try:
        page = context.new_page()
        support.sign_in(page, app, "pharma.petit")
        page.goto("/pro/patients")
        page.locator("#nir").click()
        page.keyboard.type("2 88 03")
        panel = page.locator("#session-warning")
        panel.wait_for(state="visible", timeout=10_000)
        support.wait_until(page, "() => document.activeElement && "
                                 "document.activeElement.hasAttribute('data-session-extend')")
        page.evaluate("() => { window.__settled = false; document.addEventListener("
                      "'htmx:afterSettle', () => { window.__settled = true; }); }")
        page.keyboard.press("Enter")
        support.wait_until(page, "() => window.__settled === true")
        page.wait_for_timeout(100)
        assert panel.is_hidden()
        focus = support.focused(page)
        assert focus is not None and focus["id"] == "nir", f"focus on {focus}"
        assert page.locator("#nir").input_value() == "2 88 03"
        page.keyboard.type(" 75")
        assert page.locator("#nir").input_value() == "2 88 03 75"
    finally:
        context.close()


# --------------------------------------------------------------- 6. vaccinations still to do

BOOSTER_DUE = "Diphtérie, tétanos, polio (rappel adulte) : à faire maintenant"
NOTHING_DUE = "Aucune vaccination n’est à faire dans les 3 prochains mois"


@pytest.fixture
def due_booster(app):
    """The demo patient turned 45 ten days ago (the adult booster is due), with no
    vaccination in her profile; both put back afterwards."""
    from tests.browser.test_profile import Profile, _patient

    state = Profile(app)
    with app.app_context():
        born = _patient().birth_date
    state.empty()
    _set_birth_date(app, _years_ago(45, 10))
    yield state
    state.empty()
    _set_birth_date(app, born)


def _years_ago(years: int, days: int):
    from tests.blueprints.profile.test_profile_pages import years_ago
    return years_ago(years, days=days)


def _set_birth_date(app, born) -> None:
    from tests.blueprints.profile.test_profile_pages import set_birth_date
    set_birth_date(app, born)


def _settled(page) -> None:
    support.wait_until(page, "() => !document.querySelector('.htmx-request, .htmx-settling, "
                             ".htmx-swapping, .htmx-added, [aria-busy]')")
    page.wait_for_timeout(60)


def test_vaccinations_due_follow_an_in_place_add_and_delete(open_page, due_booster):
    from datetime import date

    page = open_page()
    page.goto("/profil/vaccinations")
    due = page.locator("#vaccinations-due")
    assert BOOSTER_DUE in due.inner_text()
    today = date.today()
    form = page.locator("#section-content form[aria-labelledby=add-title]")
    form.locator("[name=vaccine]").select_option("dtp")
    form.locator("[name=given_on_day]").fill(str(today.day))
    form.locator("[name=given_on_month]").fill(str(today.month))
    form.locator("[name=given_on_year]").fill(str(today.year))
    url = page.url
    form.locator("button[type=submit]").click()
    _settled(page)
    assert page.url == url, "the page was reloaded"
    assert page.locator("#section-content .entries > li").count() == 1
    assert NOTHING_DUE in due.inner_text(), due.inner_text()
    assert page.locator("#vaccinations-due").count() == 1

    page.locator("#section-content .entry__actions a", has_text="Supprimer").click()
    _settled(page)
    page.locator("#section-content button", has_text="Oui, supprimer").click()
    _settled(page)
    assert page.locator("#section-content .entries > li").count() == 0
    assert BOOSTER_DUE in due.inner_text(), due.inner_text()
    assert page.locator("#vaccinations-due").count() == 1
    support.assert_no_axe_violations(page, True, "vaccinations after a delete")
    assert not page.js_errors, page.js_errors


# --------------------------------------------------------------- 15. what a screen reader finds

HEADINGS = """() => Array.from(document.querySelectorAll("main h1, main h2, main h3, main h4"))
  .map(h => [parseInt(h.tagName[1], 10), h.textContent.replace(/\\s+/g, " ").trim(),
             h.closest("li.message") ? h.closest("li.message").id : null])"""

# Landmarks as a screen reader lists them: header/footer count only outside sectioning
# content; section and form only with a name.
LANDMARKS = """() => {
  const named = e => e.hasAttribute("aria-label") || e.hasAttribute("aria-labelledby");
  const found = [];
  for (const e of document.querySelectorAll(
      "header, footer, nav, main, aside, section, form, [role]")) {
    const role = e.getAttribute("role");
    const tag = e.tagName.toLowerCase();
    if (e.closest("[hidden]")) { continue; }
    if (role && ["banner", "contentinfo", "navigation", "main", "complementary", "region",
                 "search", "form"].includes(role)) { found.push(role); continue; }
    if (role) { continue; }
    if ((tag === "header" || tag === "footer") &&
        e.parentElement.closest("article, aside, main, nav, section")) { continue; }
    if ((tag === "section" || tag === "form") && !named(e)) { continue; }
    found.push(tag + (e.id ? "#" + e.id : ""));
  }
  return found;
}"""


def test_each_message_of_a_conversation_has_its_heading(open_page, app):
    from tests.browser.test_messaging import DOCTOR_NAME, Mailbox, seed_thread

    mailbox = Mailbox(app)
    try:
        conversation, ids = seed_thread(mailbox)
        page = open_page()
        assert page.goto(f"/messagerie/{conversation}").status == 200
        headings = page.evaluate(HEADINGS)
        levels = [level for level, _text, _message in headings]
        pairs = zip(levels, levels[1:], strict=False)
        assert levels[0] == 1 and all(b - a <= 1 for a, b in pairs), headings
        in_messages = [(level, text, message) for level, text, message in headings if message]
        assert [message for _level, _text, message in in_messages] == [
            f"message-{number}" for number in ids], headings
        assert {level for level, _text, _message in in_messages} == {3}
        for index, (_level, text, _message) in enumerate(in_messages):
            author = f"{DOCTOR_NAME}, Médecin — " if index % 2 == 0 else "Vous — "
            assert text.startswith(author), text
            assert re.search(r"\d{1,2} \w+ \d{4}, \d{2}:\d{2}$", text), text
        support.assert_no_axe_violations(page, True, "a conversation")
    finally:
        mailbox.restore()


def test_the_profile_page_keeps_landmarks_for_the_page_structure(open_page):
    page = open_page()
    assert page.goto("/profil").status == 200
    landmarks = page.evaluate(LANDMARKS)
    in_main = page.evaluate("() => Array.from(document.querySelectorAll('main section, main "
                            "[role=region]')).filter(e => e.hasAttribute('aria-label') || "
                            "e.hasAttribute('aria-labelledby') || e.getAttribute('role'))"
                            ".length")
    assert in_main == 0, landmarks
    assert len(landmarks) <= 6, landmarks
    assert page.locator("main h2").count() >= 8  # one heading per section to jump to


ANNOUNCE = """(text) => {
  let box = document.getElementById("rules-probe");
  if (!box) { box = document.createElement("div"); box.id = "rules-probe";
              document.body.appendChild(box); }
  box.innerHTML = '<p data-password-status></p>';
  box.querySelector("p").textContent = text;
  box.dispatchEvent(new CustomEvent("htmx:afterSettle", {bubbles: true,
    detail: {elt: box, target: box}}));
}"""


def test_the_password_rules_status_is_announced_after_a_pause(open_page):
    """What app.js does after each swap of the rules (activation, credentials step): the
    state goes to the page's polite live region, after a pause and only when it changed."""
    page = open_page(None)
    page.goto("/aide")
    live = page.locator("#live-region")
    assert live.get_attribute("aria-live") == "polite"
    page.evaluate(ANNOUNCE, "2 règles ne sont pas encore respectées.")
    page.wait_for_timeout(300)
    page.evaluate(ANNOUNCE, "1 règle n’est pas encore respectée.")
    page.wait_for_timeout(300)
    assert live.inner_text() == "", "read out on every keystroke, without a pause"
    page.wait_for_timeout(1200)
    assert live.inner_text() == "1 règle n’est pas encore respectée."
    page.evaluate("() => { document.getElementById('live-region').textContent = 'autre'; }")
    page.evaluate(ANNOUNCE, "1 règle n’est pas encore respectée.")
    page.wait_for_timeout(1500)
    assert live.inner_text() == "autre", "the same state was read out again"
    page.evaluate(ANNOUNCE, "Toutes les règles sont respectées.")
    page.wait_for_timeout(1500)
    assert live.inner_text() == "Toutes les règles sont respectées."
