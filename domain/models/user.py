"""People who sign in, whatever their role. Roles are data, not separate tables."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from domain.crypto import process_keyring
from domain.models.base import Base, UTCDateTime, new_id, str_enum, utcnow
from domain.models.name_prefix import FamilyNamePrefix, normalise_name, prefix_digests


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


class Sealed:
    """A person's value that the row holds only sealed, in the column `<name>_sealed`:
    AES-256-GCM under the key file's server key, with `users.<name>.<row id>` as associated
    data, so a value copied to another row or column does not open (SECURITY.md
    "Cryptography"). Code reads and assigns `user.<name>` in clear and never holds a key: the
    process's keyring (domain.crypto.process_keyring) opens the value on first read (a list
    that shows no e-mail decrypts no e-mail) and seals it on assignment; the clear value is
    kept on the instance for as long as the sealed one it came from stays the same.

    SQL cannot see clear values: `User.<name>` in a query raises. Sort in Python; look a
    professional up by name through domain/models/name_prefix.py. `then` names a method of
    the row to call after each assignment."""

    def __init__(self, *, limit: int, kind: type = str, then: str | None = None):
        self.limit, self.kind, self.then = limit, kind, then
        # Decided once: a test clock (freezegun) replaces the module's `date` later.
        self.is_date = kind is date
        self.date_type = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.column = name, f"{name}_sealed"

    def __get__(self, user, owner=None):
        if user is None:
            return self  # on the class: User(email=...) must know the name
        sealed = getattr(user, self.column)
        opened = user.__dict__.setdefault("_opened", {})
        known = opened.get(self.name)
        if known is not None and known[0] == sealed:
            return known[1]
        value = None if sealed is None else self._decode(
            process_keyring().open_server(sealed, self.associated(user.id)))
        opened[self.name] = (sealed, value)
        return value

    def __set__(self, user, value) -> None:
        if value is not None and len(self._encode(value)) > self.limit:
            raise ValueError(f"{self.name} is longer than {self.limit} characters")
        if user.id is None:
            user.id = new_id()  # the associated data names the row
        sealed = None if value is None else process_keyring().seal_server(
            self._encode(value).encode(), self.associated(user.id))
        setattr(user, self.column, sealed)
        user.__dict__.setdefault("_opened", {})[self.name] = (sealed, value)
        if self.then:
            getattr(user, self.then)()

    def associated(self, user_id: str) -> str:
        return f"users.{self.name}.{user_id}"

    def _encode(self, value) -> str:
        return value.isoformat() if self.is_date else value

    def _decode(self, raw: bytes):
        text = raw.decode()
        return self.date_type.fromisoformat(text) if self.is_date else text

    def __clause_element__(self):
        raise TypeError(f"User.{self.name} is sealed: SQL cannot compare, filter or sort "
                        "it (sort in Python, or look it up through a blind index)")

    def __eq__(self, other):  # `User.email == x` would silently be False in a where()
        return self.__clause_element__()

    __ne__ = __eq__
    __hash__ = object.__hash__


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
    # Names, birth date and contact details, sealed (see Sealed): read `user.given_name`…
    given_name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    family_name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    birth_date_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
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
    # Indexed: deleting an account sets it to NULL in its patients' rows, which without
    # the index reads the whole table (the nightly purge, benchmarks/million.py).
    attending_doctor_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Patients: who may open the space in an emergency, and whether hidden documents show.
    emergency_samu: Mapped[bool] = mapped_column(default=True)
    emergency_others: Mapped[bool] = mapped_column(default=True)
    emergency_hidden: Mapped[bool] = mapped_column(default=False)
    # Patients: hide documents deposited by others from professionals until shown.
    hide_new_documents: Mapped[bool] = mapped_column(default=False)
    # Advisers: the 6-digit desk PIN that resumes the desk after an accompaniment (hashed).
    desk_pin_hash: Mapped[str | None] = mapped_column(String(200))
    # False once the space is closed, or while an operator has disabled the account:
    # nobody can sign in to it.
    enabled: Mapped[bool] = mapped_column(default=True)
    # Set while the password is a one-time set-up password (a professional's first one, or
    # after an operator reset the second factor): it only lets the person choose their own
    # password and second factor, and only until then (domain/accounts.py).
    setup_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attending_doctor: Mapped[User | None] = relationship(
        remote_side="User.id", foreign_keys=[attending_doctor_id], lazy="select")
    # Professionals: how patients find them by the start of their family name.
    name_prefixes: Mapped[list[FamilyNamePrefix]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)

    given_name = Sealed(limit=100)
    family_name = Sealed(limit=100, then="_index_family_name")
    birth_date = Sealed(limit=10, kind=date)
    email = Sealed(limit=254)
    phone = Sealed(limit=20)

    def __init__(self, **values):
        # The id first: sealing binds each value to it.
        super().__init__(id=values.pop("id", None) or new_id(), **values)

    @validates("role")
    def _role_set(self, _key, role):
        self._index_family_name(role)
        return role

    def _index_family_name(self, role: Role | None = None) -> None:
        """Keep the family name's prefix hashes for a professional, none for anyone else."""
        role = role or self.role
        name = self.family_name
        wanted = (set(prefix_digests(process_keyring(), name))
                  if role == Role.PROFESSIONAL and name else set())
        kept = [row for row in self.name_prefixes if row.digest in wanted]
        if len(kept) == len(wanted) == len(self.name_prefixes):
            return
        known = {row.digest for row in kept}
        self.name_prefixes = kept + [FamilyNamePrefix(digest=digest)
                                     for digest in sorted(wanted - known)]

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def name_order(self) -> tuple[str, str]:
        """Where the person sorts in a list of names (SQL cannot sort sealed names): family
        name, then given name, without case or accents."""
        return normalise_name(self.family_name), normalise_name(self.given_name)

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
    # "parent" (a minor's legal representative, until the 18th birthday), "tutelle" or
    # "curatelle" (a protected adult's guardian or curator, set from a court decision).
    relationship: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # An ended representation is kept (the access history names who acted), never reused
    # for access: `ended_reason` is "majority", or the operator's "court_decision"…
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_reason: Mapped[str | None] = mapped_column(String(30))


