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
from functools import partial

from flask import Flask, current_app

from domain import summary_pdf
from domain.models import User
from domain.models.base import utcnow
from extensions import db, keys
from web.outgoing import in_language, render_pdf

EXTENSION = "carnet_summary_jobs"
# At most this many PDFs laid out at once per process (the others wait their turn, well
# within their lease), and one worker per person (domain/summary_pdf.py).
RENDERING = threading.BoundedSemaphore(2)
# A worker makes what the person last asked for: again if they asked for something else
# while it worked, up to this many times.
ATTEMPTS = 3
log = logging.getLogger(__name__)


def start(patient_id: str) -> None:
    """Make the person's PDF in a thread (after the caller's commit)."""
    app = current_app._get_current_object()
    thread = threading.Thread(target=_run, args=(app, patient_id), name="carnet-summary-pdf",
                              daemon=True)
    running: set = app.extensions[EXTENSION]
    running.add(thread)
    thread.start()


def _run(app: Flask, patient_id: str) -> None:
    try:
        with RENDERING, app.test_request_context("/"):
            for _attempt in range(ATTEMPTS):
                patient = db.session.get(User, patient_id)
                wanted = summary_pdf.job(db.session, patient_id) if patient else None
                if wanted is None:
                    return
                try:
                    # In the person's language, the request's catalogue cache cleared
                    # around it: another attempt may be in another language.
                    made = in_language(wanted.language, partial(
                        summary_pdf.build, db.session, keys.ring, patient, wanted,
                        partial(_render, patient, wanted.day), utcnow()))
                except Exception:
                    log.exception("the PDF summary could not be made")
                    made = True
                db.session.commit()
                if made:
                    return
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
