"""The counts kept per person (domain/tallies.py): every write of a document or a measure
changes them with its rows, writers at the same time lose nothing, and verify() finds and
puts right a count that differs from its rows."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from domain import audit, measures, policy, tallies, vault
from domain.models import AuditEvent, Category, Document, Measure, Tally, User
from domain.storage import LocalBlobStore
from extensions import db, keys

ACTOR = audit.Actor(ip="127.0.0.1")


@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(tmp_path / "blobs")


def _people(session: Session) -> tuple[User, User]:
    users = {user.login: user for user in session.scalars(select(User)) if user.login}
    return users["camille.martin"], users["dr.bernard"]


def _add(session, store, tmp_path, patient, author, category, secret=False) -> Document:
    path = tmp_path / secrets.token_hex(4)
    path.write_bytes(b"%PDF-1.4 test")
    return vault.add_document(session, keys.ring, store, patient=patient, author=author,
                              path=path, size=13, kind="pdf", mimetype="application/pdf",
                              file_name="cr.pdf", title="Compte rendu", category=category,
                              document_date=date(2026, 3, 3), hidden=False, source="upload",
                              actor=ACTOR, secret_from_representatives=secret)


def _weigh(session, patient, kilograms=70) -> Measure:
    return measures.add(session, keys.ring, patient, measures.BY_KEY["weight"],
                        {"measured_on": "2026-03-01", "value": kilograms}, ACTOR)


def _reports_and_a_weight(store, tmp_path) -> tuple[User, User]:
    """Two reports in the patient's space (one kept secret from representatives, deposited
    by her doctor) and a weight; (patient, doctor)."""
    patient, doctor = _people(db.session)
    _add(db.session, store, tmp_path, patient, patient, Category.REPORTS)
    _add(db.session, store, tmp_path, patient, doctor, Category.REPORTS, secret=True)
    _weigh(db.session, patient)
    db.session.commit()
    return patient, doctor


def _rows_per_category(patient: User, representative: bool = False) -> Counter:
    """What the counts must say, counted from the rows."""
    return Counter(document.category for document in db.session.scalars(
        select(Document).where(Document.patient_id == patient.id))
        if not (representative and document.secret_from_representatives))


def test_the_counts_follow_every_write_of_a_document(app, demo_users, store, tmp_path):
    with app.app_context():
        patient, doctor = _people(db.session)
        first = [_add(db.session, store, tmp_path, patient, patient, Category.PRESCRIPTIONS)
                 for _ in range(3)]
        _add(db.session, store, tmp_path, patient, doctor, Category.LAB_RESULTS)
        secret = _add(db.session, store, tmp_path, patient, doctor, Category.LAB_RESULTS,
                      secret=True)
        db.session.commit()
        vault.update_document(db.session, keys.ring, patient, first[0], title="Radio",
                              category=Category.IMAGING, document_date=date(2026, 3, 3),
                              actor=ACTOR)
        vault.update_document(db.session, keys.ring, patient, first[1], title="Même",
                              category=Category.PRESCRIPTIONS,
                              document_date=date(2026, 3, 3), actor=ACTOR)
        db.session.commit()
        vault.delete_document(db.session, keys.ring, store, first[2], ACTOR)
        mine = tallies.documents(db.session, patient.id)
        assert mine == {Category.PRESCRIPTIONS: 1, Category.IMAGING: 1,
                        Category.LAB_RESULTS: 2} == _rows_per_category(patient)
        for_representative = tallies.documents(db.session, patient.id, representative=True)
        assert for_representative == {Category.PRESCRIPTIONS: 1, Category.IMAGING: 1,
                                      Category.LAB_RESULTS: 1}
        assert for_representative == _rows_per_category(patient, representative=True)
        page = vault.documents_page(db.session, keys.ring, patient, representative=True)
        assert page.counts == for_representative and page.total == 3
        filtered = vault.documents_page(db.session, keys.ring, patient,
                                        category=Category.LAB_RESULTS)
        assert filtered.total == 2 and len(filtered.items) == 2
        vault.delete_document(db.session, keys.ring, store, secret, ACTOR)
        assert tallies.documents(db.session, patient.id)[Category.LAB_RESULTS] == 1
        # A category emptied is left out, as when the rows were counted.
        vault.delete_document(db.session, keys.ring, store, first[0], ACTOR)
        assert Category.IMAGING not in tallies.documents(db.session, patient.id)
        assert tallies.verify(db.session) == []


def test_a_document_moved_by_another_request_is_counted_off_where_it_is_now(
        app, demo_users, store, tmp_path):
    """Two people edit the same document from pages loaded before either saved: the
    second takes it off the count it is in when saved, not the one it was loaded in."""
    with app.app_context():
        patient, _doctor = _people(db.session)
        document = _add(db.session, store, tmp_path, patient, patient, Category.REPORTS)
        db.session.commit()
        stale = db.session.get(Document, document.id)  # loaded as a report
        with Session(db.engine) as other:
            moved = other.get(Document, document.id)
            vault.update_document(other, keys.ring, other.get(User, patient.id), moved,
                                  title="Bilan", category=Category.LAB_RESULTS,
                                  document_date=date(2026, 3, 3), actor=ACTOR)
            other.commit()
        vault.update_document(db.session, keys.ring, patient, stale, title="Radio",
                              category=Category.IMAGING, document_date=date(2026, 3, 3),
                              actor=ACTOR)
        db.session.commit()
        assert tallies.documents(db.session, patient.id) == {Category.IMAGING: 1}
        assert tallies.verify(db.session) == []


def test_the_measures_count_follows_adds_and_deletes_and_counts_a_measure_off_once(
        app, demo_users):
    with app.app_context():
        patient, _doctor = _people(db.session)
        added = [_weigh(db.session, patient, 70 + index) for index in range(3)]
        db.session.commit()
        assert tallies.measures(db.session, patient.id, "weight") == 3
        assert tallies.measures(db.session, patient.id, "height") == 0
        views = [measures.get(db.session, keys.ring, patient, patient, measure.id,
                              policy.ProfileAction.DELETE, ACTOR) for measure in added[:2]]
        assert measures.delete(db.session, keys.ring, patient, views[0], ACTOR)
        db.session.commit()
        # Deleted by another request after this one loaded it: nothing more is done.
        with Session(db.engine) as other:
            owner = other.get(User, patient.id)
            assert measures.delete(other, keys.ring, owner, measures.get(
                other, keys.ring, owner, owner, views[1].id, policy.ProfileAction.DELETE,
                ACTOR), ACTOR)
            other.commit()
        assert not measures.delete(db.session, keys.ring, patient, views[1], ACTOR)
        db.session.commit()
        assert tallies.measures(db.session, patient.id, "weight") == 1
        _items, total, _page, pages = measures.history_page(
            db.session, keys.ring, patient, measures.BY_KEY["weight"], 1, 20)
        assert (total, pages) == (1, 1)
        deleted = db.session.scalars(select(AuditEvent.target_id).where(
            AuditEvent.action == "profile.measure_deleted")).all()
        assert sorted(deleted) == sorted(view.id for view in views)  # once each
        assert tallies.verify(db.session) == []


def test_verify_finds_a_count_that_differs_and_repair_adds_the_difference(
        app, demo_users, store, tmp_path):
    with app.app_context():
        patient, doctor = _reports_and_a_weight(store, tmp_path)
        assert tallies.verify(db.session) == []
        db.session.execute(update(Tally).where(Tally.name == "documents/reports")
                           .values(total=7))
        db.session.execute(delete(Tally).where(Tally.name == "measures/weight"))
        db.session.add(Tally(patient_id=doctor.id, name="measures/height", total=2))
        db.session.commit()
        expected = [tallies.Drift(patient.id, "documents/reports", 7, 1),
                    tallies.Drift(patient.id, "measures/weight", 0, 1),
                    tallies.Drift(doctor.id, "measures/height", 2, 0)]
        assert sorted(tallies.verify(db.session), key=repr) == sorted(expected, key=repr)
        assert tallies.verify(db.session, repair=True)
        db.session.commit()
        assert tallies.verify(db.session) == []
        assert tallies.documents(db.session, patient.id) == {Category.REPORTS: 2}
        assert tallies.measures(db.session, patient.id, "weight") == 1


def test_a_repair_loses_nothing_written_while_it_runs(app, demo_users, store, tmp_path,
                                                      monkeypatch):
    """Between the statement that finds a count wrong and the repair's write, another
    request adds a document to that count: the repair adds the difference it found, so the
    new document stays counted."""
    with app.app_context():
        patient, _doctor = _people(db.session)
        _add(db.session, store, tmp_path, patient, patient, Category.REPORTS)
        db.session.commit()
        db.session.execute(update(Tally).values(total=5))  # wrong by 4
        db.session.commit()
        real_add_many = tallies._add_many  # noqa: SLF001

        def meanwhile(session, changes):
            monkeypatch.setattr(tallies, "_add_many", real_add_many)
            with Session(db.engine) as other:
                _add(other, store, tmp_path, other.get(User, patient.id), patient,
                     Category.REPORTS)
                other.commit()
            real_add_many(session, changes)

        monkeypatch.setattr(tallies, "_add_many", meanwhile)
        assert tallies.verify(db.session, repair=True) == [
            tallies.Drift(patient.id, "documents/reports", 5, 1)]
        db.session.commit()
        assert tallies.documents(db.session, patient.id) == {Category.REPORTS: 2}
        assert tallies.verify(db.session) == []


def test_writers_at_the_same_time_lose_no_count(app, demo_users, store, tmp_path):
    """Two requests add documents of the same category to one person at the same time,
    the first of them making the count (on PostgreSQL, one waits for the other's row)."""
    with app.app_context():
        engine = db.engine
        patient_id = _people(db.session)[0].id
    errors: list[BaseException] = []

    def writer(folder):
        try:
            with app.app_context(), Session(engine) as session:
                patient = session.get(User, patient_id)
                for _ in range(5):
                    _add(session, store, folder, patient, patient, Category.OTHER)
                    session.commit()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    folders = [tmp_path / name for name in ("a", "b")]
    threads = [threading.Thread(target=writer, args=(folder,)) for folder in folders]
    for folder, thread in zip(folders, threads, strict=True):
        folder.mkdir()
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with app.app_context():
        assert tallies.documents(db.session, patient_id) == {Category.OTHER: 10}
        assert tallies.verify(db.session) == []


def test_the_migration_counts_the_rows_already_there(app, demo_users, store, tmp_path):
    from alembic import command

    from web.cli import alembic_config

    with app.app_context():
        patient, doctor = _reports_and_a_weight(store, tmp_path)
        expected = db.session.execute(select(Tally.patient_id, Tally.name, Tally.total)
                                      .order_by(Tally.name)).all()
        db.session.close()
        config = alembic_config(app.config["DATABASE_URL"])
        command.downgrade(config, "0025")
        command.upgrade(config, "head")
        again = db.session.execute(select(Tally.patient_id, Tally.name, Tally.total)
                                   .order_by(Tally.name)).all()
        assert again == expected and len(again) == 3
        assert tallies.verify(db.session) == []


def test_erasing_a_person_takes_their_counts_whatever_the_foreign_keys_do(
        app, demo_users, store, tmp_path):
    """closing.erase_user deletes what hangs on the account itself, as for its measures:
    with the foreign keys' cascade switched off, the counts still go. On a connection of
    its own, closed afterwards: it never goes back to the pool with the keys off."""
    from domain import closing

    with app.app_context():
        patient_id = _reports_and_a_weight(store, tmp_path)[0].id
        with db.engine.connect() as connection:
            connection.exec_driver_sql(
                "PRAGMA foreign_keys=OFF" if connection.dialect.name == "sqlite"
                else "SET session_replication_role = replica")
            with Session(bind=connection) as session:
                session.execute(delete(Document).where(Document.patient_id == patient_id))
                closing.erase_user(session, patient_id)
                left = session.scalars(select(Tally).where(
                    Tally.patient_id == patient_id)).all()
                session.commit()
            connection.invalidate()
        assert left == []
