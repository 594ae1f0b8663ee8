"""The life cycle of a space: codes, activation, opposition, automatic creation, closing.

Rules (DESIGN.md §2 "Activation"): a 12-character code from an unambiguous alphabet, stored
as a keyed hash, single use, valid 6 weeks from sending; 5 failed identity checks block a
code; without an answer for 6 weeks the space is created automatically; a closed space is
kept 10 years (or deleted at once on request) and can be reopened with a provisional code.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from domain import audit, contact_codes, passwords
from domain.closing import close_space, erase_user
from domain.crypto import Keyring
from domain.errors import NotAllowed
from domain.identity import login_candidates
from domain.insured import (
    find_by_nir,
    is_minor,
    link_family,
    paris_day,
    read_field,
    representatives,
)
from domain.models import (
    ActivationCode,
    CodeChannel,
    InsuredPerson,
    Representation,
    Role,
    SecondFactor,
    SpaceStatus,
    User,
)
from domain.models.base import new_id

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: nothing to confuse
CODE_LENGTH = 12  # 32^12 = 2^60
VALIDITY = timedelta(weeks=6)
PROVISIONAL_VALIDITY = timedelta(days=2)
MAX_IDENTITY_ATTEMPTS = 5
MAX_PROVISIONAL_PER_DAY = 3


class CodeProblem(Exception):
    """Why a typed code cannot be used: unknown, used, expired, blocked."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def generate_code() -> str:
    """A fresh code: CODE_LENGTH random characters from the unambiguous ALPHABET."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """Ignore case, spaces and dashes, as people copy codes from letters and e-mails."""
    return "".join(char for char in (typed or "").upper() if char.isalnum())


def format_code(code: str) -> str:
    """The code in groups of four joined by dashes (ABCD-EFGH-JKMN), as shown to people."""
    return "-".join(code[index:index + 4] for index in range(0, len(code), 4))


def code_hash(keyring: Keyring, code: str) -> str:
    """The code's keyed hash (blind index): the only form in which a code is stored."""
    return keyring.blind_index("activation-code", code)


@dataclass(frozen=True)
class IssuedCode:
    """A code just created: the clear value exists only here, long enough to send it."""

    person: InsuredPerson
    recipient: InsuredPerson
    code: str
    channel: CodeChannel
    expires_at: datetime
    email: str | None
    phone: str | None
    address: str | None
    provisional: bool = False
    takeover: bool = False  # a space kept by the parents, handed over at 18

    @property
    def for_representative(self) -> bool:
        return self.recipient.id != self.person.id


def live_codes(session: Session, person_id: str, now: datetime) -> list[ActivationCode]:
    """The person's codes still usable at `now`: not used, not blocked, not expired."""
    return list(session.execute(select(ActivationCode).where(
        ActivationCode.insured_id == person_id, ActivationCode.used_at.is_(None),
        ActivationCode.blocked_at.is_(None), ActivationCode.expires_at > now)).scalars())


def _recipient(session: Session, person: InsuredPerson, today: date) -> InsuredPerson:
    """A minor's code goes to a legal representative, preferably one with an e-mail."""
    if not is_minor(person, today):
        return person
    reps = representatives(session, person)
    if not reps:
        return person
    return next((rep for rep in reps if rep.email_sealed), reps[0])


def issue_code(session: Session, keyring: Keyring, person: InsuredPerson, now: datetime, *,
               provisional: bool = False) -> IssuedCode:
    """Create a code for a person; earlier live codes are superseded (single valid code)."""
    for old in live_codes(session, person.id, now):
        old.used_at, old.spent_reason = now, "superseded"
    recipient = _recipient(session, person, paris_day(now))
    email = read_field(keyring, recipient, "email")
    phone = read_field(keyring, recipient, "phone")
    if email:
        channel = CodeChannel.EMAIL
    elif provisional and phone:
        channel = CodeChannel.SMS
    else:
        channel = CodeChannel.POST
    code = generate_code()
    expires_at = now + (PROVISIONAL_VALIDITY if provisional else VALIDITY)
    session.add(ActivationCode(insured_id=person.id, code_hash=code_hash(keyring, code),
                               channel=channel, provisional=provisional, sent_at=now,
                               expires_at=expires_at))
    audit.record(session, keyring, "activation.code_issued", subject_id=person.id,
                 details={"channel": channel.value, "provisional": provisional,
                          "to_representative": recipient.id != person.id}, now=now)
    return IssuedCode(person, recipient, code, channel, expires_at, email, phone,
                      read_field(keyring, recipient, "address"), provisional)


