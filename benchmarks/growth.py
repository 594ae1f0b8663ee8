"""One person's space as it grows: the pages that list or count a person's data, timed at
a few dozen documents and measures and again at thousands (DESIGN.md section 5: list pages
flat). Not part of CI's pass/fail; never asserts anything.

Run from the project root: `.venv/bin/python benchmarks/growth.py` (or `make bench`). On a
temporary SQLite file, or on the PostgreSQL database DATABASE_URL names (in a schema of its
own, dropped at the end).

The space grows through the real forms, as people make it grow: the patient (camille.martin)
uploads documents, adds weights and puts appointments in her agenda, her doctor
(dr.bernard) deposits documents into her vault after finding her with the patient search (a
declared care relation, audited). Each level adds documents (two thirds uploaded, one third
deposited; dates spread over ten years, in every category a patient can choose), as many
weights (one a day, going back) and as many appointments (one a day, alternately in the past
and in the future, from 40 days away outwards: the current month's grid stays empty, so that
it shows what reading the month costs, not what drawing more items does). Every write is
audited, so her trail grows with them. After each level she signs in twice, as someone who
comes back: "new since your last visit" then counts what came since. Her documents,
measures and agenda items are then copied, in SQL, to OTHERS other people (spread()): a
table holding one person's rows alone leads PostgreSQL's planner astray.

benchmarks/vault.py (part 3) times the documents list and its title search alone, on
documents inserted in bulk; this one grows the whole space through the forms and times
every page that lists or counts what grew.

At each level, every page and a hello-world route are timed interleaved in rounds (median
of ROUNDS x BATCH requests each): the patient's dashboard, her documents (first and second
page, one category), her weight history and measures overview, her access history, her
agenda (upcoming, page 2, past, the current month), and the doctor's page of the patient
(first and second page of her documents). Printed: each page's time and ratio to hello
world at every level, then the last level against the first: within 1.25x (the run-to-run
spread here) is flat. A control is timed with them and printed apart: the patient's
signed-in layout around an empty content (benchmarks/pages.py's floor), which reads
nothing of what grew. When it moves from one level to another, every page moved with it
for a reason that is not the space's size (this machine, or the state of the database's
files at that moment): run again before reading a page as growing.

Environment: BENCH_GROWTH_LEVELS (default "200,1000,5000": documents, weights and
appointments, each, at each level).
"""

from __future__ import annotations

import io
import os
import random
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    ACCEPT,
    HELLO_PATH,
    TotpClock,
    bench_instance,
    csrf_from,
    median,
    print_environment,
    print_finished,
    print_title,
    sign_in,
    verdict,
)
from benchmarks.pages import FLOOR, add_floor_routes  # noqa: E402

LEVELS = tuple(int(level) for level in os.environ.get(
    "BENCH_GROWTH_LEVELS", "200,1000,5000").split(","))
FLAT = 1.25  # last level against the first
ROUNDS, BATCH, WARMUP = 10, 10, 10
PATIENT, DOCTOR = "camille.martin", "dr.bernard"
# Camille, as tests/blueprints/pro and benchmarks/cluster.py find her.
SEARCH = {"nir": "2 88 03 75 108 021 50", "born_day": "14", "born_month": "3",
          "born_year": "1988", "informed": "oui"}
CATEGORIES = ("summary", "prescriptions", "imaging", "lab_results", "reports", "prevention",
              "certificates", "administrative", "other")
FILE_BYTES = 2_048
OPTION_RE = re.compile(r'<option value="([a-z_]+)"')
AGENDA_START = 40  # days away of the first appointments: outside the current month
# Other people holding as many documents, measures and agenda items as she does (copies of
# her rows, written in SQL: nobody reads them), so that a table is not one person's.
OTHERS = 9
SPREAD_TABLES = ("documents", "measures", "agenda_items")
CONTROL = "control: the layout, no content"


