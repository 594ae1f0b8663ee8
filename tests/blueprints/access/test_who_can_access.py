"""The patient's "who can access my space" page: professionals who accessed it, the
attending doctor, blocks by name or RPPS number — effective on the professional's next
request — and every change in the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from domain.models import AuditEvent, Profession, Role, Sector, User
from extensions import db
from tests.audit_trail import AUDIT_ORDER
from tests.conftest import csrf_from
from tests.html_checks import check_page

CAMILLE = {"nir": "288037510802150", "born_day": "14", "born_month": "3",
           "born_year": "1988", "informed": "oui"}


def _declare(client) -> str:
    page = client.get("/pro/patients").get_data(as_text=True)
    response = client.post("/pro/patients", data={"csrf_token": csrf_from(page), **CAMILLE})
    assert response.status_code == 303
    return response.headers["Location"]


def _id(app, login: str) -> str:
    with app.app_context():
        return db.session.scalars(select(User.id).where(User.login == login)).one()


def _post(client, path: str, data: dict):
    page = client.get("/acces").get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_from(page), **data})


def test_block_attending_and_unblock_take_effect_at_once(signed_in, app):
    doctor = signed_in("dr.bernard")
    patient_page = _declare(doctor)
    camille = signed_in("camille.martin")
    page = camille.get("/acces").get_data(as_text=True)
    assert "Bernard" in page and "Aucun professionnel n’a encore" not in page
    assert "Désigner" in camille.get("/acces?q=bern").get_data(as_text=True)
    bernard = _id(app, "dr.bernard")

    assert _post(camille, "/acces/medecin-traitant", {"professional": bernard}).status_code == 303
    assert "Retirer" in camille.get("/acces").get_data(as_text=True)
    assert _post(camille, "/acces/bloquer", {"professional": bernard,
                                             "confirm": "oui"}).status_code == 303
    assert doctor.get(patient_page).status_code == 404  # the very next request
    page = camille.get("/acces").get_data(as_text=True)
    assert "Débloquer" in page and "Retirer" not in page  # a blocked doctor is not attending
    assert _post(camille, "/acces/bloquer", {"professional": bernard,
                                             "blocked": "non"}).status_code == 303
    assert doctor.get(patient_page).status_code == 200
    with app.app_context():
        actions = [event.action for event in db.session.scalars(select(AuditEvent).where(
            AuditEvent.action.like("access.%")).order_by(*AUDIT_ORDER))]
    assert actions == ["access.attending_doctor", "access.blocked", "access.unblocked"]


def test_block_by_rpps_before_any_access(signed_in, app):
    camille = signed_in("camille.martin")
    page = camille.get("/acces?q=10007654329").get_data(as_text=True)
    assert "Petit" in page and "Désigner" not in page  # a pharmacist is not a doctor
    assert _post(camille, "/acces/bloquer",
                 {"professional": _id(app, "pharma.petit"), "confirm": "oui"}).status_code == 303
    pharmacist = signed_in("pharma.petit")
    page = pharmacist.get("/pro/patients").get_data(as_text=True)
    response = pharmacist.post("/pro/patients", data={"csrf_token": csrf_from(page), **CAMILLE})
    assert response.status_code == 422
    assert "ne vous permet pas" in response.get_data(as_text=True)


def test_only_a_doctor_can_be_attending_and_others_ids_are_refused(signed_in, app):
    camille = signed_in("camille.martin")
    response = _post(camille, "/acces/medecin-traitant",
                     {"professional": _id(app, "pharma.petit")})
    assert response.status_code == 303
    assert "Seul un médecin" in camille.get("/acces").get_data(as_text=True)
    for path in ("/acces/medecin-traitant", "/acces/bloquer"):
        assert _post(camille, path, {"professional": _id(app, "camille.martin")}
                     ).status_code == 404
        assert _post(camille, path, {"professional": "0" * 32}).status_code == 404


def test_people_outside_care_are_not_listed_nor_blockable(signed_in, app):
    with app.app_context():
        agent = User(role=Role.PROFESSIONAL, given_name="Agnès", family_name="Bernardin",
                     profession=Profession.DOCTOR, sector=Sector.OCCUPATIONAL_HEALTH,
                     rpps="10000000008")
        db.session.add(agent)
        db.session.commit()
        agent_id = agent.id
    camille = signed_in("camille.martin")
    page = camille.get("/acces?q=bernard").get_data(as_text=True)
    assert "Bernardin" not in page
    assert _post(camille, "/acces/bloquer", {"professional": agent_id}).status_code == 404


def test_changes_need_the_csrf_token(signed_in, app):
    camille = signed_in("camille.martin")
    response = camille.post("/acces/bloquer", data={"professional": _id(app, "dr.bernard")})
    assert response.status_code == 400
    with app.app_context():
        assert not db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "access.blocked")).all()


def test_other_roles_do_not_reach_the_patient_pages(signed_in):
    doctor = signed_in("dr.bernard")
    for path in ("/acces", "/acces/qui-voit-quoi"):
        assert doctor.get(path).status_code in (403, 404)


def test_blocking_the_attending_doctor_is_confirmed_and_undone_by_unblocking(signed_in, app):
    """Issue 17, item 5: the block asks first and says the designation goes; unblocking
    gives it back (unless another doctor was designated since); the doctor's emergency
    banner stops offering the space the moment he is blocked."""
    from datetime import timedelta

    from domain.models import EmergencyAccess
    from domain.models.base import utcnow

    camille, doctor = signed_in("camille.martin"), signed_in("dr.bernard")
    bernard = _id(app, "dr.bernard")
    assert _post(camille, "/acces/medecin-traitant", {"professional": bernard}).status_code == 303
    with app.app_context():
        patient = db.session.get(User, _id(app, "camille.martin"))
        db.session.add(EmergencyAccess(
            patient_id=patient.id, professional_id=bernard, started_at=utcnow(),
            ends_at=utcnow() + timedelta(hours=1), reason_sealed=b"x"))
        db.session.commit()
    assert "Accès en urgence en cours" in doctor.get("/pro").get_data(as_text=True)
    asked = _post(camille, "/acces/bloquer", {"professional": bernard})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and check_page(html) == []
    assert "Bloquer Julien Bernard ?" in html and "C’est votre médecin traitant" in html
    with app.app_context():  # nothing changed yet
        assert db.session.get(User, _id(app, "camille.martin")).attending_doctor_id == bernard
    done = _post(camille, "/acces/bloquer", {"professional": bernard, "confirm": "oui"})
    page = camille.get(done.headers["Location"]).get_data(as_text=True)
    assert "Vous n’avez plus de médecin traitant déclaré ici" in page
    assert "Accès en urgence en cours" not in doctor.get("/pro").get_data(as_text=True)
    undone = _post(camille, "/acces/bloquer", {"professional": bernard, "blocked": "non"})
    page = camille.get(undone.headers["Location"]).get_data(as_text=True)
    assert "Julien Bernard est de nouveau votre médecin traitant." in page
    with app.app_context():
        assert db.session.get(User, _id(app, "camille.martin")).attending_doctor_id == bernard
