"""A million people (issue 20): the list and lookup paths, and the nightly jobs, as the
tables grow from 1,000 to 1,000,000 insured people and their spaces, on PostgreSQL.

Run from the project root: `.venv/bin/python benchmarks/million.py` (PostgreSQL only:
DATABASE_URL, by default postgresql+psycopg://postgres@127.0.0.1:5432/test, in a schema of
its own, created, then dropped at the end). BENCH_MILLION_N caps the largest size (for a
quick check, e.g. BENCH_MILLION_N=20000). Prints figures; asserts nothing.

One schema (Alembic head, the demo accounts), grown in three steps: 1,000, 100,000 and
1,000,000 insured people. Each step adds, per person: the insured row (the NIR's real
blind index, so the professional's search finds it; the sealed columns are one pre-sealed
constant per column, never opened on the measured paths), an activation code (a real
keyed hash for the live ones, whose clear codes are typed in the check), and 5 audit events
(spread over the 64 chains by domain.audit.chain_for(subject), numbered after each chain's
head; their MACs are placeholders, so `audit verify` would fail on them: the benchmark
never verifies). People with a space (90 %: active or created automatically, and closed
ones awaiting purge) get a users row and one agenda item. The mix: 85 % active, 5 %
created automatically, 5 % pending with a live code, 3 % closed (archived, purge due in
the next 10 years), 2 % opposed. Rows go in with PostgreSQL COPY, in chunks, then VACUUM
ANALYZE; the time is printed.

At each size, timed through the real domain functions in an app context (the SQL is the
application's own), each call in a new session, median of 25 calls (shuffled rounds):
  - the professional's patient search (care.find_patient, what POST /pro/patients calls,
    by NIR and birth date, with the commit that writes its audit event): a hit, a miss;
  - a patient's access history (history.page): the first page and a page 1,000 events
    back, for a patient with 2,000 professionals' actions among everyone's events;
  - an activation code check (activation.find_code, what the activation form calls): a
    live code, a wrong one;
  - once each, the nightly jobs behind `flask activation expire`
    (activation.create_expired_spaces), `flask accounts purge` (closing.purge) and
    `flask agenda remind` (agenda.reminders with the real e-mail), each with DUE items
    due (added at that size, on top of the people), with the CLI's commit; and, within
    it, the job's selection query (its first statement: which items are due), timed by
    engine events. The jobs run once untimed first, on a batch of their own (templates,
    translations).
At the largest size each operation runs once more with every distinct SQL statement it
sends EXPLAIN (ANALYZE, BUFFERS)-ed just before it runs (inside a savepoint rolled back,
so the real statement then runs on the same data); the plans are printed node by node,
with any sequential scan of a large table flagged. Then one table: operation x size, the
median in ms, the growth largest/smallest, "flat" when it is at most 2.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import event, make_url, select  # noqa: E402

from benchmarks._common import (  # noqa: E402
    bench_instance,
    median,
    print_environment,
    print_finished,
    print_title,
)

SIZES = (1_000, 100_000, 1_000_000)
CAP = int(os.environ.get("BENCH_MILLION_N", str(SIZES[-1])))
CHUNK = 25_000                 # people generated and copied at a time
AUDIT_PER_PERSON = 5           # audit events per person
HER_EVENTS = 2_000             # professionals' actions on the history patient's space
LATER = 1_000                  # the later history page starts this many events back
DUE = 100                      # items due for each nightly job, at each size
WARMUP = 5                     # untimed calls of each read operation, then
ROUNDS = 5                     # ROUNDS rounds in shuffled order, BATCH calls each per
BATCH = 5                      # round: 25 timed calls per operation
MIX = (("active", 0.85), ("auto_created", 0.05), ("pending", 0.05), ("closed", 0.03),
       ("opposed", 0.02))
WITH_SPACE = {"active", "auto_created", "closed"}
LARGE_TABLES = {"insured_people", "users", "activation_codes", "audit_events", "agenda_items"}
PROFESSIONAL_POOL = 50         # random actor ids on other people's events
FLAT_RATIO = 2.0

NOW = datetime.now(UTC)
TODAY = NOW.date()
EXPECTED = {
    "search: hit": "flat",
    "search: miss": "flat",
    "history: first page": "flat",
    "history: later page": "flat",
    "code check: right": "flat",
    "code check: wrong": "flat",
    "job: activation expire": "linear*",
    "expire: selection query": "linear",
    "job: accounts purge": "flat",
    "purge: selection query": "flat",
    "job: agenda remind": "flat",
    "remind: selection query": "flat",
}
SELECTION = {"job: activation expire": "expire: selection query",
             "job: accounts purge": "purge: selection query",
             "job: agenda remind": "remind: selection query"}


def sizes() -> list[int]:
    chosen = [size for size in SIZES if size < CAP]
    return chosen + [CAP]


# Loading ------------------------------------------------------------------------------------

PEOPLE_COLUMNS = ("id", "nir_index", "nir_sealed", "vitale_index", "vitale_sealed",
                  "birth_name", "given_names", "birth_date", "sex", "email_sealed",
                  "source_fingerprint", "space_status", "user_id", "status_changed_at",
                  "purge_after", "created_at")
USER_COLUMNS = ("id", "role", "login", "password_hash", "given_name_sealed",
                "family_name_sealed", "birth_date_sealed", "email_sealed", "second_factor",
                "totp_secret_sealed", "last_totp_step", "failed_logins", "wrapped_key",
                "kek_version", "samu", "emergency_samu", "emergency_others",
                "emergency_hidden", "hide_new_documents", "enabled", "created_at")
CODE_COLUMNS = ("id", "insured_id", "code_hash", "channel", "provisional", "sent_at",
                "expires_at", "used_at", "spent_reason", "failed_attempts", "progress_step")
AGENDA_COLUMNS = ("id", "patient_id", "kind", "day", "at", "payload_sealed", "reminded_at",
                  "created_at", "updated_at")
AUDIT_COLUMNS = ("chain", "seq", "fmt", "occurred_at", "action", "outcome", "actor_id",
                 "acting_as", "subject_id", "target_type", "target_id", "details",
                 "prev_mac", "mac")
TABLES = {"users": USER_COLUMNS, "insured_people": PEOPLE_COLUMNS,
          "activation_codes": CODE_COLUMNS, "agenda_items": AGENDA_COLUMNS,
          "audit_events": AUDIT_COLUMNS}


def check_columns(connection: psycopg.Connection) -> None:
    """Every NOT NULL column without a default is in what we copy (the schema is
    Alembic's: a new column would otherwise make COPY fail half-way)."""
    for table, columns in TABLES.items():
        rows = connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = %s AND is_nullable = 'NO' AND "
            "column_default IS NULL", (table,)).fetchall()
        missing = {name for (name,) in rows} - set(columns)
        if missing:
            raise SystemExit(f"{table}: NOT NULL columns not generated: {sorted(missing)}")


