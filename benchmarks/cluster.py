"""Load, soak and crash on the real parts (issue 20, item 3). Not part of CI's pass/fail.

Run from the project root: `.venv/bin/python benchmarks/cluster.py`. Prints figures and
OK/FAILED lines; the exit code is 1 when a crash check failed.

The parts, all on free ports of 127.0.0.1, in one temporary folder, stopped (process
groups) whatever happens (try/finally and atexit):
  - nginx with the kit's own files (deploy/nginx/carnet-sante-http.conf and -proxy.conf),
    one upstream holding both gunicorn instances (round robin, max_fails=1 and
    fail_timeout=2s on each, as the kit's comment advises for several instances);
  - two gunicorn instances (gunicorn.conf.py; gthread, 1 worker x 4 threads each: the
    machine has 2 cores), serving the app in production mode plus a hello-world route;
  - a PRIVATE PostgreSQL cluster (initdb in the temporary folder, trust authentication,
    a free port, its Unix socket in the temporary folder; fsync and synchronous_commit as
    shipped): the machine's own cluster is never touched;
  - the machine's Redis (rate limits), database 11, flushed at the start and at the end;
  - the S3 server the tests use (moto's ThreadedMotoServer, started as
    tests/domain/test_storage.py starts it), bucket carnet-bench-cluster.

Production mode (CARNET_ENV=production, CARNET_HTTPS=1, TRUSTED_PROXY_HOPS=1, standard
password hashes, Redis rate limits, audit checkpoints in a folder) behind nginx over plain
HTTP: TLS is tests/deploy/test_tls.py's subject, and the load generator ignores the
cookies' Secure flag. SMTP_URL and SMS_URL name closed loopback ports: no outbox worker
runs, so e-mails (a deposit's notice) wait in the outbox table. The schema comes from
`flask db upgrade`, the demo accounts from `flask demo seed` (run in development mode on
the same database, key file and blob store, as test_tls.py does).

The load generator (asyncio, HTTP/1.1 keep-alive, this process; benchmarks/load.py's
response reader and sign-in are reused) sends the stated mix through nginx, with the
session cookies of camille.martin and dr.bernard (two sessions each, signed in through the
forms) and each session's CSRF token. Mix, per request (WORKLOAD below): a busy hour where
one request in three comes from a professional and about one in six is a write:

  patient 65 %: dashboard 22, documents list 12, a document 5, document upload 5 (text,
  32 KiB, multipart), weight measure added (profile edit) 5, medical profile 6, messages
  inbox 10; professional 35 %: professional home 5, patient search (declares the care
  relation, audited) 5, patient page 15, a patient's document 5, deposit into the
  patient's vault (multipart) 3, professional inbox 2.

The crash phase uses a write-heavy mix (CRASH_WORKLOAD): uploads 30, weight 15, search 10,
deposit 5, dashboard 20, documents list 10, patient page 10.

Phases:
  A. hello world, then the mix, at 16 and at 64 connections: req/s, ratio to hello, p50,
     p99, answers by status (BENCH_PHASE_SECONDS measured per target, after a warm-up).
  B. soak: BENCH_SOAK_SECONDS (default 600) of the mix at 16 connections; every 10 s, each
     gunicorn worker's RSS (/proc) and pg_stat_activity's row count on the private cluster.
  C. crash, under the write-heavy mix at 16 connections: kill -9 of instance 1's process
     group, its restart, the same for instance 2, then `pg_ctl restart -m immediate` of
     the private cluster. Afterwards: `flask audit verify`, `flask vault verify` (then
     `vault sweep --grace-minutes 0` of the blobs a kill left, and verify again), every
     upload answered 303 downloaded and compared byte for byte, document and measure
     counts against the committed writes of the whole run, error windows.

Environment: BENCH_SOAK_SECONDS (default 600), BENCH_PHASE_SECONDS (default 30).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# benchmarks/profile.py would shadow the standard library's `profile` module.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import load  # noqa: E402
from benchmarks._common import (  # noqa: E402
    HELLO_PATH,
    PATIENT_SEARCH,
    TotpClock,
    _hello,
    csrf_from,
    percentile,
)

HOST = "127.0.0.1"
VENV_BIN = Path(sys.executable).parent
NGINX = "/usr/sbin/nginx"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
KIT = ROOT / "deploy" / "nginx"
REDIS_URL = "redis://127.0.0.1:6379/11"  # a database of this benchmark's own
BUCKET = "carnet-bench-cluster"
S3_SETTINGS = {"S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "testing",
               "S3_SECRET_ACCESS_KEY": "testing"}  # moto's fake credentials
PATIENT, DOCTOR = "camille.martin", "dr.bernard"
SESSIONS_PER_ACCOUNT = 2
INSTANCES, WORKERS, THREADS = 2, 1, 4
LEVELS = (16, 64)
SOAK_CONNECTIONS = CRASH_CONNECTIONS = 16
SAMPLE_EVERY_S = 10.0
WARMUP_S = 3.0
REQUEST_TIMEOUT_S = 30.0
NGINX_FAIL_TIMEOUT_S = 2.0  # as deploy/nginx/carnet-sante.conf advises (nginx's default: 10)
ERROR_GRACE_S = 5.0   # errors must stop this soon after recovery
UPLOAD_BYTES = 32 * 1024
START_TIMEOUT_S = 60.0
CONNECTION_ERROR = -1  # a status for "no HTTP answer" (refused, reset, timed out)


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


SOAK_S = _env_number("BENCH_SOAK_SECONDS", 600)
PHASE_S = _env_number("BENCH_PHASE_SECONDS", 30)

# key: (label, share % of requests, role)
WORKLOAD = {
    "dashboard": ("patient dashboard", 22, "patient"),
    "documents": ("documents list", 12, "patient"),
    "document": ("a document", 5, "patient"),
    "upload": ("document upload", 5, "patient"),
    "weight": ("weight added", 5, "patient"),
    "profile": ("medical profile", 6, "patient"),
    "inbox": ("messages inbox", 10, "patient"),
    "pro_home": ("pro home", 5, "pro"),
    "search": ("patient search", 5, "pro"),
    "patient_page": ("patient page", 15, "pro"),
    "pro_document": ("patient's document", 5, "pro"),
    "deposit": ("deposit", 3, "pro"),
    "pro_inbox": ("pro inbox", 2, "pro"),
}
CRASH_WORKLOAD = {"upload": 30, "weight": 15, "search": 10, "deposit": 5, "dashboard": 20,
                  "documents": 10, "patient_page": 10}
WRITES = ("upload", "weight", "search", "deposit")


# The app served by each instance ----------------------------------------------------------

def production_app():
    """gunicorn's app (`benchmarks.cluster:production_app()`): the real factory on this
    run's instance folder, plus _common's bare hello-world route."""
    from app import create_app
    from domain.policy import Area

    app = create_app(instance_path=os.environ["BENCH_CLUSTER_INSTANCE"])
    _hello.carnet_area = Area.PUBLIC  # what web.access.allow(Area.PUBLIC) would set
    app.add_url_rule(HELLO_PATH, "bench_hello", _hello)
    return app


# Processes --------------------------------------------------------------------------------

def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"({error})"


def _stop_group(process: subprocess.Popen, timeout: float = 10) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            with contextlib.suppress(ProcessLookupError):  # the group's leftovers
                os.killpg(process.pid, signal.SIGKILL)
            return


def _wait_http(port: int, path: str, process: subprocess.Popen | None, what: str,
               log: Path | None = None, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}):\n{_tail(log)}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", path)
            status = connection.getresponse().status
            connection.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {path} in {timeout:.0f} s:\n"
                       + (_tail(log) if log else ""))


class Cluster:
    """Every part, in one temporary folder; stop() is idempotent and never raises."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="carnet-bench-cluster-"))
        self.folder.chmod(0o711)  # nginx's and PostgreSQL's users go through it
        self.instance = self.folder / "instance"
        self.instance.mkdir(mode=0o700)
        self.processes: dict[str, subprocess.Popen] = {}
        self.pg_dir = self.folder / "pg"
        self.pg_port = load.free_port()
        self.nginx_port = load.free_port()
        self.app_ports = [load.free_port() for _ in range(INSTANCES)]
        self.secret = secrets.token_urlsafe(48)
        self.key_file = self.folder / "keys.json"
        self.s3_endpoint = ""
        self.pg_started = False
        self.stopped = False

    # --- helpers

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def spawn(self, name: str, command: list[str], env: dict | None = None,
              **options) -> subprocess.Popen:
        with open(self.log(name), "ab") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=options.pop(
                "stdout", out), stderr=out, stdin=options.pop("stdin", subprocess.DEVNULL),
                start_new_session=True, **options)
        self.processes[name] = process
        return process

    def pg_user(self) -> dict:
        """PostgreSQL refuses to run as root: then its own system user runs the cluster."""
        if os.geteuid() != 0:
            return {}
        import pwd
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                entry = pwd.getpwnam(name)
                return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        raise RuntimeError("running as root and no postgres or nobody user")

    def pg(self, *arguments: str, timeout: float = 120) -> str:
        env = {"PATH": os.environ.get("PATH", ""), "LANG": "C", "LC_ALL": "C"}
        result = subprocess.run([str(PG_BIN / arguments[0]), *arguments[1:]],
                                cwd=self.pg_dir, env=env, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL, **self.pg_user())
        if result.returncode != 0:
            raise RuntimeError(f"{arguments[0]} failed ({result.returncode}): "
                               f"{result.stdout[-2000:]}{result.stderr[-2000:]}\n"
                               + _tail(self.pg_dir / "postgres.log"))
        return result.stdout

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.pg_port}/carnet"

    @property
    def pg_dsn(self) -> str:
        return f"host={HOST} port={self.pg_port} user=postgres dbname=carnet connect_timeout=5"

    def production_env(self) -> dict:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        env.update({
            "PYTHONDONTWRITEBYTECODE": "1",
            "CARNET_ENV": "production", "CARNET_HTTPS": "1",
            "SECRET_KEY": self.secret, "CARNET_KEY_FILE": str(self.key_file),
            "DATABASE_URL": self.database_url, "REDIS_URL": REDIS_URL,
            "BLOB_STORE": f"s3://{BUCKET}/documents", "S3_ENDPOINT_URL": self.s3_endpoint,
            **S3_SETTINGS,
            "AUDIT_CHECKPOINTS": (self.folder / "audit-checkpoints").as_uri(),
            "OUTBOX_DIR": str(self.folder / "outbox"),
            "PUBLIC_URL": "https://carnet-sante.test",
            "TRUSTED_PROXY_HOPS": "1",
            # Closed loopback ports: no outbox worker runs in this benchmark.
            "SMTP_URL": f"smtp://{HOST}:{load.free_port()}",
            "SMS_URL": f"http://{HOST}:{load.free_port()}/sms", "SMS_TOKEN": "bench",
            "PUBLISHER_NAME": "Association Carnet santé (essai)",
            "PUBLISHER_ADDRESS": "1 rue de l’Essai, 75000 Paris",
            "PUBLISHER_CONTACT": "contact@carnet-sante.test",
            "PUBLICATION_DIRECTOR": "Camille Essai",
            "HOST_NAME": "Hébergeur d’essai", "HOST_ADDRESS": "2 rue de l’Essai, 75000 Paris",
            "BENCH_CLUSTER_INSTANCE": str(self.instance),
        })
        return env

    def flask(self, *arguments: str, env: dict | None = None, check: bool = True,
              timeout: float = 300) -> subprocess.CompletedProcess:
        command = [str(VENV_BIN / "flask"), "--app",
                   f"app:create_app(instance_path={str(self.instance)!r})", *arguments]
        result = subprocess.run(command, cwd=ROOT, env=env or self.production_env(),
                                capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(arguments)} failed ({result.returncode}):\n"
                               f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    # --- start

    def start(self) -> None:
        from domain.crypto import generate_key_file

        generate_key_file(self.key_file)
        self.flush_redis()
        self.start_postgres()
        self.start_s3()
        self.flask("db", "upgrade")
        self.flask("demo", "seed", env={**self.production_env(), "CARNET_ENV": "development"})
        for index in range(INSTANCES):
            self.start_instance(index, wait=False)
        for index in range(INSTANCES):
            self.wait_instance(index)
        self.start_nginx()

    def flush_redis(self) -> None:
        import redis
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
        try:
            client.flushdb()
        finally:
            client.close()

    def start_postgres(self) -> None:
        self.pg_dir.mkdir(mode=0o700)
        (self.pg_dir / "sock").mkdir(mode=0o700)
        owner = self.pg_user()
        if owner:
            for path in (self.pg_dir, self.pg_dir / "sock"):
                os.chown(path, owner["user"], owner["group"])
        self.pg("initdb", "-D", "data", "-A", "trust", "-U", "postgres", "-E", "UTF8",
                "--locale=C", "--no-sync")
        with open(self.pg_dir / "data" / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\n# benchmarks/cluster.py\nport = {self.pg_port}\n"
                       f"listen_addresses = '{HOST}'\n"
                       f"unix_socket_directories = '{self.pg_dir / 'sock'}'\n"
                       "max_connections = 100\n")
        self.pg_started = True
        self.pg("pg_ctl", "-D", "data", "-l", "postgres.log", "-w", "-t", "60", "start")
        import psycopg
        with psycopg.connect(f"host={HOST} port={self.pg_port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute("CREATE DATABASE carnet")

    def start_s3(self) -> None:
        from domain.storage import make_blob_store
        from tests.domain.test_storage import MOTO_SERVER

        process = self.spawn("moto", [sys.executable, "-c", MOTO_SERVER],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = process.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"moto's server did not start:\n{_tail(self.log('moto'))}")
        self.s3_endpoint = f"http://{HOST}:{int(line)}"
        make_blob_store(f"s3://{BUCKET}/documents", self.instance,
                        {"S3_ENDPOINT_URL": self.s3_endpoint, **S3_SETTINGS}).ensure_bucket()

    def start_instance(self, index: int, wait: bool = True) -> None:
        env = {**self.production_env(), "GUNICORN_BIND": f"{HOST}:{self.app_ports[index]}",
               "GUNICORN_WORKERS": str(WORKERS), "GUNICORN_THREADS": str(THREADS)}
        self.spawn(f"gunicorn{index + 1}", [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py",
                                            "benchmarks.cluster:production_app()"], env)
        if wait:
            self.wait_instance(index)

    def wait_instance(self, index: int) -> None:
        name = f"gunicorn{index + 1}"
        _wait_http(self.app_ports[index], "/healthz", self.processes[name], name,
                   self.log(name))

    def kill_instance(self, index: int) -> None:
        """kill -9 of the instance's whole process group (master and workers)."""
        process = self.processes[f"gunicorn{index + 1}"]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def start_nginx(self) -> None:
        folder = self.folder / "nginx"
        folder.mkdir(mode=0o711)
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        servers = "".join(f"        server {HOST}:{port} max_fails=1 "
                          f"fail_timeout={NGINX_FAIL_TIMEOUT_S:g}s;\n" for port in self.app_ports)
        (folder / "nginx.conf").write_text(f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi; uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {KIT}/carnet-sante-http.conf;
    upstream carnet_sante_app {{
{servers}    }}
    server {{
        listen {HOST}:{self.nginx_port};
        server_name localhost;
        access_log {folder}/access.log carnet_sante_json;
        include {KIT}/carnet-sante-proxy.conf;
    }}
}}
""")
        process = self.spawn("nginx", [NGINX, "-p", f"{folder}/", "-e", str(folder / "error.log"),
                                       "-c", str(folder / "nginx.conf")])
        _wait_http(self.nginx_port, "/healthz", process, "nginx", folder / "error.log")

    def restart_postgres(self) -> None:
        self.pg("pg_ctl", "-D", "data", "-l", "postgres.log", "-m", "immediate", "-w",
                "-t", "60", "restart")

    # --- stop

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if name == "moto" and process.stdin:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            with contextlib.suppress(Exception):
                _stop_group(process)
        if self.pg_started:
            self.stop_postgres()
        with contextlib.suppress(Exception):
            self.flush_redis()
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop_postgres(self) -> None:
        try:
            self.pg("pg_ctl", "-D", "data", "-m", "fast", "-w", "-t", "30", "stop", timeout=60)
            return
        except Exception as error:  # noqa: BLE001 - whatever happened, the fallback below
            print(f"pg_ctl stop: {error}", file=sys.stderr)
        pid_file = self.pg_dir / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)

    def worker_rss(self) -> list[int | None]:
        """Each instance's workers' resident set size in bytes (None: no worker alive)."""
        sizes: list[int | None] = []
        for index in range(INSTANCES):
            master = self.processes[f"gunicorn{index + 1}"].pid
            total = None
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
                for child in children:
                    total = (total or 0) + _rss(int(child))
            sizes.append(total)
        return sizes


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# Signing in and the workload ----------------------------------------------------------------

@dataclass
class Session:
    login: str
    cookie: str
    csrf: str = ""


def _get(port: int, path: str, cookie: str) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie,
                                                 "Accept-Encoding": "identity"})
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        connection.close()


def sign_in_sessions(port: int, cookie_name: str) -> dict[str, list[Session]]:
    clock = TotpClock()
    sessions: dict[str, list[Session]] = {"patient": [], "pro": []}
    for role, login, landing, form_page in (("patient", PATIENT, "/mon-espace",
                                             "/documents/ajouter"),
                                            ("pro", DOCTOR, "/pro", "/pro/patients")):
        for _ in range(SESSIONS_PER_ACCOUNT):
            value = load.sign_in_over_http(port, login, cookie_name, clock, landing)
            session = Session(login, f"{cookie_name}={value}")
            status, _, page = _get(port, form_page, session.cookie)
            if status != 200:
                raise RuntimeError(f"{login}: {form_page} answered {status}")
            session.csrf = csrf_from(page.decode("utf-8", errors="replace"))
            sessions[role].append(session)
    return sessions


@dataclass
class Ledger:
    """Writes of the whole run: answered 303 (committed), or answered otherwise or not at
    all (their fate unknown, at most committed); every committed upload's id and digest."""

    committed: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)
    uploads: dict[str, str] = field(default_factory=dict)  # document id -> sha256
    uploads_without_id: int = 0


