"""The access policy: the one place that decides who may do what.

Every route declares the area it belongs to; this module says which roles may enter each
area. Object-level rules (documents, profile entries, messages) join it as those features
land, so every view keeps calling the same functions.
"""

from __future__ import annotations

from enum import StrEnum

from domain.models import Role


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
