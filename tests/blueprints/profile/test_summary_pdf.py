"""The PDF summary made off the request: a waiting page at once, the PDF once made, kept
sealed until the profile, the day or the language changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, event, select

from domain import summary_pdf
from domain.models import AuditEvent, SummaryPdf, User
from domain.models.base import utcnow
from extensions import db, keys
from tests.audit_trail import AUDIT_ORDER
from tests.blueprints.profile.summary_client import (
    HTMX,
    PDF,
    STATUS,
    fetch_pdf,
    wait_until_made,
)
from tests.blueprints.profile.test_profile_pages import add_ok
from tests.html_checks import check_page
from web import summary_jobs

PATIENT = "camille.martin"


def _row(app) -> SummaryPdf | None:
    with app.app_context():
        row = db.session.scalars(select(SummaryPdf)).first()
        db.session.expunge_all()
        return row


def test_the_waiting_page_comes_at_once_then_the_pdf_kept_sealed(signed_in, app):
    client = signed_in(PATIENT)
    first = client.get(PDF)
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and first.mimetype == "text/html"
    assert check_page(html) == [] and "<title>Votre résumé PDF est en préparation" in html
    assert 'hx-trigger="every 2s"' in html and f'href="{PDF}"' in html
    assert "<progress" in html and 'role="status"' in html
    wait_until_made(client)
    ready = client.get(STATUS, headers=HTMX)
    assert ready.status_code == 286 and "Votre résumé est prêt" in ready.get_data(as_text=True)
    # Without JavaScript, the status address is the whole page.
    page = client.get(STATUS).get_data(as_text=True)
    assert check_page(page) == [] and "Votre résumé est prêt" in page
    response = client.get(PDF)
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    row = _row(app)
    assert row.state == summary_pdf.READY and b"%PDF" not in row.content_sealed
    assert b"Camille" not in row.content_sealed
    # Asked again: the same PDF, from what was kept, audited each time it is handed out.
    assert client.get(PDF).data == response.data
    with app.app_context():
        patient = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "profile.summary").order_by(*AUDIT_ORDER)).all()
        assert [(event.subject_id, event.details) for event in events] == [
            (patient.id, '{"output":"pdf"}')] * 2


def test_a_change_of_the_profile_or_the_language_makes_a_new_one(signed_in, app):
    client = signed_in(PATIENT)
    before = fetch_pdf(client).data
    fingerprint = _row(app).fingerprint
    add_ok(client, "allergies")
    assert "en préparation" in client.get(PDF).get_data(as_text=True)
    after = fetch_pdf(client).data
    assert after != before and _row(app).fingerprint != fingerprint
    client.get("/langue/en")
    assert "being prepared" in client.get(PDF).get_data(as_text=True)
    english = fetch_pdf(client, status=STATUS)
    assert english.data.startswith(b"%PDF") and english.data != after


def test_a_job_whose_process_died_is_started_again_after_its_lease(signed_in, app,
                                                                   monkeypatch):
    client = signed_in(PATIENT)
    started = []
    monkeypatch.setattr(summary_jobs, "start", lambda *args: started.append(args))
    client.get(PDF)
    client.get(PDF)  # still within the lease: nobody starts it twice
    client.get("/langue/en")
    client.get(PDF)  # nor for something else: one worker per person
    assert len(started) == 1
    assert _row(app).language == "en"
    assert client.get(STATUS, headers=HTMX).status_code == 204
    with app.app_context():
        row = db.session.scalars(select(SummaryPdf)).one()
        row.lease_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    failed = client.get(STATUS, headers=HTMX)
    assert failed.status_code == 286 and "could not be prepared" in failed.get_data(
        as_text=True)
    client.get(PDF)
    assert len(started) == 2


def test_a_failed_rendering_is_said_and_asked_again(signed_in, app, monkeypatch):
    client = signed_in(PATIENT)

    def broken(*_args):
        raise RuntimeError("WeasyPrint failed")

    monkeypatch.setattr(summary_jobs, "_render", broken)
    client.get(PDF)
    wait_until_made(client)
    assert _row(app).state == summary_pdf.FAILED
    assert "n’a pas abouti" in client.get(STATUS).get_data(as_text=True)
    monkeypatch.undo()
    assert fetch_pdf(client).data.startswith(b"%PDF")


@pytest.mark.parametrize("path", [PDF, STATUS])
def test_signed_out_visitors_go_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith(
        "/connexion")


def _asked_with_no_worker(client, app, monkeypatch) -> tuple[str, summary_pdf.Job]:
    """The PDF asked for, no worker started (the test plays it with domain calls): the
    patient's id and the job waiting."""
    monkeypatch.setattr(summary_jobs, "start", lambda *args: None)
    client.get(PDF)
    with app.app_context():
        patient_id = db.session.scalars(select(User.id).where(User.login == PATIENT)).one()
        return patient_id, summary_pdf.job(db.session, patient_id)


