"""The session's query brings the representations the account holds and says whether it
has an emergency access running (domain/sessions.py): no page asks for the spaces its
person could switch to, and pages of people with no access running never ask for the
emergency banner; once there is one, the next page shows it."""

from __future__ import annotations

from sqlalchemy import select, update

from domain.models import Profession, Representation, Role, Sector, User
from domain.models.base import utcnow
from extensions import db
from tests.blueprints.access.test_emergency_and_history import _start
from tests.blueprints.test_statement_counts import statements


def _represent(app, ended: bool) -> None:
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        db.session.execute(update(Representation).where(
            Representation.representative_id == camille.id).values(
            ended_at=utcnow() if ended else None, ended_reason="majority" if ended
            else None))
        db.session.commit()


def test_the_spaces_to_switch_to_come_with_the_sessions_lookup(app, signed_in):
    client = signed_in("camille.martin")
    for ended, shown in ((True, False), (False, True), (True, False)):
        _represent(app, ended=ended)
        with statements(app) as seen:
            page = client.get("/documents").get_data(as_text=True)
        assert ('class="space-switch"' in page) is shown
        assert not [sql for sql in seen if sql.lstrip().startswith("SELECT representations.")]
        assert [sql for sql in seen if "FROM web_sessions" in sql and "representations" in sql]


def test_the_emergency_banner_is_asked_for_only_while_an_access_runs(app, signed_in):
    with app.app_context():  # Camille's attending doctor is someone else: it may be asked
        other = User(role=Role.PROFESSIONAL, given_name="Inès", family_name="Garnier",
                     profession=Profession.DOCTOR, sector=Sector.CARE, rpps="10003456782",
                     email="ines.garnier@example.org")
        db.session.add(other)
        db.session.flush()
        db.session.scalars(select(User).where(User.login == "camille.martin")).one() \
            .attending_doctor_id = other.id
        db.session.commit()
    doctor = signed_in("dr.bernard")
    with statements(app) as seen:
        page = doctor.get("/pro").get_data(as_text=True)
    assert "Accès en urgence en cours" not in page
    assert not [sql for sql in seen if "FROM emergency_accesses JOIN" in sql]
    assert _start(doctor).status_code == 303
    with statements(app) as seen:
        page = doctor.get("/pro").get_data(as_text=True)
    assert "Accès en urgence en cours" in page
    assert [sql for sql in seen if "FROM emergency_accesses JOIN" in sql]


def test_a_represented_space_is_opened_from_the_sessions_lookup(app, signed_in):
    """A page of a child's space reads no representation of its own: the session's lookup
    brought them. Ended, the same address is a 404 at once, the refusal audited."""
    from domain.models import AuditEvent

    client = signed_in("camille.martin")
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        leo = db.session.scalars(select(Representation.represented_id).where(
            Representation.representative_id == camille.id)).one()
    with statements(app) as seen:
        response = client.get(f"/espace/{leo}/documents")
    assert response.status_code == 200
    assert "Vous agissez pour Léo" in response.get_data(as_text=True)
    assert not [sql for sql in seen if "FROM representations" in sql
                and "web_sessions" not in sql]
    _represent(app, ended=True)
    assert client.get(f"/espace/{leo}/documents").status_code == 404
    with app.app_context():
        refused = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "space.open", AuditEvent.outcome == "denied")).all()
        assert [event.subject_id for event in refused] == [leo]
