"""Medical profile (issue 5): server time as the profile grows, page weight, PDF summary.

Run from the project root: `.venv/bin/python benchmarks/profile.py` (or `make bench`;
`.venv/bin/python -m benchmarks.profile` works too). Prints figures against DESIGN.md
section 5 and ratios to baselines measured in the same run; never asserts anything.

1. Server time (Flask test client, signed in as the demo patient camille.martin) of
   /profil, a section page (/profil/traitements), /profil/mesures, the weight history
   (/profil/mesures/poids) and the HTML summary, with an empty profile and with 500 entries
   spread over the health sections (100 of them treatments) plus 2,000 measures (250 of
   each adult kind); then the weight history again with 2,000 weight measures. Each figure
   is a median of requests interleaved in shuffled rounds with a bare hello-world route;
   printed as a ratio to hello world and as the growth loaded / empty.
2. Weight of those pages, loaded: compressed body + headers as the app serves them
   (Accept-Encoding: br, gzip), against the 14,600-byte budget.
3. The PDF summary (/profil/resume.pdf, WeasyPrint, PDF/UA) of the loaded profile against
   the same summary as HTML (/profil/resume), in milliseconds and as a ratio.
4. A child's growth curve as his parent adds each visit's weight (the demo child Léo's
   visits, from birth to 6 years, domain.demo.child.VISITS): the first view of his weight
   page after each new measure, when the chart's span has just grown, against the views
   that follow it, and against hello world. The first view of all is printed apart: it is
   the process's first growth chart of that sex and kind (the WHO lines are computed then,
   over all the ages they cover).

Entries and measures go through the domain's own validation (profile.validate,
measures.validate) and are added with profile.add_entry and measures.add, audit included.

SQLite in a temporary folder by default. DATABASE_URL, when set, runs the benchmark on that
database instead: on PostgreSQL in a schema of its own (created, then dropped at the end),
so the database's other contents are never read or touched; a SQLite URL must name a file
that does not exist yet (created, then deleted at the end): the demo accounts it receives
are sealed with this run's throw-away keys.
"""

from __future__ import annotations

import gc
import io
import os
import random
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

# This file's name is also the standard library's `profile` module (which cProfile
# imports): when run as a script, keep its folder off the import path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import pikepdf  # noqa: E402
from sqlalchemy import select  # noqa: E402

from benchmarks._common import (  # noqa: E402
    HELLO_PATH,
    PAGE_BUDGET,
    SERVER_TIME_RATIO,
    TotpClock,
    bench_instance,
    interleaved,
    median,
    print_title,
    sign_in,
    timed_get,
    verdict,
    weigh_page,
)

PATIENT_LOGIN = "camille.martin"
SECTION_COUNTS = {  # 500 entries over the eight health sections (limits: 100, blood group 1)
    "conditions": 67, "treatments": 100, "hospitalisations": 67, "disabilities": 67,
    "blood_group": 1, "allergies": 66, "family_history": 66, "lifestyle": 66,
}
MEASURES_PER_KIND = 250        # x 8 adult kinds = 2,000 measures
WEIGHT_TOTAL = 2_000           # then weight alone is topped up to this many

PAGES = {  # label -> path, timed with the empty and the loaded profile
    "overview": "/profil",
    "section (treatments)": "/profil/traitements",
    "measures overview": "/profil/mesures",
    "weight history": "/profil/mesures/poids",
    "summary (HTML)": "/profil/resume",
}
SUMMARY_PDF = "/profil/resume.pdf"
SUMMARY_STATUS = "/profil/resume/etat"
POLLING = {"HX-Request": "true", "HX-Target": "summary-status"}
# A light signed-in page (one session listed), timed beside them: what any signed-in
# request costs (server-side session, user, base template) before the profile's own work.
REFERENCE = {"signed-in reference": "/mon-compte/sessions"}

WARMUP = 3                     # requests per target before measuring
ROUNDS = 10                    # rounds; every target runs BATCH requests per round, shuffled
BATCH = 4                      # -> 40 timed requests per target and profile size
PDF_WARMUP = 1                 # the first PDF also imports WeasyPrint and loads fonts
PDF_ROUNDS = 5                 # PDF and HTML summary alternate, PDF_ROUNDS of each