def copy_rows(connection: psycopg.Connection, table: str, rows: list[tuple]) -> None:
    if not rows:
        return
    columns = ", ".join(TABLES[table])
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class World:
    """What the generator knows between steps: the counters, the people the measures
    look up, the constant sealed blobs."""

    def __init__(self, app):
        from domain.models import User
        from extensions import db, keys

        self.rng = random.Random(20)
        self.people = 0
        self.events = 0
        with app.app_context():
            ring = keys.ring
            self.ring = ring
            blob = {name: ring.seal_server(b"bench-constant", f"bench.{name}")
                    for name in ("nir", "vitale", "email", "given", "family", "born", "totp",
                                 "payload")}
            self.blob = blob
            wrapped = ring.new_patient_key()
            self.wrapped, self.kek_version = wrapped.wrapped, wrapped.kek_version
            self.doctor = db.session.execute(select(User.id).where(
                User.login == "dr.bernard")).scalar_one()
            self.pharmacist = db.session.execute(select(User.id).where(
                User.login == "pharma.petit")).scalar_one()
        # Never checked: nobody signs in to these spaces.
        self.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$bench$bench"  # noqa: S105
        self.pros = [secrets.token_hex(16) for _ in range(PROFESSIONAL_POOL)]
        self.her: str | None = None             # the history patient (a users id)
        self.searched: tuple[str, date] | None = None  # a hit: NIR, birth date
        self.live_code: str | None = None       # a live activation code, clear
        self.due_round = 0

    # One person's rows ---------------------------------------------------------------

    def status(self) -> str:
        draw = self.rng.random()
        for name, share in MIX:
            if draw < share:
                return name
            draw -= share
        return MIX[0][0]

    def person_rows(self, index: int, status: str, out: dict, *, user_id: str | None = None,
                    email_sealed: bytes | None = None, purge_after: datetime | None = None,
                    code: tuple | None = None, born: date | None = None) -> str:
        """Append the person's rows to `out` (a list per table); returns the person id."""
        from domain import activation

        person_id = secrets.token_hex(16)
        nir = f"3{index:014d}"  # never a real NIR (3 is no sex digit): no demo collision
        born = born or date(1940, 1, 1) + timedelta(days=index % 20_000)
        has_space = status in WITH_SPACE
        if has_space and user_id is None:
            user_id = secrets.token_hex(16)
        created = NOW - timedelta(days=800)
        if has_space:
            out["users"].append((
                user_id, "patient", f"bench.{index}", self.password_hash,
                self.blob["given"], self.blob["family"], self.blob["born"],
                email_sealed or self.blob["email"], "totp", self.blob["totp"], 0, 0,
                None if status == "closed" and purge_after and purge_after <= NOW
                else self.wrapped, self.kek_version, False, True, True, False, False,
                status != "closed", created))
        if status == "closed" and purge_after is None:
            purge_after = NOW + timedelta(days=self.rng.randint(1, 3650))
        out["insured_people"].append((
            person_id, self.ring.blind_index("nir", nir), self.blob["nir"],
            self.ring.blind_index("vitale", f"8025{index:016d}"), self.blob["vitale"],
            f"NOM{index % 997}", "Prénom Second", born, "12"[index % 2], self.blob["email"],
            "bench", status, user_id if has_space else None, created, purge_after, created))
        if code is None:
            if status == "pending":
                clear = activation.generate_code()
                sent = NOW - timedelta(days=self.rng.randint(0, 40), minutes=5)
                code = (activation.code_hash(self.ring, clear), sent, None, None)
                if self.live_code is None:
                    self.live_code = clear
            else:
                sent = NOW - timedelta(days=self.rng.randint(60, 1500))
                reason = "opposed" if status == "opposed" else "superseded"
                code = (secrets.token_hex(32), sent, sent + timedelta(days=2), reason)
        code_hash, sent, used, reason = code
        out["activation_codes"].append((
            secrets.token_hex(16), person_id, code_hash, "email" if index % 4 else "post",
            False, sent, sent + activation.VALIDITY, used, reason, 0, 0))
        if status in ("active", "auto_created") and self.searched is None and index > 0:
            self.searched = (nir, born)
        return person_id

    def agenda_row(self, user_id: str, day: date, reminded: bool) -> tuple:
        return (secrets.token_hex(16), user_id, "appointment" if day.day % 3 else "reminder",
                day, clock(9, 30) if day.day % 2 else None, self.blob["payload"],
                NOW - timedelta(days=1) if reminded else None, NOW, NOW)

    # Growth --------------------------------------------------------------------------

    def grow(self, connection: psycopg.Connection, target: int, protected: set[date]
             ) -> dict:
        """Add people up to `target`, CHUNK at a time; returns rows added per table."""
        from domain.audit import chain_for

        heads = dict(connection.execute("SELECT id, seq FROM audit_head").fetchall())
        added = dict.fromkeys(TABLES, 0)
        while self.people < target:
            count = min(CHUNK, target - self.people)
            out = {table: [] for table in TABLES}
            subjects = []
            for index in range(self.people, self.people + count):
                status = self.status()
                if self.her is None:
                    status = "active"
                self.person_rows(index, status, out)
                subject = out["users"][-1][0] if status in WITH_SPACE else (
                    out["insured_people"][-1][0])
                if self.her is None:
                    self.her = subject
                subjects.append((subject, status in WITH_SPACE))
                if status in ("active", "auto_created"):
                    day = TODAY + timedelta(days=self.rng.randint(-365, 365))
                    out["agenda_items"].append(self.agenda_row(
                        subject, day, day < TODAY or day in protected))
            events = self.audit_plan(subjects)
            self.number(events, heads, chain_for, out["audit_events"])
            self.people += count
            for table in TABLES:
                copy_rows(connection, table, out[table])
                added[table] += len(out[table])
            connection.commit()
        for chain, seq in heads.items():
            connection.execute(
                "INSERT INTO audit_head (id, seq, first_seq, last_mac) VALUES (%s, %s, 0, %s) "
                "ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq", (chain, seq, "0" * 64))
        connection.commit()
        return added

    def audit_plan(self, subjects: list[tuple[str, bool]]) -> list[tuple]:
        """(subject, actor, acting_as, action, target_type) of each event, in order: each
        person's AUDIT_PER_PERSON events, and in the very first chunk the history patient's
        HER_EVENTS professionals' actions spread evenly among them."""
        plan = []
        rng = self.rng
        for subject, has_space in subjects:
            for number in range(AUDIT_PER_PERSON):
                if not has_space:
                    plan.append((subject, None, None, "activation.code_sent", "code"))
                elif number < 3:
                    plan.append((subject, rng.choice(self.pros), "professional",
                                 "document.read", "document"))
                else:
                    plan.append((subject, subject, "patient", "profile.update", "profile"))
        if self.events == 0:
            total = len(plan) + HER_EVENTS
            slots = {int((k + 0.5) * total / HER_EVENTS) for k in range(HER_EVENTS)}
            merged, others = [], iter(plan)
            for slot in range(total):
                if slot in slots:
                    actor = self.pharmacist if slot % 10 == 0 else self.doctor
                    merged.append((self.her, actor, "professional", "document.read",
                                   "document"))
                else:
                    merged.append(next(others))
            plan = merged
        return plan

    def number(self, plan: list[tuple], heads: dict, chain_for, rows: list) -> None:
        chains: dict[str, int] = {}
        start = NOW - timedelta(days=700)
        placeholder = "0" * 64
        for subject, actor, acting_as, action, target_type in plan:
            chain = chains.get(subject)
            if chain is None:
                chain = chains[subject] = chain_for(subject)
            seq = heads.get(chain, 0) + 1
            heads[chain] = seq
            self.events += 1
            rows.append((chain, seq, 2, start + timedelta(seconds=self.events * 5), action,
                         "success", actor, acting_as, subject, target_type,
                         secrets.token_hex(16), "{}", placeholder, placeholder))

    def add_due(self, connection: psycopg.Connection, remind_day: date) -> None:
        """DUE people for each job: pending with a first code 7 weeks old (expire), closed
        with their purge date passed (purge), with an item on remind_day not reminded yet
        and a real sealed e-mail (remind)."""
        out = {table: [] for table in TABLES}
        base = 10**13 + self.due_round * 10_000  # NIRs apart from the bulk's
        self.due_round += 1
        old = NOW - timedelta(weeks=7)
        for number in range(DUE):
            self.person_rows(base + number, "pending", out,
                             code=(secrets.token_hex(32), old, None, None),
                             born=date(1980, 5, 17))
            closed_user = secrets.token_hex(16)
            self.person_rows(base + DUE + number, "closed", out, user_id=closed_user,
                             purge_after=NOW - timedelta(days=1))
            out["agenda_items"].append(self.agenda_row(
                closed_user, TODAY - timedelta(days=30), True))
            user_id = secrets.token_hex(16)
            email = self.ring.seal_server(f"due{base + number}@example.org".encode(),
                                          f"users.email.{user_id}")
            self.person_rows(base + 2 * DUE + number, "active", out, user_id=user_id,
                             email_sealed=email)
            out["agenda_items"].append(self.agenda_row(user_id, remind_day, False))
        for table in TABLES:
            copy_rows(connection, table, out[table])
        connection.commit()


