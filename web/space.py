"""Whose space a request is in: one's own at today's addresses, or a represented person's
(a child's, a protected adult's) under /espace/<space-id>/….

The id in the address always wins: nothing about the space is kept in the session, so a
bookmark or a second tab shows the space its address names, or nothing (a 404, the
refusal audited by domain/representation.py). Every route of the areas in AREAS gets its
/espace/<space-id> twin with the same endpoint; inside a represented space, url_for() keeps
the id on those endpoints, so every link stays in the space. Views ask `owner()` whose
space it is; the audit actor says who acts, "for" whom (`acting_as="representative"`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask, abort, current_app, g, request, session
from flask_login import current_user

from domain import representation
from domain.errors import NotAllowed
from domain.models import AccountRow, User
from domain.policy import Area
from extensions import db, keys

if TYPE_CHECKING:
    from domain.audit import Actor

SAFE_METHODS = frozenset({"GET", "HEAD"})
SPACE_ARG = "space_id"
PREFIX = "/espace/<string:space_id>"
# The areas a representative uses in the represented person's space (their patient-space
# routes only: a professional's routes never get a twin).
AREAS = ("space.dashboard", "documents.", "profile.", "agenda.", "access.", "messages.",
         "account.export", "account.close", "apps.connected", "apps.withdraw")
ENDPOINTS = "carnet_space_endpoints"


def _serves_spaces(endpoint: str) -> bool:
    return any(endpoint == area or (area.endswith(".") and endpoint.startswith(area))
               for area in AREAS)


def add_space_rules(app: Flask) -> None:
    """The /espace/<space-id> twin of every patient-space route of AREAS (call after the
    blueprints are registered)."""
    endpoints = set()
    for rule in list(app.url_map.iter_rules()):
        view = app.view_functions.get(rule.endpoint)
        if (getattr(view, "carnet_area", None) == Area.PATIENT_SPACE
                and _serves_spaces(rule.endpoint)):
            app.add_url_rule(PREFIX + rule.rule, endpoint=rule.endpoint,
                             methods=sorted(rule.methods - {"HEAD", "OPTIONS"}))
            endpoints.add(rule.endpoint)
    app.extensions[ENDPOINTS] = frozenset(endpoints)


def _take(endpoint: str | None, values: dict | None) -> None:
    if values and SPACE_ARG in values:
        g.space_id = values.pop(SPACE_ARG)


def _keep(endpoint: str, values: dict) -> None:
    space_id = g.get("space_id")
    if space_id and SPACE_ARG not in values and endpoint in current_app.extensions.get(
            ENDPOINTS, ()):
        values[SPACE_ARG] = space_id


def resolve(actor: Callable[[], Actor]) -> None:
    """For a request under /espace/<space-id>: the represented space if the signed-in
    person may act in it today; a 404 otherwise. `actor` says who acts (web.access.actor),
    asked only here."""
    space_id = g.get("space_id")
    if space_id is None:
        return
    if g.get("area") != Area.PATIENT_SPACE:
        abort(404)
    try:
        g.space = representation.open_space(db.session, keys.ring, current_user, space_id,
                                            actor(), representation.today_in_france(),
                                            held())
    except NotAllowed:
        db.session.commit()  # the refusal stays in the audit trail
        abort(404)


def held() -> tuple | None:
    """The representations not ended that the signed-in person holds, as the session's
    lookup brought them with this request (domain/sessions.py), for the spaces to switch
    to and the space to open without a query; None when the request's session is not the
    signed-in person's own (a sign-in's response: the session read was the one before)."""
    record = getattr(session, "record", None)
    if record is None or record.user_id is None or record.user_id != getattr(
            current_user, "id", None):
        return None
    return record.represented


def represented() -> representation.Space | None:
    """The represented space this request is in, or None in one's own."""
    return g.get("space")


def owner() -> User | AccountRow:
    """Whose space this request is in: the represented person's, or the signed-in
    person's own (read-only: owner_account() for a change)."""
    space = g.get("space")
    return space.person if space is not None else current_user


def owner_account() -> User:
    """Whose space this request is in, as the ORM row, for a use case that changes the
    account (settings, the attending doctor, closing the space)."""
    space = g.get("space")
    return _orm_row(space.person if space is not None else current_user._get_current_object())


def account() -> User | AccountRow:
    """The signed-in person, for a view of their account: on a form's POST, the ORM row,
    which the use case may change; on a GET, which only shows the account, the read-only
    row loaded with the session (AccountRow, domain/sessions.py), which costs no query."""
    user = current_user._get_current_object()
    return user if request.method in SAFE_METHODS else _orm_row(user)


def _orm_row(user: User | AccountRow) -> User:
    """The ORM row of the person (already it right after the sign-in's login_user())."""
    return user if isinstance(user, User) else db.session.get(User, user.id)


def init_app(app: Flask) -> None:
    app.url_value_preprocessor(_take)
    app.url_defaults(_keep)

    @app.context_processor
    def _space_context() -> dict:
        return {"represented_space": represented(), "space_owner": owner}