LOREM = ("Suivi régulier par le médecin traitant, contrôle prévu dans six mois, pas de "
         "complication signalée depuis la dernière consultation. ")
MEDICINES = ("Amlodipine 5 mg", "Metformine 1000 mg", "Lévothyroxine 75 µg",
             "Atorvastatine 20 mg", "Salbutamol 100 µg/dose", "Oméprazole 20 mg",
             "Paracétamol 1 g", "Ramipril 5 mg", "Sertraline 50 mg", "Bisoprolol 2,5 mg")
PLACES = ("CHU de Bordeaux", "Clinique Saint-Augustin", "Hôpital Pellegrin",
          "Centre hospitalier d’Arcachon")
REASONS = ("Appendicectomie", "Fracture du poignet gauche", "Pneumopathie",
           "Accouchement", "Coloscopie de contrôle", "Chirurgie du ménisque")


# Seeding -------------------------------------------------------------------------------------

def _day_form(prefix: str, day: date, precision: str = "day") -> dict:
    return {f"{prefix}_year": str(day.year),
            f"{prefix}_month": str(day.month) if precision in ("month", "day") else "",
            f"{prefix}_day": str(day.day) if precision == "day" else ""}


def entry_form(section_key: str, number: int, rng: random.Random, today: date,
               codes: dict) -> dict:
    """What a person would type into the section's form, for entry `number`."""
    past = today - timedelta(days=rng.randint(30, 25 * 365))
    precision = ("year", "month", "day")[number % 3]
    if section_key == "conditions":
        form = {"condition": codes["conditions"][number % len(codes["conditions"])]["key"],
                **_day_form("since", past, precision)}
        if number % 2:
            form["note"] = LOREM[:rng.randint(40, 180)]
        if number % 9 == 0:  # "other", typed in
            form.update(condition="other", condition_other=f"Syndrome rare n° {number}")
        return form
    if section_key == "treatments":
        form = {"name": f"{MEDICINES[number % len(MEDICINES)]} ({number + 1})",
                "dose": "1 comprimé le matin", **_day_form("since", past, precision)}
        if number % 4 == 0:
            form.update(_day_form("until", min(today, past + timedelta(days=90)), "day"))
        return form
    if section_key == "hospitalisations":
        end = min(today, past + timedelta(days=rng.randint(1, 12)))
        return {"reason": f"{REASONS[number % len(REASONS)]} ({number + 1})",
                "place": PLACES[number % len(PLACES)], **_day_form("start", past, "day"),
                **_day_form("end", end, "day")}
    if section_key == "disabilities":
        return {"type": ("motor", "visual", "hearing", "cognitive", "psychic", "multiple",
                         "other")[number % 7], "rate": str(rng.randint(0, 100)),
                "human_help": ("oui", "non")[number % 2], "note": LOREM[:rng.randint(20, 120)]}
    if section_key == "blood_group":
        return {"group": "O+"}
    if section_key == "allergies":
        form = {"substance": codes["allergens"][number % len(codes["allergens"])]["key"],
                "reaction": "Urticaire et démangeaisons dans l’heure",
                "severity": ("mild", "moderate", "severe", "unknown")[number % 4]}
        if number % 9 == 0:
            form.update(substance="other", substance_other=f"Pollen de graminée n° {number}")
        return form
    if section_key == "family_history":
        return {"relative": ("mother", "father", "sister", "brother", "grandparent", "child",
                             "other")[number % 7],
                "condition": codes["conditions"][(number * 7) % len(codes["conditions"])]["key"]}
    if section_key == "lifestyle":
        return {"topic": ("food", "activity", "sleep", "screens", "alcohol", "tobacco")[number % 6],
                "description": (LOREM * 3)[:rng.randint(120, 400)]}
    raise ValueError(section_key)


