"""Shared set-up for the benchmarks: a throw-away instance, the demo accounts, hello world.

Never touches the project's instance/ folder: everything lives in a temporary directory.
"""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import brotli  # noqa: E402
import pyotp  # noqa: E402
from sqlalchemy import create_engine, event, make_url, text  # noqa: E402

from domain import demo  # noqa: E402

DEMO = {account.login: account for account in demo.DEMO_ACCOUNTS}
HELLO_PATH = "/bench-hello"
# The demo patient, as a professional finds her (the search declares the care relation).
PATIENT_SEARCH = {"nir": "2 88 03 75 108 021 50", "born_day": "14", "born_month": "3",
                  "born_year": "1988", "informed": "oui"}
CSRF_FIELD_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
ACCEPT = {"Accept-Encoding": "br, gzip"}  # what a browser sends
# What gunicorn adds in front of the application's own headers (gunicorn/http/wsgi.py).
SERVER_HEADERS = [("Server", "gunicorn"), ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
                  ("Connection", "keep-alive")]

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


def build_app(tmp: str, database_url: str | None = None):
    """The real application on a temporary instance (its SQLite file, or `database_url`),
    plus a bare hello-world route."""
    from app import create_app
    from domain.policy import Area
    from extensions import limiter

    config = bench_config(tmp)
    if database_url:
        config["DATABASE_URL"] = database_url
    app = create_app(config, instance_path=tmp)
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

    def driver_connection(self, **options):
        """PostgreSQL: a psycopg connection of the benchmark's own (outside the app's pool),
        on this run's schema."""
        import psycopg

        url = make_url(self.url)
        return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                               password=url.password, dbname=url.database,
                               options=url.query.get("options", ""), **options)

    def refresh_statistics(self, app) -> str:
        """After seeding, what a running server would have: on PostgreSQL, ANALYZE of this
        run's tables. autovacuum analyzes a table once a tenth of it has changed, within
        its minute of sleep; a benchmark grows tables fifty-fold in seconds and measures
        at once. Without it, a statement the driver prepared on the small tables keeps
        their plan (psycopg prepares a statement on its fifth run): measured so, the
        professional's inbox took 120 ms a statement at 1,000 conversations instead of
        2 ms. SQLite keeps no statistics unless told to (the app never is): nothing to do.
        Returns what was done, for the report."""
        if self.backend != "postgresql":
            return "no statistics to refresh (SQLite)"
        from extensions import db
        with app.app_context(), db.engine.begin() as connection:
            tables = connection.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
            for table in list(tables):
                connection.execute(text(f'ANALYZE "{table}"'))
        return "ANALYZE of every table after seeding (as autovacuum does on a running server)"

    def drop(self) -> None:
        if self.schema:
            engine = create_engine(self.given)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            engine.dispose()
        elif self.sqlite_file is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_file}{suffix}").unlink(missing_ok=True)


@contextmanager
def bench_instance(name: str):
    """A temporary instance folder, its Database (created), the app on it with the schema
    and the demo accounts; yields (app, database, tmp). At the end, whatever happened: the
    engine disposed, the database dropped, the folder removed."""
    tmp = tempfile.mkdtemp(prefix=f"carnet-bench-{name}-")
    database = None
    app = None
    created = False
    try:
        database = Database(tmp, name)
        database.create()
        created = True
        # Made on its database from the start: an engine rebound afterwards would leave the
        # listeners made at start-up (the outbox's sending after commit) on the first one.
        app = build_app(tmp, database.url)
        prepare_database(app)
        yield app, database, tmp
    finally:
        if app is not None:
            from extensions import db
            with app.app_context():
                db.engine.dispose()
        if created:
            database.drop()
        shutil.rmtree(tmp, ignore_errors=True)


