"""The access policy: the one place that decides who may do what.

Every route declares the area it belongs to and `may_enter` says which roles may enter it.
Behind the areas, one rule per kind of object: a professional opening a patient's page
(`patient_open_allowed`), documents (`document_allowed`, with the profession matrix of
data/access_matrix.json through `matrix_allows`), profile entries (`profile_allowed`),
conversations (`conversation_allowed`) and the agenda (`agenda_allowed`). The rules are pure
functions of facts; domain/care.py gathers the facts of a professional towards a patient,
and the domain services (vault, profile, messaging, agenda) call the rules and audit the
answer. "Who may see a document" is `document_allowed`, read with `DocumentContext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain import access_matrix
from domain.models import EXCLUDED_SECTORS, Category, Profession, Role, Sector


class Area(StrEnum):
    """A part of the site, as the access check knows it; AREA_ROLES says who enters each."""

    PUBLIC = "public"              # anyone, signed in or not
    SIGN_IN = "sign_in"            # the sign-in steps themselves
    ACCOUNT = "account"            # any signed-in person: their own sessions, sign-out
    PATIENT_SPACE = "patient_space"
    PRO_PORTAL = "pro_portal"
    ADVISER_DESK = "adviser_desk"
    # The OAuth token endpoint and the FHIR API: no session, no cookie; each request proves
    # itself (PKCE, a bearer token) and domain/apps.py and the rules below decide.
    APP_API = "app_api"


AREA_ROLES: dict[Area, frozenset[Role]] = {
    Area.ACCOUNT: frozenset(Role),
    Area.PATIENT_SPACE: frozenset({Role.PATIENT}),
    Area.PRO_PORTAL: frozenset({Role.PROFESSIONAL}),
    Area.ADVISER_DESK: frozenset({Role.ADVISER}),
}

HOME_AREA: dict[Role, Area] = {
    Role.PATIENT: Area.PATIENT_SPACE,
    Role.PROFESSIONAL: Area.PRO_PORTAL,
    Role.ADVISER: Area.ADVISER_DESK,
    Role.OPERATOR: Area.ACCOUNT,
}


def needs_sign_in(area: Area) -> bool:
    """Whether the area needs a signed-in person: all but public pages and the sign-in."""
    return area not in (Area.PUBLIC, Area.SIGN_IN, Area.APP_API)


def may_enter(role: Role | None, area: Area) -> bool:
    """Deny by default: an unknown area or a missing role enters nothing but public pages."""
    if area in (Area.PUBLIC, Area.SIGN_IN, Area.APP_API):
        return True
    if role is None:
        return False
    return role in AREA_ROLES.get(area, frozenset())


# Documents ----------------------------------------------------------------------------------

def excluded(sector: Sector | None) -> bool:
    """Insurers, mutuelles, occupational medicine, employers — and an account whose sector
    is unknown — never reach a space, whatever else is true."""
    return sector is None or sector in EXCLUDED_SECTORS


def matrix_allows(profession: Profession | None, sector: Sector | None, category: Category,
                  action: str) -> bool:
    """The profession × category × action matrix (data/access_matrix.json), behind the
    sector exclusion. `action` is "read" or "deposit"."""
    return not excluded(sector) and category in access_matrix.document_rights(
        profession, action)


def deposit_categories(profession: Profession | None,
                       sector: Sector | None) -> tuple[Category, ...]:
    """The categories a professional may deposit in a space they may open, in the order
    of the Category list."""
    return tuple(category for category in Category
                 if matrix_allows(profession, sector, category, "deposit"))


def profile_section_readable(profession: Profession | None, sector: Sector | None,
                             section: str) -> bool:
    """Whether the matrix gives this profession the profile section, behind the sector
    exclusion (care standing is not checked here)."""
    return not excluded(sector) and section in access_matrix.profile_sections(profession)


class DocumentAction(StrEnum):
    """What someone may try on a vault document; document_allowed() decides."""

    LIST = "list"
    READ = "read"
    DOWNLOAD = "download"
    EDIT = "edit"
    DELETE = "delete"
    HIDE = "hide"


@dataclass(frozen=True)
class DocumentContext:
    """What is known about the viewer's relation to one document (filled by
    care.document_context): `has_grant` when the professional stated that the patient was
    informed and the profession matrix allows the category, `is_attending_doctor`, and
    `blocked` when the patient blocked this professional.
    """

    is_owner: bool
    is_author: bool
    is_attending_doctor: bool = False
    has_grant: bool = False
    blocked: bool = False
    sector: Sector | None = None  # the viewer's, for professionals
    # A running emergency access whose matrix allows the category, and whether the
    # patient's emergency settings include hidden documents.
    emergency: bool = False
    emergency_hidden: bool = False
    # Someone acting for the patient (a parent, a guardian), and a document the minor
    # asked a professional to keep from them.
    for_representative: bool = False
    secret_from_representatives: bool = False


OWNER_ACTIONS = {DocumentAction.LIST, DocumentAction.READ, DocumentAction.DOWNLOAD,
                 DocumentAction.HIDE}
READ_ACTIONS = {DocumentAction.LIST, DocumentAction.READ, DocumentAction.DOWNLOAD}


def document_allowed(action: DocumentAction, role: Role | None, context: DocumentContext, *,
                     hidden: bool) -> bool:
    """The one rule for documents (DESIGN.md §2 "Documents").

    The patient sees and hides everything in their vault and edits or deletes only what
    they added. A professional reads what they deposited, or — with the patient's grant —
    what is not hidden; the attending doctor also sees hidden documents. A running emergency
    access reads like a grant, hidden documents included only if the patient's emergency
    settings say so. A blocked professional gets nothing. Someone acting for the patient
    (a parent, a guardian) acts as the patient, except on a document the minor asked to
    keep secret from them, which they never reach. Nobody else, whatever their role, gets
    anything.
    """
    if role == Role.PATIENT and context.is_owner:
        if context.for_representative and context.secret_from_representatives:
            return False  # the minor's secret: nobody acting for them sees it
        if action in OWNER_ACTIONS:
            return True
        return action in (DocumentAction.EDIT, DocumentAction.DELETE) and context.is_author
    if role == Role.PROFESSIONAL and not context.blocked and not excluded(context.sector):
        if action not in READ_ACTIONS:
            return False
        if context.is_author:
            return True
        if not (context.has_grant or context.emergency):
            return False
        return (not hidden or context.is_attending_doctor
                or (context.emergency and context.emergency_hidden))
    return False


# Connected apps ----------------------------------------------------------------------------

def app_scope_allows(granted: frozenset[str] | set[str], resource: str, action: str) -> bool:
    """Whether the scopes the person granted an app (SMART v2, `patient/<Resource>.<letters>`)
    cover `action` on `resource`: "read" needs r, "search" s, "create" c."""
    letter = {"read": "r", "search": "s", "create": "c"}.get(action)
    if letter is None:
        return False
    return any(scope.startswith(f"patient/{resource}.")
               and letter in scope.rpartition(".")[2] for scope in granted)


def app_document_allowed(action: DocumentAction, context: DocumentContext, *,
                         hidden: bool) -> bool:
    """An app acts for the person who connected it, through the holder's own rule (so a
    representative's app never gets the minor's secret), with two limits: it only reads
    (lists, reads, downloads), and a document the person hid reaches no app, as it reaches
    no professional without their standing."""
    return (action in READ_ACTIONS and not hidden
            and document_allowed(action, Role.PATIENT, context, hidden=hidden))


# Profile entries ----------------------------------------------------------------------------

class ProfileAction(StrEnum):
    """What someone may try on a profile entry or measure; profile_allowed() decides."""

    READ = "read"
    ADD = "add"
    EDIT = "edit"
    DELETE = "delete"
    CONFIRM = "confirm"  # a professional vouches for an entry, which locks it


@dataclass(frozen=True)
class CareFacts:
    """A professional's standing towards one patient (gathered by domain/care.py)."""

    sector: Sector | None
    profession: Profession | None
    declared: bool   # stated that the patient was informed and did not object
    blocked: bool    # the patient blocked them
    emergency: bool = False  # a running emergency access
    open_space: bool = True  # a closed (or shredded) space is open to nobody


