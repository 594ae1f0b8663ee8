# ruff: noqa: S106 - public demo credentials, printed in the README on purpose
"""Demo accounts for development and the README. Never run in production.

The credentials are public on purpose (they are printed in the README); the TOTP secrets
let anyone generate the second factor with an authenticator app or `pyotp`. The demo
patient's medical profile, agenda and conversation are seeded by the modules `profile`,
`agenda` and `messages` of this package (`flask --app app demo seed` runs them all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import passwords
from domain.auth import set_totp_secret
from domain.crypto import Keyring
from domain.models import Profession, Representation, Role, SecondFactor, Sector, User


@dataclass(frozen=True)
class DemoAccount:
    """One demo account as seeded: its public sign-in (clear password, TOTP secret) and
    identity, with the professional details for professionals."""

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
    desk_pin: str | None = None  # advisers: the desk PIN that resumes the tablet


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
                email="nadia.durand@example.org", workplace="France Services Lyon 8e",
                desk_pin="402817"),
)

# The insurer's records behind the demo: Camille and Léo have active spaces; Jeanne has a
# code to try activation (or opposition) with; Paul has no e-mail, so his code goes by post.
DEMO_INSURED = (
    {"nir": "288037510802150", "vitale": "12345678901", "birth_name": "Martin",
     "given_names": "Camille", "birth_date": date(1988, 3, 14), "sex": "2",
     "email": "camille.martin@example.org", "phone": "+33600000001", "login": "camille.martin"},
    {"nir": "119056912345674", "vitale": "23456789012", "birth_name": "Martin",
     "given_names": "Léo", "birth_date": date(2019, 5, 14), "sex": "1",
     "representative": "288037510802150", "child": True},
    {"nir": "254071305512392", "vitale": "34567890123", "birth_name": "Dupont",
     "given_names": "Jeanne Marie", "birth_date": date(1954, 7, 2), "sex": "2",
     "email": "jeanne.dupont@example.org", "phone": "+33600000003", "code": "JEANNEDUPNTA"},
    {"nir": "167089201234508", "vitale": "45678901234", "birth_name": "Lefèvre",
     "given_names": "Paul", "birth_date": date(1967, 8, 21), "sex": "1",
     "address": "12 rue des Lilas, 69003 Lyon"},
)
DEMO_ACTIVATION_CODE = "JEAN-NEDU-PNTA"

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
                    workplace=account.workplace,
                    desk_pin_hash=passwords.hash_password(account.desk_pin, hash_profile)
                    if account.desk_pin else None,
                    sector=Sector.CARE if account.role == Role.PROFESSIONAL else None)
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
    created += _seed_insured(session, keyring, parent)
    return created


def _seed_insured(session: Session, keyring: Keyring, parent: User) -> list[str]:
    from datetime import UTC, datetime

    from domain.activation import VALIDITY, code_hash
    from domain.insured import find_by_nir, nir_index, seal_field
    from domain.models import ActivationCode, CodeChannel, InsuredPerson, LegalRepresentative
    from domain.models import SpaceStatus as Status
    from domain.models.base import new_id
    from domain.people import represented_by

    created = []
    for record in DEMO_INSURED:
        if find_by_nir(session, keyring, record["nir"]) is not None:
            continue
        person = InsuredPerson(id=new_id(), nir_index=nir_index(keyring, record["nir"]),
                               vitale_index=keyring.blind_index("vitale", record["vitale"]),
                               birth_name=record["birth_name"],
                               given_names=record["given_names"],
                               birth_date=record["birth_date"], sex=record["sex"],
                               source_fingerprint="demo")
        for name in ("nir", "vitale", "email", "phone", "address"):
            seal_field(keyring, person, name, record.get(name))
        if record.get("login"):
            person.user_id, person.space_status = parent.id, Status.ACTIVE
        if record.get("child"):
            child = represented_by(session, parent.id)[0][0]
            person.user_id, person.space_status = child.id, Status.ACTIVE
        session.add(person)
        session.flush()
        if record.get("representative"):
            representative = find_by_nir(session, keyring, record["representative"])
            session.add(LegalRepresentative(minor_id=person.id,
                                            representative_id=representative.id))
        if record.get("code"):
            now = datetime.now(UTC)
            session.add(ActivationCode(insured_id=person.id,
                                       code_hash=code_hash(keyring, record["code"]),
                                       channel=CodeChannel.EMAIL, sent_at=now,
                                       expires_at=now + VALIDITY))
        created.append(f"{record['given_names']} {record['birth_name']} (insured)")
    session.flush()
    return created
