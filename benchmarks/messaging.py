"""Secure messaging: what the inboxes and the conversation page cost as conversations and
messages accumulate, and what the htmx send weighs and costs against post-redirect-get.

Run from the project root: `.venv/bin/python benchmarks/messaging.py` (or `make bench`;
`.venv/bin/python -m benchmarks.messaging` works too). Prints figures as ratios to baselines
measured in the same run; never asserts anything.

Two phases, each timed with the Flask test client (requests interleaved in shuffled rounds
with a bare hello-world route, median per target):

- small: the demo patient camille.martin has 20 conversations (one of them, "C10", holds 10
  messages) with 20 care doctors; dr.bernard has 20 conversations with 20 patients: each
  inbox's first page is full, as it is at 1,000, so that the two sizes show the same rows.
- large: 980 more conversations for her (1,000; one of them, "C2000", holds 2,000
  messages), and 980 more patients for dr.bernard (1,000 conversations, 1,000 patients).

Everything is seeded through the domain: care.declare, then messaging.start and
messaging.reply (subjects and bodies sealed, audit rows chained, as the app does). Patients
for the professional's inbox are User rows with a patient key from keyring.new_patient_key(),
as domain.demo creates them.

1. Inboxes: /messagerie (first page, ?page=25) and /pro/messagerie, small against large.
2. Conversation page /messagerie/<id> with 10 messages against 2,000 (newest 30 shown), and
   an older page ?avant=<id of the 1,000th message>.
3. The htmx send (POST /messagerie/<C2000> with HX-Request and HX-Target: message-list, a
   300-character body): its weight against the 2,048-byte fragment budget, as
   benchmarks/pages.py weighs it, and its server time against the post-redirect-get of a
   browser without JavaScript (the POST's 303, then the whole conversation page).
4. SQL statements sent and patient keys unwrapped per request (SQLAlchemy event listener on
   the engine; a counter around Keyring.unwrap), at both sizes.

SQLite in a temporary folder by default. DATABASE_URL, when set, runs the benchmark on that
database instead (PostgreSQL: a schema of its own, dropped at the end; SQLite: a file that
does not exist yet, deleted at the end), as benchmarks/access.py does.
"""

from __future__ import annotations

import random
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from benchmarks._common import (  # noqa: E402
    ACCEPT,
    FRAGMENT_BUDGET,
    HELLO_PATH,
    PAGE_BUDGET,
    SERVER_TIME_RATIO,
    QueryCounter,
    TotpClock,
    bench_instance,
    csrf_from,
    explain,
    interleaved,
    median,
    print_environment,
    print_finished,
    print_title,
    request_target,
    sign_in,
    verdict,
    weigh,
    weigh_page,
)

PATIENT_LOGIN = "camille.martin"
DOCTOR_LOGIN = "dr.bernard"
WRITERS = 20                          # care doctors writing to the patient (not dr.bernard)
SMALL, LARGE = 20, 1_000              # conversations in each inbox (SMALL: one full page)
SHORT, LONG = 10, 2_000               # messages in C10 and C2000
DEEP_PAGE = 25                        # /messagerie?page=25 (of 50 at 1,000 conversations)
INBOX_PAGE, MESSAGES_PAGE = 20, 30    # domain.messaging's INBOX_PAGE and MESSAGES_PAGE
COMMIT_EVERY = 200                    # seeding: domain calls per commit
IP = "127.0.0.1"
# A light signed-in page (one session listed): what any signed-in request costs (server-side
# session, user, base template) before the page's own work.
REFERENCE = "/mon-compte/sessions"

WARMUP = 3                            # requests per target before measuring
ROUNDS = 10                           # rounds; every target runs BATCH requests per round,
BATCH = 4                             # shuffled -> 40 timed requests per target

