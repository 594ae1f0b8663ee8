"""Behind TLS and a reverse proxy: forms work over HTTPS without a Referer, cross-site posts
are refused, the client's address comes from the trusted hop only (rate limits, audit), and
every request carries an id into the logs, the audit trail and the error page."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from app import create_app
from domain.models import AuditEvent
from domain.policy import Area
from extensions import db
from tests.conftest import DEMO, csrf_from

SITE = "https://carnet.example.org"


def _login(client, base: str = "", headers: dict | None = None, login: str = "quelqu.un",
           password: str = "Mot-de-passe-faux-1"):
    page = client.get(f"{base}/connexion").get_data(as_text=True)
    return client.post(f"{base}/connexion", data={
        "csrf_token": csrf_from(page), "login": login, "password": password},
        headers=headers or {})


@pytest.fixture
def production_app(app, monkeypatch, tmp_path):
    """The app as production configures it from its environment (HTTPS cookies and all),
    on the test database. Mail, SMS and Redis are named but never reached here."""
    environment = {
        "CARNET_ENV": "production", "SECRET_KEY": "p" * 48,
        "CARNET_KEY_FILE": app.config["CARNET_KEY_FILE"],
        "DATABASE_URL": app.config["DATABASE_URL"], "PUBLIC_URL": SITE,
        "SMTP_URL": "smtp://127.0.0.1:9", "SMS_URL": "https://sms.invalid/v1",
        "REDIS_URL": "redis://127.0.0.1:6379/0", "TRUSTED_PROXY_HOPS": "1",
        "PUBLISHER_NAME": "Association Santé Pour Tous", "PUBLISHER_ADDRESS": "Paris",
        "PUBLISHER_CONTACT": "contact@carnet.example.org", "PUBLICATION_DIRECTOR": "C. Dubois",
        "HOST_NAME": "Hébergeur HDS", "HOST_ADDRESS": "Lille",
        "AUDIT_CHECKPOINTS": (tmp_path / "checkpoints").as_uri(),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    production = create_app({"RATELIMIT_STORAGE_URI": "memory://",
                             "PASSWORD_HASH_PROFILE": "fast",
                             "OUTBOX_DIR": str(tmp_path / "outbox")},
                            instance_path=str(tmp_path / "instance"))
    assert production.config["SESSION_COOKIE_NAME"] == "__Host-carnet"
    yield production
    # Production logs JSON from the root logger: leave the rest of the run as it was.
    root.handlers[:] = handlers
    root.setLevel(level)


def test_forms_work_over_https_without_a_referer(production_app, demo_users):
    """The defect: `no-referrer` suppresses the Referer and Flask-WTF's strict HTTPS mode
    refused every POST (400). Through a TLS proxy, a browser's same-origin post passes."""
    client = production_app.test_client()
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "carnet.example.org",
             "X-Forwarded-For": "203.0.113.9"}
    page = client.get("/connexion", headers=proxy)
    assert page.status_code == 200
    assert "Referer" not in page.request.headers
    response = client.post("/connexion", headers={**proxy, "Sec-Fetch-Site": "same-origin",
                                                   "Origin": "null"},
                           data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                 "login": "camille.martin",
                                 "password": DEMO["camille.martin"].password})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert response.headers["Location"].startswith("/connexion/code")
    # The cookies are the HTTPS-only __Host- ones: the app knows it is behind TLS. The page
    # sets only the anonymous CSRF cookie; the session cookie comes with the pending sign-in.
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-carnet-csrf=") and "Secure" in cookie
    cookies = response.headers.getlist("Set-Cookie")
    assert any(cookie.startswith("__Host-carnet=") and "Secure" in cookie
               for cookie in cookies), cookies


def test_an_https_post_straight_to_the_app_works_too(production_app, demo_users):
    client = production_app.test_client()
    response = _login(client, SITE, login="camille.martin",
                      password=DEMO["camille.martin"].password)
    assert response.status_code == 303


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # a neighbour subdomain is another site here
    {"Origin": "https://evil.example"},
    {"Origin": "http://carnet.example.org"},  # the same host without TLS
    {"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"},
], ids=["cross-site", "same-site", "foreign-origin", "plain-http-origin", "mixed"])
def test_a_post_from_another_site_is_refused_even_with_a_token(production_app, demo_users,
                                                               headers):
    client = production_app.test_client()
    response = _login(client, SITE, headers=headers, login="camille.martin",
                      password=DEMO["camille.martin"].password)
    assert response.status_code == 400
    assert "La demande n’a pas pu être traitée" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers or "__Host-carnet=;" in response.headers.get(
        "Set-Cookie", "")


