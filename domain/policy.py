"""The access policy: the one place that decides who may do what.

Every route declares the area it belongs to; this module says which roles may enter each
area. Object-level rules (documents, profile entries, messages) join it as those features
land, so every view keeps calling the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain import access_matrix
from domain.models import EXCLUDED_SECTORS, Category, Profession, Role, Sector


class Area(StrEnum):
    PUBLIC = "public"              # anyone, signed in or not
    SIGN_IN = "sign_in"            # the sign-in steps themselves
    ACCOUNT = "account"            # any signed-in person: their own sessions, sign-out
    PATIENT_SPACE = "patient_space"
    PRO_PORTAL = "pro_portal"
    ADVISER_DESK = "adviser_desk"


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
    return area not in (Area.PUBLIC, Area.SIGN_IN)


def may_enter(role: Role | None, area: Area) -> bool:
    """Deny by default: an unknown area or a missing role enters nothing but public pages."""
    if area in (Area.PUBLIC, Area.SIGN_IN):
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


def profile_section_readable(profession: Profession | None, sector: Sector | None,
                             section: str) -> bool:
    return not excluded(sector) and section in access_matrix.profile_sections(profession)


class DocumentAction(StrEnum):
    LIST = "list"
    READ = "read"
    DOWNLOAD = "download"
    EDIT = "edit"
    DELETE = "delete"
    HIDE = "hide"


@dataclass(frozen=True)
class DocumentContext:
    """What is known about the viewer's relation to one document.

    The access-control issue fills `has_grant` (the patient allows this professional and
    the profession matrix allows the category), `is_attending_doctor` and `blocked`.
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
    settings say so. A blocked professional gets nothing. Nobody else, whatever their
    role, gets anything.
    """
    if role == Role.PATIENT and context.is_owner:
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


# Profile entries ----------------------------------------------------------------------------

class ProfileAction(StrEnum):
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
