# ruff: noqa: S106 - public demo credentials, printed in the README on purpose
"""Demo accounts for development and the README. Never run in production.

The credentials are public on purpose (they are printed in the README); the TOTP secrets
let anyone generate the second factor with an authenticator app or `pyotp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import passwords
from domain.auth import set_totp_secret
from domain.crypto import Keyring
from domain.models import Profession, Representation, Role, SecondFactor, User


@dataclass(frozen=True)
class DemoAccount:
    login: str
    password: str
    role: Role
    given_name: str
    family_name: str
    second_factor: SecondFactor
    totp_secret: str | None = None
    phone: str | None = None
    email: str | None = None
    birth_date: date | None = None
    rpps: str | None = None
    profession: Profession | None = None
    specialty: str | None = None
    workplace: str | None = None


DEMO_ACCOUNTS = (
    DemoAccount("camille.martin", "Pivoine-Lanterne-2026", Role.PATIENT, "Camille", "Martin",
                SecondFactor.TOTP, totp_secret="JBSWY3DPEHPK3PXPCAMILLEMARTIN234",
                email="camille.martin@example.org", phone="+33600000001",
                birth_date=date(1988, 3, 14)),
    DemoAccount("dr.bernard", "Stethoscope-Azur-2026", Role.PROFESSIONAL, "Julien", "Bernard",
                SecondFactor.TOTP, totp_secret="KRSXG5CTMVRHEZLUJVBERNARDDOCTOR2",
                email="julien.bernard@example.org", rpps="10001234565",
                profession=Profession.DOCTOR, specialty="Médecine générale",
                workplace="Cabinet médical des Tilleuls, Lyon"),
    DemoAccount("pharma.petit", "Officine-Verte-2026", Role.PROFESSIONAL, "Sophie", "Petit",
                SecondFactor.SMS, phone="+33600000002", email="sophie.petit@example.org",
                rpps="10007654329", profession=Profession.PHARMACIST,
                workplace="Pharmacie de la Gare, Lyon"),
    DemoAccount("conseil.durand", "Guichet-Solidaire-2026", Role.ADVISER, "Nadia", "Durand",
                SecondFactor.TOTP, totp_secret="MFRGGZDFMZTWQ2LKNNWG23TPOBYXE4DU",
                email="nadia.durand@example.org"),
)

DEMO_CHILD = {"given_name": "Léo", "family_name": "Martin", "birth_date": date(2019, 5, 14),
              "representative": "camille.martin", "relationship": "parent"}


def seed(session: Session, keyring: Keyring, hash_profile: str = "standard") -> list[str]:
    """Create the demo accounts that are missing; return the logins created (idempotent)."""
    created: list[str] = []
    for account in DEMO_ACCOUNTS:
        if session.execute(select(User.id).where(User.login == account.login)).first():
            continue
        user = User(role=account.role, login=account.login,
                    password_hash=passwords.hash_password(account.password, hash_profile),
                    given_name=account.given_name, family_name=account.family_name,
                    birth_date=account.birth_date, email=account.email, phone=account.phone,
                    second_factor=account.second_factor, rpps=account.rpps,
                    profession=account.profession, specialty=account.specialty,
                    workplace=account.workplace)
        if account.role == Role.PATIENT:
            wrapped = keyring.new_patient_key()
            user.wrapped_key, user.kek_version = wrapped.wrapped, wrapped.kek_version
        session.add(user)
        session.flush()
        if account.totp_secret:
            set_totp_secret(keyring, user, account.totp_secret)
        created.append(account.login)

    parent = session.execute(select(User).where(
        User.login == DEMO_CHILD["representative"])).scalar_one()
    has_child = session.execute(select(Representation.id).where(
        Representation.representative_id == parent.id)).first()
    if not has_child:
        wrapped = keyring.new_patient_key()
        child = User(role=Role.PATIENT, given_name=DEMO_CHILD["given_name"],
                     family_name=DEMO_CHILD["family_name"], birth_date=DEMO_CHILD["birth_date"],
                     wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)
        session.add(child)
        session.flush()
        session.add(Representation(representative_id=parent.id, represented_id=child.id,
                                   relationship=DEMO_CHILD["relationship"]))
        created.append(f"{child.given_name} {child.family_name}")
    session.flush()
    return created
