"""A demo medical profile for the demo patient, so a fresh `make run` shows the profile
pages with entries, a vaccination record and measure charts. Development only."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import measures, profile
from domain.audit import Actor
from domain.crypto import Keyring
from domain.models import ProfileEntry, User

ENTRIES = {
    "blood_group": [{"group": "O+"}],
    "allergies": [{"substance": {"key": "penicillins", "text": None}, "severity": "moderate",
                   "reaction": "Urticaire"}],
    "conditions": [{"condition": {"key": "asthma", "text": None}, "since": "2001"}],
    "treatments": [{"name": "Salbutamol 100 µg", "dose": "2 bouffées si besoin",
                    "since": "2001-09"}],
    "vaccinations": [
        {"vaccine": "dtp", "given_on": "2013-03-20", "dose": 1, "vaccinator": "Dr Bernard"},
        {"vaccine": "influenza", "given_on": "2025-10-15"}],
    "emergency_contacts": [{"name": "Alex Martin", "relation": "Conjoint",
                            "phone": "0612345678"}],
}


def seed_profile(session: Session, keyring: Keyring, login: str, today: date) -> bool:
    """Fill the demo patient's profile once; returns False when it already has entries."""
    patient = session.scalars(select(User).where(User.login == login)).one()
    if session.scalars(select(ProfileEntry.id).where(
            ProfileEntry.patient_id == patient.id).limit(1)).first():
        return False
    actor = Actor(user_id=None, acting_as="operator")
    for key, entries in ENTRIES.items():
        section = profile.BY_KEY[key]
        for values in entries:
            for name, listing in section.coded.items():
                values[name]["system"], values[name]["code"] = profile.code_of(
                    listing, values[name]["key"])
            profile.add_entry(session, keyring, patient, section, dict(values),
                              author=patient, actor=actor)
    for week in range(12):
        day = (today - timedelta(weeks=11 - week)).isoformat()
        measures.add(session, keyring, patient, measures.BY_KEY["weight"],
                     {"value": round(68.4 - week * 0.15, 1), "measured_on": day}, actor)
        measures.add(session, keyring, patient, measures.BY_KEY["blood_pressure"],
                     {"systolic": 124 - week % 4, "diastolic": 79 - week % 3,
                      "measured_on": day}, actor)
    measures.add(session, keyring, patient, measures.BY_KEY["height"],
                 {"value": 168, "measured_on": today.isoformat()}, actor)
    return True