def patient_open_allowed(role: Role | None, care: CareFacts) -> bool:
    """A professional opens a patient's page only in care (never from an excluded sector),
    not blocked, and either having stated that the patient was informed and did not object
    or under a running emergency access; a closed space is open to nobody."""
    return (role == Role.PROFESSIONAL and care.open_space and not care.blocked
            and not excluded(care.sector) and (care.declared or care.emergency))


def profile_allowed(action: ProfileAction, role: Role | None, *, is_owner: bool,
                    locked: bool, section: str | None = None,
                    care: CareFacts | None = None) -> bool:
    """The one rule for profile entries and measures (DESIGN.md §2 "Medical profile").

    The patient reads and adds to their own profile and changes or deletes what is not
    locked; an entry a professional added or confirmed is locked. A care professional who
    declared the care relation and is not blocked reads the sections the matrix gives
    their profession, and the professions the matrix names add vaccinations (locked).
    Nobody else gets anything.
    """
    if role == Role.PATIENT and is_owner:
        if action == ProfileAction.CONFIRM:
            return False
        return action in (ProfileAction.READ, ProfileAction.ADD) or not locked
    if role != Role.PROFESSIONAL or care is None or section is None:
        return False
    if excluded(care.sector) or care.blocked or not (care.declared or care.emergency):
        return False
    if action == ProfileAction.READ:
        return section in access_matrix.profile_sections(care.profession)
    if action in (ProfileAction.ADD, ProfileAction.CONFIRM):
        return section == "vaccinations" and access_matrix.may_add_vaccination(
            care.profession) and not (action == ProfileAction.CONFIRM and locked)
    return False


