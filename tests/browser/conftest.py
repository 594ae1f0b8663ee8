"""A live server on the test app, one Chromium per run, one sign-in per demo role.

Browser tests (marked `browser`) keep the database between tests: it is seeded once with the
demo accounts; each role signs in once through the real form and its cookies are reused by
every other browser context (JavaScript on and off, 320 and 1280 px wide).
"""

from __future__ import annotations

import contextlib
import threading

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from domain import demo
from domain.models import User
from extensions import db, keys, limiter
from tests.browser import flows, support
from tests.conftest import empty_database


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass  # no line per request in the test output


class LiveServer:
    def __init__(self, application):
        self.app = application
        self.seeded: str | None = None  # the demo patient's id when this run seeded the data
        self.server = make_server("127.0.0.1", 0, application, threaded=True,
                                  request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def short_sessions(app, warning_seconds: int):
    """A second live server on the same database and instance folder, whose sessions idle
    out after 1 minute, the warning `warning_seconds` before."""
    saved = limiter.enabled  # Limiter is one object: init_app() would reset its switch
    short = create_app({
        "TESTING": True,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "PASSWORD_HASH_PROFILE": "fast",
        "OUTBOX_DIR": app.config["OUTBOX_DIR"],
        "RATELIMIT_STORAGE_URI": app.config["RATELIMIT_STORAGE_URI"],
        "SESSION_IDLE_MINUTES": 1,
        "SESSION_WARNING_SECONDS": warning_seconds,
    }, instance_path=app.instance_path)
    limiter.enabled = saved
    server = LiveServer(short)
    try:
        yield server
    finally:
        server.stop()


def seed(application) -> None:
    empty_database(application)
    with application.app_context():
        demo.seed(db.session, keys.ring, "fast")
        db.session.commit()


def demo_patient_id(application) -> str | None:
    """Changes when another test module empties the database (and maybe seeds it again)."""
    with application.app_context():
        return db.session.execute(
            select(User.id).where(User.login == "camille.martin")).scalar_one_or_none()


@pytest.fixture(scope="session")
def live_server(app):
    seed(app)
    server = LiveServer(app)
    server.seeded = demo_patient_id(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_instance():
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    chromium = playwright_instance.chromium.launch(executable_path=support.CHROMIUM,
                                                   args=support.CHROMIUM_ARGS)
    yield chromium
    chromium.close()


class Browsing:
    """Contexts for the run: signed-in cookies per role, and one open page at a time."""

    def __init__(self, browser, server: LiveServer):
        self.browser = browser
        self.server = server
        self.states: dict[str, dict] = {}
        self.key = None
        self.context = None
        self.page = None
        self.loaded = None  # what the shared page shows now (see test_pages.open_target)
        self.errors: list[str] = []

    def new_context(self, *, role: str | None = None, js: bool = True, width: int = 1280,
                    server: LiveServer | None = None):
        """A fresh context; signed in as `role` with the cookies of its single sign-in."""
        server = server or self.server
        options = {"base_url": server.url, "java_script_enabled": js,
                   "viewport": support.VIEWPORTS[width], "locale": "fr-FR",
                   "color_scheme": "light"}
        if role is not None and support.ROLES[role] is not None:
            options["storage_state"] = self.state(role)
        context = self.browser.new_context(**options)
        context.set_default_timeout(support.TIMEOUT_MS)
        return context

    def state(self, role: str) -> dict:
        if role not in self.states:
            context = self.new_context()
            try:
                support.sign_in(context.new_page(), self.server.app, support.ROLES[role])
                self.states[role] = context.storage_state()
            finally:
                context.close()
        return self.states[role]

    def page_for(self, role: str, js: bool, width: int):
        """The shared page for (role, JavaScript, width); the previous one is closed."""
        key = (role, js, width)
        if key != self.key:
            self.close()
            self.context = self.new_context(role=role, js=js, width=width)
            self.page = self.context.new_page()
            self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
            self.page.on("console", self._console)
            self.key = key
        if support.ROLES[role] is None:
            self.context.clear_cookies()
        self.errors.clear()
        self.loaded = None
        return self.page

    def _console(self, message) -> None:
        if message.type != "error":
            return
        location = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource") and self.page is not None \
                and location == self.page.url:
            return  # the document itself answered 4xx on purpose (403, 404, 422)
        self.errors.append(f"console: {message.text} ({location})")

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
        self.key = self.context = self.page = self.loaded = None

    def forget(self) -> None:
        self.close()
        self.states.clear()


@pytest.fixture(scope="session")
def browsing(browser, live_server):
    session = Browsing(browser, live_server)
    yield session
    session.close()


@pytest.fixture
def open_page(browsing):
    """Factory for the flow tests: open_page(login, js, width), see flows.page_opener."""
    with flows.page_opener(browsing) as open_page:
        yield open_page


@pytest.fixture(autouse=True, scope="module")
def _demo_data(app, browsing, live_server):
    """Other test modules empty the database before each of their tests: seed again if so,
    and sign in again (the saved cookies point to sessions that no longer exist)."""
    if demo_patient_id(app) != live_server.seeded or live_server.seeded is None:
        seed(app)
        live_server.seeded = demo_patient_id(app)
        browsing.forget()
    yield


# The skip-link check comes first: it needs a page nobody has touched yet.
PAGE_CHECKS = ("test_first_tab_reaches_the_skip_link", "test_axe_finds_no_violation",
               "test_reflows_at_320_with_large_targets")


def pytest_collection_modifyitems(items):
    """Run the checks of one page one after the other, so they share one page load."""
    slots = [index for index, item in enumerate(items)
             if getattr(item, "originalname", None) in PAGE_CHECKS
             and "target" in getattr(getattr(item, "callspec", None), "params", {})]
    if not slots:
        return
    roles = list(support.ROLES)
    order = {target: index for index, target in enumerate(support.targets())}

    def key(item):
        params = item.callspec.params
        target = params["target"]
        return (roles.index(target.role), not params["js"], -params["width"], order[target],
                PAGE_CHECKS.index(item.originalname))

    for slot, item in zip(slots, sorted((items[index] for index in slots), key=key),
                          strict=True):
        items[slot] = item