def vacuum(connection: psycopg.Connection) -> None:
    connection.commit()
    connection.autocommit = True
    try:
        for table in (*TABLES, "audit_head"):
            connection.execute(f"VACUUM (ANALYZE) {table}")
        # Write the load's dirty pages out now, not while the measures run.
        connection.execute("CHECKPOINT")
    finally:
        connection.autocommit = False


# Plans --------------------------------------------------------------------------------------

NODE_RE = re.compile(r"^(?P<indent>\s*)(?:->\s+)?(?P<node>.+?)\s+\(cost=[^)]*\)\s*"
                     r"(?:\(actual time=[\d.]+\.\.(?P<ms>[\d.]+) rows=(?P<rows>\d+) "
                     r"loops=(?P<loops>\d+)\)|(?P<never>\(never executed\)))?")
BUFFERS_RE = re.compile(r"Buffers: shared(?: hit=(?P<hit>\d+))?(?: read=(?P<read>\d+))?")
SEQ_SCAN_RE = re.compile(r"Seq Scan on (\w+)")
TRIGGER_RE = re.compile(r"Trigger for constraint (?P<name>.+?): time=(?P<ms>[\d.]+) "
                        r"calls=(?P<calls>\d+)")
EXPLAINABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


class Explainer:
    """While on, EXPLAIN (ANALYZE, BUFFERS) each distinct statement the engine sends, just
    before it runs (a write's in a savepoint rolled back at once)."""

    def __init__(self, engine):
        self.on = False
        self.seen: set[str] = set()
        self.plans: list[tuple[str, list[str]]] = []
        event.listen(engine, "before_cursor_execute", self._before)

    def start(self) -> None:
        self.on, self.seen, self.plans = True, set(), []

    def stop(self) -> list[tuple[str, list[str]]]:
        self.on = False
        return self.plans

    def _before(self, _connection, cursor, statement, parameters, _context, executemany):
        if not self.on or executemany or statement in self.seen:
            return
        if not statement.lstrip().upper().startswith(EXPLAINABLE):
            return
        self.seen.add(statement)
        # A plain query outside a transaction runs in autocommit (domain.db's
        # begin_at_first_write, a listener that ran before this one): there is no
        # transaction for a savepoint, and a query's EXPLAIN ANALYZE changes nothing.
        # Anything else (a write, a lock) is in a transaction (begun by psycopg, or by the
        # BEGIN domain.pg_commit sends with the audit trail's lock): its EXPLAIN ANALYZE
        # runs in a savepoint rolled back at once.
        in_savepoint = (cursor.connection.info.transaction_status
                        != psycopg.pq.TransactionStatus.IDLE)
        with cursor.connection.cursor() as explaining:
            if in_savepoint:
                explaining.execute("SAVEPOINT bench_explain")
            try:
                explaining.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
                lines = [row[0] for row in explaining.fetchall()]
            except psycopg.Error as problem:
                lines = [f"(EXPLAIN failed: {problem.__class__.__name__}: {problem})"]
            if in_savepoint:
                explaining.execute("ROLLBACK TO SAVEPOINT bench_explain")
                explaining.execute("RELEASE SAVEPOINT bench_explain")
        self.plans.append((statement, lines))