class Space:
    """Camille's space, the two people who make it grow, and what they have added."""

    def __init__(self, app, clock: TotpClock):
        self.app, self.clock = app, clock
        self.patient = sign_in(app, PATIENT, clock)
        self.doctor = sign_in(app, DOCTOR, clock)
        self.patient_token = csrf_from(self.patient.get("/documents/ajouter").get_data(
            as_text=True))
        self.doctor_token = csrf_from(self.doctor.get("/pro/patients").get_data(as_text=True))
        found = self.doctor.post("/pro/patients", data={"csrf_token": self.doctor_token,
                                                        **SEARCH})
        if found.status_code != 303:
            raise RuntimeError(f"patient search answered {found.status_code}")
        self.patient_id = found.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        # The categories her doctor may deposit in (care.deposit_choices, by profession).
        form = self.doctor.get(f"/pro/patients/{self.patient_id}/deposer").get_data(
            as_text=True)
        self.deposit_categories = tuple(value for value in OPTION_RE.findall(form)
                                        if value in CATEGORIES)
        self.documents = self.weights = self.appointments = 0
        self.random = random.Random(20)
        self.today = date.today()

    def _document_fields(self, token: str, categories: tuple[str, ...]) -> dict:
        self.documents += 1
        day = self.today - timedelta(days=self.random.randrange(3650))
        content = (f"Document {self.documents}: compte rendu, {self.random.random()}\n"
                   .encode() * 64)[:FILE_BYTES]
        return {"csrf_token": token, "title": f"Compte rendu {self.documents}",
                "date_day": str(day.day), "date_month": str(day.month),
                "date_year": str(day.year),
                "category": self.random.choice(categories),
                "file": (io.BytesIO(content), f"document-{self.documents}.txt")}

    def upload(self) -> None:
        fields = {**self._document_fields(self.patient_token, CATEGORIES),
                  "visibility": "visible"}
        self._expect(self.patient.post("/documents/ajouter", data=fields,
                                       content_type="multipart/form-data"), "upload")

    def deposit(self) -> None:
        fields = self._document_fields(self.doctor_token, self.deposit_categories)
        self._expect(self.doctor.post(f"/pro/patients/{self.patient_id}/deposer", data=fields,
                                      content_type="multipart/form-data"), "deposit")

    def weight(self) -> None:
        self.weights += 1
        day = self.today - timedelta(days=self.weights)
        self._expect(self.patient.post("/profil/mesures/poids", data={
            "csrf_token": self.patient_token, "value": str(self.random.randint(55, 95)),
            "measured_on_day": str(day.day), "measured_on_month": str(day.month),
            "measured_on_year": str(day.year)}), "weight")

    def appointment(self) -> None:
        """One a day, alternately in the past and in the future, from AGENDA_START days
        away outwards (the agenda's limit is ten a day)."""
        self.appointments += 1
        away = AGENDA_START + (self.appointments - 1) // 2
        day = self.today + timedelta(days=away if self.appointments % 2 else -away)
        self._expect(self.patient.post("/agenda/ajouter", data={
            "csrf_token": self.patient_token, "kind": "appointment",
            "title": f"Consultation {self.appointments}", "date_day": str(day.day),
            "date_month": str(day.month), "date_year": str(day.year), "time": "9h30",
            "place": "Cabinet médical", "professional": "Dr Bernard",
            "note": "Apporter l’ordonnance."}), "appointment")

    @staticmethod
    def _expect(response, what: str) -> None:
        if response.status_code != 303:
            raise RuntimeError(f"{what} answered {response.status_code}")

    def grow_to(self, level: int) -> dict[str, float]:
        """Documents, weights and appointments up to `level` each; µs per write of each
        kind."""
        added = level - self.documents
        deposits = added // 3
        spent = {}
        for name, write, count in (("upload", self.upload, added - deposits),
                                   ("deposit", self.deposit, deposits),
                                   ("weight", self.weight, level - self.weights),
                                   ("appointment", self.appointment,
                                    level - self.appointments)):
            start = time.perf_counter()
            for _ in range(count):
                write()
            spent[name] = (time.perf_counter() - start) / max(count, 1) * 1e6
        # She comes back (twice: her previous visit is then after what was just added).
        for _ in range(2):
            self.patient = sign_in(self.app, PATIENT, self.clock)
        self.patient_token = csrf_from(self.patient.get("/documents/ajouter").get_data(
            as_text=True))
        return spent

    def pages(self) -> list[tuple[str, object, str]]:
        pro = f"/pro/patients/{self.patient_id}"
        return [
            ("patient: dashboard", self.patient, "/mon-espace"),
            ("patient: documents, page 1", self.patient, "/documents"),
            ("patient: documents, page 2", self.patient, "/documents?page=2"),
            ("patient: documents, one category", self.patient, "/documents?categorie=reports"),
            ("patient: weight history", self.patient, "/profil/mesures/poids"),
            ("patient: measures overview", self.patient, "/profil/mesures"),
            ("patient: access history", self.patient, "/acces"),
            ("patient: agenda, upcoming", self.patient, "/agenda"),
            ("patient: agenda, page 2", self.patient, "/agenda?page=2"),
            ("patient: agenda, past", self.patient, "/agenda/passes"),
            ("patient: agenda, this month", self.patient, "/agenda/mois"),
            ("doctor: patient page", self.doctor, pro),
            ("doctor: patient page, page 2", self.doctor, f"{pro}?page=2"),
            (CONTROL, self.patient, FLOOR[1][0]),
        ]


def time_level(hello_client, targets) -> tuple[float, dict[str, float]]:
    """Median µs of hello world and of each page, interleaved in shuffled rounds."""
    everything = [("hello world", hello_client, HELLO_PATH), *targets]
    failures = {}

    def one(target) -> int:
        _label, client, path = target
        start = time.perf_counter_ns()
        response = client.get(path, headers=ACCEPT)
        response.get_data()
        elapsed = time.perf_counter_ns() - start
        if response.status_code != 200:
            failures[target[0]] = response.status_code
        return elapsed

    for target in everything:
        for _ in range(WARMUP):
            one(target)
    if failures:
        raise RuntimeError(f"pages not answering 200: {failures}")
    samples = {target[0]: [] for target in everything}
    shuffle = random.Random(5)
    for _ in range(ROUNDS):
        order = everything[:]
        shuffle.shuffle(order)
        for target in order:
            samples[target[0]].extend(one(target) for _ in range(BATCH))
    medians = {label: median(values) / 1000 for label, values in samples.items()}
    return medians.pop("hello world"), medians


