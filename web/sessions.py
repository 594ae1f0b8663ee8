"""Flask's session stored server-side (domain.sessions), in a __Host- cookie over HTTPS.

A row is written only when there is something the server must keep: a signed-in person, a
pending sign-in, an activation or opposition under way, a message to show after a redirect.
A session holding nothing but Flask-WTF's raw CSRF token (every page with a form needs one)
keeps that token in a cookie of its own instead (web/csrf.py), so showing a form to an
anonymous visitor writes nothing, and a row left with only the token is deleted.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from domain import audit, sessions
from extensions import db, keys
from web import access, csrf

STATIC_ENDPOINTS = {"assets.static_file"}
# In a session handed over by an adviser: who assists, and the accompaniment.
ASSISTED_BY = "_assisted_by"
ACCOMPANIMENT = "_accompaniment"
# Opened with a recovery code or a letter's code: the phone is gone, so the changes that ask
# for the current second factor (a new authenticator, new recovery codes) do without it.
FACTOR_LOST = "_factor_lost"
# Messages waiting for the next page (flask.flash): the newest few. A browser shows them on
# the page its redirect leads to; a client that never loads that page (a script posting
# form after form) would otherwise grow its session row, read and written on each request,
# by one message a post.
FLASHES = "_flashes"
FLASHES_KEPT = 5


def lifetimes(app: Flask) -> sessions.Lifetimes:
    return sessions.Lifetimes(
        idle=timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]),
        assisted_idle=timedelta(minutes=app.config["SESSION_ASSISTED_IDLE_MINUTES"]),
        absolute=timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"]),
    )


class ServerSession(CallbackDict, SessionMixin):
    """The session dict, plus the stored record and what to do with it at the end."""

    def __init__(self, initial=None, record=None, expired: sessions.Status | None = None,
                 had_cookie: bool = False, csrf_cookie: str | None = None):
        def on_update(_self):
            _self.modified = True

        super().__init__(initial, on_update)
        self.record = record
        self.expired = expired
        self.had_cookie = had_cookie
        self.csrf_cookie = csrf_cookie  # the raw CSRF token the request's cookie brought
        self.modified = False
        self.rotate_requested = False
        self.destroy_requested = False
        self.handover: dict | None = None

    def hand_over(self, data: dict) -> None:
        """An adviser hands the tablet to a person: the desk's record stays on the server,
        parked (domain.assist.start did it), and this response gives the browser a new
        session holding only `data` (ASSISTED_BY and ACCOMPANIMENT)."""
        self.handover = dict(data)
        self.modified = True

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
        if request.endpoint in STATIC_ENDPOINTS or access.for_apps():
            return None  # no session for assets, nor for the app API (bearer tokens only)
        token = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        if not token:
            return self._without_record(app, request)
        record, status = sessions.load(db.session, token, lifetimes(app))
        if status == sessions.Status.ACTIVE:
            return ServerSession(json.loads(record.data), record=record, had_cookie=True)
        if record is not None and record.user_id:
            audit.record(db.session, keys.ring, "auth.session_timeout",
                         actor=audit.Actor(record.user_id, ip=request.remote_addr),
                         subject_id=record.user_id, details={"reason": status.value})
        db.session.commit()
        return self._without_record(app, request, had_cookie=True,
                                    expired=status if record is not None else None)

    @staticmethod
    def _without_record(app: Flask, request: Request, had_cookie: bool = False,
                        expired: sessions.Status | None = None) -> ServerSession:
        """A visitor with no live row: the session holds at most the raw CSRF token that
        the visitor's CSRF cookie brings, where Flask-WTF looks for it."""
        raw = csrf.read_cookie(app, request)
        return ServerSession({csrf.field_name(app): raw} if raw else None, expired=expired,
                             had_cookie=had_cookie, csrf_cookie=raw)

    @staticmethod
    def _token_in_cookie(app: Flask, raw: str | None, brought: str | None,
                         response: Response) -> None:
        """Write the raw CSRF token to its cookie when it is new, or remove a cookie whose
        token the session no longer has (popped, or not well formed)."""
        if raw is not None and not csrf.RAW_TOKEN_RE.fullmatch(str(raw)):
            raw = None
        if raw is not None and raw != brought:
            csrf.set_cookie(app, response, raw)
        elif raw is None and csrf.has_cookie(app, request):
            csrf.delete_cookie(app, response)

    def _delete_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(app.config["SESSION_COOKIE_NAME"], path="/",
                               secure=app.config["SESSION_COOKIE_SECURE"], httponly=True,
                               samesite=app.config["SESSION_COOKIE_SAMESITE"])

    @staticmethod
    def _issue(app: Flask, response: Response, data: dict, user_id: str | None = None) -> None:
        """A new row and its cookie. A session handed over by an adviser stays marked as
        assisted through every rotation (its data carries ASSISTED_BY)."""
        token, _record = sessions.create(db.session, data, user_id=user_id,
                                         assisted_by_id=data.get(ASSISTED_BY),
                                         ip=request.remote_addr,
                                         user_agent=request.headers.get("User-Agent"))
        db.session.commit()
        response.set_cookie(app.config["SESSION_COOKIE_NAME"], token, path="/",
                            secure=app.config["SESSION_COOKIE_SECURE"], httponly=True,
                            samesite=app.config["SESSION_COOKIE_SAMESITE"])

    def save_session(self, app: Flask, session, response: Response) -> None:
        if not isinstance(session, ServerSession):
            return
        store = db.session
        record = session.record
        if session.handover is not None:  # the parked desk row stays as it is
            self._issue(app, response, session.handover)
            return
        if session.destroy_requested or (session.rotate_requested and record is not None):
            if record is not None:
                sessions.destroy(store, record)
                store.commit()
                record = None
            if session.destroy_requested:
                self._delete_cookie(app, response)
                if csrf.has_cookie(app, request):
                    csrf.delete_cookie(app, response)
                return
        raw_token_key = csrf.field_name(app)
        if all(key == raw_token_key for key in session):
            # Nothing for the server to keep (at most the raw CSRF token): no row.
            if record is not None:
                sessions.destroy(store, record)
                store.commit()
            if session.had_cookie:
                self._delete_cookie(app, response)
            self._token_in_cookie(app, session.get(raw_token_key), session.csrf_cookie,
                                  response)
            return
        if csrf.has_cookie(app, request):
            # From here on the row carries the raw token (same value: pages already shown
            # keep working).
            csrf.delete_cookie(app, response)
        waiting = session.get(FLASHES)
        if waiting and len(waiting) > FLASHES_KEPT:
            session[FLASHES] = waiting[-FLASHES_KEPT:]
        user_id = session.get("_user_id")
        if record is None:
            self._issue(app, response, dict(session), user_id)
            return
        # Activity keeps a session alive, a signed-in one or an anonymous flow's (an
        # activation in progress must not end 15 minutes after its first step).
        if sessions.save(store, record, user_id=user_id,
                         data=json.dumps(dict(session)) if session.modified else None):
            store.commit()


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.session_interface = ServerSessionInterface()
