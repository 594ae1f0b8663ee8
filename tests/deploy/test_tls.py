"""The whole chain of a production installation, for real, on loopback: Chromium → nginx
(TLS, the kit's own files from deploy/nginx/) → gunicorn (gunicorn.conf.py) → the app with
CARNET_ENV=production, with Redis for the rate limits, the outbox worker sending e-mails
through an SMTP relay, and an SMS gateway.

What it proves: the sample site works as an operator would include it; forms work over
HTTPS without a Referer (Referrer-Policy: no-referrer); the session cookie is `__Host-`,
Secure and HttpOnly, and dies at sign-out; an uploaded document never lands on nginx's
disk; the client's address is the one nginx saw, never one a client writes (rate limits and
audit rows), and nginx's request id reaches the audit trail; /readyz answers the machine
only; e-mails leave through the outbox worker and SMTP; neither nginx's nor gunicorn's log
keeps the agenda feed token or a query string; no server logged an error or stopped.

Everything is started once for the module in a temporary folder, on free ports of
127.0.0.1, and stopped (process groups) whatever happens. The browser runs in a thread of
its own: the browser tests' Playwright (sync API) may still be running in this process.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sysconfig
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pyotp
import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from playwright.sync_api import expect, sync_playwright

from domain.crypto import generate_key_file
from domain.demo import DEMO_ACCOUNTS, DEMO_INSURED
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, submit_main_form
from tests.fake_services import FakeSmsGateway, SmtpRelay, free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "deploy" / "nginx"
VENV_BIN = Path(sysconfig.get_path("scripts"))
NGINX = "/usr/sbin/nginx"
REDIS_DB_URL = "redis://127.0.0.1:6379/14"  # a database of its own, flushed at start

PATIENT = next(account for account in DEMO_ACCOUNTS if account.login == "camille.martin")
JEANNE = next(person for person in DEMO_INSURED if person["given_names"].startswith("Jeanne"))
DOCTOR = next(account for account in DEMO_ACCOUNTS if account.login == "dr.bernard")
REPLY_TEXT = "Merci docteur, je viens jeudi."
LOGIN_LIMIT = 4  # LOGIN_LIMIT_PER_IP below
COOKIE = "__Host-carnet"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
DOCUMENT_URL = re.compile(r"/documents/([0-9a-f]{32})$")
DOCUMENT_TEXT = "Compte rendu : tension normale, à revoir dans un an.\n" * 1200  # 64 KB
FEED_TOKEN = secrets.token_urlsafe(32)  # 43 characters, like the app's feed tokens
START_TIMEOUT = 40.0
STOP_TIMEOUT = 10.0
BROWSER_TIMEOUT = 120.0
UI_TIMEOUT_MS = 15_000


# --------------------------------------------------------------------------- the stack

def _certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for localhost and 127.0.0.1, valid one day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256()))
    certificate_path, key_path = folder / "cert.pem", folder / "key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return certificate_path, key_path


def _nginx_config(folder: Path, port: int, upstream_port: int, certificate: Path,
                  key: Path) -> str:
    """What an operator writes around the kit: the main file, the upstream, one server with
    its port, certificate and logs; everything else comes from the kit's own files,
    included from this checkout as they are."""
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
# warn: where nginx says it spooled a request body to disk
error_log {folder}/error.log warn;
events {{ worker_connections 128; }}
http {{
    client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi; uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    access_log off;
    include {KIT}/carnet-sante-http.conf;
    upstream carnet_sante_app {{ server 127.0.0.1:{upstream_port}; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        access_log {folder}/access.log carnet_sante_json;
        include {KIT}/carnet-sante-tls.conf;
        include {KIT}/carnet-sante-proxy.conf;
    }}
}}
"""


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    text: str
    tls: str | None

    def cookies(self) -> dict[str, str]:
        """The cookies the answer sets (name -> value; an empty value deletes)."""
        found = {}
        for header in self.headers.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            found[name.strip()] = value.strip()
        return found


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"({error})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