SENTENCES = (
    "Bonjour, vos résultats de prise de sang sont arrivés.",
    "La glycémie à jeun est un peu haute, rien d’inquiétant pour l’instant.",
    "Pouvez-vous me dire si la douleur au genou a diminué depuis la semaine dernière ?",
    "Je vous propose de refaire un bilan dans trois mois.",
    "Merci docteur, je continue le traitement comme prévu.",
    "J’ai oublié de vous demander s’il faut prendre le comprimé le matin ou le soir.",
    "Le matin, au petit-déjeuner, avec un grand verre d’eau.",
    "L’ordonnance est prête, vous pouvez passer la chercher au cabinet.",
    "La pharmacie n’avait plus le médicament : peut-on le remplacer par un générique ?",
    "Oui, le générique convient tout à fait.",
    "Ma fille a de la fièvre depuis hier soir, 38,5 °C ce matin.",
    "Donnez-lui du paracétamol et rappelez le cabinet si la fièvre dure plus de trois jours.",
    "Le compte rendu de la radiographie est dans vos documents.",
    "Je serai absent la semaine prochaine ; le docteur Morel me remplace.",
    "Pensez à apporter votre carnet de vaccination au prochain rendez-vous.",
)
SUBJECTS = ("Résultats de votre prise de sang", "Suivi du traitement", "Ordonnance",
            "Compte rendu de radiographie", "Rendez-vous de contrôle", "Vaccination",
            "Question sur le traitement", "Fièvre de Léo", "Renouvellement", "Bilan annuel")
SEND_BODY = ("Bonjour docteur, je vous remercie pour votre réponse rapide. Depuis hier, la "
             "douleur a nettement diminué et je dors mieux. Je continue le traitement comme "
             "vous me l’avez indiqué, le matin au petit-déjeuner. Faut-il prendre rendez-vous "
             "pour le contrôle dans trois mois, ou le cabinet me rappellera-t-il ? Bonne "
             "journée.")  # 300 characters, the size of a typical reply

CONVERSATION_RE = re.compile(r'<li class="conversation[ "]')
MESSAGE_RE = re.compile(r'<li id="message-\d+"')
PAGE_OF_RE = re.compile(r'aria-current="page">Page (\d+) sur (\d+)<')
HX = {"HX-Request": "true", "HX-Target": "message-list"}


class Counter(QueryCounter):
    """QueryCounter, plus the patient keys unwrapped by the keyring while `counting` is on;
    around() returns (statements, unwraps)."""

    def __init__(self, engine, ring):
        super().__init__(engine)
        self.unwraps = 0
        original = ring.unwrap

        def unwrap(wrapped):
            if self.counting:
                self.unwraps += 1
            return original(wrapped)
        ring.unwrap = unwrap  # this instance only, for this run

    def around(self, function, keep: bool = False) -> tuple[int, int]:
        self.unwraps = 0
        queries = super().around(function, keep)
        return queries, self.unwraps


# Seeding -------------------------------------------------------------------------------------

def text_of(rng: random.Random, low: int = 1, high: int = 4) -> str:
    return " ".join(rng.sample(SENTENCES, rng.randint(low, high)))


def actor_of(user) -> object:
    from domain import audit
    return audit.Actor(user_id=user.id, acting_as=user.role.value, ip=IP)


def converse(session, ring, professional, patient, number: int, messages: int, when,
             rng: random.Random) -> str:
    """messaging.start, then replies alternating patient and professional, 30 s apart;
    `messages` in all. Commits every COMMIT_EVERY replies."""
    from domain import messaging

    conversation, _first = messaging.start(
        session, ring, professional, patient, subject=f"{SUBJECTS[number % len(SUBJECTS)]} "
        f"({number + 1})", body=text_of(rng), actor=actor_of(professional), now=when)
    for count in range(1, messages):
        sender = patient if count % 2 else professional
        messaging.reply(session, ring, sender, conversation, body=text_of(rng),
                        actor=actor_of(sender), now=when + timedelta(seconds=30 * count))
        if count % COMMIT_EVERY == 0:
            session.commit()
    return conversation.id


def seed_writers(app) -> list[str]:
    """WRITERS care doctors (no login: nobody signs in as them), each with the patient's
    "informed, did not object" statement."""
    from domain import care
    from domain.models import Profession, Role, Sector, User
    from extensions import db, keys

    with app.app_context():
        session = db.session
        patient = session.scalars(select(User).where(User.login == PATIENT_LOGIN)).one()
        writers = [User(role=Role.PROFESSIONAL, given_name="Claire", family_name=f"Médecin {n:02d}",
                        email=f"medecin{n:02d}@example.org", rpps=f"9{n:010d}",
                        profession=Profession.DOCTOR, specialty="Médecine générale",
                        sector=Sector.CARE) for n in range(WRITERS)]
        session.add_all(writers)
        session.flush()
        for writer in writers:
            care.declare(session, keys.ring, writer, patient, actor_of(writer))
        session.commit()
        return [writer.id for writer in writers]