def _random_hex(dialect: str, length: int):
    """An SQL expression giving `length` random hex digits, new for each row."""
    from sqlalchemy import func
    if dialect == "sqlite":
        return func.substr(func.lower(func.hex(func.randomblob((length + 1) // 2))), 1, length)
    digits = (lambda: func.md5(func.concat(func.random(), func.clock_timestamp())))  # noqa: E731
    return func.substr(func.concat(digits(), digits()), 1, length)


def spread(app, patient_id: str, others: list[str]) -> list[str]:
    """Give each of OTHERS people (made the first time: copies of her account row, without
    login) a copy of her documents, measures and agenda items, in place of the previous
    copies: each table then holds OTHERS + 1 people's rows, hers a tenth of them, as a
    shared table holds many people's. PostgreSQL plans with the statistics of the whole
    table: with hers alone, `patient_id = ?` selects every row and the planner may read
    the whole table where an index range on her rows serves (it did for the dashboard's
    count of new documents at 5,000 of them, 0.59 ms against 0.01 ms). Returns the others'
    ids."""
    from sqlalchemy import bindparam, delete, insert, null, select

    from domain.models.base import Base
    from extensions import db

    def copy(table, replaced: dict):
        """INSERT INTO table SELECT its columns, `replaced` ones replaced, of her rows."""
        columns = list(table.columns)
        return insert(table).from_select(
            [column.name for column in columns],
            select(*[replaced.get(column.name, column) for column in columns]).where(
                (table.c.id if table.name == "users" else table.c.patient_id)
                == bindparam("patient")))

    with app.app_context(), db.engine.begin() as connection:
        dialect = connection.dialect.name
        tables = Base.metadata.tables
        if not others:
            others = [os.urandom(16).hex() for _ in range(OTHERS)]
            account = copy(tables["users"], {"id": bindparam("other"), "login": null(),
                                             "rpps": null()})
            for other in others:
                connection.execute(account, {"other": other, "patient": patient_id})
        for name in SPREAD_TABLES:
            table = tables[name]
            rows = copy(table, {"id": _random_hex(dialect, 32), "patient_id": bindparam("other"),
                                "blob_key": _random_hex(dialect, 40)})
            connection.execute(delete(table).where(table.c.patient_id.in_(others)))
            for other in others:
                connection.execute(rows, {"other": other, "patient": patient_id})
    return others


def main() -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    with bench_instance("growth") as (app, database, tmp):
        print("Carnet santé — one person's space as it grows (benchmarks/growth.py)")
        print_environment(database, tmp)
        print("Levels (documents, weights and appointments, each, in the space): "
              f"{', '.join(map(str, LEVELS))}; "
              f"median of {ROUNDS * BATCH} requests per page and level, interleaved with "
              "hello world.")
        add_floor_routes(app)
        space = Space(app, TotpClock())
        hello_client = app.test_client(use_cookies=False)
        results = []
        others: list[str] = []
        for level in LEVELS:
            spent = space.grow_to(level)
            others = spread(app, space.patient_id, others)
            statistics = database.refresh_statistics(app)
            hello, pages = time_level(hello_client, space.pages())
            results.append((level, hello, pages))
            print(f"  level {level:,}: written through the forms, µs each: "
                  + ", ".join(f"{name} {value:,.0f}" for name, value in spent.items())
                  + f"; hello world {hello:,.0f} µs; copied to {len(others)} other people; "
                  f"{statistics}", flush=True)

        print_title("Server time per page (µs, and ratio to hello world) at each level")
        labels = [label for label in results[0][2] if label != CONTROL]
        header = "".join(f"{f'{level:,} documents':>22}" for level, _h, _p in results)
        print(f"{'page':<34}{header}  last/first  verdict")
        flat = 0
        for label in [*labels, CONTROL]:
            cells = "".join(f"{pages[label]:>12,.0f} {pages[label] / hello:>7.2f}×  "
                            for _level, hello, pages in results)
            growth = ((results[-1][2][label] / results[-1][1])
                      / (results[0][2][label] / results[0][1]))
            if label == CONTROL:
                print(f"{label:<34}{cells}  {growth:>9.2f}×  (reads nothing that grew)")
                continue
            flat += growth <= FLAT
            print(f"{label:<34}{cells}  {growth:>9.2f}×  {verdict(growth <= FLAT)}")
        print(f"{flat}/{len(labels)} pages flat (the last level's ratio to hello world within "
              f"{FLAT:g}× the first's) from {LEVELS[0]:,} to {LEVELS[-1]:,} documents, "
              "weights and appointments.")
        control = [pages[CONTROL] / hello for _level, hello, pages in results]
        if max(control) / min(control) > 1.1:
            print(f"The control moved {max(control) / min(control):.2f}× between levels: "
                  "every page moved with it; run again before reading a page as growing.")
    print_finished("growth.py", started, cpu_started)


if __name__ == "__main__":
    main()
