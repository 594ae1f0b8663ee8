"""A professional confirms a vaccination the patient recorded: it becomes locked for her;
a pharmacist may, a biologist (not in the matrix) may not, a stranger's entry is a 404."""

from __future__ import annotations

import re

from sqlalchemy import select

from domain.models import AuditEvent, ProfileEntry
from extensions import db
from tests.conftest import csrf_from

CAMILLE = {"nir": "288037510802150", "born_day": "14", "born_month": "3",
           "born_year": "1988", "informed": "oui"}


def _declare(client) -> str:
    page = client.get("/pro/patients").get_data(as_text=True)
    response = client.post("/pro/patients", data={"csrf_token": csrf_from(page), **CAMILLE})
    assert response.status_code == 303
    return response.headers["Location"]


def test_confirming_locks_the_entry_for_the_patient(signed_in, app):
    camille = signed_in("camille.martin")
    page = camille.get("/profil/vaccinations").get_data(as_text=True)
    response = camille.post("/profil/vaccinations", data={
        "csrf_token": csrf_from(page), "vaccine": "dtp", "given_on_day": "20",
        "given_on_month": "3", "given_on_year": "2013"})
    entry_id = re.search(r"entry-([0-9a-f]{32})", response.headers["Location"]).group(1)

    doctor = signed_in("dr.bernard")
    patient_page = _declare(doctor)
    html = doctor.get(patient_page).get_data(as_text=True)
    assert "Confirmer cette vaccination" in html
    response = doctor.post(f"{patient_page}/vaccinations/{entry_id}/confirmer",
                           data={"csrf_token": csrf_from(html)})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(ProfileEntry, entry_id).locked
        assert db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "profile.entry_confirmed")).one().subject_id
    assert camille.get(f"/profil/vaccinations/{entry_id}/modifier").status_code == 404
    again = doctor.post(f"{patient_page}/vaccinations/{entry_id}/confirmer",
                        data={"csrf_token": csrf_from(html)})
    assert again.status_code == 404  # nothing left to confirm
    assert doctor.post(f"{patient_page}/vaccinations/{'0' * 32}/confirmer",
                       data={"csrf_token": csrf_from(html)}).status_code == 404
