"""Audited transactions per second on PostgreSQL at 1, 4 and 16 concurrent connections.

Run from the project root: `.venv/bin/python benchmarks/audit_throughput.py` (or
`make bench`). It needs PostgreSQL: DATABASE_URL if it names one, else CI's database
(postgresql+psycopg://postgres@127.0.0.1:5432/test), in a schema of its own dropped at the
end. Prints figures against DESIGN.md section 5 (audited throughput at least 8 times higher
at 16 connections than at 1); asserts nothing.

Each transaction is what an audited request does, reduced to its audit part: one event
whose subject is drawn uniformly from 100,000 people, then 20 ms of other work held inside
the transaction (`SELECT pg_sleep(0.02)`), then the commit. Three designs are measured on
the same database, in interleaved rounds:

- "one chain, written at once": the trail before issue 20, simulated with the current code
  (a single chain, its head locked when the event is recorded, so for the 20 ms as well);
- "64 chains, written at once": sharding alone (the event written when recorded);
- "64 chains, written at commit": what the application does (domain/audit.py), on its
  engine (domain.db.make_engine): the head locked only for the commit itself, inside the
  driver's commit (domain.pg_commit).
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks._common import (  # noqa: E402
    bench_instance,
    median,
    percentile,
    print_environment,
    print_finished,
    print_title,
    verdict,
)
from domain import audit  # noqa: E402
from domain.db import IN_TRANSACTION, begin_at_first_write, make_engine  # noqa: E402
from domain.models import AuditEvent  # noqa: E402

CONNECTIONS = (1, 4, 16)
HOLD_S = 0.02
MEASURE_S = float(os.environ.get("BENCH_AUDIT_SECONDS", "4"))
ROUNDS = 2
PEOPLE = [secrets.token_hex(16) for _ in range(100_000)]
TARGET_SPEEDUP = 8.0
DESIGNS = (  # label, shards, written when recorded?
    ("one chain, written at once (before)", 1, True),
    ("64 chains, written at once", audit.SHARDS, True),
    ("64 chains, written at commit (now)", audit.SHARDS, False),
)


# Held inside the transaction, whose engine begins one only at a write as the application's
# does (domain/db.begin_at_first_write): the 20 ms stand for a request's other work.
HOLD = text("SELECT pg_sleep(:s)").execution_options(**{IN_TRANSACTION: True})


def _transaction(engine, keyring, at_once: bool) -> float:
    started = time.perf_counter()
    with Session(engine) as session:
        audit.record(session, keyring, "bench.read", subject_id=secrets.choice(PEOPLE),
                     actor=audit.Actor("bench", "professional"), target_type="document",
                     target_id=secrets.token_hex(16))
        if at_once:
            audit.write_pending(session)
        session.execute(HOLD, {"s": HOLD_S})
        session.commit()
    return time.perf_counter() - started


def measure(engine, keyring, connections: int, at_once: bool) -> tuple[float, list[float]]:
    """Transactions per second and each transaction's time, `connections` threads busy for
    MEASURE_S seconds (after a short warm-up)."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = [0.0]
    counting = threading.Event()

    def worker():
        while time.perf_counter() < stop_at[0]:
            elapsed = _transaction(engine, keyring, at_once)
            if counting.is_set():
                with lock:
                    latencies.append(elapsed)

    stop_at[0] = time.perf_counter() + 0.5 + MEASURE_S
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    counting.set()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def main() -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    with bench_instance("audit") as (app, database, tmp):
        if database.backend != "postgresql":
            raise SystemExit("audit_throughput.py measures row locks: it needs PostgreSQL")
        print_environment(database, tmp)
        from extensions import keys
        with app.app_context():
            keyring = keys.ring
        pool = {"pool_size": max(CONNECTIONS) + 2, "max_overflow": 0}
        # The application's engine (domain.db.make_engine): on its connections the events
        # are chained inside the driver's commit (domain.pg_commit). The designs that write
        # when recorded need psycopg's own connection, where write_pending writes at once.
        app_engine = make_engine(database.url, **pool)
        engine = create_engine(database.url, **pool)
        begin_at_first_write(engine)
        results: dict[tuple[str, int], list[float]] = {}
        latencies: dict[tuple[str, int], list[float]] = {}
        shards = audit.SHARDS
        try:
            for round_number in range(ROUNDS):
                order = DESIGNS if round_number % 2 == 0 else tuple(reversed(DESIGNS))
                for label, design_shards, at_once in order:
                    audit.SHARDS = design_shards
                    for connections in CONNECTIONS:
                        rate, times = measure(engine if at_once else app_engine, keyring,
                                              connections, at_once)
                        results.setdefault((label, connections), []).append(rate)
                        latencies.setdefault((label, connections), []).extend(times)
        finally:
            audit.SHARDS = shards
        with Session(engine) as session:
            written = session.scalar(select(func.count()).select_from(AuditEvent))
            chains_used = session.scalar(select(func.count(AuditEvent.chain.distinct())))
            result = audit.verify(session, keyring)
        engine.dispose()
        app_engine.dispose()

    print_title(f"Audited transactions per second (event + {HOLD_S * 1000:.0f} ms held + "
                f"commit), {ROUNDS} rounds of {MEASURE_S:.0f} s per point, median of rounds")
    header = f"{'design':40} " + "".join(f"{f'{n} conn.':>11}" for n in CONNECTIONS)
    print(header + f"{'16 ÷ 1':>9}  {'p50/p99 ms at 16':>17}  target ≥ {TARGET_SPEEDUP:.0f}×")
    for label, _shards, _at_once in DESIGNS:
        rates = [median(results[(label, n)]) for n in CONNECTIONS]
        speedup = rates[-1] / rates[0]
        times = latencies[(label, CONNECTIONS[-1])]
        print(f"{label:40} " + "".join(f"{rate:11.1f}" for rate in rates)
              + f"{speedup:8.1f}×  {median(times) * 1000:7.1f} / "
              f"{percentile(times, 0.99) * 1000:6.1f}  {verdict(speedup >= TARGET_SPEEDUP)}")
    print(f"\nA transaction alone takes at least {HOLD_S * 1000:.0f} ms, so 1 connection "
          f"cannot exceed {1 / HOLD_S:.0f}/s and 16 cannot exceed {16 / HOLD_S:.0f}/s.")
    print(f"{written:,} events written in {chains_used} chains; audit verify afterwards: "
          f"{'OK' if result.ok else 'BROKEN'} ({result.checked:,} events checked"
          f"{'' if result.ok else ', ' + result.reason}).")
    print_finished("audit_throughput.py", started, cpu_started)


if __name__ == "__main__":
    main()
