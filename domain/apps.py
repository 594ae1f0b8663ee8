"""Connected apps: the person's consent for a catalogue app, and the codes and tokens the
OAuth 2.0 flow issues under it (the flow itself is Authlib's, wired in web/oauth.py).

- A connection is one app allowed into one space with the scopes the person ticked (never
  more than the app asked for, never more than its catalogue entry allows). Connecting the
  same app to the same space again replaces the earlier connection and its tokens.
- Authorisation codes last CODE_LIFETIME and work once; one presented again revokes every
  token it issued (RFC 6749 §4.1.2).
- Access tokens last ACCESS_LIFETIME. Refresh tokens rotate: each use spends one and issues
  the next of the same family; a spent one presented again is taken as stolen and revokes
  the whole family.
- Withdrawing a connection revokes it and all its tokens in the same transaction, so the
  next API call is refused.
- An app reaches a space only while the connection stands, the space is open, and — for a
  connection a representative made — that representation is still in force (it ends at the
  child's 18th birthday).

Codes and tokens are stored as keyed hashes only. Audit rows name the app by its slug and
never hold a code or a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from domain import audit, representation
from domain.crypto import Keyring
from domain.db import Prepared, mapped_columns
from domain.errors import NotAllowed
from domain.models import AccountRow, AppAuthorizationCode, AppConnection, AppToken, User
from domain.models.base import new_id, utcnow

CODE_LIFETIME = timedelta(minutes=5)
ACCESS_LIFETIME = timedelta(minutes=10)
REFRESH_LIFETIME = timedelta(days=30)
CHALLENGE_METHODS = ("S256",)
# How an app appears in audit rows and the access history.
ACTING_AS = "application"


def _hash(keyring: Keyring, kind: str, secret: str) -> str:
    return keyring.blind_index(f"app-{kind}", secret)


def scope_list(scopes: str) -> list[str]:
    """A space-separated scope string as a list, without repeats, in its order."""
    return list(dict.fromkeys(scopes.split()))


@dataclass(frozen=True)
class Grant:
    """What an access token lets an app do right now: the connection, the space, the person
    who agreed (the holder or a representative) and the scopes."""

    connection: AppConnection
    space: User
    granted_by: User | None
    scopes: frozenset[str]
    token_id: str

    @property
    def app_slug(self) -> str:
        return self.connection.app_slug

    @property
    def for_representative(self) -> bool:
        """Whether the app acts through a representative (the minor's secret stays out)."""
        return self.granted_by is None or self.granted_by.id != self.space.id

    def actor(self, ip: str | None = None) -> audit.Actor:
        """The audit actor of a call made with this grant: the app, for the person."""
        return audit.Actor(None, acting_as=ACTING_AS, ip=ip)


def _live_connection(session: Session, app_slug: str, space_id: str) -> AppConnection | None:
    return session.scalars(select(AppConnection).where(
        AppConnection.app_slug == app_slug, AppConnection.space_id == space_id,
        AppConnection.revoked_at.is_(None))).first()


def _revoke_connection(session: Session, connection: AppConnection, now: datetime) -> None:
    connection.revoked_at = now
    session.execute(update(AppToken).where(AppToken.connection_id == connection.id,
                                           AppToken.revoked_at.is_(None))
                    .values(revoked_at=now))


def connect(session: Session, keyring: Keyring, *, app_slug: str, allowed: tuple[str, ...],
            requested: list[str], ticked: list[str], space: User, granted_by: User,
            redirect_uri: str, code: str, code_challenge: str, challenge_method: str,
            actor: audit.Actor, now: datetime | None = None) -> AppConnection:
    """The person agreed on the consent page: the connection (replacing an earlier one of
    the same app in the same space), and the authorisation code that the app will exchange.
    The scopes kept are those ticked that the app asked for and its entry allows; none
    kept, or a challenge method other than S256, is refused (NotAllowed)."""
    now = now or utcnow()
    scopes = [scope for scope in dict.fromkeys(ticked)
              if scope in requested and scope in allowed]
    if not scopes:
        raise NotAllowed("no scope kept")
    if challenge_method not in CHALLENGE_METHODS or not code_challenge:
        raise NotAllowed("PKCE S256 required")
    earlier = _live_connection(session, app_slug, space.id)
    if earlier is not None:
        _revoke_connection(session, earlier, now)
    connection = AppConnection(id=new_id(), app_slug=app_slug, space_id=space.id,
                               granted_by_id=granted_by.id, scopes=" ".join(scopes),
                               created_at=now)
    session.add(connection)
    session.flush()
    session.add(AppAuthorizationCode(
        code_hash=_hash(keyring, "code", code), connection_id=connection.id,
        redirect_uri=redirect_uri, scopes=connection.scopes, code_challenge=code_challenge,
        code_challenge_method=challenge_method, expires_at=now + CODE_LIFETIME))
    audit.record(session, keyring, "app.connected", actor=actor, subject_id=space.id,
                 target_type="app", target_id=app_slug,
                 details={"app": app_slug, "scopes": scopes,
                          "asked": len(set(requested)), "replaced": earlier is not None},
                 now=now)
    session.flush()
    return connection


def refuse(session: Session, keyring: Keyring, *, app_slug: str, space: User,
           actor: audit.Actor, now: datetime | None = None) -> None:
    """The person said no on the consent page: written down, nothing else changes."""
    audit.record(session, keyring, "app.connected", actor=actor, outcome="denied",
                 subject_id=space.id, target_type="app", target_id=app_slug,
                 details={"app": app_slug}, now=now)


def _reused(session: Session, keyring: Keyring, action: str, connection: AppConnection,
            now: datetime) -> None:
    """Write down a spent code or refresh token presented again (what it gave is revoked)."""
    audit.record(session, keyring, action, outcome="denied",
                 actor=audit.Actor(None, acting_as=ACTING_AS), subject_id=connection.space_id,
                 target_type="app", target_id=connection.app_slug,
                 details={"app": connection.app_slug}, now=now)


def _connection_for(session: Session, connection_id: str,
                    app_slug: str) -> AppConnection | None:
    """The connection a code or token belongs to, if it is this app's."""
    connection = session.get(AppConnection, connection_id)
    return connection if connection is not None and connection.app_slug == app_slug else None


def spend_code(session: Session, keyring: Keyring, code: str, app_slug: str,
               now: datetime | None = None) -> AppAuthorizationCode | None:
    """The code for the token endpoint, spent by one conditional UPDATE; None when it is
    unknown, expired, another app's or its connection withdrawn. A code already spent
    revokes every token issued with it, and is written down."""
    now = now or utcnow()
    code_hash = _hash(keyring, "code", code)
    row = session.get(AppAuthorizationCode, code_hash)
    if row is None:
        return None
    connection = _connection_for(session, row.connection_id, app_slug)
    if connection is None:
        return None
    spent = session.execute(update(AppAuthorizationCode).where(
        AppAuthorizationCode.code_hash == code_hash, AppAuthorizationCode.used_at.is_(None))
        .values(used_at=now)).rowcount
    if spent != 1:
        session.execute(update(AppToken).where(AppToken.code_hash == code_hash,
                                               AppToken.revoked_at.is_(None))
                        .values(revoked_at=now))
        _reused(session, keyring, "app.code_reused", connection, now)
        return None
    if row.expires_at <= now or connection.revoked_at is not None:
        return None
    return row


def issue(session: Session, keyring: Keyring, *, connection_id: str, scopes: str,
          access_token: str, refresh_token: str | None, family_id: str | None = None,
          code_hash: str | None = None, now: datetime | None = None) -> AppToken:
    """Store the hashes of newly issued tokens (a new family for a code, the same family
    for a refresh)."""
    now = now or utcnow()
    token = AppToken(
        id=new_id(), connection_id=connection_id, family_id=family_id or new_id(),
        code_hash=code_hash, access_hash=_hash(keyring, "access", access_token),
        refresh_hash=_hash(keyring, "refresh", refresh_token) if refresh_token else None,
        scopes=scopes, issued_at=now, access_expires_at=now + ACCESS_LIFETIME,
        refresh_expires_at=now + REFRESH_LIFETIME if refresh_token else None)
    session.add(token)
    session.flush()
    return token


def spend_refresh(session: Session, keyring: Keyring, refresh_token: str, app_slug: str,
                  now: datetime | None = None) -> AppToken | None:
    """The token row a refresh token belongs to, its refresh token spent by one
    conditional UPDATE; None when unknown, expired, revoked or another app's. A spent
    one presented again revokes its whole family (it was copied), and is written down."""
    now = now or utcnow()
    row = session.scalars(select(AppToken).where(
        AppToken.refresh_hash == _hash(keyring, "refresh", refresh_token))).first()
    if row is None:
        return None
    connection = _connection_for(session, row.connection_id, app_slug)
    if connection is None:
        return None
    spent = session.execute(update(AppToken).where(
        AppToken.id == row.id, AppToken.refresh_used_at.is_(None),
        AppToken.revoked_at.is_(None)).values(refresh_used_at=now)).rowcount
    if spent != 1:
        if row.revoked_at is None or row.refresh_used_at is not None:
            revoke_family(session, row.family_id, now)
            _reused(session, keyring, "app.refresh_reused", connection, now)
        return None
    if (row.refresh_expires_at is None or row.refresh_expires_at <= now
            or connection.revoked_at is not None):
        return None
    return row


def revoke_family(session: Session, family_id: str, now: datetime | None = None) -> None:
    """Revoke every token of one family (one code's descendants)."""
    session.execute(update(AppToken).where(AppToken.family_id == family_id,
                                           AppToken.revoked_at.is_(None))
                    .values(revoked_at=now or utcnow()))


def revoke_token(session: Session, keyring: Keyring, token: str, app_slug: str,
                 now: datetime | None = None) -> bool:
    """RFC 7009: the app gives back an access or refresh token; its family is revoked.
    False when the token is unknown or another app's (the endpoint answers 200 anyway)."""
    now = now or utcnow()
    row = session.scalars(select(AppToken).where(
        (AppToken.access_hash == _hash(keyring, "access", token))
        | (AppToken.refresh_hash == _hash(keyring, "refresh", token)))).first()
    if row is None:
        return False
    connection = _connection_for(session, row.connection_id, app_slug)
    if connection is None:
        return False
    revoke_family(session, row.family_id, now)
    audit.record(session, keyring, "app.token_revoked", actor=audit.Actor(
        None, acting_as=ACTING_AS), subject_id=connection.space_id, target_type="app",
        target_id=app_slug, details={"app": app_slug}, now=now)
    return True


def _may_still_act(session: Session, connection: AppConnection, space: User,
                   granted_by: User | None, today: date) -> bool:
    if not space.enabled or granted_by is None or not granted_by.enabled:
        return False
    if granted_by.id == space.id:
        return True
    try:
        representation.acting_for(session, granted_by, space.id, today)
    except NotAllowed:
        return False
    return True


def authenticate(session: Session, keyring: Keyring, access_token: str,
                 now: datetime | None = None) -> Grant | None:
    """The grant behind a bearer token, or None: unknown, expired or revoked token,
    withdrawn connection, closed space, or a representative's connection whose
    representation has ended."""
    now = now or utcnow()
    row = session.scalars(select(AppToken).where(
        AppToken.access_hash == _hash(keyring, "access", access_token))).first()
    if row is None or row.revoked_at is not None or row.access_expires_at <= now:
        return None
    connection = session.get(AppConnection, row.connection_id)
    if connection is None or connection.revoked_at is not None:
        return None
    space = session.get(User, connection.space_id)
    granted_by = session.get(User, connection.granted_by_id) if connection.granted_by_id \
        else None
    if space is None or not _may_still_act(session, connection, space, granted_by,
                                           representation.today_in_france(now)):
        return None
    return Grant(connection, space, granted_by, frozenset(scope_list(row.scopes)), row.id)


TOUCH_EVERY = timedelta(minutes=1)


def touch(session: Session, grant: Grant, now: datetime | None = None) -> None:
    """Note when the app last reached the space (shown on "Services connectés", by the
    day): at most once a minute, so that a busy app does not rewrite the row each call."""
    now = now or utcnow()
    last = grant.connection.last_used_at
    if last is None or now - last >= TOUCH_EVERY:
        grant.connection.last_used_at = now


# Only read (the connected services' page): rows of the columns, no ORM session for them.
_CONNECTIONS = Prepared(select(*mapped_columns(AppConnection))
                        .where(AppConnection.space_id == bindparam("space_id"),
                               AppConnection.revoked_at.is_(None))
                        .order_by(AppConnection.created_at.desc(), AppConnection.id))


def connections(session: Session, space: User | AccountRow) -> list[tuple]:
    """The apps connected to a space, newest first, as rows (AppConnection's attributes by
    name)."""
    return _CONNECTIONS.all(session, {"space_id": space.id})


def withdraw(session: Session, keyring: Keyring, *, space: User, connection_id: str,
             actor: audit.Actor, now: datetime | None = None) -> AppConnection:
    """Withdraw one app's access to a space, in one step: the connection and every token
    issued under it are revoked now. Another space's connection, or one already withdrawn,
    is NotAllowed (answered like an unknown one)."""
    now = now or utcnow()
    connection = session.get(AppConnection, (connection_id or "")[:32])
    if connection is None or connection.space_id != space.id \
            or connection.revoked_at is not None:
        raise NotAllowed("no such connection")
    _revoke_connection(session, connection, now)
    audit.record(session, keyring, "app.disconnected", actor=actor, subject_id=space.id,
                 target_type="app", target_id=connection.app_slug,
                 details={"app": connection.app_slug}, now=now)
    session.flush()
    return connection


def record_call(session: Session, keyring: Keyring, grant: Grant, action: str, *,
                outcome: str = "success", target_type: str | None = None,
                target_id: str | None = None, ip: str | None = None,
                details: dict | None = None) -> None:
    """One API read or write, in the space's history as the app ("Application X")."""
    audit.record(session, keyring, action, actor=grant.actor(ip), outcome=outcome,
                 subject_id=grant.space.id, target_type=target_type, target_id=target_id,
                 details={"app": grant.app_slug, **(details or {})})