def test_a_worker_makes_what_was_asked_last(signed_in, app, monkeypatch):
    """Asked in French, then in English while the worker is at it: the French PDF it made
    is not kept, and it takes the English one next (domain calls, no thread)."""
    client = signed_in(PATIENT)
    patient_id, french = _asked_with_no_worker(client, app, monkeypatch)
    assert french.language == "fr"
    client.get("/langue/en")
    client.get(PDF)
    with app.app_context():
        patient = db.session.get(User, patient_id)
        assert not summary_pdf.build(db.session, keys.ring, patient, french,
                                     lambda _summary: b"%PDF-fr", utcnow())
        english = summary_pdf.job(db.session, patient.id)
        assert english.language == "en" and english.fingerprint != french.fingerprint
        assert summary_pdf.build(db.session, keys.ring, patient, english,
                                 lambda _summary: b"%PDF-en", utcnow())
        db.session.commit()
    assert client.get(PDF).data == b"%PDF-en"


@pytest.mark.parametrize("rendering", ["made", "failed"])
def test_an_account_erased_while_its_pdf_is_kept_leaves_the_worker_nothing_to_keep(
        signed_in, app, monkeypatch, rendering):
    """`accounts purge` (domain.closing) deletes the row at the worst moment: once the PDF
    is laid out (or has failed), as the worker comes to keep the result, right after it
    reads the row if it does. The worker keeps nothing, marks nothing failed, and its
    commit goes through: a row read, then changed, would be found gone at commit."""
    patient_id, wanted = _asked_with_no_worker(signed_in(PATIENT), app, monkeypatch)
    erased = []

    def erase() -> None:
        erased.append(True)
        with db.engine.begin() as other:  # another request, committed at once
            if other.dialect.name == "postgresql":  # a row the worker locked: fail, not hang
                other.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            other.execute(delete(SummaryPdf).where(SummaryPdf.patient_id == patient_id))

    def at_the_worst_moment(state):
        if erased or not rendered or SummaryPdf.__mapper__ not in state.all_mappers:
            return None
        if not state.is_select:
            erase()  # before the worker's write
            return None
        result = state.invoke_statement().freeze()  # the worker has read the row
        erase()
        return result()

    rendered = []

    def render(_summary):
        rendered.append(True)
        if rendering == "failed":
            raise RuntimeError("WeasyPrint failed")
        return b"%PDF-1.7"

    with app.app_context():
        patient = db.session.get(User, patient_id)
        event.listen(db.session, "do_orm_execute", at_the_worst_moment)
        if rendering == "failed":
            with pytest.raises(RuntimeError):
                summary_pdf.build(db.session, keys.ring, patient, wanted, render, utcnow())
        else:
            assert not summary_pdf.build(db.session, keys.ring, patient, wanted, render,
                                         utcnow())
        db.session.commit()
    assert erased and _row(app) is None