def short_sql(statement: str) -> str:
    flat = " ".join(statement.split())
    if flat.startswith("SELECT ") and flat.find(" FROM ") > 47:
        flat = "SELECT …" + flat[flat.find(" FROM "):]  # noqa: S608 (printed, not run)
    flat = re.sub(r"%\((\w+?)(?:_\d+)?\)s", r":\1", flat)
    return flat if len(flat) <= 150 else flat[:147] + "…"


def compact_plan(lines: list[str]) -> tuple[list[str], list[str]]:
    """The plan's node lines (rows x loops, time, shared buffers hit/read), its FK triggers
    and execution time; and the warnings (sequential scans of large tables, slow
    triggers)."""
    out: list[list[str]] = []  # [text, buffers, flag]
    warnings = []
    for line in lines:
        stripped = line.strip()
        node = NODE_RE.match(line)
        if node and "(cost=" in line:
            depth = len(node["indent"]) // 6 + (1 if "->" in line else 0)
            if node["never"]:
                figures = "never executed"
            elif node["ms"] is not None:
                figures = (f"rows={node['rows']}x{node['loops']} "
                           f"{float(node['ms']):.3f} ms")
            else:
                figures = ""
            flag = ""
            seq = SEQ_SCAN_RE.search(node["node"])
            if seq and seq.group(1) in LARGE_TABLES:
                flag = "   <-- SEQ SCAN OF A LARGE TABLE"
                warnings.append(f"Seq Scan on {seq.group(1)}")
            out.append([f"{'  ' * depth}{node['node']}  [{figures}]", "", flag])
        elif stripped.startswith("Buffers:") and out and not out[-1][1]:
            buffers = BUFFERS_RE.search(stripped)
            if buffers:
                out[-1][1] = f" buf hit={buffers['hit'] or 0} read={buffers['read'] or 0}"
        elif stripped.startswith("Trigger for constraint"):
            trigger = TRIGGER_RE.search(stripped)
            flag = ""
            if trigger and float(trigger["ms"]) / max(int(trigger["calls"]), 1) > 1.0:
                flag = "   <-- SLOW FOREIGN-KEY TRIGGER"
                warnings.append(f"slow FK trigger {trigger['name']}")
            out.append([f"  {stripped}", "", flag])
        elif stripped.startswith("Execution Time") or stripped.startswith("(EXPLAIN failed"):
            out.append([f"  {stripped}", "", ""])
    return ["".join(parts) for parts in out], warnings


