"""A person's lists read their indexes in order: the statements behind the documents page,
a professional's patient page, the dashboard's news, the measures pages and the agenda's
next item and planned vaccinations never sort or scan every row of the person
(benchmarks/growth.py times them as a space grows). Each test asks the database for its
plan; it fails when an index is gone or a statement stops matching one.

On SQLite (the whole suite's first pass), EXPLAIN QUERY PLAN names the index each statement
reads and any temporary B-tree (a sort): the planner has no statistics here, so it picks
by the shape of the statement and the indexes alone, and the tests name the index. On
PostgreSQL the planner prices a table of a few test rows, where any index will do and the
one it takes depends on what earlier tests left; scans and sorts are priced out of its
choice (enable_seqscan, enable_sort off), and the tests check that the plan still neither
sorts nor scans the table: a plan that sorts had no index in the statement's order.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from domain import agenda, measures, news, tallies, vault
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


def _on_sqlite() -> bool:
    return db.session.connection().dialect.name == "sqlite"


def _uses(plan: str, index: str) -> None:
    """SQLite reads `index` (see the module's docstring for PostgreSQL)."""
    if _on_sqlite():
        assert index in plan, plan


def _reads_in_order(plan: str, index: str) -> None:
    _uses(plan, index)
    assert "TEMP B-TREE" not in plan, plan  # SQLite: a sort of the rows found
    assert "Sort" not in plan, plan  # PostgreSQL
    assert "Seq Scan" not in plan and "SCAN documents" not in plan, plan
    assert "SCAN measures" not in plan and "SCAN audit_events" not in plan, plan


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


def test_the_kept_counts_are_read_by_the_persons_key(app):
    """The counts per category and a measure's total read the person's few kept counts
    (domain.tallies), never the documents or the measures."""
    with app.app_context():
        for statement, parameters in (
                (tallies._DOCUMENT_COUNTS, {"patient_id": PATIENT}),  # noqa: SLF001
                (tallies._ONE, {"patient_id": PATIENT, "name": "measures/weight"})):  # noqa: SLF001
            plan = _plan(statement, parameters)
            assert not re.search(r"\b(?:on|SCAN|SEARCH) (?:documents|measures)\b", plan), plan
            assert "SCAN tallies" not in plan and "Seq Scan" not in plan, plan
            if _on_sqlite():
                assert "SEARCH tallies USING" in plan, plan
        db.session.rollback()


def test_a_professionals_page_reads_the_newest_documents_first_without_sorting(app):
    with app.app_context():
        _reads_in_order(_plan(vault.NEWEST_FIRST, {"patient_id": PATIENT, "offset": 0,
                                                   "limit": 21}),
                        "ix_documents_patient_listed")
        db.session.rollback()


def test_the_news_read_the_sign_ins_and_the_new_documents_only(app):
    with app.app_context():
        plan = _plan(news._COUNTS, {  # noqa: SLF001
            "user_id": PATIENT, "window_start": datetime(2026, 1, 1, tzinfo=UTC),
            **_agenda_parameters()})
        _uses(plan, "ix_audit_events_sign_ins")
        _uses(plan, "ix_documents_patient_deposited")
        for table in ("audit_events", "documents"):  # (the agenda's next item may sort)
            assert f"SCAN {table}" not in plan and f"Seq Scan on {table}" not in plan, plan
        db.session.rollback()


def _agenda_parameters() -> dict:
    """The next agenda item's parameters, as the dashboard gives them."""
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
        _reads_in_order(plan, "ix_measures_patient_kind_listed")
        if _on_sqlite():
            assert plan.count("ix_measures_patient_kind_listed") == len(kinds), plan
        db.session.rollback()


def test_the_next_agenda_item_is_a_range_from_today_and_the_planned_ones_are_reminders(app):
    """The dashboard's next item reads the patient's items from today on, in the index's
    order; the vaccinations already planned read the patient's reminders only."""
    with app.app_context():
        plan = _plan(Prepared(select(agenda.NEXT_SOURCE)), _agenda_parameters())
        assert "Seq Scan" not in plan and "SCAN agenda_items" not in plan, plan
        if _on_sqlite():
            assert "ix_agenda_items_patient_day (patient_id=? AND day>?)" in plan, plan
        else:
            assert "Index Cond: (((patient_id)::text = " in plan and "(day >= " in plan, plan
        plan = _plan(agenda._REMINDERS, {"patient_id": PATIENT})  # noqa: SLF001
        _uses(plan, "ix_agenda_items_patient_kind_day (patient_id=? AND kind=?)")
        assert "Seq Scan" not in plan and "SCAN agenda_items" not in plan, plan
        if not _on_sqlite():
            assert "(kind)::text = " in plan.split("Index Cond:", 1)[-1], plan
        db.session.rollback()
