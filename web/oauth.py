"""The OAuth 2.0 authorisation server (Authlib's), wired to the catalogue and domain/apps.py.

- Clients are the operator's catalogue entries, never registered at run time: public
  clients (no secret), the authorisation code grant with PKCE S256 required, and rotating
  refresh tokens. Redirect URIs must match an entry's exactly.
- Authlib drives the protocol (request checks, errors, token responses); domain/apps.py
  keeps what is stored: consents, codes and tokens as keyed hashes, rotation and reuse
  detection, revocation.
- The token response says which space the token reaches (`patient`, as SMART App Launch
  does), so a representative's app knows it is the child's space.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, current_app, request

from domain import apps
from domain.catalogue import App
from domain.models import AppAuthorizationCode, AppConnection, AppToken, User
from extensions import db, keys
from web import catalogue

GRANT_TYPES = ("authorization_code", "refresh_token")


class CatalogueClient(ClientMixin):
    """A catalogue entry seen as an OAuth client: public, PKCE, its own redirect URIs and
    no scope beyond the entry's."""

    def __init__(self, entry: App) -> None:
        self.entry = entry

    def get_client_id(self) -> str:
        return self.entry.slug

    def get_default_redirect_uri(self) -> str:
        return self.entry.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.entry.scopes)
        kept = [item for item in scope_to_list(scope or "") if item in allowed]
        return " ".join(kept) if kept else None  # None: invalid_scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.entry.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # public clients: nothing to check, PKCE proves the caller

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


def client(client_id: str | None) -> CatalogueClient | None:
    """The catalogue entry behind a client id, as a client; None for any other id."""
    entry = catalogue.current().get(client_id or "")
    return CatalogueClient(entry) if entry is not None else None


@dataclass
class Consent:
    """What the consent page decided, handed to the grant as its "user"."""

    space: User
    granted_by: User
    ticked: list[str]
    actor: object
    connection: AppConnection | None = None


class _Code:
    """A spent authorisation code as Authlib reads it."""

    def __init__(self, row: AppAuthorizationCode, connection: AppConnection) -> None:
        self.row, self.connection = row, connection
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scopes


class _Refresh:
    """A refresh token's row as Authlib reads it."""

    def __init__(self, row: AppToken, connection: AppConnection) -> None:
        self.row, self.connection = row, connection

    def check_client(self, client: CatalogueClient) -> bool:
        return client.get_client_id() == self.connection.app_slug

    def get_scope(self) -> str:
        return self.row.scopes


class S256Challenge(CodeChallenge):
    """PKCE with S256 only, and a challenge required at the authorisation request too."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with code_challenge_method=S256 is required.",
                                      redirect_uri=redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def save_authorization_code(self, code, request):
        consent: Consent = request.user
        payload = request.payload
        consent.connection = apps.connect(
            db.session, keys.ring, app_slug=request.client.get_client_id(),
            allowed=request.client.entry.scopes, requested=scope_to_list(payload.scope or ""),
            ticked=consent.ticked, space=consent.space, granted_by=consent.granted_by,
            redirect_uri=payload.redirect_uri or request.client.get_default_redirect_uri(),
            code=code, code_challenge=payload.data.get("code_challenge", ""),
            challenge_method=payload.data.get("code_challenge_method", ""),
            actor=consent.actor)

    def query_authorization_code(self, code, client):
        row = apps.spend_code(db.session, keys.ring, code, client.get_client_id())
        if row is None:
            db.session.commit()  # a reused code's revocation stands even though we refuse
            return None
        return _Code(row, db.session.get(AppConnection, row.connection_id))

    def delete_authorization_code(self, authorization_code):
        """Nothing left to do: the code was spent when it was read."""

    def authenticate_user(self, authorization_code):
        return authorization_code.connection


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        row = apps.spend_refresh(db.session, keys.ring, refresh_token,
                                 self.request.client.get_client_id())
        if row is None:
            db.session.commit()  # a reused token's family stays revoked
            return None
        return _Refresh(row, db.session.get(AppConnection, row.connection_id))

    def authenticate_user(self, refresh_token):
        return refresh_token.connection

    def revoke_old_credential(self, refresh_token):
        """Nothing left to do: the old refresh token was spent when it was read."""


class _Revocable:
    def __init__(self, token: str) -> None:
        self.token = token

    def check_client(self, client: CatalogueClient) -> bool:
        return True  # apps.revoke_token checks that the token is this app's


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["none"]

    def query_token(self, token_string, token_type_hint):
        return _Revocable(token_string)

    def revoke_token(self, token, request):
        apps.revoke_token(db.session, keys.ring, token.token, request.client.get_client_id())
        db.session.commit()


def _save_token(token: dict, oauth_request) -> None:
    """Store a newly issued token: a new family from a code, the same family from a
    refresh; the response says which space it reaches."""
    connection: AppConnection = oauth_request.user
    code = getattr(oauth_request, "authorization_code", None)
    refresh = getattr(oauth_request, "refresh_token", None)
    apps.issue(db.session, keys.ring, connection_id=connection.id, scopes=token["scope"],
               access_token=token["access_token"], refresh_token=token.get("refresh_token"),
               family_id=refresh.row.family_id if isinstance(refresh, _Refresh) else None,
               code_hash=code.row.code_hash if isinstance(code, _Code) else None)
    db.session.commit()
    token["patient"] = connection.space_id


def init_app(app: Flask) -> None:
    """Give the app its authorisation server: the two grants and revocation (a server per
    app, so that test apps never share registrations)."""
    lifetime = int(apps.ACCESS_LIFETIME.total_seconds())
    app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {grant: lifetime
                                                      for grant in GRANT_TYPES})
    server = AuthorizationServer(app, query_client=client, save_token=_save_token)
    server.register_grant(CodeGrant, [S256Challenge(required=True)])
    server.register_grant(RefreshGrant)
    server.register_endpoint(Revocation)
    app.extensions["carnet_oauth"] = server


def server() -> AuthorizationServer:
    """The running app's authorisation server."""
    return current_app.extensions["carnet_oauth"]


def bearer_token() -> str | None:
    """The bearer token of the request's Authorization header, or None."""
    kind, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if kind.lower() == "bearer" else None
