"""Professional accounts, made by operators: an RPPS number whose check digit is right,
a profession, where they work and in which sector. The first sign-in, with the operator's
set-up password, chooses the professional's own password and second factor
(domain/accounts.py); then sign-in is the same as everyone's (password + second factor,
domain/auth.py). A CPS card or Pro Santé Connect would plug in there, not here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import accounts, audit
from domain.crypto import Keyring
from domain.identifiers import rpps_valid
from domain.models import Profession, Role, Sector, User

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
    """A professional account just created, with its one-time set-up password in clear: it
    exists only here, to be handed over once, and lets the professional choose their own
    password and second factor within accounts.SETUP_HOURS."""

    user: User
    password: str


def create(session: Session, keyring: Keyring, *, login: str, given_name: str,
           family_name: str, rpps: str, profession: Profession, sector: Sector,
           specialty: str | None, workplace: str | None, email: str | None,
           samu: bool = False, hash_profile: str = "standard",
           actor: audit.Actor | None = None) -> Created:
    """A new professional account with a set-up password (domain/accounts.py)."""
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
    user = User(role=Role.PROFESSIONAL, login=login, given_name=given_name.strip(),
                family_name=family_name.strip(), rpps=rpps, profession=profession,
                sector=sector, specialty=specialty, workplace=workplace, email=email,
                samu=samu)
    session.add(user)
    session.flush()
    audit.record(session, keyring, "account.professional_created", actor=actor,
                 target_type="user", target_id=user.id,
                 details={"profession": profession.value, "sector": sector.value})
    password = accounts.issue_setup_password(session, keyring, user, reason="first_sign_in",
                                             actor=actor, hash_profile=hash_profile)
    return Created(user, password)
