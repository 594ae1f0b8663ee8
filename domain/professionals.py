"""Professional accounts, made by operators: an RPPS number whose check digit is right,
a profession, where they work and in which sector. Sign-in is the same as everyone's
(password + second factor, domain/auth.py); a CPS card or Pro Santé Connect would plug in
there, not here."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, passwords
from domain.auth import set_totp_secret
from domain.crypto import Keyring
from domain.identifiers import rpps_valid
from domain.models import Profession, Role, SecondFactor, Sector, User

WORDS = ("ambre", "brume", "cèdre", "dune", "écorce", "falaise", "givre", "houle", "iris",
         "jasmin", "lagune", "mistral", "nacre", "olivier", "prairie", "rivage", "sorbier",
         "tilleul", "vallon", "zéphyr")


# A person's name: letters (any script), with spaces, hyphens, apostrophes and dots
# between them; never a digit, a symbol or a control character, so a name can never be a
# formula in a spreadsheet (domain/spreadsheet.py), a script or a forged line in a log.
NAME_RE = re.compile(r"[^\W\d_]+(?:[ '’.-]+[^\W\d_]+)*\.?")
NAME_MAX = 80


def name_ok(name: str) -> bool:
    """Whether a name is acceptable: at most NAME_MAX characters, letters with spaces,
    hyphens, apostrophes and dots between them (NAME_RE)."""
    return len(name) <= NAME_MAX and NAME_RE.fullmatch(name) is not None


class InvalidProfessional(ValueError):
    """`reason`: rpps_invalid, rpps_taken, login_taken, name_missing, name_invalid."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Created:
    """A professional account just created, with its first password and TOTP secret in
    clear: they exist only here, to be handed over once."""

    user: User
    password: str      # shown once to the operator, to hand over out of band
    totp_secret: str   # idem, for the professional's authenticator app


def _password() -> str:
    """Four random words and a number: long, memorable, never in a common list."""
    chosen = [secrets.choice(WORDS).capitalize() for _ in range(4)]
    return "-".join(chosen) + f"-{secrets.randbelow(9000) + 1000}"


def create(session: Session, keyring: Keyring, *, login: str, given_name: str,
           family_name: str, rpps: str, profession: Profession, sector: Sector,
           specialty: str | None, workplace: str | None, email: str | None,
           samu: bool = False, hash_profile: str = "standard",
           actor: audit.Actor | None = None) -> Created:
    """A new professional account with a fresh password and TOTP secret."""
    rpps = "".join(rpps.split())
    if not rpps_valid(rpps):
        raise InvalidProfessional("rpps_invalid")
    if not given_name.strip() or not family_name.strip():
        raise InvalidProfessional("name_missing")
    if not name_ok(given_name.strip()) or not name_ok(family_name.strip()):
        raise InvalidProfessional("name_invalid")
    if session.scalars(select(User.id).where(User.rpps == rpps)).first():
        raise InvalidProfessional("rpps_taken")
    if session.scalars(select(User.id).where(User.login == login)).first():
        raise InvalidProfessional("login_taken")
    password = _password()
    secret = pyotp.random_base32()
    user = User(role=Role.PROFESSIONAL, login=login, given_name=given_name.strip(),
                family_name=family_name.strip(), rpps=rpps, profession=profession,
                sector=sector, specialty=specialty, workplace=workplace, email=email,
                samu=samu, second_factor=SecondFactor.TOTP,
                password_hash=passwords.hash_password(password, hash_profile))
    session.add(user)
    session.flush()
    set_totp_secret(keyring, user, secret)
    audit.record(session, keyring, "account.professional_created", actor=actor,
                 target_type="user", target_id=user.id,
                 details={"profession": profession.value, "sector": sector.value})
    return Created(user, password, secret)
