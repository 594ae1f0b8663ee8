"""Extension objects, created unbound and initialised by create_app()."""

from __future__ import annotations

from flask import Flask, current_app, g, session
from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from domain.crypto import Keyring
from domain.db import make_engine
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
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = current_app.extensions["carnet_db"][1]()
        return g.db_session


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
