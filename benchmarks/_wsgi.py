"""WSGI entry for benchmarks/load.py: the app on the temporary instance named by BENCH_TMP,
on the database BENCH_DATABASE_URL names (the instance's SQLite file if empty).

load.py creates the instance (keys, secret, migrated and seeded database) before starting
gunicorn, so every worker only reads it.
"""

from __future__ import annotations

import os

from benchmarks._common import build_app

app = build_app(os.environ["BENCH_TMP"], os.environ.get("BENCH_DATABASE_URL") or None)
