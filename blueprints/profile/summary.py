"""The printable summary of the profile: an HTML page with a print stylesheet, and the
same content as a tagged PDF (PDF/UA) in the UI language."""

from __future__ import annotations

from flask import make_response

from blueprints.profile import bp
from domain import exports
from domain.policy import Area
from domain.representation import today_in_france
from extensions import db, keys
from web.access import actor, allow
from web.outgoing import render_pdf
from web.render import render_page
from web.space import owner as space_owner

patient = allow(Area.PATIENT_SPACE)


def _context(output: str) -> dict:
    today = today_in_france()
    summary = exports.profile_summary(db.session, keys.ring, space_owner(), today, output,
                                      actor())
    db.session.commit()
    return {"views": summary.views, "person": space_owner(), "today": today,
            "kinds": summary.kinds, "latest": summary.latest}


@bp.get("/resume")
@patient
def summary():
    return render_page("profile/summary.html", **_context("html"))


@bp.get("/resume.pdf")
@patient
def summary_pdf():
    response = make_response(render_pdf("pdf/profile_summary.html", **_context("pdf")))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = 'attachment; filename="resume-sante.pdf"'
    return response