def seed_patient_side(app, writers: list[str], start: int, stop: int, long_at: int | None,
                      long_messages: int, rng: random.Random) -> dict[int, str]:
    """Conversations start..stop-1 of the patient, 6 hours apart, each with a writer in
    turn, 1 to 3 messages; the `long_at`-th holds `long_messages`. Returns {number: id} of
    the first and of the long one."""
    from domain.models import User
    from extensions import db, keys

    first = date.today() - timedelta(days=400)
    base = utcnow_at(first)
    found = {}
    with app.app_context():
        session = db.session
        for number in range(start, stop):
            patient = session.scalars(select(User).where(User.login == PATIENT_LOGIN)).one()
            writer = session.get(User, writers[number % len(writers)])
            count = long_messages if number == long_at else 1 + number % 3
            conversation_id = converse(session, keys.ring, writer, patient, number, count,
                                       base + timedelta(hours=6 * number), rng)
            if number in (start, long_at):
                found[number] = conversation_id
            if number % COMMIT_EVERY == 0:
                session.commit()
        session.commit()
    return found


def seed_professional_side(app, start: int, stop: int, rng: random.Random) -> None:
    """Patients start..stop-1 (a patient key each, as domain.demo creates one), each
    declared by dr.bernard, who then writes to them: one conversation each, 1 or 2
    messages, 6 hours apart."""
    from domain import care
    from domain.models import Role, User
    from extensions import db, keys

    base = utcnow_at(date.today() - timedelta(days=300))
    with app.app_context():
        session = db.session
        patients = []
        for number in range(start, stop):
            wrapped = keys.ring.new_patient_key()
            patients.append(User(role=Role.PATIENT, given_name="Patient",
                                 family_name=f"Numéro {number + 1:04d}",
                                 birth_date=date(1950, 1, 1) + timedelta(days=11 * number),
                                 wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version))
        session.add_all(patients)
        session.commit()
        ids = [patient.id for patient in patients]
        for offset, patient_id in enumerate(ids):
            number = start + offset
            doctor = session.scalars(select(User).where(User.login == DOCTOR_LOGIN)).one()
            patient = session.get(User, patient_id)
            care.declare(session, keys.ring, doctor, patient, actor_of(doctor))
            converse(session, keys.ring, doctor, patient, number, 1 + number % 2,
                     base + timedelta(hours=6 * number), rng)
            if offset % COMMIT_EVERY == 0:
                session.commit()
        session.commit()


def utcnow_at(day: date):
    from datetime import UTC, datetime
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)


def message_ids(app, conversation_id: str) -> list[int]:
    from domain.models import Message
    from extensions import db

    with app.app_context():
        return list(db.session.scalars(select(Message.id).where(
            Message.conversation_id == conversation_id).order_by(Message.id)))


# Timing --------------------------------------------------------------------------------------

def htmx_send(client, path: str, token: str, problems: list[str], headers=ACCEPT):
    """The htmx reply: multipart, as htmx sends the form (enctype multipart/form-data)."""
    def run():
        start = time.perf_counter_ns()
        response = client.post(path, data={"csrf_token": token, "body": SEND_BODY},
                               content_type="multipart/form-data",
                               headers={**headers, **HX, "X-CSRFToken": token,
                                        "HX-Current-URL": f"http://localhost{path}"})
        response.get_data()
        elapsed = time.perf_counter_ns() - start
        if response.status_code != 200 and len(problems) < 5:
            problems.append(f"htmx send answered {response.status_code}")
        return elapsed, response
    return run


def prg_send(client, path: str, token: str, problems: list[str], parts: dict):
    """The same reply without JavaScript: the POST's 303, then the conversation page."""
    def run() -> int:
        start = time.perf_counter_ns()
        response = client.post(path, data={"csrf_token": token, "body": SEND_BODY},
                               content_type="multipart/form-data", headers=ACCEPT)
        response.get_data()
        posted = time.perf_counter_ns()
        location = response.headers.get("Location", path).split("#")[0]
        page = client.get(location, headers=ACCEPT)
        page.get_data()
        done = time.perf_counter_ns()
        parts["post"].append(posted - start)
        parts["get"].append(done - posted)
        if (response.status_code != 303 or page.status_code != 200) and len(problems) < 5:
            problems.append(f"post-redirect-get answered {response.status_code}, then "
                            f"{page.status_code}")
        return done - start
    return run


