"""A demo agenda for the demo patient, so a fresh `make run` shows upcoming and past
appointments, a reminder and the month view with something in it. Development only."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import agenda
from domain.audit import Actor
from domain.crypto import Keyring
from domain.models import AgendaItem, User

# (days from today, kind, time, title, place, professional, note)
ITEMS = (
    (3, "appointment", "09:30", "Consultation de suivi de l’asthme",
     "Cabinet médical des Tilleuls, Lyon", "Dr Julien Bernard",
     "Apporter le carnet de suivi et la liste des traitements."),
    (12, "appointment", "08:00", "Prise de sang", "Laboratoire de la Croix-Rousse, Lyon", None,
     "À jeun depuis la veille au soir."),
    (20, "reminder", None, "Renouveler l’ordonnance de salbutamol", None, None, None),
    (-25, "appointment", "14:00", "Dentiste : détartrage", "Cabinet dentaire Bellecour, Lyon",
     "Dr Claire Moreau", None),
)


def seed_agenda(session: Session, keyring: Keyring, login: str, today: date) -> bool:
    """Fill the demo patient's agenda once; False when it already has items."""
    patient = session.scalars(select(User).where(User.login == login)).one()
    if session.scalars(select(AgendaItem.id).where(
            AgendaItem.patient_id == patient.id).limit(1)).first():
        return False
    actor = Actor(acting_as="operator")
    for offset, kind, at, title, place, professional, note in ITEMS:
        agenda.add(session, keyring, patient, {
            "kind": kind, "title": title, "date": (today + timedelta(days=offset)).isoformat(),
            "time": at, "place": place, "professional": professional, "note": note}, actor,
            source="demo")
    return True
