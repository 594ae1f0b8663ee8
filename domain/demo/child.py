"""The demo child's space (Léo, born 14 May 2019, Camille's son): the visits' weights,
lengths and head circumferences, his vaccinations (the 6-year booster left due) and a
document from Dr Bernard, so a fresh `make run` shows a parent what acting for a child
looks like. Development only."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import measures, profile, vault
from domain.audit import Actor
from domain.crypto import Keyring
from domain.models import Category, ProfileEntry, Representation, User
from domain.storage import BlobStore

# (age in months, weight kg, length or height cm, head circumference cm): the usual visits,
# a little above the WHO median for a boy.
VISITS = ((0, 3.4, 50.2, 34.6), (1, 4.6, 55.0, 37.5), (2, 5.8, 58.9, 39.3),
          (4, 7.2, 64.4, 41.9), (6, 8.1, 68.1, 43.6), (9, 9.2, 72.6, 45.3),
          (12, 9.9, 76.3, 46.4), (18, 11.2, 83.0, 47.7), (24, 12.5, 88.2, 48.6),
          (36, 14.6, 96.8, 49.8), (48, 16.7, 104.1, 50.5), (60, 18.8, 110.9, 51.0),
          (72, 21.0, 117.2, None))
VACCINATIONS = (("hexavalent", 1, 2), ("pneumococcal", 1, 2), ("hexavalent", 2, 4),
                ("pneumococcal", 2, 4), ("menc", 1, 5), ("hexavalent", 3, 11),
                ("pneumococcal", 3, 11), ("menc", 2, 12), ("mmr", 1, 12), ("mmr", 2, 16))


def months_after(born: date, months: int) -> date:
    """The day `months` months after `born`, on the same day of the month."""
    year, month = divmod(born.month - 1 + months, 12)
    return born.replace(year=born.year + year, month=month + 1)


def seed_child(session: Session, keyring: Keyring, store: BlobStore, parent_login: str,
               doctor_login: str) -> bool:
    """Fill the demo child's space once; returns False when it already has entries."""
    parent = session.scalars(select(User).where(User.login == parent_login)).one()
    child = session.get(User, session.scalars(select(Representation.represented_id).where(
        Representation.representative_id == parent.id)).first())
    if child is None or session.scalars(select(ProfileEntry.id).where(
            ProfileEntry.patient_id == child.id).limit(1)).first():
        return False
    doctor = session.scalars(select(User).where(User.login == doctor_login)).one()
    actor = Actor(acting_as="operator")
    born = child.birth_date
    for months, weight, length, head in VISITS:
        day = months_after(born, months).isoformat()
        measures.add(session, keyring, child, measures.BY_KEY["weight"],
                     {"value": weight, "measured_on": day}, actor)
        measures.add(session, keyring, child, measures.BY_KEY["height"],
                     {"value": length, "measured_on": day}, actor)
        if head is not None:
            measures.add(session, keyring, child, measures.BY_KEY["head_circumference"],
                         {"value": head, "measured_on": day}, actor)
    section = profile.BY_KEY["vaccinations"]
    for vaccine, dose, months in VACCINATIONS:
        profile.add_entry(session, keyring, child, section, {
            "vaccine": vaccine, "dose": dose, "vaccinator": "Dr Bernard",
            "given_on": months_after(born, months).isoformat()}, author=doctor, actor=actor)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bilan.txt"
        path.write_text("Bilan de santé des 6 ans : croissance régulière, vaccinations à "
                        "jour sauf le rappel DTCaP des 6 ans, à prévoir.\n", encoding="utf-8")
        vault.add_document(
            session, keyring, store, patient=child, author=doctor, path=path,
            size=path.stat().st_size, kind="txt", mimetype="text/plain; charset=utf-8",
            file_name="bilan-6-ans.txt", title="Bilan de santé des 6 ans",
            category=Category.REPORTS, document_date=months_after(born, 73),
            hidden=False, source="professional", actor=actor)
    return True
