"""The signed copy of a session's CSRF token is made once per process and given again to
the session's next pages (web/csrf.py); it never reaches another session, and a sign-in
still changes the token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from tests.conftest import csrf_from, sign_in
from web import csrf

EXTEND = "/session/prolonger"


def _token(client, path="/mon-espace") -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return csrf_from(response.get_data(as_text=True))


def _accepted(client, token: str) -> bool:
    status = client.post(EXTEND, data={"csrf_token": token}).status_code
    assert status in (200, 303, 400), status
    return status != 400


def test_a_session_gets_its_signed_copy_again_a_minute_later(app, signed_in):
    client = signed_in("camille.martin")
    start = datetime.now(UTC)
    with freeze_time(start + timedelta(minutes=1)) as clock:
        first = _token(client)
        clock.tick(timedelta(minutes=2))  # signed anew, the copy's time would differ
        assert _token(client, "/profil") == first
        assert _token(client, "/documents") == first
        assert _accepted(client, first)
    raw = csrf.carried(first)
    assert raw is not None and app.extensions[csrf.SIGNED][raw] == first


def test_two_sessions_never_share_a_copy(signed_in):
    one, other = signed_in("camille.martin"), signed_in("camille.martin")
    mine, theirs = _token(one), _token(other)
    assert mine != theirs
    assert csrf.carried(mine) != csrf.carried(theirs)
    assert not _accepted(one, theirs)
    assert _accepted(one, mine) and _accepted(other, theirs)


def test_signing_in_drops_the_visitors_token_and_its_copy(app, client, demo_users):
    visitor = _token(client, "/connexion")
    sign_in(client, app, "camille.martin")
    member = _token(client)
    assert member != visitor and csrf.carried(member) != csrf.carried(visitor)
    assert not _accepted(client, visitor)
    assert _accepted(client, member)


def test_no_copy_is_kept_when_tokens_have_a_time_limit(app, signed_in):
    client = signed_in("camille.martin")
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    try:
        start = datetime.now(UTC)
        with freeze_time(start + timedelta(minutes=1)) as clock:
            first = _token(client)
            clock.tick(timedelta(minutes=2))
            second = _token(client)
        assert second != first  # signed at each page, its own time in it
        assert csrf.carried(first) not in app.extensions[csrf.SIGNED]
    finally:
        app.config["WTF_CSRF_TIME_LIMIT"] = None


def test_what_a_copy_carries():
    assert csrf.carried("not a token") is None
    assert csrf.carried("!!!.x.y") is None
    assert csrf.carried("MTIz.x.y") is None  # 123: a number, not a raw token


def test_a_copy_is_kept_only_for_the_raw_token_it_still_carries(app):
    from flask import session
    from flask_wtf.csrf import generate_csrf

    name = csrf.field_name(app)
    before, after = "a" * 40, "b" * 40
    with app.test_request_context("/"):
        session[name] = before
        generate_csrf()  # signed for `before`
        session[name] = after  # then the raw token changed within the request
        app.process_response(app.response_class("x"))
    kept = app.extensions[csrf.SIGNED]
    assert before not in kept and after not in kept
