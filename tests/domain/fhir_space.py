"""A demo-like space for the FHIR tests: the demo profile, agenda and measures, plus entries
typed the hard way (free text with markup, a finished treatment, a confirmed vaccination),
a measure of every adult kind (one with a time of day), and documents of several
categories. Everything goes through the domain's own validation and adders."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from domain import agenda, audit, measures, profile, vault
from domain.demo import agenda as demo_agenda
from domain.demo import profile as demo_profile
from domain.models import Category, User
from domain.people import represented_by
from extensions import blobs, db, keys

ACTOR = audit.Actor(ip="127.0.0.1")
HOSTILE = "<script>alert(1)</script> & \"guillemets\" 'apostrophes' <b>gras</b>"


def user(login: str) -> User:
    return db.session.execute(select(User).where(User.login == login)).scalar_one()


def child() -> User:
    camille = user("camille.martin")
    [(leo, _relationship)] = represented_by(db.session, camille.id)
    return leo


def _day(prefix: str, day: date, precision: str = "day") -> dict:
    return {f"{prefix}_year": str(day.year),
            f"{prefix}_month": str(day.month) if precision != "year" else "",
            f"{prefix}_day": str(day.day) if precision == "day" else ""}


def add_entry(patient: User, section_key: str, form: dict, today: date,
              author: User | None = None):
    section = profile.BY_KEY[section_key]
    reading = profile.validate(section, form, today, born=patient.birth_date)
    assert reading.ok, reading.problems
    return profile.add_entry(db.session, keys.ring, patient, section, reading.values,
                             author=author or patient, actor=ACTOR)


def add_measure(patient: User, kind_key: str, day: date, **values):
    kind = measures.BY_KEY[kind_key]
    form = {**_day("measured_on", day), **{name: str(value) for name, value in values.items()}}
    reading = measures.validate(kind, form, day, born=patient.birth_date)
    assert reading.ok, reading.problems
    return measures.add(db.session, keys.ring, patient, kind, reading.values, ACTOR)


def add_document(patient: User, folder: Path, title: str, category: Category, day: date,
                 *, author: User | None = None, secret: bool = False):
    path = folder / f"{len(list(folder.iterdir()))}.pdf"
    path.write_bytes(b"%PDF-1.7 " + title.encode())
    document = vault.add_document(
        db.session, keys.ring, blobs.store, patient=patient, author=author or patient,
        path=path, size=path.stat().st_size, kind="pdf", mimetype="application/pdf",
        file_name=path.name, title=title, category=category, document_date=day,
        hidden=False, source="test", actor=ACTOR, secret_from_representatives=secret)
    path.unlink()
    return document


def seed(folder: Path, today: date) -> User:
    """Camille's space, loaded as described above; committed."""
    camille = user("camille.martin")
    doctor = user("dr.bernard")
    demo_profile.seed_profile(db.session, keys.ring, "camille.martin", today)
    demo_agenda.seed_agenda(db.session, keys.ring, "camille.martin", today)
    add_entry(camille, "allergies", {"substance": "other", "substance_other": HOSTILE,
                                     "reaction": HOSTILE, "severity": "severe"}, today)
    add_entry(camille, "allergies", {"substance": "peanut", "severity": "unknown"}, today)
    add_entry(camille, "conditions", {"condition": "hypertension", "note": HOSTILE,
                                      **_day("since", date(2015, 6, 1), "month")}, today,
              author=doctor)
    add_entry(camille, "treatments", {"name": "Amoxicilline 1 g", "dose": "1 matin et soir",
                                      **_day("since", date(2024, 1, 3)),
                                      **_day("until", date(2024, 1, 10))}, today)
    add_entry(camille, "vaccinations", {"vaccine": "hpv", "dose": "2", "lot": "AB12",
                                        "vaccinator": "Dr Bernard",
                                        **_day("given_on", date(2006, 5, 2))}, today,
              author=doctor)
    add_measure(camille, "waist", today - timedelta(days=3), value="80,5")
    add_measure(camille, "temperature", date(2026, 1, 15), value="38,2", time="08:30")
    add_measure(camille, "temperature", today - timedelta(days=1), value="37,1", time="21:05")
    add_measure(camille, "glucose", today - timedelta(days=2), value="1,05")
    add_measure(camille, "heart_rate", today - timedelta(days=2), value="62")
    add_measure(camille, "pain", today - timedelta(days=4), value="3")
    add_document(camille, folder, "Bilan sanguin", Category.LAB_RESULTS,
                 today - timedelta(days=30))
    add_document(camille, folder, "Radio du thorax", Category.IMAGING,
                 today - timedelta(days=60), author=doctor)
    add_document(camille, folder, "Compte rendu de consultation", Category.REPORTS,
                 today - timedelta(days=10), author=doctor)
    agenda.add(db.session, keys.ring, camille, {
        "kind": "appointment", "title": HOSTILE, "date": (today + timedelta(days=5)).isoformat(),
        "time": "10:15", "place": "Cabinet", "professional": None, "note": "Note privée"},
        ACTOR)
    db.session.commit()
    return camille