class Workload:
    """Builds each request of the mix; records the writes' outcomes in the ledger."""

    def __init__(self, port: int, sessions: dict, patient_id: str, document_id: str):
        self.port = port
        self.sessions = sessions
        self.patient_id = patient_id
        self.document_id = document_id
        self.ledger = Ledger()
        self.run_tag = secrets.token_hex(3)
        self.sequence = 0

    def head(self, method: str, path: str, cookie: str, extra: str = "") -> bytes:
        return (f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
                "User-Agent: carnet-bench\r\nAccept: text/html\r\n"
                f"Accept-Encoding: br, gzip\r\nCookie: {cookie}\r\n{extra}\r\n"
                ).encode("latin-1")

    def get(self, path: str, session: Session) -> tuple[bytes, None]:
        return self.head("GET", path, session.cookie), None

    def post(self, path: str, session: Session, content_type: str,
             body: bytes) -> bytes:
        extra = (f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                 "Sec-Fetch-Site: same-origin\r\n")
        return self.head("POST", path, session.cookie, extra) + body

    def form(self, path: str, session: Session, fields: dict) -> bytes:
        body = urlencode({"csrf_token": session.csrf, **fields}).encode()
        return self.post(path, session, "application/x-www-form-urlencoded", body)

    def document_body(self, session: Session, extra: dict) -> tuple[bytes, str, dict]:
        self.sequence += 1
        title = f"Charge {self.run_tag} {self.sequence}"
        line = f"{title}: compte rendu de test, {secrets.token_hex(24)}\n".encode()
        data = (line * (UPLOAD_BYTES // len(line) + 1))[:UPLOAD_BYTES]
        fields = {"csrf_token": session.csrf, "title": title, "date_day": "3",
                  "date_month": "3", "date_year": "2026", **extra}
        content_type, body = load.multipart(fields, f"charge-{self.sequence}.txt", data)
        return body, content_type, {"sha256": hashlib.sha256(data).hexdigest()}

    def build(self, key: str, connection: int) -> tuple[bytes, dict | None]:
        role = WORKLOAD[key][2]
        group = self.sessions[role]
        session = group[connection % len(group)]
        pid, doc = self.patient_id, self.document_id
        reads = {"dashboard": "/mon-espace", "documents": "/documents",
                 "document": f"/documents/{doc}", "profile": "/profil",
                 "inbox": "/messagerie", "pro_home": "/pro",
                 "patient_page": f"/pro/patients/{pid}",
                 "pro_document": f"/pro/patients/{pid}/documents/{doc}",
                 "pro_inbox": "/pro/messagerie"}
        if key in reads:
            return self.get(reads[key], session)
        if key == "weight":
            today = date.today()
            return self.form("/profil/mesures/poids", session, {
                "value": str(random.randint(55, 95)), "measured_on_day": str(today.day),
                "measured_on_month": str(today.month),
                "measured_on_year": str(today.year)}), {}
        if key == "search":
            return self.form("/pro/patients", session, PATIENT_SEARCH), {}
        extra = ({"category": "lab_results", "visibility": "visible"} if key == "upload"
                 else {"category": "reports"})
        body, content_type, meta = self.document_body(session, extra)
        path = "/documents/ajouter" if key == "upload" else f"/pro/patients/{pid}/deposer"
        return self.post(path, session, content_type, body), meta

    def settle(self, key: str, status: int, head: bytes, meta: dict | None) -> None:
        if key not in WRITES:
            return
        if status != 303:
            self.ledger.unknown[key] += 1
            return
        self.ledger.committed[key] += 1
        if key == "upload":
            found = re.search(rb"\r\nlocation: [^\r]*/documents/([0-9a-f]{32})\r\n", head,
                              re.IGNORECASE)
            if found:
                self.ledger.uploads[found.group(1).decode()] = meta["sha256"]
            else:
                self.ledger.uploads_without_id += 1


def expected_status(key: str) -> int:
    return 303 if key in WRITES else 200


# The load generator -------------------------------------------------------------------------

class HeadTap:
    """A StreamReader for load.read_response that keeps the response's head (for the
    Location of an upload's 303)."""

    def __init__(self, reader: asyncio.StreamReader):
        self.reader = reader
        self.head = b""

    async def readuntil(self, separator: bytes) -> bytes:
        data = await self.reader.readuntil(separator)
        if not self.head:
            self.head = data
        return data

    def __getattr__(self, name):
        return getattr(self.reader, name)


@dataclass
class Run:
    """One stretch of load: every answer as (finished at, op, status, seconds), the time
    origin being `origin` (perf_counter)."""

    workload: Workload
    shares: dict[str, int]
    origin: float = field(default_factory=time.perf_counter)
    records: list = field(default_factory=list)
    stop_at: float = 0.0

    def pick(self, rng: random.Random) -> str:
        return rng.choices(list(self.shares), weights=list(self.shares.values()))[0]


async def _one_request(run: Run, key: str, connection: int, state: dict) -> None:
    request, meta = run.workload.build(key, connection)
    started = time.perf_counter()
    status, head = CONNECTION_ERROR, b""
    try:
        if state.get("writer") is None:
            state["reader"], state["writer"] = await asyncio.open_connection(
                HOST, run.workload.port)
        state["writer"].write(request)
        tap = HeadTap(state["reader"])
        status, closing = await asyncio.wait_for(load.read_response(tap), REQUEST_TIMEOUT_S)
        head = tap.head
    except (OSError, asyncio.IncompleteReadError, ValueError):  # TimeoutError is an OSError
        closing = True
    finished = time.perf_counter()
    run.records.append((finished - run.origin, key, status, finished - started))
    run.workload.settle(key, status, head, meta)
    if closing and state.get("writer") is not None:
        state["writer"].close()
        state["writer"] = None
    if status == CONNECTION_ERROR:
        await asyncio.sleep(0.05)


async def _connection(run: Run, connection: int) -> None:
    rng = random.Random(connection * 7919 + int(run.origin * 1000))
    state: dict = {}
    while time.perf_counter() < run.stop_at:
        await _one_request(run, run.pick(rng), connection, state)
    if state.get("writer") is not None:
        state["writer"].close()


async def drive(run: Run, connections: int, seconds: float, *side_tasks) -> None:
    """`connections` connections for `seconds`, beside `side_tasks` (coroutines given the
    run, e.g. a sampler or the crash controller, which may end the run sooner)."""
    run.origin = time.perf_counter()
    run.stop_at = run.origin + seconds
    loops = [asyncio.create_task(_connection(run, index)) for index in range(connections)]
    sides = [asyncio.create_task(task(run)) for task in side_tasks]
    await asyncio.gather(*loops, *sides)


# Figures ------------------------------------------------------------------------------------

def summarise(records: list, start: float, end: float) -> dict:
    chosen = [record for record in records if start <= record[0] <= end]
    latencies = [record[3] for record in chosen if record[2] != CONNECTION_ERROR]
    statuses = Counter(record[2] for record in chosen)
    errors = sum(1 for record in chosen if record[2] != expected_status(record[1]))
    return {"count": len(chosen), "rps": len(latencies) / max(end - start, 1e-9),
            "p50": percentile(latencies, 0.50) * 1000, "p99": percentile(latencies, 0.99) * 1000,
            "statuses": statuses, "errors": errors}


def answers(statuses: Counter) -> str:
    return ", ".join(f"{'no answer' if status == CONNECTION_ERROR else status}×{count}"
                     for status, count in sorted(statuses.items()))


def print_title(title: str) -> None:
    print(f"\n{title}\n{'-' * len(title)}", flush=True)


def hello_figures(port: int, connections: int) -> dict:
    load.CONNECTIONS, load.WARMUP_S, load.MEASURE_S = connections, WARMUP_S, PHASE_S
    result = asyncio.run(load.run_target(port, HELLO_PATH, None))
    latencies = result["latencies"]
    statuses = Counter(result["statuses"])
    if result["errors"]:
        statuses[CONNECTION_ERROR] += result["errors"]
    return {"count": len(latencies), "rps": len(latencies) / PHASE_S,
            "p50": percentile(latencies, 0.5) * 1000, "p99": percentile(latencies, 0.99) * 1000,
            "statuses": statuses,
            "errors": sum(count for status, count in statuses.items() if status != 200)}


def mix_figures(workload: Workload, connections: int) -> tuple[dict, dict]:
    run = Run(workload, {key: spec[1] for key, spec in WORKLOAD.items()})
    asyncio.run(drive(run, connections, WARMUP_S + PHASE_S))
    window = (WARMUP_S, WARMUP_S + PHASE_S)
    per_op = {key: summarise([r for r in run.records if r[1] == key], *window)
              for key in WORKLOAD}
    return summarise(run.records, *window), per_op


def phase_a(workload: Workload) -> None:
    print_title(f"A. Throughput through nginx: hello world and the mix ({PHASE_S:g} s measured "
                f"after {WARMUP_S:g} s of warm-up, per target and level)")
    print(f"{'target':<12} {'conns':>5} {'requests':>8} {'req/s':>7} {'ratio':>6} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>6}  answers")
    details = []
    for connections in LEVELS:
        hello = hello_figures(workload.port, connections)
        mix, per_op = mix_figures(workload, connections)
        for label, row in (("hello world", hello), ("mix", mix)):
            ratio = row["rps"] / hello["rps"] if hello["rps"] else float("nan")
            print(f"{label:<12} {connections:>5} {row['count']:>8,} {row['rps']:>7,.1f} "
                  f"{ratio:>5.2f}× {row['p50']:>7.1f} {row['p99']:>7.1f} {row['errors']:>6}  "
                  f"{answers(row['statuses'])}", flush=True)
        details.append((connections, per_op))
    for connections, per_op in details:
        print(f"\nThe mix at {connections} connections, by request:")
        print(f"  {'request':<20} {'share':>5} {'count':>6} {'p50 ms':>7} {'p99 ms':>7}  answers")
        for key, (label, share, _role) in WORKLOAD.items():
            row = per_op[key]
            print(f"  {label:<20} {share:>4}% {row['count']:>6} {row['p50']:>7.1f} "
                  f"{row['p99']:>7.1f}  {answers(row['statuses'])}")


# Soak -----------------------------------------------------------------------------------------

def _pg_connections(cluster: Cluster) -> tuple[int, int] | None:
    import psycopg
    try:
        with psycopg.connect(cluster.pg_dsn, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*), count(*) FILTER (WHERE backend_type = 'client backend') "
                "FROM pg_stat_activity WHERE pid <> pg_backend_pid()").fetchone()
            return int(row[0]), int(row[1])
    except psycopg.Error:
        return None


def sampler(cluster: Cluster, samples: list):
    async def sample(run: Run) -> None:
        next_at = run.origin
        while True:
            now = time.perf_counter()
            if now >= next_at:
                pg = await asyncio.to_thread(_pg_connections, cluster)
                samples.append((now - run.origin, cluster.worker_rss(), pg))
                next_at += SAMPLE_EVERY_S
            if now >= run.stop_at:
                return
            await asyncio.sleep(min(1.0, max(0.0, next_at - now)))
    return sample


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e6:.1f}"


