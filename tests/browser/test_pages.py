"""Every page, for every role, JavaScript on and off, 320 and 1280 px: axe, reflow, target
size, skip link, tab order (ACCESSIBILITY.md items 3, 10, 12, 13, 14 and layer 1).

The three checks of one page run one after the other on one page load (see conftest.py):
first the skip link, on the page as it loaded, then axe and the 320 px checks.
"""

from __future__ import annotations

import pytest

from tests.browser import support
from tests.browser.support import JS_MODES, ROLES, STATES, Target

pytestmark = pytest.mark.browser

# (test name, target id) or (test name, target id, js, width) ->
# pytest.mark.xfail(strict=True, reason=...) for app problems that CSS cannot fix.
# Whoever fixes the template or the Python code removes the entry.
KNOWN_PROBLEMS: dict = {}


def cases(test: str, widths=(1280, 320), modes=(True, False)):
    found = []
    for target in support.targets():
        for js in modes:
            for width in widths:
                marks = (KNOWN_PROBLEMS.get((test, target.id, js, width))
                         or KNOWN_PROBLEMS.get((test, target.id)) or ())
                found.append(pytest.param(target, js, width, marks=marks,
                                          id=f"{target.id}-{JS_MODES[js]}-{width}"))
    return found


def open_target(browsing, app, target: Target, js: bool, width: int, untouched: bool = False):
    """The page for this target, loaded once for all checks of the same (target, js, width).

    `untouched`: load it again even so, for a check that needs it as it loaded.
    """
    key = (target, js, width)
    if browsing.loaded == key and not untouched:
        return browsing.page
    page = browsing.page_for(target.role, js, width)
    if target.state:
        STATES[target.state](page, app)
        status = page.evaluate("performance.getEntriesByType('navigation')[0].responseStatus")
    else:
        status = page.goto(target.path).status
    assert status == target.status, (
        f"{target.path} answered {status} for {target.role}, expected {target.status}")
    browsing.loaded = key
    return page


@pytest.mark.parametrize(("target", "js", "width"), cases("test_axe_finds_no_violation"))
def test_axe_finds_no_violation(browsing, app, target, js, width):
    page = open_target(browsing, app, target, js, width)
    if target.status == 422:
        assert page.title().startswith("Erreur :"), page.title()
    assert page.locator("h1").count() == 1, "one h1 per page"
    support.assert_no_axe_violations(page, js, where=f"{target.name} ({target.role})")
    assert not browsing.errors, "\n".join(browsing.errors)


@pytest.mark.parametrize(("target", "js", "width"),
                         cases("test_reflows_at_320_with_large_targets", widths=(320,)))
def test_reflows_at_320_with_large_targets(browsing, app, target, js, width):
    page = open_target(browsing, app, target, js, width)
    overflow = page.evaluate(support.HORIZONTAL_OVERFLOW)
    assert overflow is None, f"horizontal scroll at 320 px: {overflow}"
    small = page.evaluate(support.SMALL_TARGETS)
    assert not small, "targets smaller than 44×44 CSS px:\n" + "\n".join(small)


@pytest.mark.parametrize(("target", "js", "width"), cases("test_first_tab_reaches_the_skip_link"))
def test_first_tab_reaches_the_skip_link(browsing, app, target, js, width):
    page = open_target(browsing, app, target, js, width, untouched=True)
    positive = page.evaluate(support.POSITIVE_TABINDEX)
    assert not positive, f"positive tabindex: {positive}"
    if js and target.moves_focus:
        # app.js focuses the error summary on load (ACCESSIBILITY.md item 8), or the h1
        # after a switch of spaces: Tab goes on from there.
        info = support.focused(page)
        if target.status == 422:
            assert info and info["errorSummary"], f"error summary not focused: {info}"
        else:
            assert info and info["tag"] == "h1", f"h1 not focused: {info}"
        return
    page.keyboard.press("Tab")
    info = support.focused(page)
    assert info and "skip-link" in info["classes"], f"first Tab went to {info}"
    viewport = support.VIEWPORTS[width]
    assert info["width"] > 1 and info["height"] > 1, f"skip link not visible: {info}"
    assert info["top"] >= 0 and info["left"] >= 0, f"skip link off screen when focused: {info}"
    assert info["bottom"] <= viewport["height"] and info["right"] <= viewport["width"], info
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"


def test_discovered_routes_match_the_app(app):
    """The pages were listed from a probe app at collection time: same routes as `app`."""
    assert support.routes_of(app) == support.discover_routes()


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_visits_exactly_its_pages(browsing, role):
    """The live server answers 200 on exactly the pages listed for the role."""
    page = browsing.page_for(role, True, 1280)
    discovered = {route.path for route in support.discover_routes()}
    expected = {target.path for target in support.targets()
                if target.role == role and target.status == 200 and not target.state
                and target.path in discovered}
    answered = set()
    for route in support.discover_routes():
        response = page.context.request.get(route.path, max_redirects=0)
        if response.status == 200 and response.headers["content-type"].startswith("text/html"):
            answered.add(route.path)
        else:
            assert response.status in (200, 302, 303, 403), (route.path, response.status)
    assert answered == expected