def measure_form(kind_key: str, day: date, rng: random.Random) -> dict:
    form = {**_day_form("measured_on", day),
            "time": f"{rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}"}
    if kind_key == "blood_pressure":
        systolic = rng.randint(105, 150)
        return {**form, "systolic": str(systolic),
                "diastolic": str(rng.randint(60, systolic - 25))}
    value = {"weight": lambda: f"{rng.uniform(60, 85):.2f}".replace(".", ","),
             "height": lambda: "168,0",
             "waist": lambda: f"{rng.uniform(70, 95):.1f}",
             "temperature": lambda: f"{rng.uniform(36.2, 38.5):.1f}",
             "glucose": lambda: f"{rng.uniform(0.8, 1.4):.2f}",
             "heart_rate": lambda: str(rng.randint(55, 95)),
             "pain": lambda: str(rng.randint(0, 6))}[kind_key]()
    return {**form, "value": value}


def _patient_and_actor():
    from domain import audit
    from domain.models import User
    from extensions import db

    patient = db.session.execute(select(User).where(User.login == PATIENT_LOGIN)).scalar_one()
    return patient, audit.Actor(user_id=patient.id, acting_as=patient.role.value,
                                ip="127.0.0.1")


VACCINES = ("dtp", "influenza", "hpv", "zoster", "hepatitis_b", "mmr", "pneumococcal")


def add_entries(patient, actor, counts: dict[str, int], rng: random.Random,
                today: date) -> int:
    """counts[section] entries, each validated by its section's form, added one by one in
    the caller's app context and transaction; how many."""
    from domain import profile
    from extensions import db, keys

    added = 0
    for key, count in counts.items():
        section = profile.BY_KEY[key]
        for number in range(count):
            reading = profile.validate(section, entry_form(key, number, rng, today,
                                                           profile.codes()), today)
            if not reading.ok:
                raise RuntimeError(f"{key} entry {number}: {reading.problems}")
            profile.add_entry(db.session, keys.ring, patient, section, reading.values,
                              author=patient, actor=actor)
            added += 1
    return added


def add_vaccinations(patient, actor, count: int, today: date, every_days: int) -> None:
    """`count` vaccinations, `every_days` apart going back from a month ago, in the
    caller's app context and transaction."""
    from domain import profile
    from extensions import db, keys

    section = profile.BY_KEY["vaccinations"]
    for number in range(count):
        reading = profile.validate(section, {
            "vaccine": VACCINES[number % len(VACCINES)], "dose": str(number % 3 + 1),
            "lot": f"L{number:04d}", "vaccinator": "Dr Bernard",
            **_day_form("given_on", today - timedelta(days=30 + number * every_days))},
            today)
        if not reading.ok:
            raise RuntimeError(f"vaccination {number}: {reading.problems}")
        profile.add_entry(db.session, keys.ring, patient, section, reading.values,
                          author=patient, actor=actor)


def add_documents(patient, actor, folder, rng: random.Random, today: date, *, count: int,
                  size: int, categories: tuple[str, ...], every_days: int) -> None:
    """`count` PDF-looking documents of `size` bytes, `every_days` apart going back from
    today, over `categories` in turn, in the caller's app context and transaction."""
    from domain import vault
    from domain.models import Category
    from extensions import blobs, db, keys

    source = Path(folder) / "document.pdf"
    for number in range(count):
        source.write_bytes(b"%PDF-1.7 " + rng.randbytes(size - 9))
        vault.add_document(
            db.session, keys.ring, blobs.store, patient=patient, author=patient,
            path=source, size=size, kind="pdf", mimetype="application/pdf",
            file_name=f"document-{number + 1:03}.pdf", title=f"Document {number + 1}",
            category=Category(categories[number % len(categories)]),
            document_date=today - timedelta(days=number * every_days), hidden=False,
            source="benchmark", actor=actor)
    source.unlink()


def seed_entries(app, rng: random.Random) -> int:
    """SECTION_COUNTS entries, each validated by its section's form, added one by one."""
    from extensions import db

    today = date.today()
    added = 0
    with app.app_context():
        patient, actor = _patient_and_actor()
        for key, count in SECTION_COUNTS.items():
            added += add_entries(patient, actor, {key: count}, rng, today)
            db.session.commit()
    return added