def print_plans(name: str, plans: list[tuple[str, list[str]]]) -> list[str]:
    print(f"\n== {name}: {len(plans)} distinct statement(s)")
    found = []
    for statement, lines in plans:
        print(f"  SQL {short_sql(statement)}")
        nodes, warnings = compact_plan(lines)
        for line in nodes:
            print(f"    {line}")
        found += warnings
    return found


# Operations ---------------------------------------------------------------------------------

class Operations:
    def __init__(self, app, world: World):
        self.app, self.world = app, world
        self.later_cursor: int | None = None

    def prepare_history(self) -> None:
        from domain import history
        from domain.models import User
        from extensions import db

        with self.app.app_context():
            patient = db.session.get(User, self.world.her)
            seqs = []
            before = None
            while len(seqs) <= LATER:
                rows, before, _people = history.page(db.session, patient,
                                                     history.Filters(), before, 500)
                seqs += [row.event.seq for row in rows]
                if before is None:
                    break
            self.later_cursor = seqs[min(LATER, len(seqs) - 1)]

    def reads(self) -> dict:
        """name -> prepare(session, ring) returning the callable to time (which returns a
        short check string)."""
        from domain import activation, audit, care, history
        from domain.models import User
        from domain.models.base import utcnow

        world = self.world
        wrong = "".join(secrets.choice(activation.ALPHABET)
                        for _ in range(activation.CODE_LENGTH))
        nir, born = world.searched

        def search(the_nir):
            def prepare(session, ring):
                pro = session.get(User, world.doctor)
                actor = audit.Actor(user_id=pro.id, acting_as="professional")

                def run():
                    try:
                        found = care.find_patient(session, ring, pro, the_nir, born, actor)
                        outcome = "found" if found is not None else "none"
                    except care.PatientNotFound:
                        outcome = "not found"
                    session.commit()
                    return outcome
                return run
            return prepare

        def history_page(before):
            def prepare(session, _ring):
                patient = session.get(User, world.her)

                def run():
                    rows, more, _people = history.page(session, patient, history.Filters(),
                                                       before() if before else None)
                    return f"{len(rows)} rows, more={more is not None}"
                return run
            return prepare

        def code(typed):
            def prepare(session, ring):
                def run():
                    try:
                        activation.find_code(session, ring, typed, utcnow())
                        return "usable"
                    except activation.CodeProblem as problem:
                        return problem.reason
                return run
            return prepare

        return {
            "search: hit": search(nir),
            "search: miss": search("399999999999999"),
            "history: first page": history_page(None),
            "history: later page": history_page(lambda: self.later_cursor),
            "code check: right": code(world.live_code),
            "code check: wrong": code(wrong),
        }

    def time_reads(self, prepares: dict) -> dict:
        """name -> (median ms, the last call's check): WARMUP calls of each first, then
        ROUNDS rounds in shuffled order, BATCH calls of each per round; every call in a new
        app context (a new session: nothing comes from the identity map)."""
        from extensions import db, keys

        def once(prepare) -> tuple[int, str]:
            with self.app.app_context():
                session, ring = db.session, keys.ring
                run = prepare(session, ring)
                started = time.perf_counter_ns()
                check = run()
                elapsed = time.perf_counter_ns() - started
                session.rollback()
            return elapsed, check

        for prepare in prepares.values():
            for _ in range(WARMUP):
                once(prepare)
        samples = {name: [] for name in prepares}
        checks = dict.fromkeys(prepares, "")
        order = list(prepares)
        shuffle = random.Random(6)
        for _ in range(ROUNDS):
            shuffle.shuffle(order)
            for name in order:
                for _ in range(BATCH):
                    elapsed, checks[name] = once(prepares[name])
                    samples[name].append(elapsed)
        return {name: (median(values) / 1e6, checks[name])
                for name, values in samples.items()}

    def jobs(self, remind_on: date) -> dict:
        """name -> callable running the job once as its CLI command does; returns what it
        printed (counts)."""
        from domain import activation, agenda, closing
        from domain.models.base import utcnow
        from extensions import db, keys
        from web.outgoing import notify_agenda_reminder

        app = self.app

        def expire():
            with app.app_context():
                created = activation.create_expired_spaces(db.session, keys.ring, utcnow())
                db.session.commit()
            return f"{created} space(s) created"

        def purge():
            with app.app_context():
                count = closing.purge(db.session, keys.ring, utcnow())
                db.session.commit()
            return f"{count} closed space(s) erased"

        def remind():
            with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
                run = agenda.reminders(db.session, keys.ring, remind_on,
                                       notify_agenda_reminder)
            return f"{run.patients} e-mail(s) for {run.items} item(s)"

        return {"job: activation expire": expire, "job: accounts purge": purge,
                "job: agenda remind": remind}