def issue_codes(session: Session, keyring: Keyring, people: list[InsuredPerson],
                now: datetime) -> list[IssuedCode]:
    """issue_code() for many people at once (the `codes issue` job): earlier live codes
    superseded in one statement, code rows inserted together, one audit lock per batch."""
    ids = [person.id for person in people]
    if not ids:
        return []
    session.execute(update(ActivationCode).where(
        ActivationCode.insured_id.in_(ids), ActivationCode.used_at.is_(None),
        ActivationCode.expires_at > now).values(used_at=now, spent_reason="superseded"))
    issued, rows, entries = [], [], []
    for person in people:
        today = paris_day(now)
        recipient = _recipient(session, person, today) if is_minor(person, today) else person
        email = read_field(keyring, recipient, "email")
        code = generate_code()
        channel = CodeChannel.EMAIL if email else CodeChannel.POST
        rows.append({"id": new_id(), "insured_id": person.id,
                     "code_hash": code_hash(keyring, code), "channel": channel,
                     "provisional": False, "sent_at": now, "expires_at": now + VALIDITY,
                     "failed_attempts": 0, "progress_step": 0})
        entries.append(audit.Entry("activation.code_issued", subject_id=person.id, details={
            "channel": channel.value, "provisional": False,
            "to_representative": recipient.id != person.id}))
        issued.append(IssuedCode(person, recipient, code, channel, now + VALIDITY, email,
                                 read_field(keyring, recipient, "phone"),
                                 read_field(keyring, recipient, "address")))
    session.execute(insert(ActivationCode), rows)
    audit.record_many(session, keyring, entries, now)
    return issued


def people_without_code(session: Session, now: datetime) -> list[InsuredPerson]:
    """People with no space and no decision who never received a code."""
    has_code = select(ActivationCode.insured_id)
    return list(session.execute(select(InsuredPerson).where(
        InsuredPerson.space_status == SpaceStatus.PENDING,
        InsuredPerson.id.not_in(has_code)).order_by(InsuredPerson.created_at)).scalars())


def find_code(session: Session, keyring: Keyring, typed: str, now: datetime) -> ActivationCode:
    """The code a person typed, if it can still be used; otherwise CodeProblem says why."""
    code = normalise_code(typed)
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        raise CodeProblem("unknown")
    record = session.execute(select(ActivationCode).where(
        ActivationCode.code_hash == code_hash(keyring, code))).scalar_one_or_none()
    if record is None:
        raise CodeProblem("unknown")
    return check_usable(record, now)


def check_usable(record: ActivationCode, now: datetime) -> ActivationCode:
    """The record itself if it can still be used at `now`; otherwise CodeProblem "blocked",
    "used" or "expired", checked in that order."""
    if record.blocked_at is not None:
        raise CodeProblem("blocked")
    if record.used_at is not None:
        raise CodeProblem("used")
    if now >= record.expires_at:
        raise CodeProblem("expired")
    return record


def confirm_identity(session: Session, keyring: Keyring, record: ActivationCode, nir: str,
                     birth_date: date, now: datetime, actor: audit.Actor) -> InsuredPerson:
    """Check that the NIR and birth date belong to the code's person.

    Each mismatch counts against the code; the fifth blocks it (CodeProblem("blocked")).
    """
    person = session.get(InsuredPerson, record.insured_id)
    if read_field(keyring, person, "nir") == nir and person.birth_date == birth_date:
        audit.record(session, keyring, "activation.identity_confirmed", actor=actor,
                     subject_id=person.id, now=now)
        return person
    record.failed_attempts += 1
    blocked = record.failed_attempts >= MAX_IDENTITY_ATTEMPTS
    if blocked:
        record.blocked_at = now
    audit.record(session, keyring, "activation.identity_failed", actor=actor, outcome="failure",
                 subject_id=person.id, details={"blocked": blocked}, now=now)
    raise CodeProblem("blocked" if blocked else "identity")


