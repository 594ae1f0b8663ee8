"""Throughput and latency under gunicorn on loopback, 16 keep-alive connections.

Run from the project root: `.venv/bin/python benchmarks/load.py` (or `make bench`).
Prints figures against DESIGN.md section 5; never asserts anything. On a temporary SQLite
file, or on the PostgreSQL database DATABASE_URL names (a schema of its own, dropped at the
end).

gunicorn (gthread, 2 workers x 4 threads) serves the real app on a temporary instance,
on 127.0.0.1 only. An asyncio load generator in this process keeps 16 connections busy
for a fixed time per target, in interleaved rounds, and reports requests/s, p50 and p99,
and each page's throughput against a bare hello-world route of the same server. A round's
16 connections serve every target of the round: a keep-alive connection stays with the
worker that accepted it, and the targets compared then meet the same split between workers.

The targets: hello world, three public pages, and the pages the cluster's mix reads most
(benchmarks/cluster.py): the patient's dashboard, documents list, a document, medical profile
and messages, the professional's home, patient page and messages, each with its account's
session, signed in through the forms.

On PostgreSQL a second table says, for each target, how much CPU the database's processes
used on the same cores, and what the app's backends were doing (sampled from
pg_stat_activity): running a statement, waiting for a lock, waiting for the app inside a
transaction, or idle. Every audited request of this benchmark is about one patient, so its
events all go to one chain of the audit trail: the lock column is the time they queue for
that chain's head.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    DEMO,
    HELLO_PATH,
    P99_BUDGET_MS,
    PATIENT_SEARCH,
    THROUGHPUT_RATIO,
    TotpClock,
    bench_instance,
    csrf_from,
    percentile,
    print_environment,
    verdict,
)

HOST = "127.0.0.1"
CONNECTIONS = 16
WORKERS, THREADS = 2, 4
ROUNDS = 3            # every target runs once per round; odd rounds go in reverse order
WARMUP_S = 1.0        # per target and round, not measured
MEASURE_S = 2.0       # per target and round -> 6 s measured per target
PATIENT, PROFESSIONAL = "camille.martin", "dr.bernard"
TARGETS = (  # label, path ({patient} and {document}: the demo patient's), whose session
    ("hello world", HELLO_PATH, None),
    ("home", "/", None),
    ("help", "/aide", None),
    ("sign-in form", "/connexion", None),
    ("patient dashboard", "/mon-espace", PATIENT),
    ("documents list", "/documents", PATIENT),
    ("a document", "/documents/{document}", PATIENT),
    ("medical profile", "/profil", PATIENT),
    ("messages inbox", "/messagerie", PATIENT),
    ("pro home", "/pro", PROFESSIONAL),
    ("patient page (pro)", "/pro/patients/{patient}", PROFESSIONAL),
    ("pro inbox", "/pro/messagerie", PROFESSIONAL),
)
LANDING = {PATIENT: "/mon-espace", PROFESSIONAL: "/pro"}  # answers 200 once signed in
DOCUMENTS = 5  # the patient adds them through the upload form before the rounds
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_S = 0.02  # PostgreSQL: how often WaitSampler looks at the app's backends


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# --- gunicorn -----------------------------------------------------------------------------

def start_gunicorn(tmp: str, port: int, database_url: str) -> subprocess.Popen:
    log = open(Path(tmp) / "gunicorn.log", "wb")
    env = {**os.environ, "BENCH_TMP": tmp, "BENCH_DATABASE_URL": database_url,
           "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", str(WORKERS),
               "--threads", str(THREADS), "-b", f"{HOST}:{port}", "--chdir", str(ROOT),
               "--log-level", "warning", "benchmarks._wsgi:app"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_up(process: subprocess.Popen, port: int, tmp: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited early:\n" + gunicorn_log(tmp))
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", HELLO_PATH)
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time:\n" + gunicorn_log(tmp))


def gunicorn_log(tmp: str) -> str:
    path = Path(tmp) / "gunicorn.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # graceful stop of the master and its workers
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def server_cpu_seconds(master_pid: int) -> dict[int, float]:
    """User + system CPU seconds of the gunicorn master and of each worker, from /proc."""
    pids = [master_pid]
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        pids += [int(pid) for pid in children]
    except OSError:
        return {}
    seconds = {}
    for pid in pids:
        used = _cpu_seconds(Path(f"/proc/{pid}"))
        if used is not None:
            seconds[pid] = used[1]
    return seconds


def _cpu_seconds(process: Path) -> tuple[str, float] | None:
    """A process's command name and user + system CPU seconds, from /proc (None: gone)."""
    try:
        name, fields = (process / "stat").read_text().rsplit(")", 1)
    except OSError:
        return None
    fields = fields.split()
    return name.partition("(")[2], (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def database_cpu_seconds() -> float | None:
    """User + system CPU seconds of every PostgreSQL process of this machine (its server's
    backends, which serve the app's statements on the same cores), from /proc; None when
    there is none (SQLite, or a server on another machine)."""
    used = [_cpu_seconds(entry) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    seconds = [found[1] for found in used if found is not None and found[0] == "postgres"]
    return sum(seconds) if seconds else None


class WaitSampler:
    """What the app's PostgreSQL backends are doing, sampled every SAMPLE_S from
    pg_stat_activity by a thread on a connection of its own, during a measured window:
    running a statement, waiting for a lock (a row held by another transaction: the
    audit trail's chain heads), waiting for the app inside an open transaction, or idle
    between statements."""

    STATES = ("active", "lock", "in tx", "idle")

    def __init__(self, database) -> None:
        self._connection = database.driver_connection(autocommit=True)
        self._counts = dict.fromkeys(self.STATES, 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            for state, wait_type in self._connection.execute(
                    "SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = "
                    "current_database() AND backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()"):
                if wait_type == "Lock":
                    self._counts["lock"] += 1
                elif state == "active":
                    self._counts["active"] += 1
                elif state and state.startswith("idle in transaction"):
                    self._counts["in tx"] += 1
                elif state == "idle":
                    self._counts["idle"] += 1

    def start(self) -> None:
        self._counts = dict.fromkeys(self.STATES, 0)
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, int]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return dict(self._counts)

    def close(self) -> None:
        self._connection.close()


# --- signing in over HTTP -----------------------------------------------------------------

def sign_in_over_http(port: int, login: str, cookie_name: str, clock: TotpClock,
                      landing: str = "/mon-espace") -> str:
    """The two sign-in steps through the real forms, then `landing` (the account's home)
    must answer 200; returns the session cookie value. Every cookie the site sets is sent
    back (a visitor's form token rides in a cookie of its own until the session has a
    row)."""
    cookie_re = re.compile(r"([^=;\s]+)=([^;]*)")
    jar: dict[str, str] = {}

    def call(method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        headers = {"Accept-Encoding": "identity", "User-Agent": "carnet-bench"}
        if jar:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        for value in response.headers.get_all("Set-Cookie") or []:
            match = cookie_re.match(value)
            if match and ("Max-Age=0" in value or "expires=Thu, 01 Jan 1970" in value):
                jar.pop(match.group(1), None)
            elif match:
                jar[match.group(1)] = match.group(2)
        connection.close()
        return response.status, dict(response.headers), text

    status, _, page = call("GET", "/connexion")
    status, headers, _ = call("POST", "/connexion", {
        "csrf_token": csrf_from(page), "login": login, "password": DEMO[login].password})
    if status != 303:
        raise RuntimeError(f"sign-in of {login}: password step answered {status}")
    status, _, page = call("GET", headers["Location"])
    status, _, _ = call("POST", "/connexion/code", {"csrf_token": csrf_from(page),
                                                    "code": clock.code(login)})
    if status != 303:
        raise RuntimeError(f"sign-in of {login}: code step answered {status}")
    status, _, _ = call("GET", landing)
    if status != 200:
        raise RuntimeError(f"signed in as {login}, but {landing} answered {status}")
    return jar[cookie_name]


def multipart(fields: dict, file_name: str, data: bytes) -> tuple[str, bytes]:
    """A form's fields and one text file as multipart/form-data: (content type, body)."""
    boundary = f"carnetbench{secrets.token_hex(12)}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{file_name}"\r\nContent-Type: text/plain\r\n\r\n'.encode()
                 + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def _form_page(connection: http.client.HTTPConnection, path: str, headers: dict) -> str:
    """A form's CSRF token, from its page."""
    connection.request("GET", path, headers=headers)
    return csrf_from(connection.getresponse().read().decode("utf-8", errors="replace"))


def _sent(connection: http.client.HTTPConnection, path: str, headers: dict, content_type: str,
          body: bytes | str, wanted: str) -> str:
    """POST `body` to `path`; the id in the address it sends the visitor to (303)."""
    connection.request("POST", path, body=body, headers={**headers,
                                                          "Content-Type": content_type})
    response = connection.getresponse()
    response.read()
    found = re.search(wanted + r"([0-9a-f]{32})$", response.headers.get("Location", ""))
    if response.status != 303 or not found:
        raise RuntimeError(f"POST {path} answered {response.status}, not the page expected")
    return found.group(1)


def upload_over_http(port: int, cookie: str, number: int) -> str:
    """A small text document added by the patient through the upload form, seen by her
    professionals; returns its id."""
    headers = {"Cookie": cookie, "Accept-Encoding": "identity", "User-Agent": "carnet-bench"}
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        fields = {"csrf_token": _form_page(connection, "/documents/ajouter", headers),
                  "title": f"Compte rendu de test {number}", "date_day": str(number),
                  "date_month": "3", "date_year": "2026", "category": "lab_results",
                  "visibility": "visible"}
        line = f"Compte rendu de test {number}: résultats dans les normes.\n".encode()
        content_type, body = multipart(fields, f"compte-rendu-{number}.txt", line * 100)
        return _sent(connection, "/documents/ajouter", headers, content_type, body,
                     "/documents/")
    finally:
        connection.close()


def find_patient_over_http(port: int, cookie: str) -> str:
    """The professional's patient search through its form (it declares the care relation,
    as a professional does before opening a patient's space); returns the patient's id."""
    headers = {"Cookie": cookie, "Accept-Encoding": "identity", "User-Agent": "carnet-bench"}
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        body = urllib.parse.urlencode({
            "csrf_token": _form_page(connection, "/pro/patients", headers), **PATIENT_SEARCH})
        return _sent(connection, "/pro/patients", headers,
                     "application/x-www-form-urlencoded", body, "/pro/patients/")
    finally:
        connection.close()


# --- load generator -----------------------------------------------------------------------

async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response; return its status and whether the server closes."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() == "close"


async def connection_loop(slot: dict, port: int, request: bytes, measure_from: float,
                          stop_at: float, latencies: list, statuses: dict,
                          counters: dict) -> None:
    """One connection's requests until `stop_at`. The connection is the round's (`slot`):
    it stays open from one target to the next, so every target of a round is served by
    the same split of connections between the workers."""
    while True:
        started = time.perf_counter()
        if started >= stop_at:
            break
        try:
            if slot.get("writer") is None:
                slot["reader"], slot["writer"] = await asyncio.open_connection(HOST, port)
                counters["connects"] += 1
            slot["writer"].write(request)
            status, closing = await read_response(slot["reader"])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            counters["errors"] += 1
            close(slot)
            await asyncio.sleep(0.01)
            continue
        finished = time.perf_counter()
        if measure_from <= finished <= stop_at:  # completions inside the measured window
            latencies.append(finished - started)
            statuses[status] = statuses.get(status, 0) + 1
        if closing:
            close(slot)


def close(slot: dict) -> None:
    if slot.get("writer") is not None:
        slot["writer"].close()
    slot["reader"] = slot["writer"] = None


async def run_target(port: int, path: str, cookie: str | None,
                     slots: list[dict] | None = None) -> dict:
    """CONNECTIONS connections' requests to `path` for WARMUP_S + MEASURE_S: on `slots`
    (a round's connections, left open), or on connections of its own, closed after."""
    if slots is None:
        own = [{} for _ in range(CONNECTIONS)]
        try:
            return await run_target(port, path, cookie, own)
        finally:
            for slot in own:
                close(slot)
    request = (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: carnet-bench\r\n"
               "Accept: text/html\r\nAccept-Encoding: br, gzip\r\n"
               + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n").encode("latin-1")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counters = {"errors": 0, "connects": 0}
    start = time.perf_counter()
    measure_from, stop_at = start + WARMUP_S, start + WARMUP_S + MEASURE_S
    await asyncio.gather(*(connection_loop(slot, port, request, measure_from, stop_at,
                                           latencies, statuses, counters) for slot in slots))
    return {"latencies": latencies, "statuses": statuses, **counters}


async def measure(slots: list[dict], port: int, path: str, cookie: str | None,
                  master_pid: int, sampler: WaitSampler | None) -> dict:
    cpu_client, cpu_server = time.process_time(), server_cpu_seconds(master_pid)
    cpu_database = database_cpu_seconds() if sampler else None
    if sampler:
        sampler.start()
    wall = time.perf_counter()
    result = await run_target(port, path, cookie, slots)
    wall = time.perf_counter() - wall
    if sampler:
        result["waits"] = sampler.stop()
        if cpu_database is not None:
            result["database_cpu"] = (database_cpu_seconds() - cpu_database) / wall
    result["client_cpu"] = (time.process_time() - cpu_client) / wall
    after = server_cpu_seconds(master_pid)
    used = {pid: (after[pid] - cpu_server.get(pid, 0.0)) / wall for pid in after}
    result["server_cpu"] = sum(used.values())
    # Share of each worker (connections stay with the worker that accepted them).
    result["worker_cpu"] = sorted((value for pid, value in used.items() if pid != master_pid),
                                  reverse=True)
    return result


async def run_round(port: int, order: tuple, cookies: dict[str, str], places: dict,
                    master_pid: int, sampler: WaitSampler | None) -> dict:
    """Every target once, over the same CONNECTIONS connections (opened by the first);
    `cookies`: each account's session cookie; `places`: the ids the paths name."""
    slots: list[dict] = [{} for _ in range(CONNECTIONS)]
    try:
        return {label: await measure(slots, port, path.format(**places),
                                     cookies[login] if login else None, master_pid, sampler)
                for label, path, login in order}
    finally:
        for slot in slots:
            close(slot)


def main() -> None:
    started = time.perf_counter()
    # The instance (secret, keys, schema, demo accounts) exists before any worker starts.
    with bench_instance("load") as (app, database, tmp):
        serve_and_measure(app, database, tmp)
    print(f"\nload.py finished in {time.perf_counter() - started:.0f} s.")


def serve_and_measure(app, database, tmp: str) -> None:
    """gunicorn on the instance, the targets' rounds, the table; gunicorn stopped at the end."""
    process = None
    try:
        cookie_name = app.config["SESSION_COOKIE_NAME"]
        from extensions import db
        with app.app_context():
            db.engine.dispose()

        port = free_port()
        process = start_gunicorn(tmp, port, database.url)
        wait_until_up(process, port, tmp)
        clock = TotpClock()
        cookies = {login: f"{cookie_name}="
                   + sign_in_over_http(port, login, cookie_name, clock, landing)
                   for login, landing in LANDING.items()}
        for number in range(1, DOCUMENTS + 1):
            document = upload_over_http(port, cookies[PATIENT], number)
        places = {"patient": find_patient_over_http(port, cookies[PROFESSIONAL]),
                  "document": document}

        print("Carnet santé — load benchmark (gunicorn on loopback)")
        print_environment(database, tmp)
        print(f"gunicorn -k gthread -w {WORKERS} --threads {THREADS} on {HOST}:{port}; "
              f"{CONNECTIONS} keep-alive connections; {ROUNDS} rounds x ({WARMUP_S:g} s warm-up "
              f"+ {MEASURE_S:g} s measured) per target; Accept-Encoding: br, gzip.")
        print(f"The load generator (asyncio, this process) shares the machine's {os.cpu_count()} "
              "cores with the server: absolute figures are lower than on a separate client "
              "machine; ratios to hello world are the figures to compare.")
        print(f"Signed-out targets send no cookie (every request is a first visit); the "
              f"patient's pages use {PATIENT}'s session, the professional's {PROFESSIONAL}'s, "
              "both signed in through the forms; the professional found the patient through "
              f"the search form first (it declares the care relation). The patient added "
              f"{DOCUMENTS} small text documents through the upload form first (her list "
              f"shows {DOCUMENTS}; the document read is the last).")

        results = {label: [] for label, _, _ in TARGETS}
        sampler = WaitSampler(database) if database.backend == "postgresql" else None
        try:
            for round_number in range(ROUNDS):
                order = TARGETS if round_number % 2 == 0 else tuple(reversed(TARGETS))
                for label, result in asyncio.run(run_round(port, order, cookies, places,
                                                           process.pid, sampler)).items():
                    results[label].append(result)
        finally:
            if sampler is not None:
                sampler.close()

        rows = {}
        for label, path, _ in TARGETS:
            runs = results[label]
            latencies = [value for run in runs for value in run["latencies"]]
            statuses: dict[int, int] = {}
            for run in runs:
                for status, count in run["statuses"].items():
                    statuses[status] = statuses.get(status, 0) + count
            rows[label] = {
                "path": path, "count": len(latencies),
                "rps": len(latencies) / (MEASURE_S * len(runs)),
                "p50": percentile(latencies, 0.50) * 1000,
                "p99": percentile(latencies, 0.99) * 1000,
                "statuses": statuses,
                "errors": sum(run["errors"] for run in runs),
                "client_cpu": sum(run["client_cpu"] for run in runs) / len(runs),
                "server_cpu": sum(run["server_cpu"] for run in runs) / len(runs),
                "worker_cpu": " ".join("/".join(f"{share:.0%}" for share in run["worker_cpu"])
                                       for run in runs),
            }

        hello = rows["hello world"]["rps"]
        hello_cpu = rows["hello world"]["server_cpu"]
        # Requests per second of server CPU, against hello world's: what one request costs,
        # whatever share of the cores the server got (see the note under the table).
        hello_per_cpu = hello / hello_cpu if hello and hello_cpu else float("nan")
        title = (f"Throughput at {CONNECTIONS} connections: target ≥ {THROUGHPUT_RATIO:g}× hello "
                 f"world, p99 ≤ {P99_BUDGET_MS:g} ms")
        print()
        print(title)
        print("-" * len(title))
        print(f"{'target':<18} {'path':<13} {'requests':>8} {'req/s':>7} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'ratio':>6} {'thru':>4} {'p99':>4} {'/CPU':>6}  {'CPU srv':>7} "
              f"{'per worker':>23} {'CPU gen':>7}"
              "  answers")
        for label, row in rows.items():
            ratio = row["rps"] / hello if hello else float("nan")
            per_cpu = (row["rps"] / row["server_cpu"] / hello_per_cpu
                       if row["server_cpu"] else float("nan"))
            non_ok = {s: c for s, c in row["statuses"].items() if s != 200}
            answers = ", ".join(f"{s}×{c}" for s, c in sorted(row["statuses"].items()))
            if row["errors"]:
                answers += f", {row['errors']} connection errors"
            ratio_verdict = "" if label == "hello world" else verdict(
                ratio >= THROUGHPUT_RATIO and not non_ok)
            print(f"{label:<18} {row['path']:<13} {row['count']:>8,} {row['rps']:>7,.0f} "
                  f"{row['p50']:>7.1f} {row['p99']:>7.1f} {ratio:>5.2f}× {ratio_verdict:>4} "
                  f"{verdict(row['p99'] <= P99_BUDGET_MS):>4} {per_cpu:>5.2f}×  "
                  f"{row['server_cpu']:>6.0%} "
                  f"{row['worker_cpu']:>23} {row['client_cpu']:>7.0%}  {answers}")
        print("CPU srv / CPU gen: share of one core used by gunicorn (master + workers) and by "
              f"the load generator during each target ({os.cpu_count()} cores = "
              f"{os.cpu_count():.0%}); per worker: each worker's share, per round (a keep-alive "
              "connection stays with the worker that accepted it, so the split can be uneven: "
              "a worker at 0% leaves half the cores idle). A round's connections serve all its "
              "targets, so hello world and the pages compared with it meet the same split. "
              "/CPU: requests per second of server CPU against hello world's.")
        if sampler is not None:
            print_database_table(results)
        log = gunicorn_log(tmp).strip()
        if log:
            print("\ngunicorn log (last lines):\n" + log)
    finally:
        if process is not None:
            stop_gunicorn(process)


def print_database_table(results: dict[str, list[dict]]) -> None:
    """PostgreSQL: its CPU and what the app's backends were doing, for each target."""
    title = "PostgreSQL during each target"
    print()
    print(title)
    print("-" * len(title))
    print(f"{'target':<18} {'CPU db':>7}  " + " ".join(f"{state:>7}" for state in
                                                     WaitSampler.STATES))
    for label, runs in results.items():
        shares = [run["database_cpu"] for run in runs if "database_cpu" in run]
        database_cpu = f"{sum(shares) / len(shares):.0%}" if shares else "n/a"
        counts = {state: sum(run["waits"][state] for run in runs)
                  for state in WaitSampler.STATES}
        seen = sum(counts.values()) or 1
        print(f"{label:<18} {database_cpu:>7}  " + " ".join(
            f"{counts[state] / seen:>7.0%}" for state in WaitSampler.STATES))
    print(f"CPU db: share of one core used by this machine's PostgreSQL processes (n/a: the "
          f"server runs elsewhere); add it to CPU srv and CPU gen for the machine's load. The "
          f"states: the app's backends, sampled every {SAMPLE_S * 1000:g} ms: running a "
          "statement; waiting for a lock held by another transaction (on the pages that "
          "audit a read, every request of this benchmark is about the same patient, so all "
          "of them write to one chain of the audit trail and queue for its head); inside a "
          "transaction, waiting for the app; idle between statements or requests.")


if __name__ == "__main__":
    main()