class StatementTimer:
    """While on, how long each statement the engine sends takes (cursor execute to its
    end: psycopg has the rows by then), in order."""

    def __init__(self, engine):
        self.on = False
        self.times: list[tuple[str, int]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, connection, _cursor, _statement, _parameters, _context, _many):
        if self.on:
            connection.info["bench_started"] = time.perf_counter_ns()

    def _after(self, connection, _cursor, statement, _parameters, _context, _many):
        started = connection.info.pop("bench_started", None)
        if self.on and started is not None:
            self.times.append((statement, time.perf_counter_ns() - started))

    def around(self, function) -> tuple[float, str, list[tuple[str, int]]]:
        """(ms, the function's answer, the statements' times)."""
        self.times, self.on = [], True
        try:
            started = time.perf_counter_ns()
            check = function()
            elapsed = time.perf_counter_ns() - started
        finally:
            self.on = False
        return elapsed / 1e6, check, self.times


def heaviest(times: list[tuple[str, int]]) -> str:
    """The statement that took the most time in all, with its count."""
    totals: dict[str, list[int]] = {}
    for statement, elapsed in times:
        totals.setdefault(statement, []).append(elapsed)
    statement, values = max(totals.items(), key=lambda item: sum(item[1]))
    return (f"heaviest: {short_sql(statement)[:60]} x{len(values)} "
            f"{sum(values) / 1e6:.1f} ms")


