"""The printable summary of the profile: an HTML page with a print stylesheet, and the
same content as a tagged PDF (PDF/UA) in the UI language."""

from __future__ import annotations

from datetime import date

from flask import make_response, render_template
from flask_login import current_user

from blueprints.profile import bp
from domain import audit, measures, profile
from domain.policy import Area
from extensions import db, keys
from web.access import actor, allow
from web.labels.profile import MEASURES
from web.labels.profile_display import helpers, measure_text
from web.outgoing import render_pdf

patient = allow(Area.PATIENT_SPACE)
SUMMARY_FIRST = 15  # per section: a summary a doctor reads in 30 seconds, not an archive
SHOWN_WHOLE = {"blood_group", "allergies"}  # never cut what can harm if missed
SUMMARY_SECTIONS = ("blood_group", "allergies", "conditions", "treatments",
                    "hospitalisations", "disabilities", "family_history", "lifestyle",
                    "vaccinations", "emergency_contacts", "trusted_person")


def _context(output: str) -> dict:
    today = date.today()
    sections = tuple(profile.BY_KEY[key] for key in SUMMARY_SECTIONS)
    complete = tuple(section for section in sections if section.key in SHOWN_WHOLE)
    views = profile.load(db.session, keys.ring, current_user, complete)
    views |= profile.load(db.session, keys.ring, current_user,
                          tuple(section for section in sections if section not in complete),
                          first=SUMMARY_FIRST)
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
