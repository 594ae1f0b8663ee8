"""A demo conversation between Dr Bernard and the demo patient, so a fresh `make run` shows
the messaging pages with an unread message. Development only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import care, messaging
from domain.audit import Actor
from domain.crypto import Keyring
from domain.models import Conversation, User
from domain.models.base import utcnow

THREAD = (
    ("professional", "Bonjour, vos résultats de prise de sang sont arrivés : tout est normal. "
                     "Je vous propose un contrôle dans un an."),
    ("patient", "Merci docteur. Faut-il que je continue le traitement pour l’asthme ?"),
    ("professional", "Oui, gardez le salbutamol si besoin, et revenez me voir s’il vous en "
                     "faut plus de deux fois par semaine."),
)


def seed_messages(session: Session, keyring: Keyring, patient_login: str,
                  doctor_login: str) -> bool:
    """Create the demo conversation once; False when it exists or an account is missing."""
    patient = session.scalars(select(User).where(User.login == patient_login)).first()
    doctor = session.scalars(select(User).where(User.login == doctor_login)).first()
    if patient is None or doctor is None or session.scalars(select(Conversation).where(
            Conversation.patient_id == patient.id)).first() is not None:
        return False
    actor = Actor(acting_as="demo")
    care.declare(session, keyring, doctor, patient, actor)
    start = utcnow() - timedelta(days=2)
    conversation, _message = messaging.start(
        session, keyring, doctor, patient, subject="Résultats de votre prise de sang",
        body=THREAD[0][1], actor=actor, now=start)
    for number, (side, body) in enumerate(THREAD[1:], start=1):
        sender = patient if side == "patient" else doctor
        messaging.reply(session, keyring, sender, conversation, body=body, actor=actor,
                        now=start + timedelta(hours=5 * number))
    return True