def paths_of(conversations: dict[str, str], deep: int | None, large: bool) -> dict:
    """label -> (client key, path)."""
    paths = {"signed-in reference": ("patient", REFERENCE),
             "inbox, first page": ("patient", "/messagerie"),
             "pro inbox, first page": ("doctor", "/pro/messagerie"),
             "C10 (10 messages)": ("patient", f"/messagerie/{conversations['C10']}")}
    if large:
        paths["inbox, ?page=25"] = ("patient", f"/messagerie?page={DEEP_PAGE}")
        paths["C2000, newest 30"] = ("patient", f"/messagerie/{conversations['C2000']}")
        paths["C2000, ?avant= middle"] = ("patient",
                                          f"/messagerie/{conversations['C2000']}?avant={deep}")
    return paths


def expected(label: str, conversations_total: int) -> tuple[re.Pattern, int]:
    if "inbox" in label:
        return CONVERSATION_RE, min(INBOX_PAGE, conversations_total)
    if label.startswith("C10"):
        return MESSAGE_RE, SHORT
    return MESSAGE_RE, MESSAGES_PAGE


def check(clients: dict, paths: dict, total: int) -> list[str]:
    """Each page answers 200 and lists what it should (read uncompressed)."""
    problems = []
    for label, (who, path) in paths.items():
        response = clients[who].get(path)
        html = response.get_data(as_text=True)
        if label == "signed-in reference":
            if response.status_code != 200:
                problems.append(f"{path}: status {response.status_code}")
            continue
        pattern, rows = expected(label, total)
        found = len(pattern.findall(html))
        note = ""
        if "?page=" in path:
            match = PAGE_OF_RE.search(html)
            if not match or match.group(1) != str(DEEP_PAGE):
                note = f", page {match.groups() if match else '?'} instead of {DEEP_PAGE}"
        if response.status_code != 200 or found != rows or note:
            problems.append(f"{label} ({path}): status {response.status_code}, {found} rows "
                            f"instead of {rows}{note}")
    return problems


def count_all(counter: Counter, clients: dict, paths: dict) -> dict:
    return {label: counter.around(request_target(clients[who], path))
            for label, (who, path) in paths.items()}


def phase(clients: dict, hello, counter: Counter, paths: dict, total: int,
          seed: int) -> tuple[dict, dict, list[str]]:
    problems = check(clients, paths, total)
    targets = {"hello": request_target(hello, HELLO_PATH),
               **{label: request_target(clients[who], path)
                  for label, (who, path) in paths.items()}}
    times = interleaved(targets, ROUNDS, BATCH, WARMUP, seed)
    counts = count_all(counter, clients, paths)
    return times, counts, problems


# Report --------------------------------------------------------------------------------------

def row(label: str, small: dict, large: dict, small_counts: dict, large_counts: dict,
        base: str | None = None) -> str:
    """One line: µs, ×hello, SQL and unwraps at each size, and the growth large / small
    (against `base` of the small phase: a target only the large phase has)."""
    cells = []
    for figures, counts in ((small, small_counts), (large, large_counts)):
        if label in figures:
            queries, unwraps = counts[label]
            cells.append(f"{figures[label]:>9,.0f} {figures[label] / figures['hello']:>6.2f}× "
                         f"{queries:>4} {unwraps:>3}")
        else:
            cells.append(f"{'—':>9} {'':>7} {'':>4} {'':>3}")
    growth = large[label] / small[base or label]
    ok = large[label] / large["hello"] <= SERVER_TIME_RATIO
    return f"{label:<24} {cells[0]}   {cells[1]} {growth:>6.2f}×  {verdict(ok)}"


