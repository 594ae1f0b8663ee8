"""Counts kept as rows change: how many documents a person has in each category (apart,
those kept secret from their representatives) and how many measures of each kind.

A documents page shows its count per category, and a measure's history its number of
pages. Counted from the rows, each grew with every document and measure of the person
(benchmarks/growth.py: on PostgreSQL, 1.4× the page's time from 200 to 5,000 documents);
read from here, they cost a few rows whatever the person has.

A count changes in the transaction that changes its rows (domain/vault.py and
domain/measures.py, the only places that write them), by one statement that adds to it
(an upsert), so writers at the same time never lose each other's change. A transaction
changes its counts in name order, and takes the audit heads only when it commits
(domain/audit.py): two writers never wait for each other in a cycle.

`verify` compares each count with its rows in one statement, so it sees one moment even
while people write; `repair` adds the difference, by the same statement as writers, so a
repair on a live site loses nothing written meanwhile (`flask vault verify --repair`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import String, bindparam, case, func, literal, select, type_coerce, union_all
from sqlalchemy.orm import Session

from domain.db import Prepared, insert_for
from domain.models import Category, Document, Measure, Tally

DOCUMENTS = "documents/"
MEASURES = "measures/"
NOT_FOR_REPRESENTATIVES = "/secret"


def documents_name(category: Category, secret: bool) -> str:
    """The count of a person's documents of one category, kept secret from their
    representatives or not."""
    return f"{DOCUMENTS}{category.value}{NOT_FOR_REPRESENTATIVES if secret else ''}"


def measures_name(kind: str) -> str:
    """The count of a person's measures of one kind."""
    return f"{MEASURES}{kind}"


# The same names, written by the database from the rows (for verify()).
_DOCUMENTS_NAME = (literal(DOCUMENTS, String) + type_coerce(Document.category, String)
                   + case((Document.secret_from_representatives,
                           literal(NOT_FOR_REPRESENTATIVES, String)), else_=literal("", String)))
_MEASURES_NAME = literal(MEASURES, String) + Measure.kind


@cache
def _add(dialect: str) -> Prepared:
    """Add `delta` to a count, made at 0 if the person had none (once per dialect)."""
    row = insert_for(dialect)(Tally).values(
        patient_id=bindparam("patient_id"), name=bindparam("name"), total=bindparam("delta"))
    return Prepared(row.on_conflict_do_update(
        index_elements=[Tally.patient_id, Tally.name],
        set_={"total": Tally.total + row.excluded.total}))


def change(session: Session, patient_id: str, deltas: dict[str, int]) -> None:
    """Add each delta to the person's count of that name, in name order."""
    _add_many(session, [(patient_id, name, delta) for name, delta in sorted(deltas.items())
                        if delta])


def _add_many(session: Session, changes: Iterable[tuple[str, str, int]]) -> None:
    rows = [{"patient_id": patient_id, "name": name, "delta": delta}
            for patient_id, name, delta in changes]
    _add(session.get_bind().dialect.name).run_many(session, rows)


_DOCUMENT_COUNTS = Prepared(select(Tally.name, Tally.total).where(
    Tally.patient_id == bindparam("patient_id"), Tally.name.startswith(DOCUMENTS),
    Tally.total > 0))
_ONE = Prepared(select(Tally.total).where(Tally.patient_id == bindparam("patient_id"),
                                          Tally.name == bindparam("name")))


def documents(session: Session, patient_id: str, *,
              representative: bool = False) -> dict[Category, int]:
    """The person's documents per category (categories they have none of are left out);
    for someone acting for them, without those kept secret from representatives."""
    counts: dict[Category, int] = {}
    for name, total in _DOCUMENT_COUNTS.all(session, {"patient_id": patient_id}):
        category, _, secret = name.removeprefix(DOCUMENTS).partition("/")
        if not (secret and representative):
            counts[Category(category)] = counts.get(Category(category), 0) + total
    return counts


def measures(session: Session, patient_id: str, kind: str) -> int:
    """How many measures of this kind the person has."""
    row = _ONE.first(session, {"patient_id": patient_id, "name": measures_name(kind)})
    return row.total if row else 0


@dataclass(frozen=True)
class Drift:
    """A count that differs from its rows: what it says, and what the rows say."""

    patient_id: str
    name: str
    kept: int
    counted: int


def _drifts():
    kept = select(Tally.patient_id, Tally.name, Tally.total.label("kept"),
                  literal(0).label("counted"))
    documents_counted = (select(Document.patient_id, _DOCUMENTS_NAME, literal(0),
                                func.count())
                         .group_by(Document.patient_id, Document.category,
                                   Document.secret_from_representatives))
    measures_counted = (select(Measure.patient_id, _MEASURES_NAME, literal(0), func.count())
                        .group_by(Measure.patient_id, Measure.kind))
    both = union_all(kept, documents_counted, measures_counted).subquery("both")
    return (select(both.c.patient_id, both.c.name, func.sum(both.c.kept).label("kept"),
                   func.sum(both.c.counted).label("counted"))
            .group_by(both.c.patient_id, both.c.name)
            .having(func.sum(both.c.kept) != func.sum(both.c.counted))
            .order_by(both.c.patient_id, both.c.name))


def verify(session: Session, *, repair: bool = False) -> list[Drift]:
    """Every count that differs from its rows, read in one statement (one moment, even
    while people write). With `repair`, each is put right by adding the difference, as a
    writer would: what is written after that moment was counted by its own writer."""
    drifts = [Drift(row.patient_id, row.name, int(row.kept), int(row.counted))
              for row in session.execute(_drifts())]
    if repair:
        _add_many(session, [(drift.patient_id, drift.name, drift.counted - drift.kept)
                            for drift in drifts])
    return drifts