# Main ---------------------------------------------------------------------------------------

def table_counts(connection: psycopg.Connection) -> str:
    parts = []
    for table in ("insured_people", "users", "activation_codes", "agenda_items",
                  "audit_events"):
        count = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        parts.append(f"{table} {count:,}")
    return ", ".join(parts)


def main() -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    backend = make_url(os.environ["DATABASE_URL"]).get_backend_name()
    if backend != "postgresql":
        raise SystemExit(f"benchmarks/million.py runs on PostgreSQL only, not {backend} "
                         "(set DATABASE_URL to a postgresql+psycopg:// URL)")
    steps = sizes()
    print_title(f"A million people: {', '.join(f'{size:,}' for size in steps)} insured "
                "people, PostgreSQL")
    with bench_instance("million") as (app, database, tmp):
        print_environment(database, tmp)
        # Production leaves e-mails to `flask outbox work`: the job only queues them.
        app.config["OUTBOX_SEND_AFTER_COMMIT"] = False
        connection = database.driver_connection()  # COPY, VACUUM
        print(f"PostgreSQL {connection.info.server_version // 10000}."
              f"{connection.info.server_version % 100}; "
              f"shared_buffers {connection.execute('SHOW shared_buffers').fetchone()[0]}")
        check_columns(connection)
        world = World(app)
        operations = Operations(app, world)
        with app.app_context():
            from extensions import db
            explainer = Explainer(db.engine)
            timer = StatementTimer(db.engine)
        # Remind days: one per size, one for the warm-up, one for the explained run; bulk
        # items on the day after each are already reminded.
        remind_days = [TODAY + timedelta(days=30 + number) for number in range(len(steps) + 2)]
        protected = {day + timedelta(days=1) for day in remind_days}
        # The jobs' first run in this process compiles templates, loads translations…:
        # once, untimed, on a batch of their own, before anything else.
        world.add_due(connection, remind_days[-2] + timedelta(days=1))
        for job in operations.jobs(remind_days[-2]).values():
            job()
        results: dict[str, dict[int, float]] = {}
        warnings: dict[str, list[str]] = {}
        generation = 0.0
        for step, size in enumerate(steps):
            print_title(f"{size:,} people")
            growing = time.perf_counter()
            added = world.grow(connection, size, protected)
            world.add_due(connection, remind_days[step] + timedelta(days=1))
            loaded = time.perf_counter() - growing
            vacuum(connection)
            generated = time.perf_counter() - growing
            generation += generated
            print(f"generated in {generated:.1f} s (COPY {loaded:.1f} s, VACUUM ANALYZE "
                  f"{generated - loaded:.1f} s); added: "
                  + ", ".join(f"{table} {count:,}" for table, count in added.items()))
            print(f"now: {table_counts(connection)} (plus {DUE} due items per job)")
            if operations.later_cursor is None:
                operations.prepare_history()
            for name, (value, check) in operations.time_reads(operations.reads()).items():
                results.setdefault(name, {})[size] = value
                print(f"  {name:<26} {value:9.3f} ms  ({check})")
            for name, job in operations.jobs(remind_days[step]).items():
                value, check, times = timer.around(job)
                results.setdefault(name, {})[size] = value
                results.setdefault(SELECTION[name], {})[size] = times[0][1] / 1e6
                print(f"  {name:<26} {value:9.1f} ms  ({check}; {DUE} due; selection "
                      f"{times[0][1] / 1e6:.1f} ms; {heaviest(times)})")
        # Plans at the largest size: one more call of each, its statements explained.
        largest = steps[-1]
        print_title(f"Query plans at {largest:,} people (EXPLAIN (ANALYZE, BUFFERS), run "
                    "just before each distinct statement; node lines only)")
        world.add_due(connection, remind_days[-1] + timedelta(days=1))
        vacuum(connection)
        from extensions import db, keys
        for name, prepare in operations.reads().items():
            with app.app_context():
                run = prepare(db.session, keys.ring)
                explainer.start()
                try:
                    run()
                finally:
                    plans = explainer.stop()
                db.session.rollback()
            warnings[name] = print_plans(name, plans)
        for name, job in operations.jobs(remind_days[-1]).items():
            explainer.start()
            try:
                check = job()
            finally:
                plans = explainer.stop()
            warnings[name] = print_plans(f"{name} ({check})", plans)
        connection.close()
        summary(steps, results, warnings)
        print(f"Data generation took {generation:.0f} s in all (COPY and VACUUM ANALYZE, "
              f"{largest:,} people).")
    print_finished("benchmarks/million.py", started, cpu_started)


