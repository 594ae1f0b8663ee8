"""International Patient Summary and the export's standard files (issue 19), for a loaded
space: build time and peak memory of the summary, and what ips.json and agenda.ics add to
"Télécharger mes données".

Run from the project root: `.venv/bin/python benchmarks/ips_export.py`. Prints figures as
ratios to baselines measured in the same run, in the same process; never asserts anything
about time or memory.

The space (the demo patient camille.martin, on a temporary instance): 500 profile entries
(100 each of conditions, treatments and allergies, which the summary carries, and of
hospitalisations and lifestyle notes, which it does not) and 200 vaccinations; 4,000
measures (500 of each adult kind); 300 documents of 8 KB over four categories (half of
them lab results or imaging, which the summary lists); 1,000 agenda items. Everything
goes through the domain's own validation and adders (benchmarks/profile.py's forms for
the entries).

1. Time, median of interleaved runs: the baseline is the archive's own
   profil-medical.json (domain.exports' reading and opening of every section and measure,
   then json.dumps); against it, the summary's reading alone (ips.read), the whole
   summary (ips.build, then json.dumps), the calendar file (agenda_export.build_calendar
   of every item), and the summary's structural validation by fhir.resources (what a test
   does, not the export).
2. The export: space_archive_stream consumed whole, without and with its standard files,
   and the archive's sizes.
3. Peak memory (tracemalloc, Python allocations) of the same operations, against the
   baseline's.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    bench_instance,
    median,
    print_environment,
    print_finished,
    print_title,
)

PATIENT_LOGIN = "camille.martin"
ENTRY_COUNTS = {"conditions": 100, "treatments": 100, "allergies": 100,
                "hospitalisations": 100, "lifestyle": 100}
VACCINATIONS = 200
MEASURES_PER_KIND = 500    # x 8 adult kinds
DOCUMENTS = 300
DOCUMENT_SIZE = 8_000
AGENDA_ITEMS = 1_000
CATEGORIES = ("lab_results", "imaging", "reports", "prescriptions")
RUNS = 7


def seed(app, tmp: str, rng: random.Random) -> None:
    """The loaded space described above."""
    from sqlalchemy import select

    from benchmarks.profile import add_documents, add_entries, add_vaccinations, measure_form
    from domain import agenda, audit, measures
    from domain.models import User
    from extensions import db, keys

    today = date.today()
    began = time.perf_counter()
    with app.app_context():
        patient = db.session.execute(select(User).where(User.login == PATIENT_LOGIN)).scalar_one()
        actor = audit.Actor(user_id=patient.id, acting_as="patient", ip="127.0.0.1")
        add_entries(patient, actor, ENTRY_COUNTS, rng, today)
        add_vaccinations(patient, actor, VACCINATIONS, today, every_days=40)
        db.session.commit()
        print(f"  {sum(ENTRY_COUNTS.values()) + VACCINATIONS} profile entries "
              f"({time.perf_counter() - began:.0f} s)", flush=True)
        for kind in measures.kinds_for(patient, today):
            for number in range(MEASURES_PER_KIND):
                day = today - timedelta(days=number)
                reading = measures.validate(kind, measure_form(kind.key, day, rng), today)
                if not reading.ok:
                    raise RuntimeError(f"{kind.key} measure {number}: {reading.problems}")
                measures.add(db.session, keys.ring, patient, kind, reading.values, actor)
            db.session.commit()
        print(f"  {MEASURES_PER_KIND * len(measures.kinds_for(patient, today)):,} measures "
              f"({time.perf_counter() - began:.0f} s)", flush=True)
        add_documents(patient, actor, tmp, rng, today, count=DOCUMENTS, size=DOCUMENT_SIZE,
                      categories=CATEGORIES, every_days=1)
        db.session.commit()
        print(f"  {DOCUMENTS} documents ({time.perf_counter() - began:.0f} s)", flush=True)
        for number in range(AGENDA_ITEMS):
            day = today + timedelta(days=number // 2 - AGENDA_ITEMS // 4)
            agenda.add(db.session, keys.ring, patient, {
                "kind": "appointment" if number % 3 else "reminder",
                "title": f"Rendez-vous {number + 1}", "date": day.isoformat(),
                "time": f"{9 + number % 8:02d}:30" if number % 3 else None,
                "place": "Cabinet médical des Tilleuls, Lyon", "professional": "Dr Bernard",
                "note": "Apporter les derniers résultats."}, actor)
        db.session.commit()
        print(f"  {AGENDA_ITEMS:,} agenda items ({time.perf_counter() - began:.0f} s)",
              flush=True)


class Targets:
    """The operations measured; each returns the bytes it produced (0 for a reading)."""

    def __init__(self, app):
        from sqlalchemy import select

        from domain.models import User
        from extensions import db

        self.app = app
        with app.app_context():
            self.patient = db.session.execute(
                select(User).where(User.login == PATIENT_LOGIN)).scalar_one()

    def _within(self, operation):
        with self.app.test_request_context():
            return operation()

    def baseline(self) -> int:
        from domain import exports
        from extensions import db, keys

        return self._within(lambda: len(json.dumps(
            exports._profile(db.session, self.patient, keys.ring), ensure_ascii=False,
            indent=2).encode()))

    def read(self) -> int:
        from domain import agenda
        from domain.fhir import ips
        from extensions import db, keys

        self._within(lambda: ips.read(db.session, keys.ring, self.patient,
                                      representative=False, today=agenda.today()))
        return 0

    def summary(self) -> int:
        from domain.fhir import ips
        from extensions import db, keys
        from web.labels.export import fhir_wording

        return self._within(lambda: len(json.dumps(
            ips.build(db.session, keys.ring, self.patient, fhir_wording(),
                      representative=False), ensure_ascii=False, indent=2).encode()))

    def calendar(self) -> int:
        from domain import agenda, agenda_export
        from extensions import db, keys
        from web.labels.export import calendar_wording

        return self._within(lambda: len(agenda_export.build_calendar(
            agenda.between(db.session, keys.ring, self.patient), calendar_wording(),
            with_notes=True, uid_domain="carnet-sante.invalid")))

    def validate(self) -> int:
        from domain import fhir
        from domain.fhir import ips
        from extensions import db, keys
        from web.labels.export import fhir_wording

        def run():
            bundle = ips.build(db.session, keys.ring, self.patient, fhir_wording(),
                               representative=False)
            fhir.validate(bundle)
            return len(bundle["entry"])
        return self._within(run)

    def export(self, standards: bool) -> int:
        from domain import exports
        from extensions import blobs, db, keys
        from web.labels.export import standards as make_standards

        def run():
            return sum(len(piece) for piece in exports.space_archive_stream(
                db.session, self.patient, keys.ring, blobs.store,
                standards=make_standards() if standards else None))
        return self._within(run)


def timed(operation) -> tuple[float, int]:
    start = time.perf_counter()
    size = operation()
    return time.perf_counter() - start, size


def peak(operation) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        operation()
        return tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


ROWS = (
    ("baseline", "profil-medical.json (baseline)"),
    ("read", "summary: reading and opening (ips.read)"),
    ("summary", "ips.json (ips.build + json.dumps)"),
    ("calendar", "agenda.ics (build_calendar)"),
    ("validate", "ips.build + fhir.resources validation"),
    ("export_plain", "export without the standard files"),
    ("export_standard", "export with ips.json and agenda.ics"),
)


def main() -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    rng = random.Random(19)
    with bench_instance("ips") as (app, database, tmp):
        print("Carnet santé — International Patient Summary and standard export files")
        print_environment(database, tmp)
        print("\nLoading the space…", flush=True)
        seed(app, tmp, rng)
        targets = Targets(app)
        runs = {"baseline": targets.baseline, "read": targets.read, "summary": targets.summary,
                "calendar": targets.calendar, "validate": targets.validate,
                "export_plain": lambda: targets.export(False),
                "export_standard": lambda: targets.export(True)}
        sizes = {name: run() for name, run in runs.items()}  # warm-up, and the sizes
        samples = {name: [] for name in runs}
        order = list(runs)
        for _run in range(RUNS):
            rng.shuffle(order)
            for name in order:
                seconds, _size = timed(runs[name])
                samples[name].append(seconds)
        peaks = {name: peak(run) for name, run in runs.items()}

        print_title(f"1–2. Time, median of {RUNS} interleaved runs; peak memory (tracemalloc)")
        base_time, base_peak = median(samples["baseline"]), peaks["baseline"]
        print(f"{'operation':<44} {'median ms':>10} {'vs base':>8} {'peak KB':>9} "
              f"{'vs base':>8} {'bytes out':>12}")
        for name, label in ROWS:
            seconds = median(samples[name])
            print(f"{label:<44} {seconds * 1000:>10.1f} {seconds / base_time:>7.2f}× "
                  f"{peaks[name] / 1000:>9,.0f} {peaks[name] / base_peak:>7.2f}× "
                  f"{sizes[name]:>12,}")
        plain, standard = median(samples["export_plain"]), median(samples["export_standard"])
        grown = sizes["export_standard"] - sizes["export_plain"]
        size_ratio = sizes["export_standard"] / sizes["export_plain"]
        memory_ratio = peaks["export_standard"] / peaks["export_plain"]
        print(f"\nThe standard files make the export {standard / plain:.2f}× as long "
              f"(+{(standard - plain) * 1000:.0f} ms) and {size_ratio:.3f}× as large "
              f"(+{grown:,} bytes, deflated); its peak memory is {memory_ratio:.2f}× the "
              "plain export's.")
        print(f"The summary holds {sizes['validate']:,} entries (the latest measure of each "
              "kind, every allergy, problem, treatment and vaccination, and the lab and "
              "imaging documents); it is built before the archive streams, like the other "
              "JSON files, so its memory is held once, not per chunk. Validation by "
              "fhir.resources is what tests do; the export does not run it.")
        print_finished("ips_export.py", started, cpu_started)


if __name__ == "__main__":
    main()
