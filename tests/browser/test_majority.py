"""Léo's 18th birthday, with the clock frozen on that day in Paris (issue 15): the daily
job ends his mother's representation; her browser, open on his space, gets "page not
found" on the next click, his space leaves her switch and no banner is left; the young
adult's letter holds a code that leads, after his identity, to the choice of taking the
space over or closing it, keyboard only, axe-clean at 320 px with and without JavaScript.
The demo data is seeded again afterwards, for the other browser modules."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from blueprints.activation import flow, views_activate
from domain import representation
from tests.browser import support
from tests.browser import test_activation as activating
from tests.browser.conftest import demo_patient_id, seed
from tests.browser.support import JS_MODES
from web import cli_representation

pytestmark = pytest.mark.browser

# 13 May 2037 at 22:00 UTC is already 14 May in Paris: Léo (born 14 May 2019) is 18.
BIRTHDAY_IN_PARIS = datetime(2037, 5, 13, 22, 0, tzinfo=UTC)
LEO = activating.Person(nir="119056912345674", vitale="", birth=date(2019, 5, 14), email=None,
                        phone=None, code=None, tag="leo")
STEP_TAKEOVER = ("/activation/reprise", 3, "Votre espace est maintenant le vôtre")
TAKEOVER_STEPS = 9


@pytest.fixture
def birthday(app, browsing, live_server, monkeypatch):
    """Run the daily job on Léo's birthday; the letters' path; the demo data back after."""
    def run() -> Path:
        """The job, its clock frozen on Léo's birthday; then the activation pages' clock
        too (the live server runs in this process), so that he is 18 for them."""
        with monkeypatch.context() as frozen:
            for module in (representation, cli_representation):
                frozen.setattr(module, "utcnow", lambda: BIRTHDAY_IN_PARIS)
            result = app.test_cli_runner().invoke(args=["representation", "majority"])
        assert "1 person(s) came of age; 1 representation(s) ended;" in result.output, (
            result.output)
        for module in (flow, views_activate):
            monkeypatch.setattr(module, "utcnow", lambda: BIRTHDAY_IN_PARIS)
        return Path(re.search(r"Letters for the post: (\S+)", result.output).group(1))

    yield run
    seed(app)
    live_server.seeded = demo_patient_id(app)
    browsing.forget()


def letter_code(letters: Path) -> str:
    text = " ".join(PdfReader(io.BytesIO(letters.read_bytes())).pages[0].extract_text().split())
    assert "est maintenant le vôtre" in text
    return re.search(r"\b([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})\b",
                     text).group(1)


def check_reflow(page, where: str) -> None:
    assert page.evaluate(support.HORIZONTAL_OVERFLOW) is None, where
    small = page.evaluate(support.SMALL_TARGETS)
    assert not small, f"{where}: " + "\n".join(small)


def check(page, js: bool, where: str) -> None:
    support.assert_no_axe_violations(page, js, where=where)
    check_reflow(page, where)


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_on_the_18th_birthday_the_space_passes_to_the_young_adult(browsing, birthday, js):
    parent = browsing.page_for("patient", js, 320)
    parent.goto("/mon-espace")
    with parent.expect_navigation():
        parent.locator("nav.space-switch a", has_text="Espace de Léo").click()
    documents = re.sub(r"/mon-espace.*$", "/documents", parent.url)

    letters = birthday()

    # Camille's next click in Léo's space: not found, and nothing of his is left on screen.
    response = parent.goto(documents)
    assert response.status == 404
    assert parent.locator(".banner--represented").count() == 0
    assert "Léo" not in parent.title()
    check(parent, js, "a former representative's click")
    parent.goto("/mon-espace")
    assert parent.locator("nav.space-switch").count() == 0
    assert "Léo" not in parent.locator("main").inner_text()

    # Léo, on the public site, with the code of his letter and the keyboard only.
    context = browsing.new_context(js=js, width=320)
    try:
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda error: page.js_errors.append(str(error)))
        activating.start(page, js, letter_code(letters))
        activating.type_identity(page, LEO)
        activating.press_and_wait(page, js)
        activating.check_step(page, js, STEP_TAKEOVER, total=TAKEOVER_STEPS)
        check_reflow(page, "the takeover step")
        # The closing form sent empty: the error summary, nothing closed.
        activating.tab_to(page, "button.button--secondary")
        activating.press_and_wait(page, js)
        activating.check_step(page, js, ("/activation/reprise/fermer", 3, STEP_TAKEOVER[2]),
                              error=True, total=TAKEOVER_STEPS)
        assert page.locator(".error-summary a").count() == 2
        check_reflow(page, "the takeover step with errors")
        # He takes it over: the terms of use come next, as in any activation.
        activating.tab_to(page, "form[action$='/activation/reprise'] button")
        activating.press_and_wait(page, js)
        activating.check_step(page, js, ("/activation/conditions", 4,
                                         activating.STEP_TERMS[2]), total=TAKEOVER_STEPS)
    finally:
        context.close()