def summary(steps: list[int], results: dict, warnings: dict) -> None:
    print_title("Summary: median ms per operation (the jobs: one run, with "
                f"{DUE} items due)")
    header = f"{'operation':<26}" + "".join(f"{size:>12,}" for size in steps)
    print(f"{header}{'ratio':>8}  {'expected':<9} verdict")
    for name, by_size in results.items():
        first, last = by_size[steps[0]], by_size[steps[-1]]
        ratio = last / first if first else float("inf")
        verdict = "flat" if ratio <= FLAT_RATIO else f"grows x{ratio:.1f}"
        seqs = sorted(set(warnings.get(name, [])))
        note = f"  [{'; '.join(seqs)}]" if seqs else ""
        print(f"{name:<26}" + "".join(f"{by_size[size]:>12.3f}" for size in steps)
              + f"{ratio:>8.2f}  {EXPECTED.get(name, '?'):<9} {verdict}{note}")
    print(f"ratio: {steps[-1]:,} people / {steps[0]:,}; flat: ratio <= {FLAT_RATIO:g}.")
    print("expected: flat = work proportional to the rows asked for (a page, one lookup, "
          "the due items) through an index; linear = its selection query reads every "
          "pending person (5 % of the population here) and every activation code sent "
          "more than 6 weeks ago; linear* = that selection, then work per due person "
          "(flat while the per-person work, a commit each, outweighs the selection).")
    print("Audit rows were loaded with placeholder MACs (their chains do not verify); the "
          "jobs' figures include their commits (and the e-mails' outbox rows, not sent).")


if __name__ == "__main__":
    main()
