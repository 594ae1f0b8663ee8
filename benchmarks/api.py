"""The FHIR API for connected apps (blueprints/fhir): server time of each call against a
bare hello-world route and against the page a patient opens for the same data, with the
size of each answer and the SQL statements it sends.

Run from the project root: `.venv/bin/python benchmarks/api.py` (or `make bench`). Prints
figures as ratios to baselines measured in the same run, in the same process (Flask's test
client); never asserts anything about time.

The space (the demo patient camille.martin, on a temporary instance): 200 measures
(MEASURE_COUNTS: 60 weights, then blood pressure, heart rate, temperature, glucose, waist,
height and pain), 50 profile entries (allergies, conditions, treatments, vaccinations),
50 documents of 4 KB over four categories and 100 agenda items (half past, half to come).
Everything goes through the domain's own validation and adders.

The app's access token is made straight in the domain, as the consent page and the token
endpoint would make it (apps.connect, then apps.issue; tests/oauth_client.py's token_for
does the same), for a catalogue app granted every read scope and Observation.c. The pages
are asked for by camille.martin signed in through the real forms.

1. Reads: hello world, each API call and its page, interleaved in shuffled rounds; the
   median per request, as a ratio to hello world and to the page.
2. Writes: a weight added by the API (POST /fhir/Observation) and by the weight page's form
   (POST with its CSRF token, answered 303 and not followed), interleaved with hello world
   in rounds of their own after the reads (each adds a weight, which would otherwise grow
   the weight search while it is timed).
3. Size of each answer, as sent uncompressed and with the browser's Accept-Encoding
   (br, gzip), and the SQL statements of one request.
"""

from __future__ import annotations

import json
import random
import secrets
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    ACCEPT,
    HELLO_PATH,
    QueryCounter,
    TotpClock,
    bench_instance,
    csrf_from,
    interleaved,
    print_environment,
    print_finished,
    print_title,
    sign_in,
    weigh,
)

PATIENT_LOGIN = "camille.martin"
APP_SLUG = "neuf-lunes"  # any catalogue entry: the scopes below are granted directly
SCOPES = ("patient/Patient.r", "patient/Observation.rs", "patient/Observation.c",
          "patient/Immunization.rs", "patient/AllergyIntolerance.rs",
          "patient/Condition.rs", "patient/MedicationStatement.rs",
          "patient/DocumentReference.rs", "patient/Appointment.rs")
MEASURE_COUNTS = {"weight": 60, "blood_pressure": 40, "heart_rate": 30, "temperature": 20,
                  "glucose": 20, "waist": 10, "height": 10, "pain": 10}      # 200
ENTRY_COUNTS = {"allergies": 12, "conditions": 13, "treatments": 13}       # + vaccinations
VACCINATIONS = 12                                                          # = 50 entries
DOCUMENTS = 50
DOCUMENT_SIZE = 4_000
AGENDA_ITEMS = 100
CATEGORIES = ("lab_results", "imaging", "reports", "prescriptions")
WEIGHT_LOINC = "http://loinc.org|29463-7"

WARMUP = 5           # untimed requests of each target first
READ_ROUNDS = 40     # rounds; each target runs BATCH requests per round, in shuffled order
WRITE_ROUNDS = 20
BATCH = 5            # -> 200 timed reads and 100 timed writes per target

FHIR_HEADERS = {"Accept": "application/fhir+json"}


def _day_form(prefix: str, day: date) -> dict:
    return {f"{prefix}_year": str(day.year), f"{prefix}_month": str(day.month),
            f"{prefix}_day": str(day.day)}