def seed_measures(app, rng: random.Random, per_kind: dict[str, int],
                  first_day_back: int = 0) -> int:
    """per_kind[kind] measures of each kind, one a day going back from today."""
    from domain import measures
    from extensions import db, keys

    today = date.today()
    added = 0
    with app.app_context():
        patient, actor = _patient_and_actor()
        for key, count in per_kind.items():
            kind = measures.BY_KEY[key]
            for number in range(count):
                day = today - timedelta(days=first_day_back + number)
                reading = measures.validate(kind, measure_form(key, day, rng), today)
                if not reading.ok:
                    raise RuntimeError(f"{key} measure {number}: {reading.problems}")
                measures.add(db.session, keys.ring, patient, kind, reading.values, actor)
                added += 1
                if added % 500 == 0:
                    db.session.commit()
        db.session.commit()
    return added


# Timing --------------------------------------------------------------------------------------

def time_pages(client, hello, pages: dict[str, str], seed: int) -> tuple[dict, list[str]]:
    """Median µs per target (hello world included), interleaved in shuffled rounds; and
    the paths that answered anything but 200 (warm-up included)."""
    statuses: dict[str, int] = {}

    def target(who, path):
        def run() -> int:
            elapsed, response = timed_get(who, path)
            if response.status_code != 200:
                statuses.setdefault(path, response.status_code)
            return elapsed
        return run

    targets = {"hello": target(hello, HELLO_PATH), **{name: target(client, path)
                                                     for name, path in pages.items()}}
    times = interleaved(targets, ROUNDS, BATCH, WARMUP, seed)
    return times, [f"{path} answered {status}" for path, status in statuses.items()]


def time_pdf(app, client) -> dict:
    """The PDF summary, made off the request since issue 20, ms medians: the waiting page
    that starts it (time to its whole response), the time until its status says it is
    ready, the kept PDF handed out again; the HTML summary alternately, for comparison."""
    from sqlalchemy import delete

    from domain.models import SummaryPdf
    from extensions import db
    from web import summary_jobs

    def forget() -> None:
        summary_jobs.wait(app)
        with app.app_context():
            db.session.execute(delete(SummaryPdf))
            db.session.commit()

    samples = {"waiting": [], "made": [], "kept": [], "html": []}
    ok = True
    for round_number in range(PDF_WARMUP + PDF_ROUNDS):
        forget()
        gc.collect()
        elapsed, response = timed_get(client, SUMMARY_PDF)
        ok = ok and response.status_code == 200 and response.mimetype == "text/html"
        started = time.perf_counter()
        while client.get(SUMMARY_STATUS, headers=POLLING).status_code == 204:
            time.sleep(0.005)
        made = time.perf_counter() - started
        gc.collect()
        kept_elapsed, pdf = timed_get(client, SUMMARY_PDF)
        ok = ok and pdf.status_code == 200 and pdf.get_data()[:5] == b"%PDF-"
        gc.collect()
        html_elapsed, _response = timed_get(client, PAGES["summary (HTML)"])
        if round_number >= PDF_WARMUP:
            samples["waiting"].append(elapsed / 1e6)
            samples["made"].append(made * 1000)
            samples["kept"].append(kept_elapsed / 1e6)
            samples["html"].append(html_elapsed / 1e6)
    size = len(pdf.get_data())
    try:
        with pikepdf.open(io.BytesIO(pdf.get_data())) as document:
            pages = len(document.pages)
    except Exception:  # the page count is only informative
        pages = None
    return {**{name: median(values) for name, values in samples.items()},
            "made_min": min(samples["made"]), "made_max": max(samples["made"]),
            "size": size, "pages": pages, "ok": ok}


def overview_count(client) -> int:
    """How many entries /profil says it holds, summed over its sections."""
    html = client.get("/profil").get_data(as_text=True)
    return sum(int(re.sub(r"\D", "", value))
               for value in re.findall(r'class="meta">([\d\u202f\u00a0 ]+) entrées?\b', html))


