"""extensions.RequestSession, `db.session` in a request: the connection first, the ORM
session only when something needs it, and the same transaction either way."""

from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, insert, select

from domain import audit
from domain.db import Prepared, read_rows
from domain.models import AuditEvent, AuditHead, Conversation, WebSession
from extensions import RequestSession, db, keys
from tests.blueprints.documents.test_vault_pages import png, upload
from tests.blueprints.pro.test_patients import declare, deposit
from tests.conftest import csrf_from

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
MARKED = Prepared(select(func.count()).select_from(WebSession)
                  .where(WebSession.data == bindparam("mark")))
_COLUMNS = WebSession.__table__.c
ADD = Prepared(insert(WebSession).values(
    {name: bindparam(name, type_=_COLUMNS[name].type)
     for name in ("id", "token_hash", "data", "created_at", "last_seen")}))


def _row(number: int, mark: str) -> dict:
    return {"id": f"request-session-{number}", "token_hash": f"{number:064x}", "data": mark,
            "created_at": NOW, "last_seen": NOW}


@contextmanager
def _orm_sessions_made(app):
    """The app's session factory replaced, while inside, by one that notes each ORM
    session it makes (the list yielded)."""
    engine, factory = app.extensions["carnet_db"]
    made: list = []

    class Counting:
        def __call__(self, **options):
            made.append(options)
            return factory(**options)

        def __getattr__(self, name):
            return getattr(factory, name)

    app.extensions["carnet_db"] = (engine, Counting())
    try:
        yield made
    finally:
        app.extensions["carnet_db"] = (engine, factory)


def _committed(app, model, where) -> int:
    """The rows matching `where`, read on a connection of their own (what is committed)."""
    with app.extensions["carnet_db"][0].connect() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(where))


def _marked(app, mark: str) -> int:
    return _committed(app, WebSession, WebSession.data == mark)


def test_a_signed_in_page_read_with_prepared_statements_makes_no_orm_session(signed_in, app):
    client = signed_in("camille.martin")
    assert upload(client, png(), "genou.png").status_code == 303
    listing = client.get("/documents").get_data(as_text=True)
    document_id = re.search(r"/documents/([0-9a-f]{32})/fichier", listing).group(1)
    engine = app.extensions["carnet_db"][0]
    with _orm_sessions_made(app) as made:
        assert client.get("/mon-espace").status_code == 200
        assert made == []  # its web session and its counts: the connection alone
        assert client.get("/profil").status_code == 200
        assert made == []  # read, then committed (nothing was written): no ORM session
        # The form that changes a document shows the ORM row its POST would write.
        assert client.get(f"/documents/{document_id}/modifier").status_code == 200
        assert len(made) == 1  # a page that loads mapped objects makes one
    assert engine.pool.checkedout() == 0  # every connection given back at the request's end


def test_the_orm_session_comes_on_the_connection_and_commits_what_was_written_before(app):
    with app.app_context():
        session = db.session
        assert isinstance(session, RequestSession) and not session.holds_orm()
        connection = session.connection()
        ADD.run(session, _row(1, "before-orm"))  # a write before any ORM session
        assert not session.holds_orm()
        assert session.get_bind().dialect.name == connection.dialect.name
        # The ORM session is made on the same connection: it sees the write, in the same
        # transaction, and its commit keeps both.
        session.add(WebSession(**_row(2, "before-orm")))
        assert session.holds_orm() and session.connection() is connection
        assert MARKED.first(session, {"mark": "before-orm"})[0] == 2  # flushed first
        session.commit()
    assert _marked(app, "before-orm") == 2


