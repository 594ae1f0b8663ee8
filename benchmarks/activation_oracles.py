"""Timing of the answers that must not tell whether a person or a login exists.

Run from the project root: `.venv/bin/python benchmarks/activation_oracles.py` (or `make
bench`); DATABASE_URL=postgresql+psycopg://… runs it on PostgreSQL (a schema of its own,
dropped at the end). Prints figures; asserts nothing (SECURITY.md: "Every answer that
depends on whether a person exists is indistinguishable", timing included; the tests in
tests/blueprints/activation/test_oracles.py check status, body and hash calls).

With the production profile: argon2id "standard" (PASSWORD_HASH_PROFILE), and messages left
in the outbox for the worker (OUTBOX_SEND_AFTER_COMMIT off), as in production. Rate limits
are off (they would answer 429 long before the end). For each endpoint, every branch is
timed in interleaved, shuffled rounds (the machine's noise is shared), the POST only; the
table gives the wall-clock median, 10th and 90th percentiles, the median CPU time of this
process (less moved by other programs), and the ratio of the slowest median to the fastest.
BENCH_ORACLE_ROUNDS sets the number of samples per branch (default 25).

- POST /activation/identifiants: a login in use, a reserved one, a free one. Before the fix
  the login in use skipped the password hash (its cost is printed as "argon2id alone").
- POST /activation/code-provisoire: nobody matches; e-mail on file; phone only; nothing on
  file; the daily limit reached; an active space.
- POST /activation/opposition/sans-code: nobody matches; an active space; pending with an
  e-mail; pending with nothing on file (a letter for the post); already opposed.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, update  # noqa: E402
from stdnum.fr import nir as stdnum_nir  # noqa: E402

from benchmarks._common import (  # noqa: E402
    bench_instance,
    csrf_from,
    median,
    percentile,
    print_environment,
    print_finished,
    print_title,
)

ROUNDS = int(os.environ.get("BENCH_ORACLE_ROUNDS", "25"))
WARMUP = 2
PASSWORD = "Le chat dort sur le toit"  # noqa: S105 - a throw-away instance


def _nir(first13: str) -> str:
    return first13 + stdnum_nir.calc_check_digits(first13)


def _identity(nir: str, vitale: str, birth: date) -> dict:
    return {"nir": nir, "vitale": vitale, "birth_day": str(birth.day),
            "birth_month": str(birth.month), "birth_year": str(birth.year)}


JEANNE = _identity("254071305512392", "34567890123", date(1954, 7, 2))
PAUL = _identity("167089201234508", "45678901234", date(1967, 8, 21))
CAMILLE = _identity("288037510802150", "12345678901", date(1988, 3, 14))
UNKNOWN = _identity(_nir("1800175123456"), "98765432109", date(1980, 1, 1))
# Added by this benchmark: someone with a phone only, someone at the daily limit, and one
# pending person per opposition branch (each sample puts them back to pending, untimed).
HUGO = _identity(_nir("1750269123456"), "67890123456", date(1975, 2, 3))
LINA = _identity(_nir("2910569123456"), "78901234567", date(1991, 5, 9))
ROSE = _identity(_nir("2820144123456"), "89012345678", date(1982, 1, 4))
MARC = _identity(_nir("1690713123456"), "90123456789", date(1969, 7, 13))
EXTRA = (
    "nir,vitale_serial,birth_name,given_names,birth_date,sex,email,phone,address,"
    "representative_nirs\n"
    f"{HUGO['nir']},{HUGO['vitale']},Roux,Hugo,1975-02-03,1,,0600000044,,\n"
    f"{LINA['nir']},{LINA['vitale']},Morel,Lina,1991-05-09,2,lina@example.org,,,\n"
    f"{ROSE['nir']},{ROSE['vitale']},Faure,Rose,1982-01-04,2,rose@example.org,,,\n"
    f"{MARC['nir']},{MARC['vitale']},Girard,Marc,1969-07-13,1,,,\"3 place Bellecour, Lyon\",\n"
)


def _prepare(app) -> None:
    from domain import insured
    from extensions import db, keys

    with app.app_context():
        report = insured.import_csv(db.session, keys.ring, EXTRA, date.today())
        db.session.commit()
        if report.errors or report.created != 4:
            raise SystemExit(f"benchmark people not imported: {report.errors}")


def _form_client(app, path: str):
    """A client of its own and a CSRF token for `path` (tokens stay valid for an hour)."""
    client = app.test_client()
    return client, csrf_from(client.get(path).get_data(as_text=True))


def _poster(app, path: str, data: dict, expect: int, before=None):
    """A target: (untimed) `before`, then the POST alone, timed; checks the status."""
    client, token = _form_client(app, path)

    def run() -> int:
        if before is not None:
            before()
        started, cpu = time.perf_counter_ns(), time.process_time_ns()
        response = client.post(path, data={"csrf_token": token, **data})
        response.get_data()
        elapsed = time.perf_counter_ns() - started, time.process_time_ns() - cpu
        if response.status_code != expect:
            raise SystemExit(f"{path}: {response.status_code}, expected {expect}")
        return elapsed

    return run


def _measure(targets: dict, seed: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) milliseconds per sample, per target: WARMUP untimed calls each, then
    ROUNDS rounds in shuffled order."""
    for run in targets.values():
        for _ in range(WARMUP):
            run()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
    order = list(targets)
    shuffle = random.Random(seed)
    for _ in range(ROUNDS):
        shuffle.shuffle(order)
        for name in order:
            wall, cpu = targets[name]()
            samples[name].append((wall / 1e6, cpu / 1e6))
    return samples