def find_by_identity(session: Session, keyring: Keyring, nir: str, vitale: str,
                     birth_date: date) -> InsuredPerson | None:
    """A person matching all three: NIR, carte Vitale serial and birth date.

    Both keyed hashes are computed whether or not the NIR matches: the work done must not
    tell whether a person exists (SECURITY.md)."""
    vitale_index = keyring.blind_index("vitale", vitale)
    person = find_by_nir(session, keyring, nir)
    if person is None or person.birth_date != birth_date:
        return None
    if not secrets.compare_digest(person.vitale_index or "", vitale_index):
        return None
    return person


def _recent_provisional_codes(session: Session, person_id: str, now: datetime) -> int:
    return len(session.execute(select(ActivationCode.id).where(
        ActivationCode.insured_id == person_id, ActivationCode.provisional.is_(True),
        ActivationCode.sent_at > now - timedelta(days=1))).all())


def request_provisional_code(session: Session, keyring: Keyring, nir: str, vitale: str,
                             birth_date: date, now: datetime,
                             actor: audit.Actor) -> IssuedCode | None:
    """Issue a provisional code to the e-mail or phone already on file.

    Returns None (and the caller shows the same fixed answer) when nothing matches, when
    nothing is on file, when the space is already active, or past the daily limit. Every
    path does the same hashing (NIR, carte Vitale, one code), the same look-ups (recent and
    live codes) and writes one audit row, so that neither the answer nor the work tells
    whether a person exists; only an issued code adds its two rows (code, outbox), which
    the daily limit lets a stranger observe three times a day at most."""
    person = find_by_identity(session, keyring, nir, vitale, birth_date)
    recent = _recent_provisional_codes(session, person.id if person else "", now)
    reason = None
    if person is None:
        reason = "no_match"
    elif person.space_status == SpaceStatus.ACTIVE:
        reason = "state"
    elif recent >= MAX_PROVISIONAL_PER_DAY:
        reason = "daily_limit"
    else:
        recipient = _recipient(session, person, paris_day(now))
        if not (recipient.email_sealed or recipient.phone_sealed):
            reason = "no_contact"
    if reason:
        # What issuing costs, on every path: a code's keyed hash, the look-up of live codes.
        code_hash(keyring, generate_code())
        live_codes(session, person.id if person else "", now)
        audit.record(session, keyring, "activation.provisional_refused", actor=actor,
                     outcome="failure", subject_id=person.id if person else None,
                     details={"reason": reason}, now=now)
        return None
    return issue_code(session, keyring, person, now, provisional=True)


# Progress through the steps ------------------------------------------------------------------

def save_progress(keyring: Keyring, record: ActivationCode, step: int, data: dict) -> None:
    """Remember where the person is and what they typed (sealed), to resume later."""
    record.progress_step = max(record.progress_step, step)
    record.progress_sealed = keyring.seal_server(json.dumps(data).encode(),
                                                 f"activation_codes.progress.{record.id}")


def load_progress(keyring: Keyring, record: ActivationCode) -> dict:
    """What save_progress kept for this code, unsealed; an empty dict when nothing was saved."""
    if record.progress_sealed is None:
        return {}
    return json.loads(keyring.open_server(record.progress_sealed,
                                          f"activation_codes.progress.{record.id}"))


# Decisions ----------------------------------------------------------------------------------

def _spend_codes(session: Session, person_id: str, reason: str, now: datetime) -> None:
    session.execute(update(ActivationCode).where(
        ActivationCode.insured_id == person_id, ActivationCode.used_at.is_(None)
    ).values(used_at=now, spent_reason=reason))


def _new_space_user(keyring: Keyring, person: InsuredPerson) -> User:
    wrapped = keyring.new_patient_key()
    return User(role=Role.PATIENT, given_name=person.given_names.split(" ")[0],
                family_name=person.birth_name, birth_date=person.birth_date,
                wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)


@dataclass(frozen=True)
class Credentials:
    """The sign-in an adult chooses while activating: login, password (already hashed),
    second factor (with its TOTP secret, if any), e-mail and phone."""

    login: str
    password_hash: str
    second_factor: SecondFactor
    totp_secret: str | None
    email: str | None
    phone: str | None