def seed(app, tmp: str, rng: random.Random) -> dict:
    """The loaded space described above; what was added, and the ids the calls need."""
    from sqlalchemy import select

    from benchmarks.profile import add_documents, add_entries, add_vaccinations, measure_form
    from domain import agenda, audit, measures
    from domain.models import User
    from extensions import db, keys

    today = date.today()
    with app.app_context():
        patient = db.session.execute(select(User).where(User.login == PATIENT_LOGIN)).scalar_one()
        actor = audit.Actor(user_id=patient.id, acting_as="patient", ip="127.0.0.1")
        add_entries(patient, actor, ENTRY_COUNTS, rng, today)
        add_vaccinations(patient, actor, VACCINATIONS, today, every_days=200)
        weight_id = None
        for key, count in MEASURE_COUNTS.items():
            kind = measures.BY_KEY[key]
            for number in range(count):
                day = today - timedelta(days=1 + number * 3)
                reading = measures.validate(kind, measure_form(key, day, rng), today,
                                            born=patient.birth_date)
                if not reading.ok:
                    raise RuntimeError(f"{key} measure {number}: {reading.problems}")
                row = measures.add(db.session, keys.ring, patient, kind, reading.values, actor)
                if key == "weight" and number == 0:
                    weight_id = row.id
        add_documents(patient, actor, tmp, rng, today, count=DOCUMENTS, size=DOCUMENT_SIZE,
                      categories=CATEGORIES, every_days=7)
        for number in range(AGENDA_ITEMS):
            day = today + timedelta(days=(number - AGENDA_ITEMS // 2) * 3)
            agenda.add(db.session, keys.ring, patient, {
                "kind": "appointment" if number % 3 else "reminder",
                "title": f"Rendez-vous {number + 1}", "date": day.isoformat(),
                "time": f"{9 + number % 8:02d}:30" if number % 3 else None,
                "place": "Cabinet médical des Tilleuls, Lyon", "professional": "Dr Bernard",
                "note": "Apporter les derniers résultats."}, actor)
        db.session.commit()
        return {"patient_id": patient.id, "weight_id": weight_id}


def access_token(app) -> str:
    """An access token for the app, made in the domain as the consent page and the token
    endpoint make one (the approach of tests/oauth_client.py's token_for)."""
    from sqlalchemy import select

    from domain import apps, audit
    from domain.models import User
    from extensions import db, keys

    with app.app_context():
        person = db.session.scalars(select(User).where(User.login == PATIENT_LOGIN)).one()
        access = secrets.token_urlsafe(32)
        connection = apps.connect(
            db.session, keys.ring, app_slug=APP_SLUG, allowed=SCOPES, requested=list(SCOPES),
            ticked=list(SCOPES), space=person, granted_by=person,
            redirect_uri="https://app.example/retour", code=secrets.token_urlsafe(32),
            code_challenge="c" * 43, challenge_method="S256", actor=audit.Actor(person.id))
        apps.issue(db.session, keys.ring, connection_id=connection.id,
                   scopes=connection.scopes, access_token=access, refresh_token=None)
        db.session.commit()
    return access


class Request:
    """One request as timed: method, path, who sends it and the status expected."""

    def __init__(self, label: str, client, method: str, path: str, expected: int,
                 headers: dict | None = None, body=None):
        self.label, self.client, self.method, self.path = label, client, method, path
        self.expected, self.headers, self.body = expected, {**ACCEPT, **(headers or {})}, body
        self.unexpected: dict[int, int] = {}
        self.first_error: str | None = None

    def send(self):
        if self.method == "GET":
            return self.client.get(self.path, headers=self.headers)
        body = self.body() if callable(self.body) else self.body
        if isinstance(body, dict) and "resourceType" in body:
            return self.client.post(self.path, data=json.dumps(body), headers=self.headers,
                                    content_type="application/fhir+json")
        return self.client.post(self.path, data=body, headers=self.headers)

    def __call__(self) -> int:
        start = time.perf_counter_ns()
        response = self.send()
        response.get_data()
        elapsed = time.perf_counter_ns() - start
        self.check(response)
        return elapsed

    def check(self, response) -> bool:
        if response.status_code == self.expected:
            return True
        self.unexpected[response.status_code] = self.unexpected.get(response.status_code,
                                                                    0) + 1
        if self.first_error is None:
            self.first_error = response.get_data(as_text=True)[:300]
        return False


def weigh_request(request: Request) -> dict:
    """The answer's size as sent to a client that asks for no compression, and to one that
    sends the browser's Accept-Encoding; its status and what it holds."""
    plain_headers = {**request.headers, "Accept-Encoding": "identity"}
    saved = request.headers
    request.headers = plain_headers
    plain = request.send()
    request.headers = saved
    sent = request.send()
    figures = weigh(sent)
    total = ""
    if sent.mimetype == "application/fhir+json" and sent.status_code == 200:
        data = json.loads(plain.get_data())
        total = data.get("total", 1) if data.get("resourceType") == "Bundle" else 1
    return {"status": sent.status_code, "plain": len(plain.get_data()),
            "sent": figures["body"], "encoding": figures["encoding"], "items": total,
            "mimetype": sent.mimetype}


def main() -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    rng = random.Random(20)
    with bench_instance("api") as (app, database, tmp):
        from extensions import db

        print("Carnet santé — FHIR API for connected apps against the patient's pages")
        print_environment(database, tmp)
        began = time.perf_counter()
        ids = seed(app, tmp, rng)
        print(f"Space of {PATIENT_LOGIN}: {sum(MEASURE_COUNTS.values())} measures ("
              + ", ".join(f"{count} {key}" for key, count in MEASURE_COUNTS.items())
              + f"), {sum(ENTRY_COUNTS.values()) + VACCINATIONS} profile entries ("
              + ", ".join(f"{count} {key}" for key, count in ENTRY_COUNTS.items())
              + f", {VACCINATIONS} vaccinations), {DOCUMENTS} documents of "
              f"{DOCUMENT_SIZE:,} bytes, {AGENDA_ITEMS} agenda items; loaded in "
              f"{time.perf_counter() - began:.0f} s.")

        browser = sign_in(app, PATIENT_LOGIN, TotpClock())
        anonymous = app.test_client(use_cookies=False)
        api = app.test_client(use_cookies=False)
        token = access_token(app)
        bearer = {**FHIR_HEADERS, "Authorization": f"Bearer {token}"}
        csrf = csrf_from(browser.get("/profil/mesures/poids").get_data(as_text=True))
        yesterday = date.today() - timedelta(days=1)
        weights = iter(range(10**6))

        def api_weight() -> dict:
            return {"resourceType": "Observation", "status": "final",
                    "category": [{"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs"}]}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                    "subject": {"reference": f"Patient/{ids['patient_id']}"},
                    "effectiveDateTime": yesterday.isoformat(),
                    "valueQuantity": {"value": round(70 + next(weights) % 100 / 10, 1),
                                      "unit": "kg", "system": "http://unitsofmeasure.org",
                                      "code": "kg"}}

        def page_weight() -> dict:
            value = f"{70 + next(weights) % 100 / 10:.1f}".replace(".", ",")
            return {"csrf_token": csrf, **_day_form("measured_on", yesterday),
                    "time": "08:15", "value": value}

        hello = Request("hello world", anonymous, "GET", HELLO_PATH, 200)
        # (API request, page request): the page a patient opens for the same data.
        reads = [
            (Request(f"GET /fhir/Observation?code={WEIGHT_LOINC}", api, "GET",
                     f"/fhir/Observation?code={WEIGHT_LOINC}", 200, bearer),
             Request("  page GET /profil/mesures/poids", browser, "GET",
                     "/profil/mesures/poids", 200)),
            (Request("GET /fhir/Observation/<id> (a weight)", api, "GET",
                     f"/fhir/Observation/{ids['weight_id']}", 200, bearer),
             Request("  page GET /profil/mesures (no page per measure)", browser, "GET",
                     "/profil/mesures", 200)),
            (Request("GET /fhir/Immunization", api, "GET", "/fhir/Immunization", 200, bearer),
             Request("  page GET /profil/vaccinations", browser, "GET",
                     "/profil/vaccinations", 200)),
            (Request("GET /fhir/AllergyIntolerance", api, "GET", "/fhir/AllergyIntolerance",
                     200, bearer),
             Request("  page GET /profil/allergies", browser, "GET", "/profil/allergies", 200)),
            (Request("GET /fhir/DocumentReference", api, "GET", "/fhir/DocumentReference",
                     200, bearer),
             Request("  page GET /documents", browser, "GET", "/documents", 200)),
            (Request("GET /fhir/Appointment", api, "GET", "/fhir/Appointment", 200, bearer),
             Request("  page GET /agenda", browser, "GET", "/agenda", 200)),
            (Request("GET /fhir/Patient/<id>", api, "GET", f"/fhir/Patient/{ids['patient_id']}",
                     200, bearer),
             Request("  page GET /mon-espace", browser, "GET", "/mon-espace", 200)),
        ]
        writes = [
            (Request("POST /fhir/Observation (a weight)", api, "POST", "/fhir/Observation",
                     201, bearer, api_weight),
             Request("  page POST /profil/mesures/poids (form, 303)", browser, "POST",
                     "/profil/mesures/poids", 303, None, page_weight)),
        ]
        every = [hello] + [request for pair in reads + writes for request in pair]

        # Sizes, SQL statements, and a first look at each answer before any timing.
        with app.app_context():
            counter = QueryCounter(db.engine)
        sizes = {request.label: weigh_request(request) for request in every}
        statements = {request.label: counter.around(lambda r=request: r.check(r.send()))
                      for request in every}
        broken = {request.label for request in every if request.unexpected}
        for request in every:
            if request.unexpected:
                print(f"! {request.label}: answered {sorted(request.unexpected)} instead of "
                      f"{request.expected}: {request.first_error!r}")
                request.unexpected.clear()

        timed_reads = [hello] + [request for pair in reads for request in pair
                                 if request.label not in broken]
        read_times = interleaved({request.label: request for request in timed_reads},
                                 READ_ROUNDS, BATCH, WARMUP, seed=20)
        timed_writes = [hello] + [request for pair in writes for request in pair
                                  if request.label not in broken]
        write_times = interleaved({request.label: request for request in timed_writes},
                                  WRITE_ROUNDS, BATCH, WARMUP, seed=21)

        print_title(f"Server time per request (test client), median of {READ_ROUNDS * BATCH} "
                    f"reads / {WRITE_ROUNDS * BATCH} writes interleaved in shuffled rounds "
                    "with hello world; sizes in bytes (body)")
        print(f"{'request':<52} {'ms median':>9} {'× hello':>8} {'× page':>7} "
              f"{'items':>5} {'uncompr.':>9} {'br,gzip':>8} {'enc':>4} {'SQL':>4}")

        def row(request: Request, times: dict, page: Request | None) -> None:
            size = sizes[request.label]
            if request.label in broken:
                print(f"{request.label:<52} {'— not timed: status ' + str(size['status']):>27}")
                return
            value = times[request.label]
            versus = (f"{value / times[page.label]:>6.2f}×" if page is not None
                      and page.label in times else f"{'':>7}")
            print(f"{request.label:<52} {value / 1000:>9.2f} "
                  f"{value / times[hello.label]:>7.2f}× {versus} {size['items']!s:>5} "
                  f"{size['plain']:>9,} {size['sent']:>8,} {size['encoding']:>4} "
                  f"{statements[request.label]:>4}")

        print("Reads")
        row(hello, read_times, None)
        for api_request, page_request in reads:
            row(api_request, read_times, page_request)
            row(page_request, read_times, None)
        print("Writes (after the reads, with their own hello-world baseline)")
        row(hello, write_times, None)
        for api_request, page_request in writes:
            row(api_request, write_times, page_request)
            row(page_request, write_times, None)

        failures = [(request, status, count) for request in every
                    for status, count in request.unexpected.items()]
        for request, status, count in failures:
            print(f"! {request.label}: {count} timed answers with status {status} "
                  f"(expected {request.expected})")
        encodings = {sizes[request.label]["encoding"] for pair in reads + writes
                     for request in pair[:1]}
        print("\nitems: the searchset's total (1 for a read). Sizes are the body as sent "
              "to a client asking for no compression (Accept-Encoding: identity) and to one "
              f"sending the browser's {ACCEPT['Accept-Encoding']!r}; enc is the "
              "Content-Encoding of the latter. SQL: statements sent by the app's engine for "
              "one request (session, token, audit row and commit included).")
        if encodings == {"-"}:
            print("The API's answers (application/fhir+json) are sent uncompressed whatever "
                  "the client accepts: web/security.py compresses only the types in "
                  "COMPRESSIBLE.")
        print("API calls carry a bearer token and no cookie; pages carry camille.martin's "
              "session cookie. Every API call writes an audit row and commits; the page "
              "form's POST is answered 303 (the weight page that follows is not timed).")
        print_finished("api.py", started, cpu_started)


if __name__ == "__main__":
    main()