# Report --------------------------------------------------------------------------------------

def report_times(empty: dict, loaded: dict) -> None:
    print_title(f"1. Server time per request, test client, median of {ROUNDS * BATCH} "
                f"(interleaved with hello world in {ROUNDS} rounds): target ≤ "
                f"{SERVER_TIME_RATIO:g}× hello world")
    print(f"{'page':<22} {'path':<22} {'empty µs':>9} {'×hello':>7} {'loaded µs':>10} "
          f"{'×hello':>7} {'growth':>7}  verdict (loaded)")
    print(f"{'hello world':<22} {HELLO_PATH:<22} {empty['hello']:>9,.0f} {1:>6.2f}× "
          f"{loaded['hello']:>10,.0f} {1:>6.2f}×")
    for name, path in REFERENCE.items():
        print(f"{name:<22} {path:<22} {empty[name]:>9,.0f} "
              f"{empty[name] / empty['hello']:>6.2f}× {loaded[name]:>10,.0f} "
              f"{loaded[name] / loaded['hello']:>6.2f}× {loaded[name] / empty[name]:>6.2f}×  "
              "(not a profile page)")
    for name, path in PAGES.items():
        before = empty[name] / empty["hello"]
        after = loaded[name] / loaded["hello"]
        print(f"{name:<22} {path:<22} {empty[name]:>9,.0f} {before:>6.2f}× "
              f"{loaded[name]:>10,.0f} {after:>6.2f}× {loaded[name] / empty[name]:>6.2f}×  "
              f"{verdict(after <= SERVER_TIME_RATIO)}")
    print(f"Empty: no entry, no measure. Loaded: {sum(SECTION_COUNTS.values())} entries "
          f"({', '.join(f'{key} {count}' for key, count in SECTION_COUNTS.items())}) and "
          f"{MEASURES_PER_KIND * 8:,} measures ({MEASURES_PER_KIND} of each of the 8 adult "
          "kinds): the section page then lists 100 treatments, the weight history pages 250 "
          "weights. growth = loaded µs / empty µs; ×hello uses the hello-world median of the "
          f"same phase. The signed-in reference ({REFERENCE['signed-in reference']}) is what "
          "any signed-in page costs before its own work. Requests send Accept-Encoding: br, "
          "gzip (compression included).")


def report_weight_history(empty: dict, loaded: dict, heavy: dict) -> None:
    name = "weight history"
    print_title(f"Weight history /profil/mesures/poids as weight measures accumulate "
                f"(20 a page; median of {ROUNDS * BATCH})")
    print(f"{'weight measures':>15} {'µs':>9} {'×hello':>7} {'growth':>7}  verdict")
    for count, figures in ((0, empty), (MEASURES_PER_KIND, loaded), (WEIGHT_TOTAL, heavy)):
        print(f"{count:>15,} {figures[name]:>9,.0f} {figures[name] / figures['hello']:>6.2f}× "
              f"{figures[name] / empty[name]:>6.2f}×  "
              f"{verdict(figures[name] / figures['hello'] <= SERVER_TIME_RATIO)}")
    per_measure = (heavy[name] - loaded[name]) / (WEIGHT_TOTAL - MEASURES_PER_KIND)
    print(f"Extra cost per stored weight measure beyond {MEASURES_PER_KIND:,}: "
          f"{per_measure:,.1f} µs (measures.history_page() counts in SQL and opens only the "
          f"page's 20). /profil/mesures with {WEIGHT_TOTAL:,} weights: "
          f"{heavy['measures overview']:,.0f} µs "
          f"({heavy['measures overview'] / heavy['hello']:.2f}× hello; it opens the newest "
          "of each kind only).")