class LoginTaken(Exception):
    """Someone else took the chosen login between its step and the summary."""


@dataclass(frozen=True)
class Activated:
    """A space just activated: its account, and (an adult's) recovery codes to show once."""

    user: User
    recovery_codes: tuple[str, ...]


def activate(session: Session, keyring: Keyring, record: ActivationCode,
             credentials: Credentials | None, now: datetime, actor: audit.Actor,
             representative_user: User | None = None) -> Activated:
    """Create (or reopen) the person's space and spend the code.

    An adult gets their own sign-in and ten recovery codes to show once; a minor's space is
    attached to the representative's account (credentials None). A closed space is restored
    as it was; a space created automatically gets its sign-in now.
    """
    from domain import recovery
    from domain.auth import set_totp_secret

    check_usable(record, now)
    person = session.get(InsuredPerson, record.insured_id)
    if person.space_status == SpaceStatus.ACTIVE:
        raise NotAllowed("already active")
    user = session.get(User, person.user_id) if person.user_id else None
    if user is None:
        user = _new_space_user(keyring, person)
        session.add(user)
        session.flush()
    if credentials is not None:
        if session.scalars(select(User.id).where(User.login == credentials.login,
                                                 User.id != user.id)).first():
            raise LoginTaken(credentials.login)
        user.login, user.password_hash = credentials.login, credentials.password_hash
        user.second_factor = credentials.second_factor
        user.email, user.phone = credentials.email, credentials.phone
        user.last_totp_step, user.failed_logins, user.locked_until = 0, 0, None
        if credentials.totp_secret:
            set_totp_secret(keyring, user, credentials.totp_secret)
    user.enabled = True
    if representative_user is not None:
        exists = session.execute(select(Representation.id).where(
            Representation.representative_id == representative_user.id,
            Representation.represented_id == user.id)).first()
        if not exists:
            session.add(Representation(representative_id=representative_user.id,
                                       represented_id=user.id, relationship="parent"))
    reopened = person.space_status == SpaceStatus.CLOSED
    person.user_id = user.id
    link_family(session, person)  # a minor's other parent; an adult's children
    person.space_status = SpaceStatus.ACTIVE
    person.status_changed_at = now
    person.purge_after = None
    record.used_at, record.spent_reason = now, "activated"
    _spend_codes(session, person.id, "superseded", now)
    audit.record(session, keyring, "activation.activated", actor=actor, subject_id=person.id,
                 target_type="user", target_id=user.id,
                 details={"reopened": reopened, "minor": credentials is None}, now=now)
    codes = () if credentials is None else tuple(
        recovery.issue(session, keyring, user, actor=actor, now=now))
    session.flush()
    return Activated(user, codes)


def handed_over(session: Session, person: InsuredPerson) -> bool:
    """A space kept by its parents until the 18th birthday and handed over since: it holds
    the person's history, so it is taken over with a code, or closed from inside (the
    10-year archive), never erased by an opposition."""
    return person.user_id is not None and session.scalars(select(Representation.id).where(
        Representation.represented_id == person.user_id,
        Representation.ended_reason == "majority").limit(1)).first() is not None


def close_handed_over(session: Session, keyring: Keyring, record: ActivationCode,
                      now: datetime, actor: audit.Actor, *, delete_now: bool) -> InsuredPerson:
    """The young adult, code in hand and identity confirmed, does not want the space their
    parents kept: it is closed as a space is closed from inside (archived 10 years, or the
    key destroyed at once), and their codes are spent."""
    check_usable(record, now)
    person = session.get(InsuredPerson, record.insured_id)
    if person is None or not handed_over(session, person):
        raise NotAllowed("not handed over")
    close_space(session, keyring, session.get(User, person.user_id), delete_now=delete_now,
                now=now, actor=actor)
    record.used_at, record.spent_reason = now, "closed"
    _spend_codes(session, person.id, "closed", now)
    session.flush()
    return person