class AccountRow:
    """A `users` row read without the ORM: the signed-in person of a request (loaded with
    the session, domain/sessions.py), and the people a page only names (a parent's
    children, a list's authors, senders and actors): the same column attributes, sealed
    values, names and Flask-Login protocol as `User`, read-only.

    A page that only shows or reads the person (nearly all of them) needs no ORM object,
    whose loading costs more than the query itself. A use case that changes the account
    takes the ORM row (`session.get(User, row.id)`); assigning to this one raises."""

    COLUMNS = tuple(attribute.key for attribute in User.__mapper__.column_attrs)

    def __init__(self, values) -> None:
        self.__dict__.update(zip(self.COLUMNS, values, strict=True))

    @classmethod
    def selected(cls, users=None) -> tuple:
        """The columns to select for a row of this kind, in COLUMNS' order (of `users`, an
        alias of the table, when the statement reads two people)."""
        return tuple(getattr(users if users is not None else User, name)
                     for name in cls.COLUMNS)

    def __setattr__(self, name, value):
        raise AttributeError(f"AccountRow is read-only ({name}): change the account through "
                             "its ORM row, session.get(User, id)")

    def __delattr__(self, name):
        self.__setattr__(name, None)

    def __repr__(self) -> str:
        return f"<AccountRow {self.id} {self.role}>"

    display_name = User.display_name
    name_order = User.name_order
    is_anonymous = User.is_anonymous
    is_active = User.is_active
    is_authenticated = User.is_authenticated
    get_id = User.get_id


for _name, _field in list(vars(User).items()):
    if isinstance(_field, Sealed):  # the same descriptors: opened on first read, kept
        setattr(AccountRow, _name, _field)
