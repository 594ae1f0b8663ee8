"""Shared set-up for the benchmarks: a throw-away instance, the demo accounts, hello world.

Never touches the project's instance/ folder: everything lives in a temporary directory.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pyotp  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from domain import demo  # noqa: E402

DEMO = {account.login: account for account in demo.DEMO_ACCOUNTS}
HELLO_PATH = "/bench-hello"
CSRF_FIELD_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

# Section 5 of DESIGN.md.
PAGE_BUDGET = 14_600          # bytes: compressed body + headers, one round trip
FRAGMENT_BUDGET = 2_048       # bytes: an htmx fragment, compressed
ASSETS_BUDGET = 100_000       # bytes: every static file of a first visit, compressed
JS_BUDGET = 20_000            # bytes: JavaScript of a first visit, compressed
SERVER_TIME_RATIO = 3.0       # page time / hello-world time, at most
THROUGHPUT_RATIO = 0.4        # page requests/s / hello-world requests/s, at least
P99_BUDGET_MS = 100.0         # at 16 connections


def bench_config(tmp: str) -> dict:
    return {"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "OUTBOX_DIR": f"{tmp}/outbox",
            "PASSWORD_HASH_PROFILE": "fast", "RATELIMIT_ENABLED": False}


def _hello():
    return "Hello, world!", 200, {"Content-Type": "text/plain; charset=utf-8"}


def build_app(tmp: str):
    """The real application on a temporary instance, plus a bare hello-world route."""
    from app import create_app
    from domain.policy import Area
    from extensions import limiter

    app = create_app(bench_config(tmp), instance_path=tmp)
    limiter.enabled = False  # RATELIMIT_ENABLED=False already does it; make sure.
    _hello.carnet_area = Area.PUBLIC  # what web.access.allow(Area.PUBLIC) would set
    app.add_url_rule(HELLO_PATH, "bench_hello", _hello)
    return app


def prepare_database(app) -> None:
    """Schema through Alembic, then the demo accounts."""
    from alembic import command

    from extensions import db, keys
    from web.cli import alembic_config

    with app.app_context():
        command.upgrade(alembic_config(app.config["DATABASE_URL"]), "head")
        demo.seed(db.session, keys.ring, "fast")
        db.session.commit()


class TotpClock:
    """TOTP codes are single-use per 30-second step: hand out each step once per login."""

    def __init__(self):
        self.last: dict[str, int] = {}

    def code(self, login: str) -> str:
        current = int(time.time()) // 30
        step = max(current - 1, self.last.get(login, -1) + 1)
        if step > current + 1:  # three sign-ins of one account in 90 s: wait for the next step
            time.sleep(30 - time.time() % 30 + 0.5)
            return self.code(login)
        self.last[login] = step
        return pyotp.TOTP(DEMO[login].totp_secret).at(step * 30)


def latest_sms_code(outbox_dir: str) -> str:
    folder = Path(outbox_dir) / "sms"
    newest = sorted(folder.iterdir())[-1].read_text(encoding="utf-8")
    return re.search(r"\b(\d{6})\b", newest).group(1)


def csrf_from(html: str) -> str:
    match = CSRF_META_RE.search(html) or CSRF_FIELD_RE.search(html)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


def verdict(ok: bool) -> str:
    return "OK" if ok else "OVER"


def median(values):
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values, fraction: float):
    """Nearest-rank percentile (fraction in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def sign_in(app, login: str, clock: TotpClock):
    """Both sign-in steps through the real forms; returns a client holding the cookie."""
    client = app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={"csrf_token": csrf_from(page), "login": login,
                                               "password": DEMO[login].password})
    if response.status_code != 303:
        raise RuntimeError(f"sign-in of {login}: password step answered {response.status_code}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    code = (clock.code(login) if DEMO[login].totp_secret
            else latest_sms_code(app.config["OUTBOX_DIR"]))
    response = client.post("/connexion/code", data={"csrf_token": csrf_from(page), "code": code})
    if response.status_code != 303:
        raise RuntimeError(f"sign-in of {login}: code step answered {response.status_code}")
    return client


# Where a benchmark's data lives -------------------------------------------------------------

def print_title(title: str) -> None:
    print()
    print(title)
    print("-" * len(title))


class Database:
    """Where this run's data lives: a temporary SQLite file, or what DATABASE_URL names."""

    def __init__(self, tmp: str, name: str):
        self.given = os.environ.get("DATABASE_URL", "").strip()
        self.schema: str | None = None
        self.sqlite_file: Path | None = None
        self.url = f"sqlite:///{tmp}/bench.db"
        self.backend = "sqlite"
        if not self.given:
            self.label = "SQLite, temporary file"
            return
        parsed = make_url(self.given)
        self.backend = parsed.get_backend_name()
        if self.backend == "postgresql":
            self.schema = f"bench_{name}_{os.getpid()}_{int(time.time())}"
            options = parsed.query.get("options", "")
            options = f"{options} -csearch_path={self.schema}".strip()
            self.url = parsed.update_query_dict({"options": options}).render_as_string(
                hide_password=False)
            self.label = (f"PostgreSQL {parsed.render_as_string(hide_password=True)}, "
                          f"schema {self.schema} (dropped at the end)")
        elif self.backend == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise SystemExit("DATABASE_URL: an in-memory SQLite database cannot be "
                                 "shared by the app's connections; name a file")
            self.url = self.given
            self.sqlite_file = Path(parsed.database).resolve()
            self.label = f"SQLite, {self.sqlite_file} (deleted at the end)"
        else:
            raise SystemExit(f"DATABASE_URL: {self.backend} is not supported "
                             "(SQLite, PostgreSQL)")

    def create(self) -> None:
        if self.schema:
            engine = create_engine(self.given)
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            engine.dispose()
        elif self.sqlite_file is not None and self.sqlite_file.exists():
            # The demo accounts would get this run's throw-away keys: never someone's data.
            raise SystemExit(f"DATABASE_URL: {self.sqlite_file} exists; name a SQLite file "
                             "that does not (created, then deleted at the end)")

    def drop(self) -> None:
        if self.schema:
            engine = create_engine(self.given)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            engine.dispose()
        elif self.sqlite_file is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_file}{suffix}").unlink(missing_ok=True)


def make_app(tmp: str, database: Database):
    """build_app's application; with DATABASE_URL, its engine rebound (before any use) from
    the temporary SQLite file to that database. Only extensions.Database reads the URL."""
    app = build_app(tmp)
    if database.url != app.config["DATABASE_URL"]:
        from extensions import db
        app.extensions["carnet_db"][0].dispose()  # never connected: no file was created
        app.config["DATABASE_URL"] = database.url
        db.init_app(app)
    return app
