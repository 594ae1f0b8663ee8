"""Flask's session stored server-side (domain.sessions), in a __Host- cookie over HTTPS."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from domain import audit, sessions
from extensions import db, keys

STATIC_ENDPOINTS = {"assets.static_file"}


def lifetimes(app: Flask) -> sessions.Lifetimes:
    return sessions.Lifetimes(
        idle=timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]),
        assisted_idle=timedelta(minutes=app.config["SESSION_ASSISTED_IDLE_MINUTES"]),
        absolute=timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"]),
    )


class ServerSession(CallbackDict, SessionMixin):
    """The session dict, plus the stored record and what to do with it at the end."""

    def __init__(self, initial=None, record=None, expired: sessions.Status | None = None,
                 had_cookie: bool = False):
        def on_update(_self):
            _self.modified = True

        super().__init__(initial, on_update)
        self.record = record
        self.expired = expired
        self.had_cookie = had_cookie
        self.modified = False
        self.rotate_requested = False
        self.destroy_requested = False

    def rotate(self) -> None:
        """Give the session a new id (at sign-in), keeping its data."""
        self.rotate_requested = True
        self.modified = True

    def destroy(self) -> None:
        """Delete the server record and the cookie (at sign-out)."""
        self.destroy_requested = True
        self.clear()


class ServerSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request):
        if request.endpoint in STATIC_ENDPOINTS:
            return None
        token = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        if not token:
            return ServerSession()
        record, status = sessions.load(db.session, token, lifetimes(app))
        if status == sessions.Status.ACTIVE:
            return ServerSession(json.loads(record.data), record=record, had_cookie=True)
        if record is not None and record.user_id:
            audit.record(db.session, keys.ring, "auth.session_timeout",
                         actor=audit.Actor(record.user_id, ip=request.remote_addr),
                         subject_id=record.user_id, details={"reason": status.value})
        db.session.commit()
        return ServerSession(expired=status if record is not None else None, had_cookie=True)

    def _delete_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(app.config["SESSION_COOKIE_NAME"], path="/",
                               secure=app.config["SESSION_COOKIE_SECURE"], httponly=True,
                               samesite=app.config["SESSION_COOKIE_SAMESITE"])

    def save_session(self, app: Flask, session, response: Response) -> None:
        if not isinstance(session, ServerSession):
            return
        store = db.session
        record = session.record
        if session.destroy_requested or (session.rotate_requested and record is not None):
            if record is not None:
                sessions.destroy(store, record)
                store.commit()
                record = None
            if session.destroy_requested:
                self._delete_cookie(app, response)
                return
        if not session:
            if record is not None:
                sessions.destroy(store, record)
                store.commit()
            if session.had_cookie:
                self._delete_cookie(app, response)
            return
        user_id = session.get("_user_id")
        if record is None:
            token, record = sessions.create(store, dict(session), user_id=user_id,
                                            ip=request.remote_addr,
                                            user_agent=request.headers.get("User-Agent"))
            store.commit()
            response.set_cookie(app.config["SESSION_COOKIE_NAME"], token, path="/",
                                secure=app.config["SESSION_COOKIE_SECURE"], httponly=True,
                                samesite=app.config["SESSION_COOKIE_SAMESITE"])
            return
        if session.modified:
            record.data = json.dumps(dict(session))
            record.user_id = user_id
        if user_id:
            sessions.touch(record)
        if store.dirty:
            store.commit()


def init_app(app: Flask) -> None:
    app.session_interface = ServerSessionInterface()
