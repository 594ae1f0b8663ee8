"""`keys rotate`, `keys rewrap`, `keys retire` and `keys status`, as an operator runs them,
and a running site that follows the key file they change (a separate server process)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from email import message_from_bytes
from email.policy import default as default_policy
from http.cookiejar import CookieJar
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, select, update

from domain import audit
from domain.crypto import Keyring, add_kek_version, generate_key_file, kek_versions
from domain.keys import patient_key, rewrap_patient_keys
from domain.models import AuditEvent, User
from extensions import db, keys
from tests.conftest import CSRF_RE, DEMO

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
FLASK = str(ROOT / ".venv" / "bin" / "flask")


@pytest.fixture
def key_file(app, tmp_path):
    """A copy of the test key file that the commands may change; the app's own comes back
    afterwards."""
    original, saved_ring = app.config["CARNET_KEY_FILE"], app.extensions["carnet_keys"]
    copy = tmp_path / "keys.json"
    shutil.copy(original, copy)
    os.chmod(copy, 0o600)
    app.config["CARNET_KEY_FILE"] = str(copy)
    app.extensions["carnet_keys"] = Keyring.from_file(copy)
    yield copy
    app.config["CARNET_KEY_FILE"] = original
    app.extensions["carnet_keys"] = saved_ring


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["keys", *args])


def _patient_versions(app) -> dict[str, int | None]:
    with app.app_context():
        return dict(db.session.execute(select(User.login, User.kek_version).where(
            User.wrapped_key.is_not(None))).all())


def test_retire_refuses_the_current_version(app, demo_users, key_file):
    before = key_file.read_bytes()
    result = _run(app, "retire", "1")
    assert result.exit_code == 1
    assert "KEK version 1 is the current one" in result.output
    assert "keys rotate" in result.output
    assert key_file.read_bytes() == before
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_retire_refuses_a_version_the_file_does_not_hold(app, demo_users, key_file):
    result = _run(app, "retire", "7")
    assert result.exit_code == 1
    assert "KEK version 7 is not in the key file (it holds 1)" in result.output


def test_an_interrupted_rotation_is_finished_by_rewrap_then_v1_retires(app, demo_users,
                                                                     key_file, monkeypatch):
    assert add_kek_version(key_file) == 2
    with app.app_context():  # the rotation stops after its first batch of one key
        ring = Keyring.from_file(key_file)
        wrap, calls = ring.wrap, []

        def failing_wrap(key):
            calls.append(1)
            if len(calls) > 1:
                raise KeyboardInterrupt
            return wrap(key)

        monkeypatch.setattr(ring, "wrap", failing_wrap)
        with pytest.raises(KeyboardInterrupt):
            rewrap_patient_keys(db.session, ring, batch=1)
        db.session.rollback()
    versions = _patient_versions(app)
    assert sorted(versions.values()) == [1, 2]

    result = _run(app, "retire", "1")
    assert result.exit_code == 1, result.output
    assert "KEK version 1 still wraps 1 patient key(s)" in result.output
    assert "keys rewrap" in result.output
    assert kek_versions(key_file)[0] == [1, 2]

    result = _run(app, "status")
    assert result.exit_code == 0
    assert "KEK version 1: 1 patient key(s)" in result.output
    assert "KEK version 2 (current): 1 patient key(s)" in result.output

    result = _run(app, "rewrap")
    assert result.exit_code == 0, result.output
    assert "KEK version 2 is current; 1 patient key(s) re-wrapped." in result.output
    assert "No patient key uses version(s) 1 any more" in result.output
    assert kek_versions(key_file) == ([1, 2], 2, [])  # no third version
    assert set(_patient_versions(app).values()) == {2}
    result = _run(app, "rewrap")  # running it again changes nothing
    assert "0 patient key(s) re-wrapped." in result.output

    result = _run(app, "retire", "1")
    assert result.exit_code == 0, result.output
    assert "KEK version 1 retired" in result.output
    assert kek_versions(key_file) == ([2], 2, [1])
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert "audit_key" in json.loads(key_file.read_text())
    with app.app_context():
        retired = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "keys.retired")).scalar_one()
        assert json.loads(retired.details) == {"kek": 1}
        assert audit.verify(db.session, keys.ring).ok
        patient = db.session.execute(select(User).where(
            User.login == "camille.martin")).scalar_one()
        assert len(patient_key(keys.ring, patient)) == 32

    result = _run(app, "rotate")  # a retired number is never used again
    assert result.exit_code == 0, result.output
    assert "KEK version 3 added" in result.output and "KEK version 3 is current" in result.output
    assert kek_versions(key_file) == ([2, 3], 3, [1])
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_retire_does_not_count_a_shredded_space(app, demo_users, key_file):
    """A space erased at once keeps its kek_version but no key: nothing left to open."""
    result = _run(app, "rotate")
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.session.execute(update(User).where(User.login == "camille.martin").values(
            wrapped_key=None, kek_version=1))
        db.session.commit()
    result = _run(app, "retire", "1")
    assert result.exit_code == 0, result.output


def test_rewrap_leaves_alone_a_key_shredded_while_it_runs(app, demo_users, key_file):
    add_kek_version(key_file)
    with app.app_context():
        ring = Keyring.from_file(key_file)
        engine = db.engine
        wrap = ring.wrap

        def shred_then_wrap(key):
            # Another request closes Camille's space between the read and the write.
            with engine.begin() as connection:
                connection.execute(update(User).where(User.login == "camille.martin")
                                   .values(wrapped_key=None))
            return wrap(key)

        ring.wrap = shred_then_wrap
        rewrap_patient_keys(db.session, ring, batch=1)
        patient = db.session.execute(select(User).where(
            User.login == "camille.martin")).scalar_one()
        assert patient.wrapped_key is None  # not brought back by the re-wrap


# Two processes: a running site, and the operator's commands --------------------------------

SERVER = """
import os, sys
from werkzeug.serving import WSGIRequestHandler, make_server
from app import create_app

class Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass

app = create_app(instance_path=sys.argv[1])
server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
with open(sys.argv[2] + ".part", "w") as handle:
    handle.write(str(server.server_port))
os.replace(sys.argv[2] + ".part", sys.argv[2])
server.serve_forever()
"""

SETUP = """
import sys
from app import create_app
runner = create_app(instance_path=sys.argv[1]).test_cli_runner()
for args in (["db", "upgrade"], ["demo", "seed"]):
    result = runner.invoke(args=args)
    assert result.exit_code == 0, (args, result.output, result.exception)
"""


class Browser:
    """A person's browser against the live server: cookies, no automatic redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), self._NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, dict]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=15) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            return error.code, error.read().decode(errors="replace"), dict(error.headers)

    def post_form(self, path: str, data: dict) -> tuple[int, str, dict]:
        status, page, _headers = self.request(path)
        assert status == 200, (path, status, page[:500])
        return self.request(path, {"csrf_token": CSRF_RE.search(page).group(1), **data})

    def step(self, path: str, data: dict, expected_next: str | None = None) -> str:
        status, page, headers = self.post_form(path, data)
        assert status == 303, (path, status, page[:1000])
        if expected_next is not None:
            assert headers["Location"] == expected_next, (path, headers["Location"])
        return headers["Location"]


def _newest_code(folder: Path, pattern: str) -> str:
    newest = sorted(folder.glob(pattern))[-1].read_bytes()
    if pattern.endswith(".eml"):
        message = message_from_bytes(newest, policy=default_policy)
        newest = message.get_body(("plain",)).get_content().encode()
    return re.search(rb"\b(\d{6})\b", newest).group(1).decode()