def report_weight(weights: dict) -> None:
    print_title(f"2. Page weight of the loaded profile: compressed body + headers, budget "
                f"{PAGE_BUDGET:,} bytes (one round trip)")
    print(f"{'page':<22} {'path':<22} {'html':>7} {'enc':>4} {'body':>6} {'headers':>7} "
          f"{'total':>7} {'of budget':>9}  verdict  {'gzip only':>9}")
    for name, path in PAGES.items():
        figures = weights[name]
        total = figures["total"]
        ok = figures["status"] == 200 and total <= PAGE_BUDGET
        gzip_note = "" if figures["gzip_encoding"] == "gzip" else f" ({figures['gzip_encoding']})"
        print(f"{name:<22} {path:<22} {figures['html']:>7,} {figures['encoding']:>4} "
              f"{figures['body']:>6,} {figures['headers']:>7,} {total:>7,} "
              f"{total / PAGE_BUDGET:>8.0%}  {verdict(ok):<7}  {figures['gzip_total']:>9,}"
              f"{gzip_note}")
    print("As benchmarks/pages.py measures it: the body as the app compresses it for "
          "Accept-Encoding: br, gzip (brotli, quality 4), headers including gunicorn's Server, "
          "Date and Connection. gzip only: the same total for a client without brotli.")


def report_pdf(loaded: dict, empty: dict) -> None:
    print_title(f"3. Summary as PDF, made off the request, vs the same summary as HTML, "
                f"median of {PDF_ROUNDS}")
    print(f"{'profile':<8} {'HTML ms':>8} {'waiting page ms':>16} {'made in ms':>11} "
          f"{'min–max':>13} {'kept PDF ms':>12} {'PDF bytes':>10} {'pages':>6}")
    for label, figures in (("empty", empty), ("loaded", loaded)):
        pages = figures["pages"] or "?"
        print(f"{label:<8} {figures['html']:>8,.1f} {figures['waiting']:>16,.1f} "
              f"{figures['made']:>11,.0f} {figures['made_min']:>6,.0f}–"
              f"{figures['made_max']:<6,.0f} {figures['kept']:>12,.1f} {figures['size']:>10,} "
              f"{pages:>6}" + ("" if figures["ok"] else "  ! not a PDF or not 200"))
    print("waiting page: GET /profil/resume.pdf when the PDF must be made (fingerprint of the "
          "profile, the job noted, a thread started, the page rendered): target ≤ 100 ms. "
          "made in: from then until its status (/profil/resume/etat, as htmx asks) is final "
          "(WeasyPrint, PDF/UA-1, in a thread of the same process). kept PDF: GET once made "
          "(fingerprint, unsealed, audited). The first round (WeasyPrint import, fonts) is a "
          "warm-up, not counted; a full garbage collection, untimed, precedes each request.")


GROWTH_REPEATS = 9              # views of the child's weight page after each new measure


def time_growth_visits(app, client, hello) -> dict:
    """Léo's weights added visit by visit (as the demo seed would, audited); after each,
    his weight page viewed once (the span just grew) then GROWTH_REPEATS times more, each
    with a hello-world request beside it."""
    from sqlalchemy import select

    from domain import audit, measures
    from domain.demo.child import VISITS, months_after
    from domain.models import Representation, User
    from extensions import db, keys

    with app.app_context():
        parent = db.session.scalars(select(User.id).where(User.login == PATIENT_LOGIN)).one()
        child_id = db.session.scalars(select(Representation.represented_id).where(
            Representation.representative_id == parent)).one()
    path = f"/espace/{child_id}/profil/mesures/poids"
    first, after, hellos, statuses = [], [], [], set()
    for months, weight, _, _ in VISITS:
        with app.app_context():
            child = db.session.get(User, child_id)
            measures.add(db.session, keys.ring, child, measures.BY_KEY["weight"],
                         {"value": weight,
                          "measured_on": months_after(child.birth_date, months).isoformat()},
                         audit.Actor(acting_as="operator"))
            db.session.commit()
        gc.collect()
        elapsed, response = timed_get(client, path)
        first.append(elapsed / 1000)
        statuses.add(response.status_code)
        for _ in range(GROWTH_REPEATS):
            elapsed, response = timed_get(client, path)
            after.append(elapsed / 1000)
            statuses.add(response.status_code)
            hellos.append(timed_get(hello, HELLO_PATH)[0] / 1000)
    return {"first": first, "after": after, "hello": median(hellos),
            "ok": statuses == {200}, "visits": len(VISITS)}


