"""Route-level access: every view declares its area; anything undeclared is refused."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit

from flask import Flask, abort, current_app, g, make_response, redirect, request, session, url_for
from flask_login import current_user
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from domain import audit
from domain.policy import Area, may_enter, needs_sign_in
from extensions import db, htmx, keys, login_manager
from web import space


def allow(area: Area) -> Callable:
    """Declare who may use a view (checked before every request by enforce())."""

    def decorate(view: Callable) -> Callable:
        view.carnet_area = area
        return view

    return decorate


public = allow(Area.PUBLIC)
bearer_only = allow(Area.APP_API)  # the app API: no session, a token per call


def for_apps() -> bool:
    """Whether the request is for the app API (token endpoint, FHIR): such requests carry
    no session and no cookie is read or set for them."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "carnet_area", None) == Area.APP_API


def enforce():
    """Deny by default: undeclared views answer 403; signed-out people go to sign-in."""
    endpoint = request.endpoint
    if endpoint is None:
        return None
    view = current_app.view_functions.get(endpoint)
    area = getattr(view, "carnet_area", None)
    if area is None:
        abort(403)
    g.area = area
    user = current_user._get_current_object()  # loaded once, here (Flask-Login's proxy)
    signed_in = user.is_authenticated
    if needs_sign_in(area) and not signed_in:
        return login_manager.unauthorized()
    if not may_enter(user.role if signed_in else None, area):
        # A signed-in person knocking on another role's area: refused, and written down.
        audit.record(db.session, keys.ring, "access.area_denied", actor=actor(),
                     outcome="denied", details={"area": area.value})
        db.session.commit()
        abort(403)
    space.resolve(actor)  # asks who acts only under a space's address
    return None


# A `suivant` longer than this is nobody's bookmark.
NEXT_MAX_LENGTH = 2048
# Characters kept as they are when the path and the query are written back (everything
# else, spaces and non-ASCII letters included, is percent-encoded).
_PATH_SAFE = "/-._~!$&'()*+,;=:@"
_QUERY_SAFE = _PATH_SAFE + "?%"


def _harmless(text: str) -> bool:
    """No control character (C0, DEL, C1), no other invisible or spacing character, no
    backslash: browsers strip or reinterpret those, which is how `/\t/host` becomes
    `//host`."""
    return all(char.isprintable() and not char.isspace() and char != "\\" for char in text)


def safe_next(target: str | None) -> str | None:
    """Where to go after sign-in, a language change or a session extension: a same-site
    path that a GET view of this application answers (written back percent-encoded), with
    its query string; None otherwise, and the caller uses its default page. The fragment
    is dropped. No open redirect: no scheme, no host, no user info, no control character,
    nothing that a browser could read as `//host` after decoding or normalising."""
    if not target or len(target) > NEXT_MAX_LENGTH or not _harmless(target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.username or parts.password:
        return None
    try:
        path = unquote(parts.path, errors="strict")
    except UnicodeDecodeError:
        return None
    if not _harmless(path) or not path.startswith("/") or "//" in path:
        return None
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    try:
        current_app.url_map.bind("").match(path, method="GET")
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None
    query = quote(parts.query, safe=_QUERY_SAFE)
    return quote(path, safe=_PATH_SAFE) + (f"?{query}" if query else "")


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
    signed_in = current_user._get_current_object()
    if user is None and signed_in.is_authenticated:
        user = signed_in
    record = getattr(session, "record", None)
    acting_for = g.get("space") is not None and user is signed_in
    return audit.Actor(
        user_id=user.id if user is not None else None,
        acting_as="representative" if acting_for else (
            user.role.value if user is not None else None),
        assisted_by_id=record.assisted_by_id if record is not None else None,
        ip=request.remote_addr,
    )