def oppose(session: Session, keyring: Keyring, person: InsuredPerson, now: datetime,
           actor: audit.Actor, record: ActivationCode | None = None) -> str:
    """Refuse the space: codes spent, no space (an automatic one is erased). Returns the
    reference printed on the proof of opposition."""
    if person.space_status not in (SpaceStatus.PENDING, SpaceStatus.AUTO_CREATED,
                                   SpaceStatus.OPPOSED) or handed_over(session, person):
        raise NotAllowed(person.space_status.value)
    if record is not None:
        check_usable(record, now)
        record.used_at, record.spent_reason = now, "opposed"
    _spend_codes(session, person.id, "opposed", now)
    if person.space_status == SpaceStatus.AUTO_CREATED and person.user_id:
        erase_user(session, person.user_id)
        person.user_id = None
    if person.opposition_reference is None:
        person.opposition_reference = "OPP-" + "".join(
            secrets.choice(ALPHABET) for _ in range(10))
    person.space_status = SpaceStatus.OPPOSED
    person.status_changed_at = now
    audit.record(session, keyring, "activation.opposed", actor=actor, subject_id=person.id,
                 details={"with_code": record is not None}, now=now)
    session.flush()
    return person.opposition_reference


@dataclass(frozen=True)
class OppositionRequest:
    """What an opposition without a code did, for the message to the person only: the
    page answers the same whatever happened. `outcome` is "opposed" (recorded now, or
    `repeated` when it already was), "not_opposable" (the space exists: active or closed)
    or None (nothing matched, or a space already deleted)."""

    outcome: str | None
    person: InsuredPerson | None = None
    recipient: InsuredPerson | None = None
    email: str | None = None
    address: str | None = None
    repeated: bool = False


def oppose_without_code(session: Session, keyring: Keyring, nir: str, vitale: str,
                        birth_date: date, now: datetime,
                        actor: audit.Actor) -> OppositionRequest:
    """Opposition with the NIR, the carte Vitale serial and the birth date, as the real
    service allows (DESIGN.md §2): recorded at once when they match a person whose space
    is pending or was created automatically. What happened is told to the person (or a
    minor's representative) through the contact details on file or by post, never on the
    page. Every path does the same hashing and writes one audit row."""
    person = find_by_identity(session, keyring, nir, vitale, birth_date)
    if person is None:
        audit.record(session, keyring, "activation.opposition_refused", actor=actor,
                     outcome="failure", details={"reason": "no_match"}, now=now)
        return OppositionRequest(None)
    recipient = _recipient(session, person, paris_day(now))
    contact = {"recipient": recipient, "email": read_field(keyring, recipient, "email"),
               "address": read_field(keyring, recipient, "address")}
    if person.space_status == SpaceStatus.OPPOSED:
        audit.record(session, keyring, "activation.opposition_repeated", actor=actor,
                     subject_id=person.id, details={"with_code": False}, now=now)
        return OppositionRequest("opposed", person, repeated=True, **contact)
    if person.space_status in (SpaceStatus.PENDING, SpaceStatus.AUTO_CREATED) and not (
            handed_over(session, person)):
        oppose(session, keyring, person, now, actor)
        return OppositionRequest("opposed", person, **contact)
    audit.record(session, keyring, "activation.opposition_refused", actor=actor,
                 outcome="failure", subject_id=person.id, details={"reason": "state"}, now=now)
    if person.space_status == SpaceStatus.DELETED:
        return OppositionRequest(None, person)  # no space, none to come: nothing to say
    return OppositionRequest("not_opposable", person, **contact)


# Choosing a login ---------------------------------------------------------------------------

# Names that could pass for the service or its staff in a message or on a shared screen.
RESERVED_LOGINS = frozenset({
    "admin", "administrateur", "administrator", "root", "system", "systeme", "support",
    "assistance", "aide", "help", "contact", "securite", "security", "conseiller",
    "conseillere", "operateur", "moderateur", "ameli", "cpam", "assurance-maladie",
    "assurance.maladie", "carnet", "carnet-sante", "carnet.sante", "mon-espace-sante",
    "mon.espace.sante", "medecin", "docteur", "pharmacien", "france-services",
})
LOGIN_SUGGESTIONS = 3


class LoginUnavailable(Exception):
    """The chosen login cannot be used. It never says why (taken or reserved), and carries
    free logins built from the person's names to choose from instead."""

    def __init__(self, suggestions: list[str]):
        super().__init__("login unavailable")
        self.suggestions = tuple(suggestions)


