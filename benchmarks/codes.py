"""Issuing activation codes for many people, as a ratio to inserting the same rows plainly.

For N people (BENCH_CODES_N, default 100,000) already imported, time the domain work of
`codes issue --all-pending` in batches of 500 (code generation with `secrets`, keyed hash,
reading the sealed contact, the audit event) against a bulk INSERT of the same number of
code rows whose hash column holds a precomputed value (no generation, no hashing, no
audit). Runs on SQLite in a temporary folder, and on PostgreSQL when reachable at
BENCH_PG_URL (CI's database by default). Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from domain import activation  # noqa: E402
from domain.crypto import Keyring, generate_key_file  # noqa: E402
from domain.db import make_engine  # noqa: E402
from domain.models import ActivationCode, Base, InsuredPerson  # noqa: E402
from domain.models.base import new_id  # noqa: E402

N = int(os.environ.get("BENCH_CODES_N", "100000"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _people(keyring: Keyring, count: int) -> list[dict]:
    rows = []
    for index in range(count):
        person_id = new_id()
        rows.append({
            "id": person_id, "nir_index": keyring.blind_index("nir", f"bench-{index}"),
            "nir_sealed": keyring.seal_server(b"x", f"insured_people.nir.{person_id}"),
            "vitale_index": "v", "vitale_sealed": b"v", "birth_name": "Nom",
            "given_names": "Prénom", "birth_date": date(1970, 1, 1), "sex": "1",
            "email_sealed": keyring.seal_server(f"p{index}@example.org".encode(),
                                                f"insured_people.email.{person_id}"),
            "source_fingerprint": "bench", "space_status": "pending",
            "status_changed_at": NOW, "created_at": NOW})
    return rows


def _reset(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)


def measure(engine, keyring: Keyring, people: list[dict]) -> tuple[float, float]:
    _reset(engine)
    with Session(engine) as session:
        session.execute(insert(InsuredPerson), people)
        session.commit()
    # Baseline: the same number of code rows, inserted in bulk with a ready-made value.
    plain = [{"id": new_id(), "insured_id": row["id"], "code_hash": f"{index:064d}",
              "channel": "email", "provisional": False, "sent_at": NOW,
              "expires_at": NOW + timedelta(weeks=6), "failed_attempts": 0,
              "progress_step": 0} for index, row in enumerate(people)]
    started = time.perf_counter()
    with Session(engine) as session:
        session.execute(insert(ActivationCode), plain)
        session.commit()
    baseline = time.perf_counter() - started
    with Session(engine) as session:
        session.execute(ActivationCode.__table__.delete())
        session.commit()
    started = time.perf_counter()
    with Session(engine) as session:
        pending = activation.people_without_code(session, NOW)
        for batch_start in range(0, len(pending), 500):
            activation.issue_codes(session, keyring, pending[batch_start:batch_start + 500], NOW)
            session.commit()
    issued = time.perf_counter() - started
    return baseline, issued


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="carnet-bench-codes-"))
    generate_key_file(folder / "keys.json")
    keyring = Keyring.from_file(folder / "keys.json")
    people = _people(keyring, N)
    targets = [("SQLite", make_engine(f"sqlite:///{folder / 'codes.db'}"))]
    try:
        engine = create_engine(PG_URL)
        with engine.connect():
            pass
        targets.append(("PostgreSQL", engine))
    except Exception as exc:  # noqa: BLE001 - the figure is simply not printed
        print(f"PostgreSQL not reachable ({exc.__class__.__name__}): skipped")
    print(f"Issuing activation codes for {N:,} people (one process, 2 shared cores)")
    print(f"{'database':<12} {'plain insert s':>15} {'issue codes s':>14} {'ratio':>7} "
          f"{'codes/s':>9}")
    for name, engine in targets:
        baseline, issued = measure(engine, keyring, people)
        print(f"{name:<12} {baseline:>15.2f} {issued:>14.2f} {issued / baseline:>6.1f}× "
              f"{N / issued:>9,.0f}")
        engine.dispose()


if __name__ == "__main__":
    main()