def _activate_jeanne(browser: Browser, outbox: Path) -> None:
    """The demo activation (README): Jeanne Dupont's space, and so a new patient key, is
    created by the running server."""
    browser.step("/activation", {"code": "JEAN-NEDU-PNTA"}, "/activation/identite")
    browser.step("/activation/identite", {"nir": "2 54 07 13 055 123 92", "birth_day": "2",
                                          "birth_month": "7", "birth_year": "1954"},
                 "/activation/conditions")
    browser.step("/activation/conditions", {"accept": "oui"})
    browser.step("/activation/coordonnees", {"email": "jeanne.dupont@example.org",
                                             "phone": "06 00 00 00 03"},
                 "/activation/coordonnees/verification")
    browser.step("/activation/coordonnees/verification", {
        "email_code": _newest_code(outbox, "**/*.eml"),
        "phone_code": _newest_code(outbox / "sms", "*.json")}, "/activation/identifiants")
    browser.step("/activation/identifiants", {
        "login": "jeanne.dupont", "password": "Le chat dort sur le toit",
        "password_confirm": "Le chat dort sur le toit"}, "/activation/second-facteur")
    _status, page, _headers = browser.request("/activation/second-facteur")
    secret = re.search(r'class="code-display">([A-Z2-7]{32})<', page).group(1)
    browser.step("/activation/second-facteur", {
        "method": "totp", "code": pyotp.TOTP(secret).now(), "action": "confirm"},
        "/activation/recapitulatif")
    browser.step("/activation/recapitulatif", {}, "/activation/termine")


def _sign_in(browser: Browser, login: str) -> None:
    browser.step("/connexion", {"login": login, "password": DEMO[login].password},
                 "/connexion/code")
    browser.step("/connexion/code", {"code": pyotp.TOTP(DEMO[login].totp_secret).now()})


def _treatments_page(browser: Browser) -> str:
    status, page, _headers = browser.request("/profil/traitements")
    assert status == 200, (status, page[:1000])
    assert "Salbutamol 100 µg" in page
    return page


def test_a_running_site_follows_rotate_and_retire_in_another_process(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    key_path = tmp_path / "keys.json"
    generate_key_file(key_path)
    outbox = tmp_path / "outbox"
    database = tmp_path / "carnet.db"
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("CARNET_", "FLASK_", "REDIS_", "DATABASE_", "OUTBOX_",
                                   "SMTP_", "SMS_", "BLOB_", "S3_", "RATELIMIT_"))}
    env.update(CARNET_ENV="test", DATABASE_URL=f"sqlite:///{database}",
               CARNET_KEY_FILE=str(key_path), OUTBOX_DIR=str(outbox),
               SECRET_KEY="k" * 48, PASSWORD_HASH_PROFILE="fast", PYTHONUNBUFFERED="1")

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([FLASK, "--app", "app", "keys", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    port_file, log_path = tmp_path / "port", tmp_path / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([PYTHON, "-c", SERVER, str(instance), str(port_file)],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:  # the database is made while the server starts: it opens it on the first request
        setup = subprocess.run([PYTHON, "-c", SETUP, str(instance)], cwd=ROOT, env=env,
                               timeout=60, capture_output=True, text=True)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        camille = Browser(f"http://127.0.0.1:{port_file.read_text()}")
        _sign_in(camille, "camille.martin")
        _treatments_page(camille)  # the patient key, unwrapped with KEK version 1

        rotated = command("rotate")
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        assert "KEK version 2 is current; 2 patient key(s) re-wrapped." in rotated.stdout

        _treatments_page(camille)  # now wrapped with version 2, unknown to the server so far
        _activate_jeanne(Browser(camille.base), outbox)
        engine = create_engine(f"sqlite:///{database}")
        try:
            with engine.connect() as connection:
                versions = dict(connection.execute(select(User.login, User.kek_version).where(
                    User.wrapped_key.is_not(None))).all())
        finally:
            engine.dispose()
        assert versions["jeanne.dupont"] == 2, versions  # wrapped by the running server
        assert set(versions.values()) == {2}

        retired = command("retire", "1")
        assert retired.returncode == 0, retired.stdout + retired.stderr
        assert kek_versions(key_path) == ([2], 2, [1])
        assert key_path.stat().st_mode & 0o777 == 0o600

        time.sleep(1.1)  # past the server's next look at the file: it drops version 1
        _treatments_page(camille)
        status, page, _headers = camille.request("/mon-espace")
        assert status == 200, page[:500]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    log = log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    content = json.loads(key_path.read_text())
    for secret in (*content["kek"].values(), content["audit_key"], content["index_key"],
                   content["server_key"]):
        for output in (log, rotated.stdout + rotated.stderr, retired.stdout + retired.stderr):
            assert secret not in output