@pytest.mark.parametrize("headers", [
    {},  # an old browser: neither header, the token alone protects
    {"Origin": "null"},
    {"Origin": SITE},
    {"Sec-Fetch-Site": "same-origin"},
], ids=["none", "null-origin", "own-origin", "same-origin"])
def test_a_same_site_post_passes(production_app, demo_users, headers):
    client = production_app.test_client()
    response = _login(client, SITE, headers=headers, login="camille.martin",
                      password=DEMO["camille.martin"].password)
    assert response.status_code == 303


def test_the_token_is_still_required(production_app, demo_users):
    client = production_app.test_client()
    client.get(f"{SITE}/connexion")
    response = client.post(f"{SITE}/connexion", headers={"Sec-Fetch-Site": "same-origin"},
                           data={"login": "camille.martin", "password": "x"})
    assert response.status_code == 400


# --- the client's address -----------------------------------------------------------------

@pytest.fixture
def behind_proxy(app):
    """The test app as it runs behind one nginx: TRUSTED_PROXY_HOPS=1."""
    config = dict(app.config)
    config.update({"TRUSTED_PROXY_HOPS": 1, "LOGIN_LIMIT_PER_IP": "5 per 5 minutes"})
    return create_app(config, instance_path=app.instance_path)


def _failures_from(application, forwarded: list[str]) -> list[int]:
    statuses = []
    for address in forwarded:
        client = application.test_client()
        response = _login(client, headers={"X-Forwarded-For": address},
                          login=f"personne.{len(statuses)}")
        statuses.append(response.status_code)
    return statuses


def test_clients_behind_the_proxy_each_have_their_own_limit(behind_proxy, demo_users):
    clients = [f"198.51.100.{number}" for number in range(1, 9)]
    assert _failures_from(behind_proxy, clients) == [422] * 8


def test_without_trusting_the_proxy_everyone_shares_its_address(app, demo_users):
    """What operators saw before: 8 clients behind one nginx got 422×5 then 429×3."""
    config = dict(app.config)
    config["LOGIN_LIMIT_PER_IP"] = "5 per 5 minutes"
    direct = create_app(config, instance_path=app.instance_path)
    clients = [f"198.51.100.{number}" for number in range(1, 9)]
    assert _failures_from(direct, clients) == [422] * 5 + [429] * 3


def test_one_client_behind_the_proxy_is_still_limited(behind_proxy, demo_users):
    assert _failures_from(behind_proxy, ["198.51.100.7"] * 6) == [422] * 5 + [429]


def test_a_forged_forwarded_for_is_not_believed(behind_proxy, demo_users):
    """A client writes its own X-Forwarded-For; nginx appends the real address last. Only
    the last one (the trusted hop's) counts."""
    forged = [f"10.0.0.{number}, 198.51.100.7" for number in range(6)]
    assert _failures_from(behind_proxy, forged) == [422] * 5 + [429]


def test_the_audit_trail_records_the_person_not_the_proxy(behind_proxy, app, demo_users):
    client = behind_proxy.test_client()
    _login(client, headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.50"})
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action.like("auth.%")).order_by(AuditEvent.seq.desc())).first()
    assert event.ip == "203.0.113.50"


def test_without_a_trusted_proxy_the_header_is_ignored(client, app, demo_users):
    _login(client, headers={"X-Forwarded-For": "203.0.113.50"})
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.ip == "127.0.0.1"


# --- request ids ----------------------------------------------------------------------------

def test_every_response_and_audit_row_carries_the_request_id(client, app, demo_users):
    response = _login(client)
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.request_id == request_id
    assert client.get("/connexion").headers["X-Request-ID"] != request_id


def test_the_proxys_request_id_is_kept_only_from_a_trusted_proxy(behind_proxy, client,
                                                                 demo_users):
    nginx_id = "5f0c2a7e9b1d4c3a8e6f0a1b2c3d4e5f"
    trusted = behind_proxy.test_client().get("/", headers={"X-Request-ID": nginx_id})
    assert trusted.headers["X-Request-ID"] == nginx_id
    direct = client.get("/", headers={"X-Request-ID": nginx_id})
    assert direct.headers["X-Request-ID"] != nginx_id
    hostile = behind_proxy.test_client().get("/", headers={
        "X-Request-ID": "<script>alert(1)</script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-ID"])


def test_the_error_page_gives_the_request_id_as_a_reference(app):
    failing = create_app(dict(app.config), instance_path=app.instance_path)
    failing.config["PROPAGATE_EXCEPTIONS"] = False

    def broken():
        raise RuntimeError("boom")

    broken.carnet_area = Area.PUBLIC
    failing.add_url_rule("/panne", "pages.panne", broken)
    response = failing.test_client().get("/panne")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] in html
    assert "boom" not in html
