"""Route-level access: every view declares its area; anything undeclared is refused."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, abort, current_app, g, make_response, redirect, request, session, url_for
from flask_login import current_user

from domain import audit
from domain.policy import Area, may_enter, needs_sign_in
from extensions import db, htmx, keys, login_manager


def allow(area: Area) -> Callable:
    """Declare who may use a view (checked before every request by enforce())."""

    def decorate(view: Callable) -> Callable:
        view.carnet_area = area
        return view

    return decorate


public = allow(Area.PUBLIC)


def current_role():
    return current_user.role if current_user.is_authenticated else None


def enforce():
    """Deny by default: undeclared views answer 403; signed-out people go to sign-in."""
    if request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    area = getattr(view, "carnet_area", None)
    if area is None:
        abort(403)
    g.area = area
    if needs_sign_in(area) and not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not may_enter(current_role(), area):
        # A signed-in person knocking on another role's area: refused, and written down.
        audit.record(db.session, keys.ring, "access.area_denied", actor=actor(),
                     outcome="denied", details={"area": area.value})
        db.session.commit()
        abort(403)
    return None


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths may be followed after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def unauthorized():
    """Signed-out visitors go to the sign-in page, told why when their session expired."""
    expired = getattr(session, "expired", None) is not None
    wanted = safe_next(request.full_path.rstrip("?")) if request.method == "GET" else None
    target = url_for("auth.login", suivant=wanted, raison="expiree" if expired else None)
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def init_app(app: Flask) -> None:
    app.before_request(enforce)
    login_manager.unauthorized_handler(unauthorized)


def actor(user=None) -> audit.Actor:
    """The audit actor for this request: who, in which role, assisted by whom, from where."""
    user = user if user is not None else (current_user if current_user.is_authenticated else None)
    record = getattr(session, "record", None)
    return audit.Actor(
        user_id=user.id if user is not None else None,
        acting_as=user.role.value if user is not None else None,
        assisted_by_id=record.assisted_by_id if record is not None else None,
        ip=request.remote_addr,
    )
