"""Connecting an app end to end in Chromium (issue 19), at 320 px, JavaScript on and off,
the person's actions by keyboard only (Tab, Space, Enter).

The demo patient (the run's signed-in session) is sent by the example scale app to the
consent page with a real PKCE S256 pair; axe, reflow and 44×44 targets on that page; both
kinds of data asked are unticked; she ticks only "Lire vos mesures…" (fewer than asked) and
presses "Autoriser". The test listens on the app's redirect URI, http://127.0.0.1:8765/retour,
as the example client does: the code and state come from the address the browser brings
there. The test then acts as the app on the live server (Playwright's API requests, without
the browser's cookies): the code and verifier give a token whose scope is the read alone;
reading the measures answers a Bundle; adding a weight (out of scope) answers 403 with an
OperationOutcome and adds nothing. Back in the browser, "Services connectés" shows the app
and what it may do; she withdraws it by keyboard, the success message is in a role=status
banner, and the app's next call with the same token answers 401.

The browser tests share one database for the run: the connections made here (with their
codes and tokens) are deleted afterwards."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import delete, func, select

from domain.models import AppAuthorizationCode, AppConnection, AppToken, Measure, User
from extensions import db
from tests.browser.flows import Findings, press_and_load, tab_to_id, tab_until
from tests.browser.support import JS_MODES, TIMEOUT_MS
from tests.oauth_client import APP, REDIRECT, WEIGHT, WEIGHT_SCOPES, authorize_url

pytestmark = pytest.mark.browser

JS_PARAMS = pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)

WIDTH = 320
PATIENT = "camille.martin"
APP_NAME = "Balance connectée (exemple)"
APP_ORIGIN = "http://127.0.0.1:8765"
READ = "Lire vos mesures (poids, taille, tension…)"
WRITE = "Ajouter des mesures à votre profil (par exemple un poids)"
READ_SCOPE = "patient/Observation.rs"
CONNECTED = "/services-connectes"
WITHDRAW = f"Retirer l’accès de « {APP_NAME} »"
WITHDRAWN = (f"L’accès de « {APP_NAME} » à l’espace est retiré : le service ne peut plus "
             "rien lire ni ajouter.")
# The app's page after the consent, where the browser comes back with the code.
APP_PAGE = ("<!doctype html><html lang=\"fr\"><title>Balance connectée</title>"
            "<h1>Retour dans l’application</h1></html>")


@pytest.fixture
def connections(app):
    """The connections made by the test are deleted afterwards, codes and tokens first."""
    with app.app_context():
        existing = set(db.session.scalars(select(AppConnection.id)))
    yield
    with app.app_context():
        made = select(AppConnection.id).where(AppConnection.id.not_in(existing))
        db.session.execute(delete(AppToken).where(AppToken.connection_id.in_(made)))
        db.session.execute(delete(AppAuthorizationCode).where(
            AppAuthorizationCode.connection_id.in_(made)))
        db.session.execute(delete(AppConnection).where(AppConnection.id.not_in(existing)))
        db.session.commit()


class AppAddress(ThreadingHTTPServer):
    """The app's redirect URI, http://127.0.0.1:8765/retour, as a native app listens on it
    (RFC 8252): the addresses the browser brought back, a small page in answer.

    Not page.route(): Playwright never routes the target of a redirect, and the consent
    page answers with one (and the browser must follow it itself, under the consent page's
    Content-Security-Policy)."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        self.received: list[str] = []
        super().__init__(("127.0.0.1", urlsplit(APP_ORIGIN).port), AppPage)


class AppPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        if urlsplit(self.path).path != urlsplit(REDIRECT).path:
            self.send_error(404)
            return
        self.server.received.append(APP_ORIGIN + self.path)
        body = APP_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass  # no line per request in the test output


@pytest.fixture
def the_app():
    try:
        server = AppAddress()
    except OSError as error:
        pytest.fail(f"{APP_ORIGIN} is taken ({error}): is the example client running?")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def measure_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Measure.id)).join(
            User, Measure.patient_id == User.id).where(User.login == PATIENT))


@pytest.fixture
def as_the_app(playwright_instance, live_server):
    """The app's own HTTP calls to the live server: no cookie of the browser's."""
    api = playwright_instance.request.new_context(base_url=live_server.url,
                                                  timeout=TIMEOUT_MS)
    yield api
    api.dispose()


def answer(response) -> tuple[int, str, dict, dict | None]:
    """Status, media type, headers and JSON body of one of the app's calls."""
    media = response.headers.get("content-type", "").split(";")[0].strip()
    body = response.body()
    return response.status, media, response.headers, json.loads(body) if body else None


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json", **more}


def check_state(findings: Findings, page, js: bool, where: str) -> None:
    """One state of a page, on its single load: axe, one h1, headings, reflow at 320 px,
    44×44 targets, title."""
    where = f"{where} ({JS_MODES[js]})"
    findings.page(page, js, WIDTH, where)
    findings.title(page, where)


def box_for(page, label: str):
    """The checkbox of the consent page whose label says `label`."""
    found = page.locator("main label", has_text=label)
    assert found.count() == 1, f"{found.count()} labels {label!r} on the consent page"
    return page.locator(f"#{found.get_attribute('for')}")