def _curve(label: str, values: list[float], unit: str) -> None:
    if not values:
        print(f"{label}: no sample")
        return
    first, last, peak = values[0], values[-1], max(values)
    growth = (last - first) / first if first else float("nan")
    print(f"{label}: first {first:.1f}{unit}, last {last:.1f}{unit}, max {peak:.1f}{unit} "
          f"(last vs first {growth:+.1%})")


def phase_b(cluster: Cluster, workload: Workload) -> None:
    print_title(f"B. Soak: {SOAK_S:g} s of the mix at {SOAK_CONNECTIONS} connections; a sample "
                f"every {SAMPLE_EVERY_S:g} s")
    samples: list = []
    run = Run(workload, {key: spec[1] for key, spec in WORKLOAD.items()})
    asyncio.run(drive(run, SOAK_CONNECTIONS, SOAK_S, sampler(cluster, samples)))
    names = " ".join(f"{f'RSS w{index + 1} MB':>10}" for index in range(INSTANCES))
    print(f"{'t s':>5} {'req/s':>7} {'errors':>6} {names} {'PG rows':>7} {'PG clients':>10}")
    previous = 0.0
    for moment, sizes, pg in samples:
        window = summarise(run.records, previous, moment) if moment - previous >= 1 else None
        rps = f"{window['rps']:.1f}" if window else "-"
        errors = str(window["errors"]) if window else "-"
        rss = " ".join(f"{_mb(size):>10}" for size in sizes)
        rows, clients = pg if pg else ("-", "-")
        print(f"{moment:>5.0f} {rps:>7} {errors:>6} {rss} {rows:>7} {clients:>10}")
        previous = moment
    whole = summarise(run.records, 0, SOAK_S)
    print(f"Whole soak: {whole['count']:,} requests, {whole['rps']:.1f} req/s, p50 "
          f"{whole['p50']:.1f} ms, p99 {whole['p99']:.1f} ms, answers: "
          f"{answers(whole['statuses'])}")
    for index in range(INSTANCES):
        _curve(f"RSS of instance {index + 1}'s worker",
               [sizes[index] / 1e6 for _, sizes, _ in samples if sizes[index] is not None],
               " MB")
    _curve("pg_stat_activity rows", [pg[0] for _, _, pg in samples if pg], "")
    _curve("PostgreSQL client backends", [pg[1] for _, _, pg in samples if pg], "")