def test_a_request_that_does_not_commit_keeps_nothing(app):
    engine = app.extensions["carnet_db"][0]
    with app.app_context():
        ADD.run(db.session, _row(3, "never-committed"))  # connection alone, then closed
    with app.app_context():
        ADD.run(db.session, _row(4, "rolled-back"))
        db.session.add(WebSession(**_row(5, "rolled-back")))
        db.session.flush()
        db.session.rollback()  # the ORM session's rollback takes the earlier write too
        assert MARKED.first(db.session, {"mark": "rolled-back"})[0] == 0
    assert _marked(app, "never-committed") == 0 and _marked(app, "rolled-back") == 0
    assert engine.pool.checkedout() == 0


def test_closing_gives_the_connection_back_and_the_next_use_takes_another(app):
    engine = app.extensions["carnet_db"][0]
    with app.app_context():
        session = db.session
        session.connection()
        session.add(WebSession(**_row(6, "after-close")))
        assert engine.pool.checkedout() == 1
        session.close()  # what a long download does before it streams
        assert engine.pool.checkedout() == 0 and not session.holds_orm()
        assert list(session) == [] and WebSession() not in session
        ADD.run(session, _row(7, "after-close"))
        session.commit()
        assert engine.pool.checkedout() == 1
    assert _marked(app, "after-close") == 1  # the object added before the close is gone
    assert engine.pool.checkedout() == 0


def test_a_write_on_the_connection_alone_is_committed_without_an_orm_session(app):
    with app.app_context():
        session = db.session
        ADD.run(session, _row(8, "connection-alone"))  # the driver began a transaction
        session.commit()
        assert not session.holds_orm() and _marked(app, "connection-alone") == 1
        # A read through SQLAlchemy's Connection begins its own transaction: the write
        # after it is committed through it.
        read_rows(session, select(func.count()).select_from(WebSession))
        ADD.run(session, _row(9, "connection-alone"))
        session.commit()
        ADD.run(session, _row(10, "connection-alone"))  # never committed
        assert not session.holds_orm()
    assert _marked(app, "connection-alone") == 2


def test_an_orm_session_made_for_something_else_still_commits_the_connections_write(app):
    with app.app_context():
        session = db.session
        ADD.run(session, _row(11, "orm-made-late"))
        assert not session.dirty  # the ORM session made, for nothing it reads
        session.commit()
        assert session.holds_orm()
    assert _marked(app, "orm-made-late") == 1


def _events(app, action: str) -> int:
    return _committed(app, AuditEvent, AuditEvent.action == action)


def test_an_audited_page_writes_its_chained_events_without_an_orm_session(signed_in, app):
    client = signed_in("camille.martin")
    client.get("/agenda")
    before = _events(app, "agenda.read")
    engine = app.extensions["carnet_db"][0]
    with _orm_sessions_made(app) as made:
        assert client.get("/agenda").status_code == 200
        assert made == []  # the event waited in the request's own info, then was written
    assert _events(app, "agenda.read") == before + 1
    with app.app_context():
        assert audit.verify(db.session, keys.ring).ok
    assert engine.pool.checkedout() == 0


def _record(session, action: str) -> None:
    audit.record(session, keys.ring, action, subject_id="f" * 32, now=NOW)


def test_events_recorded_without_an_orm_session_are_written_once_at_the_commit(app):
    with app.app_context():
        session = db.session
        _record(session, "test.alone")
        assert not session.holds_orm() and _events(app, "test.alone") == 0  # not yet
        session.commit()
        assert not session.holds_orm()
        session.commit()  # nothing left waiting: nothing written twice
    assert _events(app, "test.alone") == 1
    with app.app_context():
        # Recorded before the ORM session is made: it takes them over and writes them once.
        session = db.session
        _record(session, "test.handed-over")
        session.add(WebSession(**_row(12, "handed-over")))
        assert session.holds_orm()
        session.commit()
    assert _events(app, "test.handed-over") == 1 and _marked(app, "handed-over") == 1
    with app.app_context():
        assert audit.verify(db.session, keys.ring).ok