def _report(title: str, samples: dict[str, list[tuple[float, float]]]) -> None:
    """Wall time (what a client sees: median, p10, p90) and this process's CPU time (less
    moved by other programs on the machine)."""
    print_title(title)
    width = max(len(name) for name in samples)
    print(f"{'branch':<{width}}  {'median':>9}  {'p10':>9}  {'p90':>9}  {'CPU median':>10}")
    walls, cpus = {}, {}
    for name, values in samples.items():
        wall = [value[0] for value in values]
        walls[name], cpus[name] = median(wall), median([value[1] for value in values])
        print(f"{name:<{width}}  {walls[name]:>6.1f} ms  {percentile(wall, 0.1):>6.1f} ms  "
              f"{percentile(wall, 0.9):>6.1f} ms  {cpus[name]:>7.1f} ms")
    for label, medians in (("wall", walls), ("CPU", cpus)):
        slowest, fastest = max(medians, key=medians.get), min(medians, key=medians.get)
        print(f"ratio of {label} medians, slowest / fastest: "
              f"{medians[slowest] / medians[fastest]:.2f} ({slowest} / {fastest})")
    print(f"{len(next(iter(samples.values())))} samples per branch")


# ------------------------------------------------------------------------------ the login

def _walk_to_credentials(app):
    """Jeanne's demo code, up to the login step (the confirmation codes sent at once)."""
    from benchmarks._common import latest_sms_code
    from web.outgoing import drain

    client = app.test_client()

    def step(path: str, data: dict, expect: str) -> None:
        token = csrf_from(client.get(path).get_data(as_text=True))
        response = client.post(path, data={"csrf_token": token, **data})
        if response.headers.get("Location") != expect:
            raise SystemExit(f"{path}: {response.status_code} {response.headers}")
        drain(app)  # the outbox worker's job, here and now

    step("/activation", {"code": "JEAN-NEDU-PNTA"}, "/activation/identite")
    step("/activation/identite", {key: value for key, value in JEANNE.items()
                                  if key != "vitale"}, "/activation/conditions")
    step("/activation/conditions", {"accept": "oui"}, "/activation/coordonnees")
    step("/activation/coordonnees", {"email": "jeanne.dupont@example.org",
                                     "phone": "06 00 00 00 03"},
         "/activation/coordonnees/verification")
    from domain.notify import Mailer

    mail = Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()[-1]
    email_code = re.search(r"\b(\d{6})\b", mail.get_body(("plain",)).get_content()).group(1)
    step("/activation/coordonnees/verification",
         {"email_code": email_code, "phone_code": latest_sms_code(app.config["OUTBOX_DIR"])},
         "/activation/identifiants")
    return client


def bench_login(app) -> None:
    from domain import passwords

    client = _walk_to_credentials(app)
    path = "/activation/identifiants"
    token = csrf_from(client.get(path).get_data(as_text=True))

    def chooser(login: str, expect: int):
        def run() -> int:
            started, cpu = time.perf_counter_ns(), time.process_time_ns()
            response = client.post(path, data={"csrf_token": token, "login": login,
                                               "password": PASSWORD,
                                               "password_confirm": PASSWORD})
            response.get_data()
            elapsed = time.perf_counter_ns() - started, time.process_time_ns() - cpu
            if response.status_code != expect:
                raise SystemExit(f"{path} {login}: {response.status_code}, expected {expect}")
            return elapsed
        return run

    def argon2_alone() -> int:
        started = time.perf_counter_ns()
        passwords.hash_password(PASSWORD, app.config["PASSWORD_HASH_PROFILE"])
        return time.perf_counter_ns() - started

    samples = _measure({"login in use (camille.martin)": chooser("camille.martin", 422),
                        "reserved login (administrateur)": chooser("administrateur", 422),
                        "free login (jeanne.dupont)": chooser("jeanne.dupont", 303)}, 8)
    _report("POST /activation/identifiants (argon2id "
            f"{app.config['PASSWORD_HASH_PROFILE']})", samples)
    alone = [argon2_alone() / 1e6 for _ in range(ROUNDS)]
    print(f"argon2id alone (what a login in use used to skip): median {median(alone):.1f} ms")