# Crash ----------------------------------------------------------------------------------------

@dataclass
class Event:
    label: str
    at: float             # seconds since the run's origin
    recovered: float = float("nan")


def crash_controller(cluster: Cluster, events: list):
    # fail_timeout keeps a failed instance out of the upstream for that long: the next kill
    # waits until the restarted one takes requests again.
    pause = max(PHASE_S / 2, NGINX_FAIL_TIMEOUT_S + 2)

    async def control(run: Run) -> None:
        def now() -> float:
            return time.perf_counter() - run.origin

        await asyncio.sleep(PHASE_S)
        for index in range(INSTANCES):
            event = Event(f"kill -9 of instance {index + 1} (recovered: restarted, serving)",
                          now())
            events.append(event)
            cluster.kill_instance(index)
            await asyncio.sleep(pause)
            await asyncio.to_thread(cluster.start_instance, index)
            event.recovered = now()
            await asyncio.sleep(pause)
        event = Event("pg_ctl restart -m immediate (recovered: pg_ctl returned)", now())
        events.append(event)
        await asyncio.to_thread(cluster.restart_postgres)
        event.recovered = now()
        await asyncio.sleep(PHASE_S)
        run.stop_at = time.perf_counter()
    return control


def error_windows(run: Run, events: list[Event], end: float) -> list[bool]:
    """Print each event's errors; True for each event whose errors stopped in time."""
    verdicts = []
    bounds = [event.at for event in events[1:]] + [end]
    before = summarise(run.records, 0, events[0].at)
    print(f"Before the first event: {before['count']} answers, {before['errors']} errors "
          f"({answers(before['statuses'])})")
    for event, until in zip(events, bounds, strict=True):
        failed = [record for record in run.records if event.at <= record[0] < until
                  and record[2] != expected_status(record[1])]
        print(f"{event.label}: at {event.at:.1f} s, recovered {event.recovered - event.at:.1f} s "
              "later")
        if not failed:
            print("  no error")
            verdicts.append(True)
            continue
        first, last = failed[0][0], failed[-1][0]
        after = last - event.recovered
        print(f"  {len(failed)} errors ({answers(Counter(r[2] for r in failed))}) from "
              f"{first - event.at:+.2f} s to {last - event.at:+.2f} s after the event: a "
              f"window of {last - first:.2f} s; the last one {after:+.2f} s after recovery")
        verdicts.append(after <= ERROR_GRACE_S)
    return verdicts