def _numbers(width: int, count: int = 2) -> list[int]:
    low = 10 ** (width - 1)
    return [low + secrets.randbelow(9 * low) for _ in range(count)]


def choose_login(session: Session, person: InsuredPerson, login: str, password: str,
                 hash_profile: str) -> str:
    """The password hash for the login a person chose during activation, or
    LoginUnavailable with free suggestions when it is taken or reserved.

    Every answer costs the same, so that this step cannot be used to learn which logins
    exist (SECURITY.md): the password is always hashed, and suggestions are always built
    and looked up in the same query as the chosen login, then thrown away when it is free.
    The person's own account (a closed space being reopened) does not count as taken."""
    password_hash = passwords.hash_password(password, hash_profile)
    unavailable = login in RESERVED_LOGINS
    suggestions: list[str] = []
    for attempt in range(12):
        candidates = login_candidates(person.given_names, person.birth_name,
                                      _numbers(3 + attempt // 3))
        query = select(User.login).where(User.login.in_([login, *candidates]))
        if person.user_id:
            query = query.where(User.id != person.user_id)
        taken = set(session.execute(query).scalars())
        unavailable = unavailable or login in taken
        suggestions += [candidate for candidate in dict.fromkeys(candidates)
                        if candidate not in taken and candidate not in RESERVED_LOGINS
                        and candidate != login and candidate not in suggestions]
        if len(suggestions) >= LOGIN_SUGGESTIONS:
            break
    if unavailable:
        raise LoginUnavailable(suggestions[:LOGIN_SUGGESTIONS])
    return password_hash


def create_expired_spaces(session: Session, keyring: Keyring, now: datetime) -> int:
    """The scheduled job: create the space of everyone whose first code is 6 weeks old and
    who neither activated nor opposed. Each person is claimed with a conditional UPDATE,
    so two runs at the same time create each space once."""
    first_code = (select(ActivationCode.insured_id)
                  .where(ActivationCode.provisional.is_(False),
                         ActivationCode.sent_at <= now - VALIDITY))
    candidates = session.execute(select(InsuredPerson.id).where(
        InsuredPerson.space_status == SpaceStatus.PENDING,
        InsuredPerson.id.in_(first_code))).scalars().all()
    created = 0
    for person_id in candidates:
        claimed = session.execute(update(InsuredPerson).where(
            InsuredPerson.id == person_id, InsuredPerson.space_status == SpaceStatus.PENDING
        ).values(space_status=SpaceStatus.AUTO_CREATED, status_changed_at=now))
        if claimed.rowcount != 1:
            continue
        person = session.get(InsuredPerson, person_id)
        session.refresh(person)
        user = _new_space_user(keyring, person)
        session.add(user)
        session.flush()
        person.user_id = user.id
        link_family(session, person)  # a child's parents act in the space created for them
        audit.record(session, keyring, "activation.auto_created", subject_id=person.id,
                     target_type="user", target_id=user.id, now=now)
        session.commit()
        created += 1
    return created


# One-time codes that confirm an e-mail address or a phone number ---------------------------

def contact_challenge(keyring: Keyring, record: ActivationCode, kind: str, destination: str,
                      now: datetime) -> tuple[str, dict]:
    """A 6-digit code for `destination`, bound to this activation (domain/contact_codes.py)."""
    return contact_codes.challenge(keyring, record.id, kind, destination, now)


def contact_code_ok(keyring: Keyring, record: ActivationCode, kind: str, destination: str,
                    code: str, stored: dict | None, now: datetime) -> bool:
    """Whether `code` is the one contact_challenge issued for this activation, kind and
    destination, not yet expired."""
    return contact_codes.code_ok(keyring, record.id, kind, destination, code, stored, now)


def save_step(session: Session, keyring: Keyring, record: ActivationCode, step: str,
              number: int, data: dict, actor: audit.Actor) -> None:
    """A step of the activation is done: keep where the person is and what they chose,
    sealed on the code (save_progress), to resume later; record the step."""
    save_progress(keyring, record, number, data)
    audit.record(session, keyring, "activation.step_saved", actor=actor,
                 subject_id=record.insured_id, details={"step": step})
