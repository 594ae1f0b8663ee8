"""The printable summary of the profile: an HTML page with a print stylesheet, and the
same content as a tagged PDF (PDF/UA) in the UI language, made off the request and kept
until the profile changes (domain/summary_pdf.py, web/summary_jobs.py)."""

from __future__ import annotations

from flask import make_response
from flask_babel import get_locale

from blueprints.profile import bp
from domain import exports, summary_pdf
from domain.models.base import utcnow
from domain.policy import Area
from domain.representation import today_in_france
from extensions import db, keys
from web import summary_jobs
from web.access import actor, allow
from web.render import render_page, wants_fragment
from web.space import owner as space_owner

patient = allow(Area.PATIENT_SPACE)
# htmx stops asking when the answer has this status (the status is final).
STOP_POLLING = 286
STATUS_TARGET = "summary-status"


@bp.get("/resume")
@patient
def summary():
    today = today_in_france()
    found = exports.profile_summary(db.session, keys.ring, space_owner(), today, "html",
                                    actor())
    db.session.commit()
    return render_page("profile/summary.html", views=found.views, person=space_owner(),
                       today=today, kinds=found.kinds, latest=found.latest)


@bp.get("/resume.pdf", endpoint="summary_pdf")
@patient
def summary_pdf_file():
    """The PDF when it is ready and still the profile's; otherwise a page that says it is
    being prepared (and starts the preparation when nobody is at it)."""
    today, language = today_in_france(), str(get_locale())
    asked = summary_pdf.ask(db.session, keys.ring, space_owner(), today, language, actor(),
                            utcnow())
    db.session.commit()
    if asked.content is not None:
        response = make_response(asked.content)
        response.headers["Content-Type"] = "application/pdf"
        response.headers["Content-Disposition"] = 'attachment; filename="resume-sante.pdf"'
        return response
    if asked.start:
        summary_jobs.start(space_owner().id)
    return render_page("profile/summary_preparing.html", state=asked.state)


@bp.get("/resume/etat")
@patient
def summary_status():
    """Where the PDF stands: the status part of the waiting page for htmx (nothing while
    it is still being made), the whole page otherwise."""
    state = summary_pdf.state(db.session, space_owner(), today_in_france(),
                              str(get_locale()), utcnow())
    polling = wants_fragment(STATUS_TARGET)
    if polling and state == summary_pdf.PREPARING:
        return make_response("", 204)
    response = render_page("profile/summary_preparing.html",
                           fragment="profile/_summary_status.html", target=STATUS_TARGET,
                           state=state)
    if polling:
        response.status_code = STOP_POLLING
    return response