def report_growth_visits(figures: dict) -> None:
    print_title(f"4. A child's weight curve as each of {figures['visits']} visits is added: "
                "first view after a new measure vs the views that follow")
    hello, after = figures["hello"], median(figures["after"])
    later = figures["first"][1:]
    print(f"{'view':<56} {'µs':>10} {'÷ hello':>8} {'÷ views after':>14}")
    for label, value in (
            ("first growth chart of the process (visit 1)", figures["first"][0]),
            (f"first view after a new measure (visits 2–{figures['visits']}, median)",
             median(later)),
            ("  the slowest of those", max(later)),
            (f"the views after ({len(figures['after'])}, median)", after)):
        print(f"{label:<56} {value:>10,.0f} {value / hello:>8.2f} {value / after:>14.2f}")
    print(f"hello world median {hello:,.0f} µs. What a first view after a new measure "
          "does that the views after it do not: the new measure's centile (its SDS, worked "
          "out once) and, when the chart's new span asks for other decimals, the WHO lines' "
          "texts in those; the lines themselves are the process's, whatever the span."
          + ("" if figures["ok"] else "  ! a view did not answer 200"))


def main() -> None:
    started = time.perf_counter()
    with bench_instance("profile") as (app, database, tmp):
        client = sign_in(app, PATIENT_LOGIN, TotpClock())
        hello = app.test_client(use_cookies=False)
        print("Carnet santé — medical profile benchmarks (Flask test client, one process)")
        print(f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs; {database.label}; "
              f"temporary instance {tmp}")
        failures: list[str] = []

        empty, problems = time_pages(client, hello, {**REFERENCE, **PAGES}, seed=1)
        failures += [f"empty profile: {problem}" for problem in problems]
        pdf_empty = time_pdf(app, client)

        rng = random.Random(5)
        seeding = time.perf_counter()
        entries = seed_entries(app, rng)
        from domain import measures
        adult = [kind.key for kind in measures.KINDS if not kind.children_only]
        count = seed_measures(app, rng, {key: MEASURES_PER_KIND for key in adult})
        seeding = time.perf_counter() - seeding
        shown = overview_count(client)
        print(f"Seeded {entries} entries and {count:,} measures in {seeding:.1f} s "
              f"(validated, sealed, audited one by one); /profil counts {shown} entries.")
        if shown != entries:
            failures.append(f"/profil counts {shown} entries instead of {entries}")

        loaded, problems = time_pages(client, hello, {**REFERENCE, **PAGES}, seed=2)
        failures += [f"loaded profile: {problem}" for problem in problems]
        weights = {name: weigh_page(client, path) for name, path in PAGES.items()}
        pdf_loaded = time_pdf(app, client)

        seeding = time.perf_counter()
        seed_measures(app, rng, {"weight": WEIGHT_TOTAL - MEASURES_PER_KIND},
                      first_day_back=MEASURES_PER_KIND)
        seeding = time.perf_counter() - seeding
        print(f"Then {WEIGHT_TOTAL - MEASURES_PER_KIND:,} more weight measures "
              f"({WEIGHT_TOTAL:,} in all) in {seeding:.1f} s.")
        heavy_pages = {**REFERENCE, **{name: PAGES[name]
                                       for name in ("measures overview", "weight history")}}
        heavy, problems = time_pages(client, hello, heavy_pages, seed=3)
        failures += [f"{WEIGHT_TOTAL:,} weights: {problem}" for problem in problems]
        last_page = client.get(f"{PAGES['weight history']}?page={WEIGHT_TOTAL // 20}")
        if last_page.status_code != 200:
            failures.append(f"weight history, last page: status {last_page.status_code}")

        report_times(empty, loaded)
        report_weight_history(empty, loaded, heavy)
        report_weight(weights)
        report_pdf(pdf_loaded, pdf_empty)
        report_growth_visits(time_growth_visits(app, client, hello))
        for failure in failures:
            print(f"! {failure}")
        print(f"\nprofile.py finished in {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
