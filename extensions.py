"""Extension objects, created unbound and initialised by create_app()."""

from __future__ import annotations

from types import MappingProxyType

from flask import Flask, current_app, g, session
from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from domain.crypto import Keyring
from domain.db import BEFORE_COMMIT, make_engine
from domain.storage import BlobStore


class SessionLoginManager(LoginManager):
    """Flask-Login, reading the signed-in person only from the server-side session
    (web/sessions.py, which loads the account with it). Flask-Login's own loading also
    accepts a remember-me cookie, a request loader or a header, none of which this service
    has, and computes a SHA-512 of the address and browser on every request for its session
    protection even when that is off: the server-side session replaces it (a new token at
    sign-in, the row deleted at sign-out)."""

    def _load_user(self):
        user_id = session.get("_user_id")
        user = self._user_callback(user_id) if user_id is not None else None
        return self._update_request_context_with_user(user)


_NOTHING_LOADED = MappingProxyType({})


class RequestSession:
    """`db.session`: a request's SQLAlchemy session, made only when something needs it.

    A statement built once (domain.db.Prepared, read_rows) asks the session for its
    connection and nothing else; a signed-in page that reads only with them (its web
    session, its counts, its lists) needs no ORM session at all. Making one, beginning its
    transaction and closing it costs 40 µs alone here, against 11 µs for the connection
    taken and given back, and about twice both inside a request (benchmarks/floor.py). So
    the connection is taken first, on its own; the ORM session is made on the first use of
    anything else (a query of mapped objects, a write, a commit), on that same connection,
    in full control of its transaction (it begins it, commits it and rolls it back, as a
    session on its own would: a statement run before on the connection is part of it).

    Nothing a query sees changes: the same connection, the same transaction rules
    (domain.db.begin_at_first_write on PostgreSQL; pysqlite begins before the first write).
    A request that ends without a commit loses its writes, as before: closing gives the
    connection back to the pool, which rolls back.

    The session's `info` exists without the ORM session too, and the work registered with
    domain.db.before_commit runs on a commit without it: the audit trail's events wait there
    for the commit and are chained and written then, on the connection, so an audited page
    (an agenda, an inbox, a professional's reading) needs no ORM session either."""

    __slots__ = ("_engine", "_factory", "_connection", "_orm", "_info")

    def __init__(self, engine: Engine, factory: sessionmaker) -> None:
        self._engine, self._factory = engine, factory
        self._connection: Connection | None = None
        self._orm: Session | None = None
        self._info: dict | None = None

    @property
    def orm(self) -> Session:
        """The ORM session (made now if it was not), on the connection already taken; it
        takes over what `info` held until then."""
        if self._orm is None:
            info, self._info = self._info, None
            given = {"info": info} if info else {}
            if self._connection is None:
                self._orm = self._factory(**given)
            else:
                self._orm = self._factory(bind=self._connection,
                                          join_transaction_mode="control_fully", **given)
                # Its transaction takes the connection now: a commit with nothing of the
                # ORM's own to write still commits what was written on the connection.
                self._orm.connection()
        return self._orm

    @property
    def info(self) -> dict:
        """The ORM session's info, or before it is made, the request's own (handed over to
        the ORM session when it is made)."""
        if self._orm is not None:
            return self._orm.info
        if self._info is None:
            self._info = {}
        return self._info

    @property
    def identity_map(self):
        # Without an ORM session, nothing was loaded.
        return self._orm.identity_map if self._orm is not None else _NOTHING_LOADED

    @property
    def autoflush(self) -> bool:
        # Nothing can be pending before the ORM session exists.
        return self._orm is not None and self._orm.autoflush

    def flush(self, objects=None) -> None:
        if self._orm is not None:
            self._orm.flush(objects)

    def connection(self, **options) -> Connection:
        if self._orm is not None or options:
            return self.orm.connection(**options)
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def get_bind(self, *args, **kwargs):
        # What the callers ask of it is its dialect: the engine's, before the ORM session.
        if self._orm is None and not args and not kwargs:
            return self._engine
        return self.orm.get_bind(*args, **kwargs)

    def commit(self) -> None:
        """Commit what was written: through the ORM session when there is one (its hooks
        run: the audit chain's, the outbox's); else on the connection alone, after the work
        registered with domain.db.before_commit when `info` holds something for it (the
        audit events recorded). A Prepared write there begins the driver's transaction
        without SQLAlchemy knowing of it, so the driver commits (nothing when nothing
        began: a page that only read)."""
        if self._orm is None and self._info:
            for work in BEFORE_COMMIT:
                work(self)  # it may make the ORM session (a query of mapped objects)
        if self._orm is not None:
            self._orm.commit()
        elif self._connection is not None:
            if self._connection.in_transaction():
                self._connection.commit()
            else:
                self._connection.connection.commit()

    def rollback(self) -> None:
        """Take back what was written: through the ORM session when there is one (its
        hooks run); else on the connection, and what `info` held for the commit (the
        audit events recorded) is dropped with it."""
        if self._orm is not None:
            self._orm.rollback()
            return
        self._info = None
        if self._connection is not None:
            if self._connection.in_transaction():
                self._connection.rollback()
            else:
                self._connection.connection.rollback()

    def holds_orm(self) -> bool:
        """Whether the ORM session was made (a hook at the request's end asks before
        looking at it, so as not to make one for nothing)."""
        return self._orm is not None

    def close(self) -> None:
        """End the transaction and give the connection back (the next use takes another)."""
        orm, connection = self._orm, self._connection
        self._orm = self._connection = self._info = None
        try:
            if orm is not None:
                orm.close()
        finally:
            if connection is not None:
                connection.close()

    def __getattr__(self, name: str):
        return getattr(self.orm, name)

    # Python looks these up on the class, never through __getattr__.
    def __contains__(self, instance) -> bool:
        return self._orm is not None and instance in self._orm

    def __iter__(self):
        return iter(()) if self._orm is None else iter(self._orm)