def consent_by_keyboard(findings: Findings, page, js: bool, the_app: AppAddress
                        ) -> tuple[dict, str, str]:
    """The consent page, answered with the read ticked alone: the query the browser took
    back to the app, the state sent, and the verifier the app kept."""
    state = secrets.token_urlsafe(16)
    path, verifier = authorize_url(WEIGHT_SCOPES, state=state)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))

    response = page.goto(path)
    assert response.status == 200, page.locator("main").inner_text()[:400]
    check_state(findings, page, js, "consent page")
    read, write = box_for(page, READ), box_for(page, WRITE)
    findings.check(not read.is_checked() and not write.is_checked(),
                   "consent page: a box is ticked before the person chose")

    tab_to_id(page, read.get_attribute("id"))
    page.keyboard.press("Space")
    assert read.is_checked() and not write.is_checked(), "Space did not tick the read alone"
    tab_until(page, lambda info: info["tag"] == "button" and info["text"] == "Autoriser")
    try:
        with page.expect_navigation(url=f"{REDIRECT}?**", timeout=TIMEOUT_MS):
            page.keyboard.press("Enter")
    except PlaywrightError as error:  # say where the browser stayed, and why
        page.wait_for_timeout(200)  # the console message of a blocked form comes after
        raise AssertionError(
            f"« Autoriser » did not bring the browser back to the app: still at {page.url}; "
            f"the app received {the_app.received}; the consent page's "
            f"Content-Security-Policy {response.headers.get('content-security-policy')!r}; "
            f"console {console}; ({error.message.splitlines()[0]})") from None
    assert the_app.received == [page.url], (the_app.received, page.url)
    assert page.locator("h1").inner_text() == "Retour dans l’application"
    query = {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}
    return query, state, verifier


@JS_PARAMS
def test_connect_an_app_with_fewer_data_then_withdraw_it(app, open_page, connections, the_app,
                                                         as_the_app, js):
    findings = Findings()
    page = open_page(js=js, width=WIDTH)
    measures_before = measure_count(app)

    # 1. The consent page, by keyboard: the read alone.
    query, state, verifier = consent_by_keyboard(findings, page, js, the_app)
    assert "error" not in query and query.get("code"), query
    assert query.get("state") == state, query

    # 2. The app trades the code and its PKCE verifier for a token: the read alone.
    status, media, _headers, tokens = answer(as_the_app.post("/oauth/jeton", form={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT,
        "client_id": APP, "code_verifier": verifier}))
    assert status == 200 and media == "application/json", (status, tokens)
    assert tokens["token_type"].lower() == "bearer", tokens
    assert tokens["scope"] == READ_SCOPE, tokens
    token = tokens["access_token"]

    # 3. Reading the measures is allowed; adding a weight was not granted.
    status, media, _headers, bundle = answer(as_the_app.get("/fhir/Observation",
                                                             headers=bearer(token)))
    assert status == 200 and media == "application/fhir+json", (status, bundle)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset", bundle
    status, media, _headers, outcome = answer(as_the_app.post(
        "/fhir/Observation", data=json.dumps(WEIGHT),
        headers=bearer(token, **{"Content-Type": "application/fhir+json"})))
    assert status == 403 and media == "application/fhir+json", (status, outcome)
    assert outcome["resourceType"] == "OperationOutcome", outcome
    assert measure_count(app) == measures_before, "the refused weight was added"

    # 4. "Services connectés": the app and what it may do; withdrawn by keyboard.
    assert page.goto(CONNECTED).status == 200
    check_state(findings, page, js, CONNECTED)
    entry = page.locator("main li.entry", has=page.locator("h2", has_text=APP_NAME))
    assert entry.count() == 1, f"{CONNECTED}: {entry.count()} entries for {APP_NAME}"
    may = [text.strip() for text in entry.locator("ul li").all_inner_texts()]
    findings.check(may == [READ], f"{CONNECTED}: the app may {may}, expected [{READ!r}]")

    tab_until(page, lambda info: info["tag"] == "button" and info["text"] == WITHDRAW)
    assert press_and_load(page) == 200 and page.url.endswith(CONNECTED), page.url
    said = page.locator("main .banner", has_text=WITHDRAWN)
    findings.check(said.count() == 1, f"after the withdrawal: no banner saying {WITHDRAWN!r} "
                   f"({page.locator('main .banner').all_inner_texts()})")
    if said.count() == 1:
        findings.check(said.get_attribute("role") == "status",
                       "after the withdrawal: the banner is not role=status")
    findings.check(page.locator("main h2", has_text=APP_NAME).count() == 0,
                   f"after the withdrawal: {APP_NAME} is still listed")
    check_state(findings, page, js, f"{CONNECTED}, access withdrawn")

    # The same token, at once: refused.
    status, media, headers, outcome = answer(as_the_app.get("/fhir/Observation",
                                                            headers=bearer(token)))
    assert status == 401 and media == "application/fhir+json", (status, outcome)
    assert outcome["resourceType"] == "OperationOutcome", outcome
    assert headers.get("www-authenticate", "").startswith("Bearer"), headers
    findings.done()
