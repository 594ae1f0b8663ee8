"""People who sign in, whatever their role. Roles are data, not separate tables."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.models.base import Base, UTCDateTime, new_id, str_enum, utcnow


class Role(enum.StrEnum):
    PATIENT = "patient"
    PROFESSIONAL = "professional"
    ADVISER = "adviser"
    OPERATOR = "operator"


class Profession(enum.StrEnum):
    DOCTOR = "doctor"
    PHARMACIST = "pharmacist"
    NURSE = "nurse"
    MIDWIFE = "midwife"
    BIOLOGIST = "biologist"
    PHYSIOTHERAPIST = "physiotherapist"
    DENTIST = "dentist"


class Sector(enum.StrEnum):
    """Where a professional account works. Only care may ever reach a space: the health
    insurer's staff, other insurers and mutuelles, occupational medicine and employers are
    excluded whatever anyone ticks (DESIGN.md §2 "Ownership")."""

    CARE = "care"
    HEALTH_INSURER = "health_insurer"
    SUPPLEMENTARY_INSURER = "insurer"  # mutuelles and every other insurer
    OCCUPATIONAL_HEALTH = "occupational_health"
    EMPLOYER = "employer"


EXCLUDED_SECTORS = frozenset(Sector) - {Sector.CARE}


class SecondFactor(enum.StrEnum):
    TOTP = "totp"
    SMS = "sms"



class User(Base):
    """An account holder, or a person whose space is managed by a legal representative.

    A child has no login: their space is reached through a Representation.
    """

    __tablename__ = "users"
    # The target of care_relations' composite key (id, sector): see domain/models/care.py.
    __table_args__ = (UniqueConstraint("id", "sector", name="uq_users_id_sector"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    login: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None]
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    second_factor: Mapped[SecondFactor | None] = mapped_column(
        str_enum(SecondFactor, "second_factor"))
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_totp_step: Mapped[int] = mapped_column(default=0)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Professionals (RPPS: 11 digits, Luhn check digit).
    rpps: Mapped[str | None] = mapped_column(String(11), unique=True)
    profession: Mapped[Profession | None] = mapped_column(str_enum(Profession, "profession"))
    specialty: Mapped[str | None] = mapped_column(String(100))
    workplace: Mapped[str | None] = mapped_column(String(200))
    sector: Mapped[Sector | None] = mapped_column(str_enum(Sector, "sector"))
    # Professionals: works in an emergency medical service (SAMU regulation).
    samu: Mapped[bool] = mapped_column(default=False)
    # Patients: their own key, wrapped by the KEK (SECURITY.md "Cryptography" 2).
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    kek_version: Mapped[int | None]
    # Patients: their attending doctor ("médecin traitant"), who also sees hidden documents.
    attending_doctor_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    # Patients: who may open the space in an emergency, and whether hidden documents show.
    emergency_samu: Mapped[bool] = mapped_column(default=True)
    emergency_others: Mapped[bool] = mapped_column(default=True)
    emergency_hidden: Mapped[bool] = mapped_column(default=False)
    # Patients: hide documents deposited by others from professionals until shown.
    hide_new_documents: Mapped[bool] = mapped_column(default=False)
    # False once the space is closed: nobody can sign in to it any more.
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attending_doctor: Mapped[User | None] = relationship(
        remote_side="User.id", foreign_keys=[attending_doctor_id], lazy="select")

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    # Flask-Login's user protocol, kept here so the model needs no Flask import.
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.enabled

    @property
    def is_authenticated(self) -> bool:
        return True

    def get_id(self) -> str:
        return self.id


class Representation(Base):
    """A legal representative acting for another person (a child, a dependant)."""

    __tablename__ = "representations"
    __table_args__ = (UniqueConstraint("representative_id", "represented_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    representative_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                   index=True)
    represented_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    relationship: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
