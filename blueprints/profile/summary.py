"""The printable summary of the profile: an HTML page with a print stylesheet, and the
same content as a tagged PDF (PDF/UA) in the UI language."""

from __future__ import annotations

from datetime import date

from flask import make_response, render_template
from flask_login import current_user

from blueprints.profile import bp
from blueprints.profile.display import measure_text
from blueprints.profile.labels import MEASURES
from blueprints.profile.views import helpers
from domain import audit, measures, profile
from domain.policy import Area
from extensions import db, keys
from web.access import actor, allow
from web.outgoing import render_pdf

patient = allow(Area.PATIENT_SPACE)
SUMMARY_SECTIONS = ("blood_group", "allergies", "conditions", "treatments",
                    "hospitalisations", "disabilities", "family_history", "lifestyle",
                    "vaccinations", "emergency_contacts", "trusted_person")


def _context(output: str) -> dict:
    today = date.today()
    sections = tuple(profile.BY_KEY[key] for key in SUMMARY_SECTIONS)
    views = profile.load(db.session, keys.ring, current_user, sections)
    kinds = measures.kinds_for(current_user, today)
    latest = measures.latest(db.session, keys.ring, current_user, kinds)
    audit.record(db.session, keys.ring, "profile.summary", actor=actor(),
                 subject_id=current_user.id, details={"output": output})
    db.session.commit()
    return {"views": [views[key] for key in SUMMARY_SECTIONS], "person": current_user,
            "today": today, "kinds": kinds, "latest": latest, "measure_labels": MEASURES,
            "measure_text": measure_text, **helpers()}


@bp.get("/resume")
@patient
def summary():
    return render_template("profile/summary.html", **_context("html"))


@bp.get("/resume.pdf")
@patient
def summary_pdf():
    response = make_response(render_pdf("pdf/profile_summary.html", **_context("pdf")))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = 'attachment; filename="resume-sante.pdf"'
    return response
