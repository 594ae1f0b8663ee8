"""The PDF summary made outside the request that asked for it (domain/summary_pdf.py).

The request answers at once with a page saying the PDF is being prepared; a thread of the
same process renders it (WeasyPrint, about a second) in the person's language and stores
it sealed. Nothing else is needed to run it: no queue, no extra service. Should the
process stop half-way, the job's lease runs out and the next request starts it again, on
whichever instance it reaches (the state is in the database).
"""

from __future__ import annotations

import logging
import threading
from datetime import date

from flask import Flask, current_app
from flask_babel import force_locale

from domain import summary_pdf
from domain.models import User
from domain.models.base import utcnow
from extensions import db, keys
from web.outgoing import render_pdf

EXTENSION = "carnet_summary_jobs"
log = logging.getLogger(__name__)


def start(patient_id: str, today: date, language: str, wanted: str) -> None:
    """Make the PDF for fingerprint `wanted` in a thread (after the caller's commit)."""
    app = current_app._get_current_object()
    thread = threading.Thread(target=_run, args=(app, patient_id, today, language, wanted),
                              name="carnet-summary-pdf", daemon=True)
    running: set = app.extensions[EXTENSION]
    running.add(thread)
    thread.start()


def _run(app: Flask, patient_id: str, today: date, language: str, wanted: str) -> None:
    try:
        with app.test_request_context("/"), force_locale(language):
            patient = db.session.get(User, patient_id)
            if patient is None:
                return
            try:
                summary_pdf.build(db.session, keys.ring, patient, today, wanted,
                                  lambda summary: _render(patient, today, summary), utcnow())
            except Exception:
                log.exception("the PDF summary could not be made")
            db.session.commit()
    finally:
        app.extensions[EXTENSION].discard(threading.current_thread())


def _render(patient: User, today: date, summary) -> bytes:
    return render_pdf("pdf/profile_summary.html", views=summary.views, person=patient,
                      today=today, kinds=summary.kinds, latest=summary.latest)


def wait(app: Flask, timeout: float = 60.0) -> None:
    """Let the jobs under way finish (before the database is emptied between tests, or
    a clean stop)."""
    for thread in list(app.extensions[EXTENSION]):
        thread.join(timeout)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = set()