def phase_c(cluster: Cluster, workload: Workload) -> list[tuple[str, bool, str]]:
    print_title(f"C. Crash, under the write-heavy mix at {CRASH_CONNECTIONS} connections "
                f"({', '.join(f'{k} {v} %' for k, v in CRASH_WORKLOAD.items())})")
    events: list[Event] = []
    run = Run(workload, dict(CRASH_WORKLOAD))
    asyncio.run(drive(run, CRASH_CONNECTIONS, 3600, crash_controller(cluster, events)))
    end = run.records[-1][0] if run.records else 0.0
    whole = summarise(run.records, 0, end)
    print(f"{whole['count']:,} answers in {end:.0f} s; answers: {answers(whole['statuses'])}")
    verdicts = error_windows(run, events, end)
    return [(f"errors stop within {ERROR_GRACE_S:g} s of recovery: {event.label}", ok, "")
            for event, ok in zip(events, verdicts, strict=True)]


# Checks after the crashes -----------------------------------------------------------------

def counts(cluster: Cluster) -> dict[str, int]:
    import psycopg
    with psycopg.connect(cluster.pg_dsn, autocommit=True) as connection:
        return {table: int(connection.execute(
            f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed names
            for table in ("documents", "measures", "audit_events")}


def check_cli(cluster: Cluster, *arguments: str) -> tuple[bool, str]:
    result = cluster.flask(*arguments, check=False)
    output = (result.stdout + result.stderr).strip()
    return result.returncode == 0, output


def check_vault(cluster: Cluster) -> list[tuple[str, bool, str]]:
    """`vault verify` as found (a blob a kill -9 left without its row is minutes old:
    reported as recent, not an orphan), then, the load being over, `vault sweep
    --grace-minutes 0` and verify again: nothing left without its row."""
    ok, output = check_cli(cluster, "vault", "verify")
    lines = output.splitlines()
    broken = [line for line in lines if line.startswith(("missing blob", "corrupt blob",
                                                         "orphan blob"))]
    recent = next((line for line in lines if "recent blob(s)" in line), "no recent blob")
    checks = [("vault verify (as found)", ok, f"{lines[0] if lines else ''} {recent}")]
    checks.append(("no document row without its intact blob (no half-written document)",
                   not any(line.startswith(("missing", "corrupt")) for line in broken),
                   "; ".join(broken[:5])))
    swept, output = check_cli(cluster, "vault", "sweep", "--grace-minutes", "0")
    again, after = check_cli(cluster, "vault", "verify")
    checks.append(("vault sweep of the blobs the crashes left, then verify: none left",
                   swept and again and "recent" not in after,
                   f"{output.splitlines()[-1] if output else ''}; {after.splitlines()[-1]}"))
    return checks


def check_uploads(cluster: Cluster, workload: Workload) -> tuple[str, bool, str]:
    """Every upload answered 303: its row, and its content read back through the app."""
    ledger = workload.ledger
    cookie = workload.sessions["patient"][0].cookie
    bad = []
    for document_id, digest in ledger.uploads.items():
        status, _, body = _get(cluster.nginx_port, f"/documents/{document_id}/fichier", cookie)
        if status != 200 or hashlib.sha256(body).hexdigest() != digest:
            bad.append(f"{document_id}: {status}")
    detail = (f"{len(ledger.uploads)} committed uploads downloaded, {len(bad)} wrong"
              + (f" ({', '.join(bad[:5])})" if bad else "")
              + (f"; {ledger.uploads_without_id} 303s without a document id"
                 if ledger.uploads_without_id else ""))
    return "every committed upload present and intact", not bad and not \
        ledger.uploads_without_id, detail


def check_counts(before: dict, after: dict, ledger: Ledger) -> list[tuple[str, bool, str]]:
    checks = []
    for table, keys in (("documents", ("upload", "deposit")), ("measures", ("weight",))):
        committed = sum(ledger.committed[key] for key in keys)
        unknown = sum(ledger.unknown[key] for key in keys)
        grown = after[table] - before[table]
        checks.append((f"no committed write lost ({table})",
                       committed <= grown <= committed + unknown,
                       f"{grown} new rows; {committed} answered 303, {unknown} without a 303"))
    return checks


def final_checks(cluster: Cluster, workload: Workload, before: dict) -> list:
    checks = []
    ok, output = check_cli(cluster, "audit", "verify")
    checks.append(("audit verify", ok, " ".join(output.splitlines()[:2])))
    checks += check_vault(cluster)
    checks.append(check_uploads(cluster, workload))
    checks += check_counts(before, counts(cluster), workload.ledger)
    return checks


# Set-up and main --------------------------------------------------------------------------

def prepare_workload(cluster: Cluster) -> Workload:
    cookie_name = "__Host-carnet"  # config.py: CARNET_HTTPS on
    sessions = sign_in_sessions(cluster.nginx_port, cookie_name)
    workload = Workload(cluster.nginx_port, sessions, "", "")
    # The patient the professional follows (the search declares the care relation).
    answer = _send_once(workload, "search")
    found = re.search(rb"location: [^\r]*/pro/patients/([0-9a-f]{32})\r\n", answer, re.I)
    if not found:
        raise RuntimeError(f"the patient search did not lead to the patient: {answer[:300]!r}")
    workload.patient_id = found.group(1).decode()
    # One visible document for the reading requests.
    answer = _send_once(workload, "upload")
    found = re.search(rb"location: [^\r]*/documents/([0-9a-f]{32})\r\n", answer, re.I)
    if not found:
        raise RuntimeError(f"the first upload was refused: {answer[:300]!r}")
    workload.document_id = found.group(1).decode()
    workload.ledger = Ledger()
    return workload


def _send_once(workload: Workload, key: str) -> bytes:
    request, meta = workload.build(key, 0)

    async def send() -> bytes:
        reader, writer = await asyncio.open_connection(HOST, workload.port)
        writer.write(request)
        tap = HeadTap(reader)
        await asyncio.wait_for(load.read_response(tap), REQUEST_TIMEOUT_S)
        writer.close()
        return tap.head

    return asyncio.run(send())


def print_setting(cluster: Cluster) -> None:
    nginx = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip()
    postgres = subprocess.run([str(PG_BIN / "postgres"), "--version"], capture_output=True,
                              text=True).stdout.strip()
    print("Carnet santé — load, soak and crash on the real parts (benchmarks/cluster.py)")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start; "
          f"Python {sys.version.split()[0]}; {nginx}; {postgres}; temporary folder "
          f"{cluster.folder}")
    print(f"nginx on {HOST}:{cluster.nginx_port} (plain HTTP; the kit's http and proxy "
          f"includes; one upstream, round robin) -> gunicorn x {INSTANCES} on "
          f"{', '.join(str(port) for port in cluster.app_ports)} (gunicorn.conf.py, gthread, "
          f"{WORKERS} worker x {THREADS} threads each) -> the app, CARNET_ENV=production; "
          f"private PostgreSQL cluster on {HOST}:{cluster.pg_port}; Redis {REDIS_URL}; "
          f"S3 (moto) {cluster.s3_endpoint}, bucket {BUCKET}.")
    print(f"Durations: BENCH_PHASE_SECONDS={PHASE_S:g}, BENCH_SOAK_SECONDS={SOAK_S:g}. The "
          "load generator runs in this process, on the same cores as every server.")
    print("Mix (share of requests): " + ", ".join(
        f"{label} {share} %" for label, share, _ in WORKLOAD.values())
        + f"; signed in as {PATIENT} and {DOCTOR}, {SESSIONS_PER_ACCOUNT} sessions each.")


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main() -> int:
    started = time.perf_counter()
    if not Path(NGINX).exists() or not (PG_BIN / "initdb").exists():
        raise SystemExit(f"needs {NGINX} and PostgreSQL 15 in {PG_BIN}")
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    cluster = Cluster()
    atexit.register(cluster.stop)
    try:
        cluster.start()
        print_setting(cluster)
        cluster.flask("audit", "checkpoint")
        workload = prepare_workload(cluster)
        before = counts(cluster)
        phase_a(workload)
        phase_b(cluster, workload)
        cluster.flask("audit", "checkpoint")
        checks = phase_c(cluster, workload)
        print_title("After the crashes")
        checks = final_checks(cluster, workload, before) + checks
        for name, ok, detail in checks:
            print(f"{'OK    ' if ok else 'FAILED'} {name}" + (f": {detail}" if detail else ""))
        failed = [name for name, ok, _ in checks if not ok]
        print(f"\ncluster.py finished in {time.perf_counter() - started:.0f} s (load average "
              f"{os.getloadavg()[0]:.1f}); {len(failed)} check(s) failed.")
        return 1 if failed else 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