def main() -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    with bench_instance("messaging") as (app, database, tmp):
        print("Carnet santé — secure messaging benchmarks (Flask test client, one process)")
        print_environment(database, tmp)
        from extensions import db, keys
        from web.security import MIN_COMPRESS_BYTES
        with app.app_context():
            counter = Counter(db.engine, keys.ring)
        rng = random.Random(11)
        failures: list[str] = []

        # Small phase.
        seeding = time.perf_counter()
        writers = seed_writers(app)
        found = seed_patient_side(app, writers, 0, SMALL, 0, SHORT, rng)
        conversations = {"C10": found[0]}
        seed_professional_side(app, 0, SMALL, rng)
        seed_small = time.perf_counter() - seeding
        statistics = database.refresh_statistics(app)
        clock = TotpClock()
        clients = {"patient": sign_in(app, PATIENT_LOGIN, clock),
                   "doctor": sign_in(app, DOCTOR_LOGIN, clock)}
        hello = app.test_client(use_cookies=False)
        small_paths = paths_of(conversations, None, large=False)
        small, small_counts, problems = phase(clients, hello, counter, small_paths, SMALL,
                                              seed=1)
        failures += [f"small: {problem}" for problem in problems]

        # Large phase.
        seeding = time.perf_counter()
        found = seed_patient_side(app, writers, SMALL, LARGE, SMALL, LONG, rng)
        conversations["C2000"] = found[SMALL]
        seeding_patient = time.perf_counter() - seeding
        seeding = time.perf_counter()
        seed_professional_side(app, SMALL, LARGE, rng)
        seeding_pro = time.perf_counter() - seeding
        database.refresh_statistics(app)
        ids = message_ids(app, conversations["C2000"])
        deep = ids[len(ids) // 2]
        large_paths = paths_of(conversations, deep, large=True)
        large, large_counts, problems = phase(clients, hello, counter, large_paths, LARGE,
                                              seed=2)
        failures += [f"large: {problem}" for problem in problems]
        with app.app_context():
            from domain.models import AuditEvent, Conversation, Message
            totals = {name: db.session.scalar(select(func.count()).select_from(model))
                      for name, model in (("conversations", Conversation),
                                          ("messages", Message), ("audit", AuditEvent))}

        # Page weight of the large pages.
        weights = {label: weigh_page(clients[who], path)
                   for label, (who, path) in large_paths.items()
                   if label != "signed-in reference"}

        # The htmx send and the post-redirect-get, into C2000.
        send_path = f"/messagerie/{conversations['C2000']}"
        token = csrf_from(clients["patient"].get(send_path).get_data(as_text=True))
        send_problems: list[str] = []
        parts = {"post": [], "get": []}
        htmx_run = htmx_send(clients["patient"], send_path, token, send_problems)
        prg_run = prg_send(clients["patient"], send_path, token, send_problems, parts)
        fragment = weigh(htmx_run()[1])
        fragment_gzip = weigh(htmx_send(clients["patient"], send_path, token, send_problems,
                                        headers={"Accept-Encoding": "gzip"})()[1])
        fragment_text = clients["patient"].post(
            send_path, data={"csrf_token": token, "body": SEND_BODY},
            content_type="multipart/form-data",
            headers={**HX, "X-CSRFToken": token}).get_data(as_text=True)
        send_counts = {"htmx send": counter.around(htmx_run)}
        prg_counts = {}
        prg_counts["post"] = counter.around(lambda: clients["patient"].post(
            send_path, data={"csrf_token": token, "body": SEND_BODY},
            content_type="multipart/form-data", headers=ACCEPT).get_data())
        prg_counts["get"] = counter.around(request_target(clients["patient"], send_path))
        sends = interleaved({"hello": request_target(hello, HELLO_PATH),
                             "htmx send": lambda: htmx_run()[0],
                             "post-redirect-get": prg_run,
                             "C2000, newest 30": request_target(clients["patient"], send_path)},
                            ROUNDS, BATCH, WARMUP, seed=3)
        parts = {name: median(values) / 1000 for name, values in parts.items()}
        failures += send_problems
        if len(MESSAGE_RE.findall(fragment_text)) != 1 or "<html" in fragment_text:
            failures.append("the htmx send did not answer one message fragment")

        # Query plans of the professional's inbox (the largest WHERE of the lot).
        with app.app_context():
            counter.around(request_target(clients["doctor"], "/pro/messagerie"), keep=True)
            statements = [(sql, parameters) for sql, parameters in counter.statements
                          if "FROM conversations" in sql and "SELECT" in sql]
            with db.engine.connect() as connection:
                plans = [(" ".join(sql.split()), explain(connection, database.backend, sql,
                                                         parameters))
                         for sql, parameters in statements]

        # Report ---------------------------------------------------------------------------
        print(f"Seeded through care.declare, messaging.start and messaging.reply (sealed, "
              f"audited): small phase in {seed_small:.1f} s; then {LARGE - SMALL} "
              f"conversations of the patient ({LONG:,} messages in C2000) in "
              f"{seeding_patient:.1f} s and {LARGE - SMALL} patients of {DOCTOR_LOGIN} "
              f"(declared, written to) in {seeding_pro:.1f} s. Tables at the end: "
              f"{totals['conversations']:,} conversations, {totals['messages']:,} messages, "
              f"{totals['audit']:,} audit rows. Before each phase's timing: {statistics}.")

        print_title(f"1–2, 4. Server time per request, test client, median of "
                    f"{ROUNDS * BATCH} (interleaved with hello world in {ROUNDS} rounds); "
                    f"SQL statements and patient-key unwraps per request")
        print(f"{'':<24} {f'small ({SMALL} conv., C10)':^27}   "
              f"{f'large ({LARGE:,} conv., C2000)':^27}")
        print(f"{'target':<24} {'µs':>9} {'×hello':>7} {'SQL':>4} {'key':>3}   {'µs':>9} "
              f"{'×hello':>7} {'SQL':>4} {'key':>3} {'growth':>7}  verdict (large, ≤ "
              f"{SERVER_TIME_RATIO:g}×)")
        print(f"{'hello world':<24} {small['hello']:>9,.0f} {1:>6.2f}× {'':>4} {'':>3}   "
              f"{large['hello']:>9,.0f} {1:>6.2f}×")
        for label, base in (("signed-in reference", None), ("inbox, first page", None),
                            ("inbox, ?page=25", "inbox, first page"),
                            ("pro inbox, first page", None), ("C10 (10 messages)", None),
                            ("C2000, newest 30", "C10 (10 messages)"),
                            ("C2000, ?avant= middle", "C10 (10 messages)")):
            print(row(label, small, large, small_counts, large_counts, base))
        print(f"growth = large µs / small µs (for ?page=25 and C2000: against the small "
              f"phase's first page and C10). Both sizes list a full first page of "
              f"{INBOX_PAGE} conversations (the professional's: {INBOX_PAGE} patients, their "
              f"keys and audit events): the growth is the inbox's size alone. Small: the "
              f"patient has {SMALL} conversations "
              f"(C10: {SHORT} messages), {DOCTOR_LOGIN} {SMALL} conversations with {SMALL} "
              f"patients. Large: {LARGE:,} each ({LARGE:,} different patients for "
              f"{DOCTOR_LOGIN}); C2000 holds {LONG:,} messages, the page shows the newest "
              f"{MESSAGES_PAGE}; ?avant={deep}: the id of its message n° {len(ids) // 2 + 1:,}. "
              f"Inboxes show {INBOX_PAGE} a page. SQL = statements the request sends (session, "
              f"user, audit row and commit included); key = patient keys unwrapped "
              f"(Keyring.unwrap calls). ×hello uses the same phase's hello world. "
              f"The conversation page marks the conversation read and writes an audit row "
              f"(a commit on every GET); the signed-in reference ({REFERENCE}) is what any "
              f"signed-in page costs before its own work.")
        conversation_ratio = large["C2000, newest 30"] / large["C10 (10 messages)"]
        deep_ratio = large["C2000, ?avant= middle"] / large["C10 (10 messages)"]
        print(f"Same phase: C2000 / C10 = {conversation_ratio:.2f}× (newest 30 vs 10 "
              f"messages shown), ?avant= middle / C10 = {deep_ratio:.2f}×; inbox ?page=25 / "
              f"first page = {large['inbox, ?page=25'] / large['inbox, first page']:.2f}× "
              f"(OFFSET {(DEEP_PAGE - 1) * INBOX_PAGE}).")
        print(f"Professional inbox: {large_counts['pro inbox, first page'][0]} statements "
              f"at {LARGE:,} conversations, {small_counts['pro inbox, first page'][0]} at "
              f"{SMALL}, for {INBOX_PAGE} patients listed. messaging.inbox() records one "
              "'message.inbox' audit event per patient of the page in a single "
              "audit.record_many() call, so the statements do not grow with the inbox.")

        print_title(f"Page weight at {LARGE:,} conversations: compressed body + headers, "
                    f"budget {PAGE_BUDGET:,} bytes (one round trip)")
        print(f"{'page':<24} {'html':>7} {'enc':>4} {'body':>6} {'headers':>7} {'total':>7} "
              f"{'of budget':>9}  verdict  {'gzip only':>9}")
        for label, figures in weights.items():
            ok = figures["status"] == 200 and figures["total"] <= PAGE_BUDGET
            print(f"{label:<24} {figures['html']:>7,} {figures['encoding']:>4} "
                  f"{figures['body']:>6,} {figures['headers']:>7,} {figures['total']:>7,} "
                  f"{figures['total'] / PAGE_BUDGET:>8.0%}  {verdict(ok):<7}  "
                  f"{figures['gzip_total']:>9,}")
        print("As benchmarks/pages.py weighs it: the body as the app compresses it for "
              "Accept-Encoding: br, gzip, headers including gunicorn's Server, Date and "
              "Connection lines; gzip only: the total for a client without brotli.")

        print_title(f"3. The htmx send: POST /messagerie/<C2000> (HX-Request, HX-Target: "
                    f"message-list, {len(SEND_BODY)}-character body), budget "
                    f"{FRAGMENT_BUDGET:,} bytes")
        print(f"{'response':<22} {'st':>3} {'html':>6} {'enc':>4} {'body':>5} {'headers':>7} "
              f"{'total':>6} {'of budget':>9}  verdict")
        for label, figures in (("br, gzip (browser)", fragment), ("gzip only", fragment_gzip)):
            ok = figures["status"] == 200 and figures["total"] <= FRAGMENT_BUDGET
            print(f"{label:<22} {figures['status']:>3} {figures['html']:>6,} "
                  f"{figures['encoding']:>4} {figures['body']:>5,} {figures['headers']:>7,} "
                  f"{figures['total']:>6,} {figures['total'] / FRAGMENT_BUDGET:>8.0%}  "
                  f"{verdict(ok)}")
        print(f"html = the fragment uncompressed (the new <li> and the live-region "
              f"announcement, hx-swap-oob); the app compresses bodies of "
              f"{MIN_COMPRESS_BYTES} bytes and more.")
        print()
        print(f"Server time, median of {ROUNDS * BATCH} each, interleaved:")
        print(f"{'':<34} {'µs':>9} {'×hello':>7} {'SQL':>4} {'key':>3}")
        print(f"{'hello world':<34} {sends['hello']:>9,.0f} {1:>6.2f}×")
        htmx_queries, htmx_unwraps = send_counts["htmx send"]
        print(f"{'htmx send (one request)':<34} {sends['htmx send']:>9,.0f} "
              f"{sends['htmx send'] / sends['hello']:>6.2f}× {htmx_queries:>4} "
              f"{htmx_unwraps:>3}")
        prg_queries = prg_counts["post"][0] + prg_counts["get"][0]
        prg_unwraps = prg_counts["post"][1] + prg_counts["get"][1]
        print(f"{'post-redirect-get (both)':<34} {sends['post-redirect-get']:>9,.0f} "
              f"{sends['post-redirect-get'] / sends['hello']:>6.2f}× {prg_queries:>4} "
              f"{prg_unwraps:>3}")
        print(f"{'  POST → 303':<34} {parts['post']:>9,.0f} "
              f"{parts['post'] / sends['hello']:>6.2f}× {prg_counts['post'][0]:>4} "
              f"{prg_counts['post'][1]:>3}")
        print(f"{'  GET the conversation page':<34} {parts['get']:>9,.0f} "
              f"{parts['get'] / sends['hello']:>6.2f}× {prg_counts['get'][0]:>4} "
              f"{prg_counts['get'][1]:>3}")
        print(f"{'C2000 page alone (reference)':<34} {sends['C2000, newest 30']:>9,.0f} "
              f"{sends['C2000, newest 30'] / sends['hello']:>6.2f}×")
        print(f"htmx send / post-redirect-get = "
              f"{sends['htmx send'] / sends['post-redirect-get']:.2f}×. Every send validates, "
              "seals the body, writes the message and an audit row, commits, and e-mails the "
              "professional (outbox file), in both paths; the htmx path then renders one "
              f"message instead of the page of {MESSAGES_PAGE}. The sends go into C2000 "
              "(it keeps growing while measured).")

        print_title(f"Query plans of /pro/messagerie's statements on conversations "
                    f"({database.backend}, {LARGE:,} conversations of {DOCTOR_LOGIN})")
        for sql, lines in plans:
            print(f"  {sql}")
            print("\n".join("  " + line for line in lines))
        for failure in failures:
            print(f"! {failure}")
        print_finished("messaging.py", started, cpu_started)


if __name__ == "__main__":
    main()
