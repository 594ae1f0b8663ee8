"""The consent page (OAuth authorisation endpoint), the token and revocation endpoints,
and the list of connected services. The protocol is Authlib's (web/oauth.py); what is kept
and audited is domain/apps.py's."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import Response, abort, flash, request, url_for

from blueprints.apps import bp
from domain import apps, audit, representation
from domain.errors import NotAllowed
from domain.policy import Area
from extensions import csrf, db, keys, limiter
from web import assist as assisted_session
from web import catalogue, oauth, security, space
from web.access import actor, allow, bearer_only
from web.i18n import gettext as _
from web.labels.catalogue import data_label, in_language
from web.render import redirect_to, render_page

OWN_SPACE = "moi"


ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|http://\[::1\](:[0-9]{1,5})?")


def _form_may_go_to(response: Response, redirect_uri: str | None) -> Response:
    """The consent form's answer sends the browser back to the app, and browsers apply
    the form page's CSP `form-action` to that redirect: the consent page (and the answer)
    let forms go to this one app's origin as well as to the site."""
    parts = urlsplit(redirect_uri or "")
    origin = f"{parts.scheme}://{parts.netloc}"
    if redirect_uri and ORIGIN.fullmatch(origin):
        response.headers["Content-Security-Policy"] = security.CSP.replace(
            "form-action 'self'", f"form-action 'self' {origin}")
    response.headers["Cache-Control"] = "no-store"
    return response


def _spaces() -> list[tuple[str, object]]:
    """The spaces the signed-in person may connect an app to: their own, then those they
    represent today."""
    user = space.account()
    found = [(OWN_SPACE, user)]
    for item in representation.spaces_for(db.session, user,
                                          representation.today_in_france()):
        found.append((item.person.id, item.person))
    return found


def _consent_actor(chosen: str):
    """Who agreed: the person, or the person acting for the represented space chosen."""
    me = actor()
    if chosen == OWN_SPACE:
        return me
    return audit.Actor(me.user_id, acting_as="representative", assisted_by_id=me.assisted_by_id,
                    ip=me.ip)


def _consent_page(grant, *, status=200, errors=(), ticked=(), chosen=OWN_SPACE):
    entry = grant.request.client.entry
    purposes = {use.scope: use.purpose for use in entry.data}
    requested = [(scope, data_label(scope),
                  in_language(purposes[scope]) if scope in purposes else "")
                 for scope in apps.scope_list(grant.request.scope or "")]
    page = render_page("apps/consent.html", status=status, entry=entry, requested=requested,
                       space_choices=_spaces(), chosen=chosen, ticked=set(ticked),
                       errors=list(errors), has_errors=bool(errors),
                       assisted=assisted_session.assisted(), own_space=OWN_SPACE,
                       action=request.full_path, generic_title=True)
    return _form_may_go_to(page, grant.redirect_uri)


def _refused_page(error: OAuth2Error) -> Response:
    return render_page("apps/request_refused.html", status=400,
                       reason=error.error or "invalid_request")


@bp.route("/oauth/autoriser", methods=["GET", "POST"])
@allow(Area.PATIENT_SPACE)
def authorize():
    """An app asks for access (OAuth 2.0 authorisation request, PKCE S256): the person
    chooses the space and ticks what they agree to share, or refuses."""
    server = oauth.server()
    user = space.account()
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        if error.redirect_uri:  # a known app at one of its own addresses: tell it there
            return _form_may_go_to(server.handle_error_response(None, error),
                                   error.redirect_uri)
        return _refused_page(error)
    if request.method == "GET" or assisted_session.assisted():
        return _consent_page(grant)
    redirect_uri = grant.redirect_uri
    chosen = request.form.get("espace", OWN_SPACE)
    spaces = dict(_spaces())
    if request.form.get("decision") == "refuser":
        apps.refuse(db.session, keys.ring, app_slug=grant.request.client.get_client_id(),
                    space=spaces.get(chosen, user), actor=_consent_actor(chosen))
        db.session.commit()
        refused = server.create_authorization_response(grant=grant, grant_user=None)
        return _form_may_go_to(refused, redirect_uri)
    ticked = request.form.getlist("donnees")
    if chosen not in spaces:
        return _consent_page(grant, status=422, ticked=ticked, chosen=chosen, errors=[(
            "espace", _("Choisissez l’espace auquel connecter ce service."))])
    consent = oauth.Consent(space=spaces[chosen], granted_by=user, ticked=ticked,
                            actor=_consent_actor(chosen))
    try:  # apps.connect keeps what was ticked among what was asked: none is refused
        response = server.create_authorization_response(grant=grant, grant_user=consent)
    except NotAllowed:
        db.session.rollback()
        return _consent_page(grant, status=422, ticked=ticked, chosen=chosen, errors=[(
            "donnees", _("Cochez au moins une donnée à partager, ou choisissez "
                         "« Refuser »."))])
    db.session.commit()
    return _form_may_go_to(response, redirect_uri)


def _app_limit() -> str:
    return "30 per minute"


def _client_key() -> str:
    return f"oauth:{request.form.get('client_id', '')[:60]}:{request.remote_addr}"


@bp.post("/oauth/jeton")
@bearer_only
@csrf.exempt
@limiter.limit(_app_limit, key_func=_client_key)
def token():
    """The token endpoint: a code (with its PKCE verifier) or a refresh token for tokens."""
    response = oauth.server().create_token_response()
    db.session.commit()
    return response


@bp.post("/oauth/revocation")
@bearer_only
@csrf.exempt
@limiter.limit(_app_limit, key_func=_client_key)
def revoke():
    """RFC 7009: an app gives a token back; its whole family stops working."""
    response = oauth.server().create_endpoint_response("revocation")
    db.session.commit()
    return response


def _connected_items():
    known = catalogue.current()
    return [(connection, known.get(connection.app_slug),
             [data_label(scope) for scope in apps.scope_list(connection.scopes)])
            for connection in apps.connections(db.session, space.owner())]


@bp.get("/services-connectes")
@allow(Area.PATIENT_SPACE)
def connected():
    """The apps connected to this space, what each may do, and a way to withdraw it."""
    return render_page("apps/connected.html", items=_connected_items())


@bp.post("/services-connectes/<string:connection_id>/retirer")
@allow(Area.PATIENT_SPACE)
def withdraw(connection_id: str):
    """Withdraw an app's access in one step: its tokens stop working at once."""
    try:
        connection = apps.withdraw(db.session, keys.ring, space=space.owner(),
                                   connection_id=connection_id, actor=actor())
    except NotAllowed:
        abort(404)
    db.session.commit()
    entry = catalogue.current().get(connection.app_slug)
    flash(_("L’accès de « %(name)s » à l’espace est retiré : le service ne peut plus rien "
            "lire ni ajouter.", name=entry.name if entry else connection.app_slug), "success")
    return redirect_to(url_for("apps.connected"))
