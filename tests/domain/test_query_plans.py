"""A person's lists read their indexes in order: the statements behind the documents page,
a professional's patient page, the dashboard's news and the measures pages never sort or
scan every row of the person (benchmarks/growth.py times them as a space grows). Each
test asks the database for its plan; it fails when an index is gone or a statement stops
matching one.

On SQLite, EXPLAIN QUERY PLAN names the index and any temporary B-tree (a sort). On
PostgreSQL, the planner would rather scan a tiny test table than use any index, so scans
and sorts are priced out of its choice (enable_seqscan, enable_sort off): a plan that still
sorts, or names another index, had no index to use.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import measures, news, vault
from domain.db import Prepared, _for_driver
from extensions import db

PATIENT = "0" * 32


def _plan(statement, parameters: dict) -> str:
    """The plan of `statement` (a Prepared, or a select) with these parameters, as text."""
    prepared = statement if isinstance(statement, Prepared) else Prepared(statement)
    connection = db.session.connection()
    made = prepared._compiled(connection.dialect)  # noqa: SLF001 - the SQL it runs
    arguments = _for_driver(made, parameters)
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {made[0]}", arguments)
        return "\n".join(row[-1] for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    rows = connection.exec_driver_sql(f"EXPLAIN {made[0]}", arguments)
    return "\n".join(row[0] for row in rows)


def _reads_in_order(plan: str, index: str) -> None:
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # SQLite: a sort of the rows found
    assert "Sort" not in plan, plan  # PostgreSQL
    assert "Seq Scan" not in plan and "SCAN documents" not in plan, plan


@pytest.mark.parametrize("representative", [False, True])
def test_a_page_of_documents_is_read_in_the_index_order(app, representative):
    with app.app_context():
        sql = vault._list_sql(representative, False)  # noqa: SLF001
        _reads_in_order(_plan(sql.page, {"patient_id": PATIENT, "offset": 20, "limit": 20}),
                        "ix_documents_patient_listed")
        by_category = vault._list_sql(representative, True)  # noqa: SLF001
        _reads_in_order(_plan(by_category.page, {"patient_id": PATIENT, "category": "reports",
                                                 "offset": 0, "limit": 20}),
                        "ix_documents_patient_category_listed")
        db.session.rollback()


def test_the_counts_per_category_read_one_index_only(app):
    with app.app_context():
        plan = _plan(vault._list_sql(False, False).counts, {"patient_id": PATIENT})  # noqa: SLF001
        assert "ix_documents_patient_category_listed" in plan, plan
        # SQLite reads the index alone (no row); PostgreSQL may still visit rows that its
        # visibility map does not cover, but through the same index, in its order.
        assert "COVERING INDEX" in plan or "Index Only Scan" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
        db.session.rollback()


def test_a_professionals_page_reads_the_newest_documents_first_without_sorting(app):
    with app.app_context():
        _reads_in_order(_plan(vault.NEWEST_FIRST, {"patient_id": PATIENT}),
                        "ix_documents_patient_listed")
        db.session.rollback()


def test_the_news_read_the_sign_ins_and_the_new_documents_only(app):
    with app.app_context():
        plan = _plan(news._COUNTS, {  # noqa: SLF001
            "user_id": PATIENT, "window_start": datetime(2026, 1, 1, tzinfo=UTC),
            **_agenda_parameters()})
        assert "ix_audit_events_sign_ins" in plan, plan
        assert "ix_documents_patient_deposited" in plan, plan
        db.session.rollback()


def _agenda_parameters() -> dict:
    """The next agenda item's parameters, as the dashboard gives them."""
    from domain import agenda
    from domain.models import User

    return agenda.next_parameters(User(id=PATIENT), datetime(2026, 3, 1, 12, tzinfo=UTC))


def test_a_measures_page_and_the_latest_measures_read_the_index_from_its_end(app):
    with app.app_context():
        mine = {"patient_id": PATIENT, "kind": "weight"}
        _reads_in_order(_plan(measures._PAGE, {**mine, "offset": 0, "limit": 20}),  # noqa: SLF001
                        "ix_measures_patient_kind_listed")
        kinds = [kind.key for kind in measures.KINDS]
        plan = _plan(measures._latest_statement(len(kinds)),  # noqa: SLF001
                     {"patient_id": PATIENT, **{f"kind{i}": k for i, k in enumerate(kinds)}})
        assert plan.count("ix_measures_patient_kind_listed") >= len(kinds), plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
        db.session.rollback()