class Database:
    """One engine per app, one SQLAlchemy session per request (closed at teardown)."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["carnet_db"] = (engine, sessionmaker(engine, expire_on_commit=False))

        @app.teardown_appcontext
        def _close(_exc):
            session = g.pop("db_session", None)
            if session is not None:
                session.close()

    @property
    def engine(self) -> Engine:
        return current_app.extensions["carnet_db"][0]

    @property
    def session(self) -> RequestSession:
        """The request's session: Session's interface (RequestSession forwards to it)."""
        # Asked for several times a request: `g` read through the object behind Flask's
        # proxy (web/i18n.py's _chosen_language says why).
        state = g._get_current_object()
        session = state.get("db_session")
        if session is None:
            session = state.db_session = RequestSession(*current_app.extensions["carnet_db"])
        return session


class Keys:
    """The keyring loaded from CARNET_KEY_FILE at start-up. It follows the file when
    another process rotates or retires a KEK (`flask keys …`), without a restart.

    It is also the process's keyring for model attributes that seal themselves (`user.email`,
    `user.given_name`…, domain/models/user.py): the current app's, so that two apps in one
    process (tests) never mix their keys; outside any app context, the one loaded last."""

    def init_app(self, app: Flask) -> None:
        from domain.crypto import use_process_keyring

        ring = Keyring.from_file(app.config["CARNET_KEY_FILE"])
        app.extensions["carnet_keys"] = self._loaded_last = ring
        use_process_keyring(self._for_models)

    @property
    def ring(self) -> Keyring:
        ring = current_app.extensions["carnet_keys"]
        ring.refresh()  # a stat of the key file at most once a second
        return ring

    def _for_models(self) -> Keyring:
        from flask import has_app_context

        if has_app_context():
            return self.ring
        self._loaded_last.refresh()
        return self._loaded_last


class Blobs:
    """The blob store of encrypted documents (local folder by default, S3 when configured),
    created on first use."""

    def init_app(self, app: Flask) -> None:
        app.extensions["carnet_blobs"] = None

    @property
    def store(self) -> BlobStore:
        store = current_app.extensions.get("carnet_blobs")
        if store is None:
            from pathlib import Path

            from domain.storage import make_blob_store

            config = current_app.config
            store = make_blob_store(config["BLOB_STORE"], Path(current_app.instance_path), {
                name: config[name] for name in ("S3_ENDPOINT_URL", "S3_REGION",
                                                "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")})
            current_app.extensions["carnet_blobs"] = store
        return store


db = Database()
blobs = Blobs()
keys = Keys()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()
login_manager = SessionLoginManager()
limiter = Limiter(key_func=get_remote_address)
