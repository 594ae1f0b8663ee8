"""The professional reads the patient's profile in his own words (issue 17, item 9): no
"Lien avec vous", which is the patient's wording."""

from __future__ import annotations

from tests.blueprints.pro.test_patients import DOCTOR, _fill_profile, declare, text


def test_the_doctor_reads_the_link_with_the_patient_not_with_him(signed_in, app):
    _fill_profile(app)
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    page = text(client.get(f"/pro/patients/{patient_id}").get_data(as_text=True))
    assert "Paul Martin" in page and "Anne Martin" in page  # contacts and trusted person
    assert "Lien avec vous" not in page
    assert "Lien avec le patient : Frère" in page
    assert "Lien avec le patient : Sœur" in page


def test_the_patient_still_reads_lien_avec_vous(signed_in, app):
    _fill_profile(app)
    client = signed_in("camille.martin")
    page = text(client.get("/profil/contacts-urgence").get_data(as_text=True))
    assert "Lien avec vous" in page and "Lien avec le patient" not in page