class Stack:
    """nginx, gunicorn, the outbox worker (and Redis if it had to be started), with the SMTP
    relay and the SMS gateway in this process."""

    def __init__(self):
        self.started = time.monotonic()
        self.timings: dict[str, float] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="carnet-tls-"))
        # nginx's workers run as nobody when the tests run as root: they go through this
        # folder (to their temporary files) but cannot list it; the app's files stay 0700.
        self.folder.chmod(0o711)
        self.app_dir = self.folder / "app"
        self.nginx_dir = self.folder / "nginx"
        self.app_dir.mkdir(mode=0o700)
        self.nginx_dir.mkdir(mode=0o711)
        self.instance = self.app_dir / "instance"
        self.database = self.app_dir / "carnet.db"
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, list[Path]] = {}
        self.smtp: SmtpRelay | None = None
        self.sms: FakeSmsGateway | None = None
        self.redis_url = REDIS_DB_URL
        self.port = free_port()
        self.app_port = free_port()
        self.url = f"https://localhost:{self.port}"
        self._ssl = ssl.create_default_context()
        self._ssl.check_hostname = False
        self._ssl.verify_mode = ssl.CERT_NONE  # the throw-away certificate

    # ------------------------------------------------------------------ start and stop

    def _mark(self, what: str) -> None:
        self.timings[what] = round(time.monotonic() - self.started, 2)

    def spawn(self, name: str, command: list[str], env: dict | None = None) -> None:
        out, err = self.app_dir / f"{name}.out", self.app_dir / f"{name}.err"
        self.logs[name] = [out, err]
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                stderr=stderr, start_new_session=True)

    def run(self, name: str, command: list[str], env: dict, timeout: float = 60) -> str:
        try:
            result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                    timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"{name} took more than {timeout} s") from error
        assert result.returncode == 0, (f"{name} failed ({result.returncode}):\n"
                                        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result.stdout

    def flask(self, *arguments: str) -> list[str]:
        # The factory with the instance folder in the temporary folder: gunicorn's
        # `app:create_app()` would use the checkout's instance/ (upload spooling).
        return [str(VENV_BIN / "flask"), "--app",
                f"app:create_app(instance_path={str(self.instance)!r})", *arguments]

    def base_env(self) -> dict:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONDONTWRITEBYTECODE")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        env.update({
            "SECRET_KEY": self.secret_key,
            "CARNET_KEY_FILE": str(self.key_file),
            "DATABASE_URL": f"sqlite:///{self.database}",
            "OUTBOX_DIR": str(self.app_dir / "outbox"),
            "BLOB_STORE": f"file://{self.app_dir / 'blobs'}",
        })
        return env

    def production_env(self) -> dict:
        return {
            **self.base_env(),
            "CARNET_ENV": "production",
            # PUBLIC_URL may not point at this machine in production (config.py): a public
            # name, while the browser uses localhost (the origin check also accepts the
            # address the request came to, rebuilt from nginx's X-Forwarded-* headers).
            "PUBLIC_URL": f"https://carnet-sante.test:{self.port}",
            "TRUSTED_PROXY_HOPS": "1",
            "AUDIT_CHECKPOINTS": f"file://{self.app_dir / 'audit-checkpoints'}",
            "REDIS_URL": self.redis_url,
            "SMTP_URL": self.smtp.url,
            "SMS_URL": self.sms.url,
            "SMS_TOKEN": self.sms.token,
            "PUBLISHER_NAME": "Association Carnet santé (essai)",
            "PUBLISHER_ADDRESS": "1 rue de l’Essai, 75000 Paris",
            "PUBLISHER_CONTACT": "contact@carnet-sante.test",
            "PUBLICATION_DIRECTOR": "Camille Essai",
            "HOST_NAME": "Hébergeur d’essai",
            "HOST_ADDRESS": "2 rue de l’Essai, 75000 Paris",
            "LOGIN_LIMIT_PER_IP": f"{LOGIN_LIMIT} per 5 minutes",
            "GUNICORN_BIND": f"127.0.0.1:{self.app_port}",
            "GUNICORN_WORKERS": "2",
        }

    def _redis(self) -> None:
        try:
            client = redis.Redis.from_url(self.redis_url, socket_timeout=3,
                                          socket_connect_timeout=3)
            client.flushdb()
            client.close()
            return
        except redis.exceptions.ConnectionError:
            pass
        # Not running: started as CI's script does, but on a port and in a folder of its own.
        server = shutil.which("redis-server")
        assert server, "Redis is not reachable on 127.0.0.1:6379 and redis-server is missing"
        port = free_port()
        self.spawn("redis", [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(self.app_dir)])
        self.redis_url = f"redis://127.0.0.1:{port}/14"
        self._wait_for_port("redis", port)

    def start(self) -> None:
        assert Path(NGINX).exists(), f"{NGINX} is missing: `make nginx` installs it"
        assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make chromium` installs it"
        self.secret_key = secrets.token_urlsafe(48)
        self.key_file = self.app_dir / "keys.json"
        generate_key_file(self.key_file)
        self.smtp = SmtpRelay().start()
        self.sms = FakeSmsGateway(token=secrets.token_urlsafe(16))
        self._redis()
        certificate, key = _certificate(self.nginx_dir)
        (self.nginx_dir / "nginx.conf").write_text(
            _nginx_config(self.nginx_dir, self.port, self.app_port, certificate, key))
        self._mark("prepared")

        production = self.production_env()
        self.run("db upgrade", self.flask("db", "upgrade"), production)
        self._mark("migrated")

        # The servers boot while the demo data goes in (no request reaches them before).
        self.spawn("nginx", [NGINX, "-p", f"{self.nginx_dir}/", "-e",
                             str(self.nginx_dir / "error.log"), "-c",
                             str(self.nginx_dir / "nginx.conf")])
        self.logs["nginx"] += [self.nginx_dir / "error.log"]
        # The project's configuration; the app named on the command line only to give the
        # factory an instance folder of its own (gunicorn.conf.py's wsgi_app would use the
        # checkout's instance/ for upload spooling).
        self.spawn("gunicorn", [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py",
                                f"app:create_app(instance_path={str(self.instance)!r})"],
                   production)
        self.spawn("worker", self.flask("outbox", "work", "--poll", "0.2"), production)
        # Production refuses demo data: the seed runs in development, on the same database,
        # key file and secret (standard password hashes, as production wants them).
        self.run("demo seed", self.flask("demo", "seed"),
                 {**self.base_env(), "CARNET_ENV": "development"})
        self._mark("seeded")
        self._wait_for_port("gunicorn", self.app_port)
        self._wait_for_port("nginx", self.port)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_alive()
            try:
                answer = self.request("GET", "/healthz", timeout=5)
                if answer.status == 200 and answer.text == "ok\n":
                    break
                problem = f"{answer.status} {answer.text[:100]!r}"
            except OSError as error:
                problem = repr(error)
            assert time.monotonic() < deadline, self.explain(
                f"/healthz through nginx never answered 200 ok ({problem})")
            time.sleep(0.1)
        self._mark("serving")

    def _wait_for_port(self, name: str, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_alive()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                assert time.monotonic() < deadline, self.explain(
                    f"{name} never listened on 127.0.0.1:{port}")
                time.sleep(0.05)

    def stopped(self) -> list[str]:
        return [f"{name} (exit code {process.returncode})"
                for name, process in self.processes.items() if process.poll() is not None]

    def _check_alive(self) -> None:
        stopped = self.stopped()
        assert not stopped, self.explain(f"stopped: {', '.join(stopped)}")

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            # Whatever is left of the group (workers, a hung process): killed.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        try:
            if self.smtp is not None:
                self.smtp.stop()
            if self.sms is not None:
                self.sms.stop()
            if "redis" not in self.processes:  # the machine's Redis: leave its database empty
                with contextlib.suppress(redis.exceptions.RedisError):
                    client = redis.Redis.from_url(self.redis_url, socket_timeout=3,
                                                  socket_connect_timeout=3)
                    client.flushdb()
                    client.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """Live processes still in the groups started here (zombies aside: reaping them
        is their parent's business)."""
        groups = {process.pid for process in self.processes.values()}
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            head, _, tail = text.rpartition(")")  # "pid (name) state ppid pgrp ..."
            fields = tail.split()
            if int(fields[2]) in groups and fields[0] != "Z":
                found.append(f"{stat.parent.name} {head.partition('(')[2]}")
        return found

    # ------------------------------------------------------------------ diagnostics

    def explain(self, message: str) -> str:
        parts = [message, f"(timings: {self.timings})"]
        for name, paths in self.logs.items():
            for path in paths:
                parts.append(f"--- {name}: {path.name} (last lines)\n{_tail(path)}")
        return "\n".join(parts)

    def check_logs(self) -> None:
        """No error in nginx's log, no traceback nor ERROR line in gunicorn's or the
        worker's, every server still running."""
        nginx = self.read(self.nginx_dir / "error.log")
        problems = [line for line in nginx.splitlines()
                    if re.search(r"\[(error|crit|alert|emerg)\]", line)
                    # test_readiness_answers_the_machine_only, on purpose
                    and not ("access forbidden by rule, client: 127.0.0.2" in line
                             and '"GET /readyz ' in line)]
        for name in ("gunicorn", "worker"):
            for path in self.logs[name]:
                for line in self.read(path).splitlines():
                    if "Traceback" in line or '"level": "ERROR"' in line \
                            or '"level": "CRITICAL"' in line:
                        problems.append(f"{path.name}: {line[:500]}")
        problems += [f"stopped: {name}" for name in self.stopped()]
        assert not problems, self.explain("\n".join(problems))

    def read(self, path: Path) -> str:
        return path.read_text(errors="replace") if path.exists() else ""

    def access_lines(self) -> list[dict]:
        return [json.loads(line) for line in
                self.read(self.nginx_dir / "access.log").splitlines() if line.strip()]

    # ------------------------------------------------------------------ HTTP clients

    def request(self, method: str, path: str, *, source: str = "127.0.0.1",
                headers: dict | None = None, form: dict | None = None,
                timeout: float = 15) -> Answer:
        """One request through nginx over TLS, from `source` (any 127.0.0.0/8 address)."""
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                                 context=self._ssl,
                                                 source_address=(source, 0))
        body = None
        headers = dict(headers or {})
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            tls = connection.sock.version() if connection.sock else None
            return Answer(response.status, response.headers, text, tls)
        finally:
            connection.close()

    def failed_sign_in(self, source: str, headers: dict | None = None) -> Answer:
        """The sign-in page (its CSRF token and the cookie that goes with it), then a wrong
        password for an identifier that exists nowhere (a fresh one each time: only the
        address's limit can answer 429)."""
        page = self.request("GET", "/connexion", source=source)
        assert page.status == 200, self.explain(f"GET /connexion from {source}: {page.status}")
        cookies = {name: value for name, value in page.cookies().items() if value}
        token = CSRF_RE.search(page.text)
        assert cookies and token, self.explain(
            f"GET /connexion from {source}: cookies {list(cookies)}, CSRF token {bool(token)}")
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        return self.request("POST", "/connexion", source=source,
                            headers={"Cookie": cookie, **(headers or {})},
                            form={"csrf_token": token[1],
                                  "login": f"inconnu.{secrets.token_hex(4)}",
                                  "password": "Mauvais-Mot-De-Passe-2026"})

    def wait_for_email(self, address: str, seconds: float = 15):
        """The newest e-mail the SMTP relay received for `address` (sent by the outbox
        worker), waiting for it."""
        deadline = time.monotonic() + seconds
        while True:
            for message in reversed(self.smtp.messages):
                if message["To"] == address:
                    return message
            assert time.monotonic() < deadline, self.explain(
                f"no e-mail to {address} reached the SMTP relay")
            time.sleep(0.1)

    def audit_rows(self, where: str = "", parameters: tuple = ()) -> list[sqlite3.Row]:
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(
                f"SELECT seq, action, outcome, ip, request_id FROM audit_events {where} "  # noqa: S608
                "ORDER BY seq", parameters).fetchall()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def stack():
    running = Stack()
    try:
        running.start()
        yield running
        # After every test, whatever their order (pytest-randomly): a failure here is
        # reported as an error at the teardown of the module's last test.
        running.check_logs()
    finally:
        running.stop()
        print(f"\nTLS stack: {running.timings}, "
              f"stopped after {time.monotonic() - running.started:.1f} s")
    left = running.leftovers()
    assert not left, f"processes left behind: {left}"


def in_thread(stack: Stack, function, timeout: float = BROWSER_TIMEOUT):
    """Run `function(stack)` in a thread of its own (Playwright's sync API refuses to start
    where another one runs); its failure is raised here, with the servers' last lines."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="tls-browser")
    future = pool.submit(function, stack)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout as error:
        raise AssertionError(stack.explain(f"the browser took more than {timeout} s")) \
            from error
    except Exception as error:
        raise AssertionError(stack.explain(f"in Chromium: {error}")) from error
    finally:
        # Not waited for after a time-out: its own time-outs end it once the servers stop.
        pool.shutdown(wait=False)


# --------------------------------------------------------------------------- Chromium

def _main_text(page) -> str:
    return page.locator("main").inner_text()


def _browse(stack: Stack) -> dict:
    """Sign in, add a document, add an allergy, reply to a message, sign out: as a person
    would, with JavaScript, in French, over https://localhost with the throw-away
    certificate."""
    posts = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             timeout=30_000)
        try:
            context = browser.new_context(base_url=stack.url, ignore_https_errors=True,
                                          locale="fr-FR", java_script_enabled=True,
                                          viewport={"width": 1280, "height": 900})
            context.set_default_timeout(UI_TIMEOUT_MS)
            page = context.new_page()
            page.on("request", lambda request: posts.append(request)
                    if request.method not in ("GET", "HEAD") else None)
            js_errors = []
            page.on("pageerror", lambda error: js_errors.append(str(error)))

            # 1. Sign in: identifier and password, then the TOTP code.
            assert page.goto("/connexion").status == 200
            page.fill("#login", PATIENT.login)
            page.fill("#password", PATIENT.password)
            submit_main_form(page)
            page.wait_for_url(re.compile(r"/connexion/code"))
            page.fill("#code", pyotp.TOTP(PATIENT.totp_secret).now())
            submit_main_form(page)
            assert urlsplit(page.url).path == "/mon-espace", f"not signed in: {page.url}"
            assert "Camille" in _main_text(page)
            signed_in_cookies = context.cookies()
            session_cookie = next((cookie for cookie in signed_in_cookies
                                   if cookie["name"] == COOKIE), None)
            assert session_cookie, f"no {COOKIE} cookie: {signed_in_cookies}"

            # 2. A document into the vault (htmx sends the form). 64 KB: more than nginx's
            # default request buffer (16 KB), which would spool it to a file in clear.
            title = f"Compte rendu TLS {secrets.token_hex(3)}"
            assert page.goto("/documents/ajouter").status == 200
            page.set_input_files("#file", files=[{
                "name": "compte-rendu.txt", "mimeType": "text/plain",
                "buffer": DOCUMENT_TEXT.encode()}])
            page.fill("#title", title)
            page.select_option("#category", "lab_results")
            page.check("#visibility")
            with page.expect_navigation(url=DOCUMENT_URL, timeout=20_000):
                page.locator("#ajout form button[type=submit]").click()
            expect(page.locator(".banner--success")).to_contain_text(
                "Le document a été ajouté.", timeout=UI_TIMEOUT_MS)
            assert page.locator("h1").inner_text().strip() == title
            assert page.goto("/documents").status == 200
            assert title in _main_text(page), "the new document is not in the list"

            # 3. The medical profile: an allergy (htmx adds it in place).
            assert page.goto("/profil/allergies").status == 200
            form = page.locator("#section-content form[aria-labelledby=add-title]")
            form.locator("[name=substance]").select_option("latex")
            form.locator("[name=reaction]").fill("Eczéma de contact")
            form.locator("input[name=severity][value=severe]").check()
            with page.expect_response(lambda response: "/profil/allergies" in response.url
                                      and response.request.method == "POST") as answer:
                form.get_by_role("button", name="Ajouter").click()
            assert answer.value.status == 200, f"adding the allergy: {answer.value.status}"
            expect(page.locator("#section-content li.entry h3", has_text="Latex")
                   ).to_have_count(1, timeout=UI_TIMEOUT_MS)
            assert page.goto("/profil/allergies").status == 200  # stored, not only shown
            expect(page.locator("#section-content li.entry h3", has_text="Latex")
                   ).to_have_count(1, timeout=UI_TIMEOUT_MS)

            # 4. A reply to the demo conversation with Dr Bernard (htmx adds it to the list);
            #    the doctor is told by e-mail, through the worker and SMTP (checked below).
            assert page.goto("/messagerie").status == 200
            with page.expect_navigation():
                page.locator("ul.conversations h3 a").first.click()
            page.locator("#reply-form textarea[name=body]").fill(REPLY_TEXT)
            with page.expect_response(lambda response: "/messagerie/" in response.url
                                      and response.request.method == "POST") as answer:
                page.locator("#reply-form button[type=submit]").click()
            assert answer.value.status == 200, f"the reply: {answer.value.status}"
            expect(page.locator("#message-list", has_text=REPLY_TEXT)).to_have_count(
                1, timeout=UI_TIMEOUT_MS)
            assert page.reload().status == 200  # stored, not only shown
            expect(page.locator("#message-list", has_text=REPLY_TEXT)).to_have_count(
                1, timeout=UI_TIMEOUT_MS)

            # 5. Sign out. Until then the cookie alone opens the space, from anywhere.
            alive = stack.request("GET", "/mon-espace",
                                  headers={"Cookie": f"{COOKIE}={session_cookie['value']}"})
            assert alive.status == 200, f"the session's cookie alone: {alive.status}"
            with page.expect_navigation(url=re.compile(r"/deconnecte$")):
                page.get_by_role("button", name="Se déconnecter", exact=True).click()
            assert page.locator("h1").inner_text().strip() == "Vous êtes déconnecté"
            assert COOKIE not in {cookie["name"] for cookie in context.cookies()}
            assert not js_errors, f"JavaScript errors: {js_errors}"

            sent = []
            for request in posts:
                response = request.response()
                sent.append({"url": request.url, "method": request.method,
                             "headers": request.all_headers(),
                             "status": response.status if response else None})
            context.close()
        finally:
            browser.close()
    return {"posts": sent, "cookie": session_cookie, "cookies": signed_in_cookies}


def test_chromium_signs_in_adds_a_document_an_allergy_and_a_reply_then_signs_out(stack):
    outcome = in_thread(stack, _browse)
    posts = outcome["posts"]
    paths = [urlsplit(post["url"]).path for post in posts]
    for expected in ("/connexion", "/connexion/code", "/documents/ajouter",
                     "/profil/allergies", "/deconnexion"):
        assert expected in paths, f"no POST to {expected}: {paths}"
    assert any(path.startswith("/messagerie/") for path in paths), f"no reply: {paths}"
    for post in posts:
        where = f"{post['method']} {urlsplit(post['url']).path}"
        # Referrer-Policy: no-referrer: the browser sends none, and the form still works
        # (Flask-WTF's strict HTTPS check refused every such POST with 400).
        assert "referer" not in post["headers"], f"{where} sent a Referer"
        assert post["headers"].get("sec-fetch-site") == "same-origin", (where, post["headers"])
        assert post["status"] in (200, 302, 303), stack.explain(
            f"{where} answered {post['status']}")

    cookie = outcome["cookie"]
    assert len(cookie["value"]) >= 32, "a session id of at least 128 bits"
    for each in outcome["cookies"]:  # the session's, and any other the site set
        assert each["name"].startswith("__Host-"), each
        assert each["secure"] and each["httpOnly"], each
        assert each["sameSite"] == "Lax" and each["path"] == "/", each
        assert each["domain"] == "localhost", each  # host-only: no Domain attribute

    # The cookie of the ended session, replayed: the sign-in page, not the space.
    replayed = stack.request("GET", "/mon-espace",
                             headers={"Cookie": f"{COOKIE}={cookie['value']}"})
    assert replayed.status in (302, 303), stack.explain(
        f"an ended session's cookie opened /mon-espace ({replayed.status})")
    assert urlsplit(replayed.headers["Location"]).path == "/connexion"

    # The document went through nginx in memory: no request body on the proxy's disk.
    spooled = [line for line in stack.read(stack.nginx_dir / "error.log").splitlines()
               if "buffered to a temporary file" in line]
    assert not spooled, "nginx wrote a request body (a document, in clear) to disk:\n" + \
        "\n".join(spooled)

    # The session's events carry the browser's address, as nginx saw it.
    signed_in = stack.audit_rows("WHERE action = 'auth.login'")
    assert [row["ip"] for row in signed_in] == ["127.0.0.1"], [dict(row) for row in signed_in]

    # The reply is audited as the patient's, and the doctor is told (never what was said).
    sent = stack.audit_rows("WHERE action = 'message.sent' AND ip IS NOT NULL")
    assert [(row["outcome"], row["ip"]) for row in sent] == [("success", "127.0.0.1")], [
        dict(row) for row in sent]
    told = stack.wait_for_email(DOCTOR.email)
    assert told["Subject"].startswith("Un patient vous a répondu"), told["Subject"]
    assert REPLY_TEXT not in told.get_body(("plain",)).get_content()


# --------------------------------------------------------------------------- addresses

def test_the_client_address_is_the_one_nginx_saw(stack):
    first = stack.failed_sign_in("127.0.0.2")
    assert first.tls in ("TLSv1.2", "TLSv1.3"), first.tls
    statuses = [first.status] + [stack.failed_sign_in("127.0.0.2").status
                                 for _ in range(LOGIN_LIMIT)]
    assert statuses == [422] * LOGIN_LIMIT + [429], stack.explain(
        f"attempts from 127.0.0.2 answered {statuses}")
    # Another address has a limit of its own.
    other = stack.failed_sign_in("127.0.0.3")
    assert other.status == 422, stack.explain(f"127.0.0.3 answered {other.status}")
    # A client cannot choose its address: nginx sets X-Forwarded-For, it does not append.
    forged = stack.failed_sign_in("127.0.0.2", headers={
        "X-Forwarded-For": "127.0.0.9", "X-Real-IP": "127.0.0.9",
        "Forwarded": "for=127.0.0.9;proto=https"})
    assert forged.status == 429, stack.explain(
        f"with a forged X-Forwarded-For, 127.0.0.2 answered {forged.status}")

    failures = stack.audit_rows("WHERE action = 'auth.login_failed'")
    assert sorted(row["ip"] for row in failures) == ["127.0.0.2"] * LOGIN_LIMIT + \
        ["127.0.0.3"], [dict(row) for row in failures]
    everyone = {row["ip"] for row in stack.audit_rows()}
    assert "127.0.0.9" not in everyone, everyone

    # nginx's $request_id: in its access log, in the app's answer and on the audit row.
    request_id = other.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id or ""), request_id
    rows = stack.audit_rows("WHERE request_id = ?", (request_id,))
    assert [(row["action"], row["ip"]) for row in rows] == [
        ("auth.login_failed", "127.0.0.3")], [dict(row) for row in rows]
    logged = [line for line in stack.access_lines() if line["request_id"] == request_id]
    assert [(line["method"], line["path"], line["remote_addr"], line["status"])
            for line in logged] == [("POST", "/connexion", "127.0.0.3", 422)], logged


def test_readiness_answers_the_machine_only(stack):
    assert stack.request("GET", "/readyz").text == "ready\n"  # database, Redis, blobs, keys
    assert stack.request("GET", "/readyz", source="127.0.0.2").status == 403


# --------------------------------------------------------------------------- e-mails

def test_e_mails_leave_through_the_worker_and_smtp(stack):
    """Production queues; the outbox worker sends through the SMTP relay."""
    printed = stack.run("codes issue", stack.flask("codes", "issue", "--nir", JEANNE["nir"]),
                        stack.production_env())
    assert "1 code(s) sent by e-mail" in printed, printed
    message = stack.wait_for_email(JEANNE["email"])
    body = message.get_body(("plain",)).get_content()
    code = re.search(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b", body)
    assert code, body
    assert stack.production_env()["PUBLIC_URL"] in body, body  # links name the public site
    # Production never writes a message to a file (development's outbox folder).
    written = [path.name for path in (stack.app_dir / "outbox").rglob("*") if path.is_file()]
    assert not written, written
    deadline = time.monotonic() + 5
    while "1 sent" not in stack.read(stack.app_dir / "worker.err"):
        assert time.monotonic() < deadline, stack.explain("the worker never said it sent it")
        time.sleep(0.1)
    for paths in stack.logs.values():
        for path in paths:
            assert code[0] not in stack.read(path), f"the activation code is in {path.name}"


# --------------------------------------------------------------------------- logs

def test_no_log_keeps_the_feed_token_nor_the_query(stack):
    answer = stack.request("GET", f"/agenda/abonnement/{FEED_TOKEN}.ics?x=1")
    assert answer.status == 404, answer.status
    request_id = answer.headers["X-Request-ID"]
    # gunicorn and nginx each write their access line after the answer has left: both
    # are waited for (CI once read nginx's log a moment before its line was there).
    deadline = time.monotonic() + 5
    for server, log in (("gunicorn", stack.app_dir / "gunicorn.out"),
                        ("nginx", stack.nginx_dir / "access.log")):
        while request_id not in stack.read(log):
            assert time.monotonic() < deadline, stack.explain(f"no access line from {server}")
            time.sleep(0.05)
    nginx = stack.read(stack.nginx_dir / "access.log")
    gunicorn = stack.read(stack.app_dir / "gunicorn.out") + \
        stack.read(stack.app_dir / "gunicorn.err")
    for name, text in (("nginx's access log", nginx), ("gunicorn's log", gunicorn)):
        assert FEED_TOKEN not in text and FEED_TOKEN[:12] not in text, \
            f"{name} keeps the feed token"
        assert "x=1" not in text, f"{name} keeps the query string"
        assert "/agenda/abonnement/[redacted].ics" in text, f"{name}: nothing redacted"
    [nginx_line] = [line for line in stack.access_lines() if line["request_id"] == request_id]
    assert nginx_line["path"] == "/agenda/abonnement/[redacted].ics", nginx_line
    gunicorn_lines = [json.loads(line) for line in gunicorn.splitlines()
                      if request_id in line and line.startswith("{")]
    assert [(line["path"], line["status"], line["remote_addr"], line["peer"])
            for line in gunicorn_lines if line.get("logger") == "gunicorn.access"] == [
        ("/agenda/abonnement/[redacted].ics", 404, "127.0.0.1", "127.0.0.1")], gunicorn_lines