def print_environment(database: Database, tmp: str) -> None:
    print(f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs (load average "
          f"{os.getloadavg()[0]:.1f} at the start); {database.label}; temporary instance "
          f"{tmp}")


def print_finished(script: str, started: float, cpu_started: float) -> None:
    print(f"\n{script} finished in {time.perf_counter() - started:.0f} s "
          f"({time.process_time() - cpu_started:.0f} s of CPU in this process; load "
          f"average {os.getloadavg()[0]:.1f} at the end).")


def write_source(path: Path, size: int) -> None:
    """Random (incompressible) content, written in 1 MiB pieces: never whole in memory."""
    with path.open("wb") as handle:
        left = size
        while left:
            piece = os.urandom(min(left, 1 << 20))
            handle.write(piece)
            left -= len(piece)


def vmhwm_bytes() -> int | None:
    """This process's own peak RSS (Linux /proc), which, unlike ru_maxrss, does not start
    from the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# Counting and timing requests ---------------------------------------------------------------

class QueryCounter:
    """SQL statements sent by the app's engine while `counting` is on; with `keep`, the
    statements themselves (with their parameters) in `statements`."""

    def __init__(self, engine):
        self.count = 0
        self.counting = False
        self.statements: list[tuple[str, object]] | None = None
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _connection, _cursor, statement, parameters, _context, _many):
        if self.counting:
            self.count += 1
            if self.statements is not None:
                self.statements.append((statement, parameters))

    def around(self, function, keep: bool = False) -> int:
        self.count = 0
        self.statements = [] if keep else None
        self.counting = True
        try:
            function()
        finally:
            self.counting = False
        return self.count


def timed_get(client, path: str, headers: dict | None = None) -> tuple[int, object]:
    """GET as a browser asks (ACCEPT, plus `headers`), body read; (ns, response)."""
    start = time.perf_counter_ns()
    response = client.get(path, headers={**ACCEPT, **(headers or {})})
    response.get_data()
    return time.perf_counter_ns() - start, response


def request_target(client, path: str, headers: dict | None = None):
    """A target for interleaved(): one timed_get, its ns."""
    return lambda: timed_get(client, path, headers)[0]


def interleaved(targets: dict, rounds: int, batch: int, warmup: int, seed: int) -> dict:
    """Median µs per target; each target is a callable returning its own elapsed ns.
    `warmup` untimed calls of each first; then targets run in shuffled order, `batch` times
    each per round."""
    for run in targets.values():
        for _ in range(warmup):
            run()
    samples = {name: [] for name in targets}
    order = list(targets)
    shuffle = random.Random(seed)
    for _ in range(rounds):
        shuffle.shuffle(order)
        for name in order:
            for _ in range(batch):
                samples[name].append(targets[name]())
    return {name: median(values) / 1000 for name, values in samples.items()}


def explain(connection, backend: str, sql: str, parameters=None) -> list[str]:
    """The plan, one line a node, indented by depth."""
    if backend == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters).all()
        depth = {0: 0}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * depth[node] + detail)
        return lines
    return ["  " + row[0] for row in
            connection.exec_driver_sql(f"EXPLAIN {sql}", parameters).all()]


# Page weight ---------------------------------------------------------------------------------

def header_bytes(response) -> int:
    """Status line + headers + blank line, as an HTTP/1.1 server would write them."""
    lines = [f"HTTP/1.1 {response.status}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in SERVER_HEADERS]
    lines += [f"{name}: {value}\r\n" for name, value in response.headers.to_wsgi_list()]
    lines.append("\r\n")
    return len("".join(lines).encode("latin-1"))


def decoded_size(response) -> int:
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        return len(brotli.decompress(body))
    if encoding == "gzip":
        import gzip
        return len(gzip.decompress(body))
    return len(body)


def weigh(response) -> dict:
    """Status, html (decoded), body (as sent), headers and total bytes, encoding."""
    body, headers = len(response.get_data()), header_bytes(response)
    return {"status": response.status_code, "html": decoded_size(response), "body": body,
            "headers": headers, "total": body + headers,
            "encoding": response.headers.get("Content-Encoding", "-")}


def weigh_page(client, path: str) -> dict:
    """weigh() as a browser gets the page (br), plus gzip_total and gzip_encoding for a
    client that only accepts gzip."""
    figures = weigh(client.get(path, headers=ACCEPT))
    gzipped = weigh(client.get(path, headers={"Accept-Encoding": "gzip"}))
    return {**figures, "gzip_total": gzipped["total"], "gzip_encoding": gzipped["encoding"]}