# Conversations ------------------------------------------------------------------------------

class MessageAction(StrEnum):
    """What someone may try in messaging; conversation_allowed() decides."""

    START = "start"  # a professional opens a conversation with a patient
    READ = "read"
    REPLY = "reply"
    CLOSE = "close"


def conversation_allowed(action: MessageAction, role: Role | None, *, is_patient: bool,
                         is_professional: bool, closed: bool = False,
                         care: CareFacts | None = None) -> bool:
    """The one rule for messaging (DESIGN.md §2 "Messaging").

    Only a care professional starts a conversation, with a patient whose space they may
    open (declared care relation or running emergency access, not blocked). The patient
    reads every conversation of their own and replies while it is open; they never start
    one, so they cannot write to another patient or to a professional who never wrote to
    them, nor to one they blocked (`care` then holds that professional's facts). The
    professional of the conversation reads, replies and closes it until the patient blocks
    them or the space closes. Nobody else gets anything.
    """
    if role == Role.PATIENT and is_patient:
        blocked = care is not None and care.blocked
        return action == MessageAction.READ or (
            action == MessageAction.REPLY and not closed and not blocked)
    if role != Role.PROFESSIONAL or care is None:
        return False
    if excluded(care.sector) or care.blocked or not care.open_space:
        return False
    if action == MessageAction.START:
        return care.declared or care.emergency
    if not is_professional:
        return False
    if action == MessageAction.REPLY:
        return not closed
    return action in (MessageAction.READ, MessageAction.CLOSE)


# The agenda ---------------------------------------------------------------------------------

def agenda_allowed(role: Role | None, *, is_owner: bool) -> bool:
    """The agenda is the patient's alone (DESIGN.md §2 "Agenda"): no professional, adviser
    or operator reads or changes an item, whatever else is true."""
    return role == Role.PATIENT and is_owner


# Representations ----------------------------------------------------------------------------

class RepresentationKind(StrEnum):
    """Who acts in another person's space: a minor's legal representative, or a protected
    adult's guardian ("tutelle") or curator ("curatelle"), set from a court decision."""

    PARENT = "parent"
    GUARDIAN = "tutelle"
    CURATOR = "curatelle"


def majority_day(born: date) -> date:
    """The 18th birthday (1 March for someone born on 29 February, in a common year)."""
    try:
        return born.replace(year=born.year + 18)
    except ValueError:
        return date(born.year + 18, 3, 1)


def representation_active(kind: str, *, ended: bool, represented_born: date | None,
                          today: date) -> bool:
    """Whether a representation lets its holder act in the represented person's space
    today (Europe/Paris): never once ended; a parent's until the child's 18th birthday,
    the day itself excluded; a guardian's or curator's until the operator ends it."""
    if ended:
        return False
    if kind == RepresentationKind.PARENT:
        return represented_born is not None and today < majority_day(represented_born)
    return kind in (RepresentationKind.GUARDIAN, RepresentationKind.CURATOR)
