"""`flask agenda remind`: the e-mail of the day before, through a real SMTP server on
loopback, once per person and day however often the job runs, saying when but never what."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from domain import agenda, audit
from domain.models import AgendaItem, Representation, Role, User
from extensions import db, keys
from tests.test_cli_lifecycle import smtp  # noqa: F401 - the loopback SMTP fixture

ON = date(2026, 5, 11)  # a Monday
TOMORROW = ON + timedelta(days=1)


def _add(patient: User, day: date, kind: str = "appointment", at: str | None = "09:30",
         title: str = "Oncologue", note: str = "Résultats de la biopsie") -> None:
    agenda.add(db.session, keys.ring, patient, {
        "kind": kind, "title": title, "date": day.isoformat(), "time": at,
        "place": "Institut Curie", "professional": "Dr Secret", "note": note}, audit.Actor())


def _seed(app) -> None:
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        _add(camille, TOMORROW, at="14:30")
        _add(camille, TOMORROW, kind="reminder", at=None, title="Ordonnance")
        _add(camille, ON)                        # today: no e-mail any more
        _add(camille, ON + timedelta(days=2))    # after tomorrow: not yet
        child = db.session.scalars(select(User).join(
            Representation, Representation.represented_id == User.id)).one()
        _add(child, TOMORROW, at="08:00", title="Pédiatre")
        wrapped = keys.ring.new_patient_key()
        nobody = User(role=Role.PATIENT, given_name="Sans", family_name="Adresse",
                      wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)
        db.session.add(nobody)
        db.session.flush()
        _add(nobody, TOMORROW)
        db.session.commit()


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["agenda", "remind", *args])


def test_reminders_go_out_once_the_day_before_without_what_or_where(app, demo_users, smtp):  # noqa: F811
    _seed(app)
    result = _run(app, "--today", ON.isoformat())
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "2 e-mail(s) sent for 3 item(s) on 2026-05-12; 1 person(s) without an address; "
        "0 already being sent by another run.")
    assert sorted(message["To"] for message in smtp.messages) == [
        "camille.martin@example.org", "camille.martin@example.org"]  # hers and her child's
    bodies = [message.get_content() for message in smtp.messages]
    mine = next(body for body in bodies if "14:30" in body)
    assert "un rendez-vous à 14:30" in mine and "un rappel" in mine
    assert "mardi 12 mai 2026" in mine and "Tuesday 12 May 2026" in mine
    assert "http://127.0.0.1:5000/agenda" in mine
    assert any("L’agenda de Léo" in body and "un rendez-vous à 08:00" in body for body in bodies)
    for body in bodies:
        for secret in ("Oncologue", "Ordonnance", "Pédiatre", "Curie", "Secret", "biopsie"):
            assert secret not in body, secret
    assert all("demain" in str(message["Subject"]) for message in smtp.messages)

    again = _run(app, "--today", ON.isoformat())
    assert again.exit_code == 0
    assert again.output.startswith("0 e-mail(s) sent for 0 item(s) on 2026-05-12; 1 person")
    assert len(smtp.messages) == 2
    with app.app_context():
        reminded = db.session.scalars(select(AgendaItem).where(
            AgendaItem.reminded_at.is_not(None))).all()
        assert len(reminded) == 3 and {item.day for item in reminded} == {TOMORROW}
    # The next day, the items of the day after are due.
    next_day = _run(app, "--today", TOMORROW.isoformat())
    assert next_day.output.startswith("1 e-mail(s) sent for 1 item(s) on 2026-05-13")
    assert len(smtp.messages) == 3


def test_the_default_day_is_today_in_paris_and_a_bad_date_is_refused(app, demo_users, smtp):  # noqa: F811
    result = _run(app)
    tomorrow = agenda.today() + timedelta(days=1)
    assert result.exit_code == 0
    assert f"on {tomorrow.isoformat()}" in result.output
    assert _run(app, "--today", "12/05/2026").exit_code != 0
