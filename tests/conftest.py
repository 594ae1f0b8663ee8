"""Shared fixtures: one app and one migrated database per run, emptied before each test.

DATABASE_URL picks the database (SQLite in a temporary folder by default; CI runs the
suite again on PostgreSQL). REDIS_URL, when set, moves rate limits to Redis.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pyotp
import pytest
from alembic import command
from hypothesis import HealthCheck, settings
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app import create_app
from domain import demo, tallies
from domain.models import Base, User
from extensions import db, keys, limiter
from web import summary_jobs
from web.cli import alembic_config

# Property tests: many random examples while developing; in CI (CI=true) few, always the
# same ones, so a run is quick and a failure repeats (HYPOTHESIS_PROFILE overrides).
settings.register_profile("dev", max_examples=150, deadline=None)
settings.register_profile("ci", max_examples=25, derandomize=True, deadline=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") else "dev"))

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
DEMO = {account.login: account for account in demo.DEMO_ACCOUNTS}


def _reset_database(url: str, sqlite_path: Path) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if sqlite_path.exists():
            sqlite_path.unlink()
        return
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    sqlite_path = instance / "test.db"
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{sqlite_path}"
    _reset_database(url, sqlite_path)
    application = create_app({
        "TESTING": True,
        "DATABASE_URL": url,
        "PASSWORD_HASH_PROFILE": "fast",
        "OUTBOX_DIR": str(instance / "outbox"),
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
    }, instance_path=str(instance))
    with application.app_context():
        command.upgrade(alembic_config(url), "head")
    yield application
    with application.app_context():
        db.engine.dispose()


def empty_database(application) -> None:
    summary_jobs.wait(application)  # a PDF summary being made would write to emptied tables
    with application.app_context():
        with db.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        limiter.reset()
        shutil.rmtree(Path(application.instance_path) / "blobs", ignore_errors=True)
        # Checkpoints of the chain just emptied would name events that no longer exist.
        shutil.rmtree(Path(application.instance_path) / "audit-checkpoints",
                      ignore_errors=True)
        outbox = Path(application.config["OUTBOX_DIR"])
        for path in outbox.rglob("*.*") if outbox.exists() else []:
            path.unlink()


@pytest.fixture(autouse=True)
def _clean(request, app):
    if request.node.get_closest_marker("browser") is None:
        empty_database(app)
    else:
        summary_jobs.wait(app)  # a PDF summary an earlier test asked for is finished first
    # Visitors' pages cached by an earlier test may show settings it changed.
    app.extensions["carnet_page_cache"].clear()
    yield
    # Whatever the test did, through the pages or the domain (and its fixtures' clean-up,
    # done by now), each person's kept counts still match their rows (domain.tallies).
    # Put right when they differ, so that only this test fails, not the ones after it.
    with app.app_context():
        drifts = tallies.verify(db.session, repair=True)
        db.session.commit()
    assert drifts == [], f"counts that differ from their rows after the test: {drifts}"


@pytest.fixture
def demo_users(app):
    with app.app_context():
        demo.seed(db.session, keys.ring, "fast")
        db.session.commit()
    return DEMO


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def next_totp(app, login: str) -> str:
    """A valid TOTP code that this account has not used yet (codes are single-use)."""
    with app.app_context():
        user = db.session.execute(select(User).where(User.login == login)).scalar_one()
        last = user.last_totp_step
    totp = pyotp.TOTP(DEMO[login].totp_secret)
    now = time.time()
    current = int(now) // 30
    step = max(current - 1, last + 1)
    if step == current - 1 and now % 30 > 25:
        step = current  # the previous step could leave the window before the server checks
    assert step <= current + 1, "no unused TOTP step left in this 90-second window"
    return totp.at(step * 30)


def last_sms_code(app) -> str:
    outbox = Path(app.config["OUTBOX_DIR"]) / "sms"
    newest = sorted(outbox.iterdir())[-1].read_text(encoding="utf-8")
    return re.search(r"\b(\d{6})\b", newest).group(1)


def sign_in(client, app, login: str, password: str | None = None) -> None:
    """Go through both sign-in steps as a person would, and check it worked."""
    page = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={
        "csrf_token": csrf_from(page), "login": login,
        "password": password or DEMO[login].password})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    code = last_sms_code(app) if DEMO[login].totp_secret is None else next_totp(app, login)
    response = client.post("/connexion/code", data={"csrf_token": csrf_from(page), "code": code})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


@pytest.fixture
def signed_in(app, demo_users):
    """Factory: a fresh test client signed in as the given demo login."""

    def make(login: str):
        new_client = app.test_client()
        sign_in(new_client, app, login)
        return new_client

    return make