# ---------------------------------------------------------------------- provisional code

def _age_codes(app, identity: dict):
    """Untimed, before a sample: this person's provisional codes a day older, so the daily
    limit is never reached."""
    from domain import insured
    from domain.identity import normalise_nir
    from domain.models import ActivationCode
    from domain.models.base import utcnow
    from extensions import db, keys

    with app.app_context():
        person_id = insured.find_by_nir(db.session, keys.ring,
                                        normalise_nir(identity["nir"])).id

    def before() -> None:
        with app.app_context():
            db.session.execute(update(ActivationCode).where(
                ActivationCode.insured_id == person_id,
                ActivationCode.provisional.is_(True)).values(
                sent_at=utcnow() - timedelta(days=2)))
            db.session.commit()

    return before


def bench_provisional(app) -> None:
    path = "/activation/code-provisoire"
    for _ in range(3):  # Lina reaches her daily limit first
        client, token = _form_client(app, path)
        client.post(path, data={"csrf_token": token, **LINA})
    samples = _measure({
        "nobody matches": _poster(app, path, UNKNOWN, 200),
        "e-mail on file (code sent)": _poster(app, path, JEANNE, 200, _age_codes(app, JEANNE)),
        "phone only (code sent)": _poster(app, path, HUGO, 200, _age_codes(app, HUGO)),
        "nothing on file": _poster(app, path, PAUL, 200),
        "daily limit reached": _poster(app, path, LINA, 200),
        "active space": _poster(app, path, CAMILLE, 200),
    }, 9)
    _report("POST /activation/code-provisoire", samples)


# ------------------------------------------------------------------ opposition, no code

def _back_to_pending(app, identity: dict):
    """Untimed, before a sample: this person's space pending again (and no letters left)."""
    from domain import insured
    from domain.identity import normalise_nir
    from domain.models import InsuredPerson, SpaceStatus
    from extensions import db, keys

    with app.app_context():
        person_id = insured.find_by_nir(db.session, keys.ring,
                                        normalise_nir(identity["nir"])).id
    letters = Path(app.config["OUTBOX_DIR"]) / "letters"

    def before() -> None:
        with app.app_context():
            db.session.execute(update(InsuredPerson).where(InsuredPerson.id == person_id)
                               .values(space_status=SpaceStatus.PENDING,
                                       opposition_reference=None))
            db.session.commit()
        for letter in letters.glob("opposition-*.pdf") if letters.exists() else ():
            letter.unlink()

    return before


def bench_opposition(app) -> None:
    from domain.models import InsuredPerson, SpaceStatus
    from extensions import db

    path = "/activation/opposition/sans-code"
    client, token = _form_client(app, path)
    client.post(path, data={"csrf_token": token, **PAUL})  # Paul: already opposed
    with app.app_context():
        statuses = set(db.session.execute(select(InsuredPerson.space_status).where(
            InsuredPerson.given_names == "Paul")).scalars())
    if statuses != {SpaceStatus.OPPOSED}:
        raise SystemExit(f"Paul's opposition was not recorded: {statuses}")
    samples = _measure({
        "nobody matches": _poster(app, path, UNKNOWN, 200),
        "active space": _poster(app, path, CAMILLE, 200),
        "pending, e-mail on file": _poster(app, path, ROSE, 200, _back_to_pending(app, ROSE)),
        "pending, nothing on file (post)": _poster(app, path, MARC, 200,
                                                   _back_to_pending(app, MARC)),
        "already opposed": _poster(app, path, PAUL, 200),
    }, 10)
    _report("POST /activation/opposition/sans-code", samples)


def main() -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    with bench_instance("oracles") as (app, database, tmp):
        app.config.update(PASSWORD_HASH_PROFILE=os.environ.get("PASSWORD_HASH_PROFILE",
                                                               "standard"),
                          OUTBOX_SEND_AFTER_COMMIT=False)
        print("Carnet santé — existence oracles in activation: time per answer, by branch")
        print_environment(database, tmp)
        _prepare(app)
        bench_login(app)
        bench_provisional(app)
        bench_opposition(app)
    print_finished("activation_oracles.py", started, cpu_started)


if __name__ == "__main__":
    main()