def test_events_recorded_without_an_orm_session_go_with_a_rollback_or_a_close(app):
    with app.app_context():
        session = db.session
        ADD.run(session, _row(13, "rolled-back-alone"))
        _record(session, "test.rolled-back")
        session.rollback()
        assert not session.holds_orm()
        session.commit()
        _record(session, "test.closed")
        session.close()
        session.commit()
    assert _events(app, "test.rolled-back") == 0 and _marked(app, "rolled-back-alone") == 0
    assert _events(app, "test.closed") == 0


def test_a_chain_head_missing_at_the_commit_is_made_and_the_event_written_once(app):
    """A database emptied by hand may lack a head (this suite empties it before each
    test): it is made on the connection, in the commit's transaction."""
    chain = audit.chain_for("e" * 32)
    with app.app_context():
        db.session.execute(delete(AuditHead).where(AuditHead.id == chain))
        db.session.commit()
    with app.app_context():
        session = db.session
        audit.record(session, keys.ring, "test.head-made", subject_id="e" * 32, now=NOW)
        session.commit()
        assert not session.holds_orm()
    assert _events(app, "test.head-made") == 1
    with app.app_context():
        assert audit.verify(db.session, keys.ring).ok
        assert db.session.get(AuditHead, chain).seq >= 1


def test_an_event_has_a_field_for_each_column_of_its_row():
    names = [field.name for field in dataclasses.fields(audit.Event)]
    assert sorted(names) == sorted(column.key for column in AuditEvent.__table__.columns)


def test_the_frequent_reads_of_a_space_make_no_orm_session(signed_in, app):
    """A professional's patient page and forms, a document's page, preview and download
    for its patient and for a professional, one's sessions, passkeys and recovery codes,
    the connected services, the agenda's export page, the PDF summary's state and the
    desk's home: rows read with Prepared statements, never ORM objects (nor the ORM session
    they would need)."""
    doctor = signed_in("dr.bernard")
    patient_id = declare(doctor, app)
    assert deposit(doctor, patient_id).status_code == 303
    owner = signed_in("camille.martin")
    listing = owner.get("/documents").get_data(as_text=True)
    document_id = re.search(r"/documents/([0-9a-f]{32})/fichier", listing).group(1)
    form = doctor.get(f"/pro/patients/{patient_id}/ecrire").get_data(as_text=True)
    written = doctor.post(f"/pro/patients/{patient_id}/ecrire", data={
        "csrf_token": csrf_from(form), "subject": "Résultats", "body": "Ils sont normaux."})
    conversation_id = written.headers["Location"].rsplit("/", 1)[1]
    adviser = signed_in("conseil.durand")
    pages = [(doctor, f"/pro/patients/{patient_id}"),
             (owner, f"/messagerie/{conversation_id}"),
             (doctor, f"/pro/messagerie/{conversation_id}"),
             (doctor, f"/pro/patients/{patient_id}/deposer"),
             (doctor, f"/pro/patients/{patient_id}/ecrire"),
             (doctor, f"/pro/patients/{patient_id}/documents/{document_id}"),
             (owner, f"/documents/{document_id}"), (owner, f"/documents/{document_id}/fichier"),
             (owner, f"/documents/{document_id}/apercu"), (owner, "/mon-compte/sessions"),
             (owner, "/mon-compte/cles-d-acces"), (owner, "/mon-compte/codes-de-secours"),
             (owner, "/services-connectes"), (owner, "/agenda/exporter"),
             (owner, "/profil/resume/etat"),
             (adviser, "/conseiller")]
    engine = app.extensions["carnet_db"][0]
    with _orm_sessions_made(app) as made:
        for client, path in pages:
            assert client.get(path).status_code == 200, path
            assert made == [], path
    with app.app_context():
        assert audit.verify(db.session, keys.ring).ok  # each read audited, chained
        read = db.session.get(Conversation, conversation_id)  # marked read, both sides
        assert (read.patient_unread, read.professional_unread) == (0, 0)
        assert read.patient_read_at is not None
    assert engine.pool.checkedout() == 0
