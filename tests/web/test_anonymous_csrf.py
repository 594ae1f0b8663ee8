"""Forms shown to signed-out visitors: a signed double-submit CSRF token, and no session row.

The defect: Flask-WTF keeps its raw token in the session, so merely showing the sign-in page
(or an activation, provisional-code or opposition form) to an anonymous visitor wrote a row
to web_sessions, with no limit. Now the raw token rides in its own cookie until something
that must stay on the server (a pending sign-in, an activation in progress) is written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app import create_app
from domain.models import WebSession
from extensions import db
from tests.conftest import DEMO, csrf_from, next_totp

FORM_PAGES = ["/connexion", "/activation", "/activation/code-provisoire",
              "/activation/opposition", "/activation/opposition/sans-code"]
REFUSED = "La demande n’a pas pu être traitée"


def _rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebSession))


def _csrf_cookie(client, app) -> str | None:
    cookie = client.get_cookie(app.config["CSRF_COOKIE_NAME"])
    return cookie.value if cookie else None


def _form(client, path="/connexion", **kwargs) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    return csrf_from(response.get_data(as_text=True))


def _sign_in_post(client, token: str, login="camille.martin", password=None, **kwargs):
    return client.post("/connexion", data={"csrf_token": token, "login": login,
                                           "password": password or DEMO[login].password},
                       **kwargs)


@pytest.mark.parametrize("path", FORM_PAGES)
def test_showing_an_anonymous_form_writes_no_session_row(client, app, path):
    response = client.get(path)
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    assert _rows(app) == 0
    # The raw token is in its own cookie, never the session's (no session cookie at all).
    assert _csrf_cookie(client, app)
    assert client.get_cookie(app.config["SESSION_COOKIE_NAME"]) is None
    # A shared cache must never hand one visitor's token to another.
    assert response.headers["Cache-Control"] == "no-store"


def test_two_hundred_anonymous_visits_write_no_row(app):
    for number in range(200):
        client = app.test_client()  # a fresh visitor each time, as a flood would be
        path = FORM_PAGES[number % len(FORM_PAGES)]
        assert client.get(path).status_code == 200, path
    assert _rows(app) == 0


def test_a_returning_visitor_keeps_one_token_and_gets_no_new_cookie(client, app):
    client.get("/connexion")
    first = _csrf_cookie(client, app)
    again = client.get("/activation")
    assert "Set-Cookie" not in again.headers
    assert _csrf_cookie(client, app) == first and _rows(app) == 0


def test_signing_in_with_the_token_from_the_page_works(client, app, demo_users):
    token = _form(client)
    assert _rows(app) == 0
    response = _sign_in_post(client, token)
    assert response.status_code == 303 and response.headers["Location"].startswith(
        "/connexion/code")
    # The pending sign-in is server state: now, and only now, a row, which carries the token
    # on (the next form is checked against it) while the anonymous cookie goes.
    assert _rows(app) == 1
    assert _csrf_cookie(client, app) is None
    with app.app_context():
        data = json.loads(db.session.scalars(select(WebSession.data)).one())
    assert set(data) == {"csrf_token", "pending_login"}
    page = client.get("/connexion/code").get_data(as_text=True)
    # The same raw token, now from the row. The signed form carries a timestamp, so compare
    # the signed payload (the raw token), not the whole string: a second may tick in between.
    assert csrf_from(page).split(".")[0] == token.split(".")[0]
    response = client.post("/connexion/code", data={
        "csrf_token": csrf_from(page), "code": next_totp(app, "camille.martin")})
    assert response.status_code == 303
    assert client.get("/mon-espace").status_code == 200


def test_the_htmx_header_carries_an_anonymous_token_too(client, app, demo_users):
    token = _form(client)
    response = client.post("/connexion", data={"login": "camille.martin", "password": "x"},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 422  # checked, and refused for the wrong password only
    assert _rows(app) == 0


def _without_token(app):
    client = app.test_client()
    client.get("/connexion")
    return client, ""


def _with_another_visitors_cookie(app):
    client = app.test_client()
    token = _form(client)
    other = app.test_client()
    other.get("/connexion")
    client.set_cookie(app.config["CSRF_COOKIE_NAME"], _csrf_cookie(other, app))
    return client, token


def _with_a_tampered_cookie(app):
    client = app.test_client()
    token = _form(client)
    value = _csrf_cookie(client, app)
    flipped = ("0" if value[0] != "0" else "1") + value[1:]
    client.set_cookie(app.config["CSRF_COOKIE_NAME"], flipped)
    return client, token


def _with_a_malformed_cookie(app):
    client = app.test_client()
    token = _form(client)
    client.set_cookie(app.config["CSRF_COOKIE_NAME"], "x" * 40)
    return client, token


def _without_its_cookie(app):
    client = app.test_client()
    token = _form(client)
    client.delete_cookie(app.config["CSRF_COOKIE_NAME"])
    return client, token


def _with_a_tampered_token(app):
    client = app.test_client()
    token = _form(client)
    value, _dot, signature = token.rpartition(".")
    return client, value + "." + ("A" if signature[0] != "A" else "B") + signature[1:]


@pytest.mark.parametrize("prepare", [
    _without_token, _with_another_visitors_cookie, _with_a_tampered_cookie,
    _with_a_malformed_cookie, _without_its_cookie, _with_a_tampered_token,
], ids=["missing-token", "another-visitors-cookie", "tampered-cookie", "malformed-cookie",
        "token-without-its-cookie", "tampered-token"])
def test_a_bad_anonymous_token_is_refused(app, demo_users, prepare):
    client, token = prepare(app)
    response = _sign_in_post(client, token)
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert _rows(app) == 0


def test_a_token_does_not_work_across_visitors(app, demo_users):
    alice, bob = app.test_client(), app.test_client()
    alice_token, bob_token = _form(alice), _form(bob)
    assert alice_token != bob_token
    assert _csrf_cookie(alice, app) != _csrf_cookie(bob, app)
    assert _sign_in_post(bob, alice_token).status_code == 400
    assert _sign_in_post(alice, bob_token).status_code == 400
    assert _sign_in_post(bob, bob_token).status_code == 303
    assert _rows(app) == 1  # Bob's pending sign-in only


def test_after_sign_in_the_row_holds_the_token_and_forms_keep_working(client, app,
                                                                      demo_users):
    anonymous_token = _form(client)
    assert _rows(app) == 0
    response = _sign_in_post(client, anonymous_token)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    client.post("/connexion/code", data={"csrf_token": csrf_from(page),
                                         "code": next_totp(app, "camille.martin")})
    with app.app_context():
        [record] = db.session.scalars(select(WebSession)).all()
        assert record.user_id is not None
    assert _csrf_cookie(client, app) is None
    token = csrf_from(client.get("/mon-compte/sessions").get_data(as_text=True))
    assert token != anonymous_token  # a new raw token at sign-in
    response = client.post("/session/prolonger", headers={"X-CSRFToken": token,
                                                          "HX-Request": "true"})
    assert response.status_code == 200
    # The token shown before signing in is worthless now, even with a cookie bearing it.
    client.set_cookie(app.config["CSRF_COOKIE_NAME"], anonymous_token.split(".")[0])
    assert client.post("/session/prolonger", data={"csrf_token": anonymous_token}
                       ).status_code == 400
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert _rows(app) == 0
    assert client.get_cookie(app.config["SESSION_COOKIE_NAME"]) is None
    assert _csrf_cookie(client, app) is None
    # Signed out, the sign-in page is an anonymous form again: no row.
    _form(client)
    assert _rows(app) == 0


def test_a_row_left_with_only_the_token_goes_back_to_the_cookie(client, app, demo_users):
    """A pending sign-in that lapses leaves nothing worth a row: the row goes, the token
    stays valid through the cookie."""
    start = datetime.now(UTC)
    token = _form(client)
    _sign_in_post(client, token)
    assert _rows(app) == 1
    with freeze_time(start + timedelta(minutes=11)):  # the pending sign-in lasts 10 minutes
        response = client.get("/connexion/code")
        assert response.headers["Location"] == "/connexion?avis=recommencer"
        client.get("/connexion")  # shows the "start again" message, then holds only the token
    assert _rows(app) == 0
    assert client.get_cookie(app.config["SESSION_COOKIE_NAME"]) is None
    assert _sign_in_post(client, token).status_code == 303


def test_an_expired_session_falls_back_to_an_anonymous_token(client, app, demo_users):
    token = _form(client)
    _sign_in_post(client, token)
    with freeze_time(datetime.now(UTC) + timedelta(minutes=16)):
        page = client.get("/connexion")
        assert _rows(app) == 0
        fresh = csrf_from(page.get_data(as_text=True))
        assert _csrf_cookie(client, app)
        assert client.get_cookie(app.config["SESSION_COOKIE_NAME"]) is None
        assert _sign_in_post(client, fresh).status_code == 303


@pytest.fixture
def https_app(app, monkeypatch, tmp_path):
    """The app with CARNET_HTTPS on, as behind TLS, on the test database and keys."""
    for name, value in {"CARNET_ENV": "test", "CARNET_HTTPS": "1",
                        "CARNET_KEY_FILE": app.config["CARNET_KEY_FILE"]}.items():
        monkeypatch.setenv(name, value)
    secure = create_app({"DATABASE_URL": app.config["DATABASE_URL"],
                         "PASSWORD_HASH_PROFILE": "fast", "RATELIMIT_STORAGE_URI": "memory://",
                         "OUTBOX_DIR": str(tmp_path / "outbox")},
                        instance_path=str(tmp_path / "instance"))
    yield secure
    with secure.app_context():
        db.engine.dispose()


def test_the_cookie_flags_over_https(https_app, demo_users):
    assert https_app.config["CSRF_COOKIE_NAME"] == "__Host-carnet-csrf"
    client = https_app.test_client()
    response = client.get("/connexion", base_url="https://localhost")
    [header] = response.headers.getlist("Set-Cookie")
    assert header.startswith("__Host-carnet-csrf=")
    attributes = [part.strip() for part in header.split(";")[1:]]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in attributes, header
    assert not [part for part in attributes
                if part.split("=")[0] in ("Domain", "Max-Age", "Expires")], header
    value = header.split(";")[0].split("=", 1)[1]
    assert len(value) == 40  # 160 random bits
    assert _rows(https_app) == 0
    token = csrf_from(response.get_data(as_text=True))
    response = _sign_in_post(client, token, base_url="https://localhost")
    assert response.status_code == 303
    cookies = response.headers.getlist("Set-Cookie")
    assert any(cookie.startswith("__Host-carnet=") and "Secure" in cookie
               for cookie in cookies), cookies
    assert any(cookie.startswith("__Host-carnet-csrf=;") for cookie in cookies), cookies


@pytest.mark.parametrize(("path", "target", "words"), [
    ("/connexion/code", "/connexion?avis=recommencer", "recommencez la connexion"),
    *[(f"/activation/{step}", "/activation?avis=code-d-abord", "Commencez par saisir votre code")
      for step in ("identite", "conditions", "coordonnees", "coordonnees/verification",
                   "identifiants", "second-facteur", "recapitulatif")],
])
def test_redirects_with_a_notice_write_no_session_row(client, app, path, target, words):
    """A step reached without its flow sent a flash() message, which wrote a row for every
    such GET: the notice now travels in the address, as fixed sentences only."""
    response = client.get(path)
    assert response.status_code == 303 and response.headers["Location"] == target
    page = client.get(target).get_data(as_text=True)
    assert words in page.replace("&#39;", "’")
    assert _rows(app) == 0


def test_an_unknown_notice_shows_nothing(client):
    page = client.get("/connexion?avis=<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "banner--" not in page


def test_a_sessions_form_token_is_signed_anew_each_second(signed_in):
    """The token in a page is never the same page after page: a page compressed with what
    the request brought (the way back in the idle warning, the language links) next to a
    token that stayed the same would let someone who sees only response sizes read it
    (BREACH), on the old browsers that send cookies with cross-site requests."""
    client = signed_in("camille.martin")
    start = datetime.now(UTC)
    with freeze_time(start + timedelta(seconds=5)) as clock:
        first = _form(client, "/mon-espace")
        clock.tick(timedelta(seconds=2))
        second = _form(client, "/mon-espace")
        assert second != first
        # Both stay valid: the signature binds the session's raw token, not the page.
        for token in (first, second):
            assert client.post("/session/prolonger",
                               data={"csrf_token": token}).status_code == 303


def test_the_pages_token_is_the_one_flask_wtf_makes_and_checks(app):
    from flask_wtf.csrf import generate_csrf, validate_csrf

    from web import csrf

    with app.test_request_context("/"):
        mine = csrf.form_token()
        assert generate_csrf() == mine == csrf.form_token()  # one per request, shared
        validate_csrf(mine)  # raises if Flask-WTF would refuse it
    with app.test_request_context("/"):
        theirs = generate_csrf()  # Flask-WTF first (a kept form page): the same again
        assert csrf.form_token() == theirs
        validate_csrf(theirs)
    assert app.jinja_env.globals["csrf_token"] is csrf.form_token
    with app.test_request_context("/"):  # what a page's csrf_token() is, context included
        from flask import render_template_string
        assert render_template_string("{{ csrf_token.__name__ }}") == "form_token"


@pytest.mark.parametrize("raw", [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4",  # Flask-WTF's kind: 40 hex digits
    "Zq8-4vN_r2LkT0wXy7Hc1mBd9sGf3aJe6uPo5iQt_EnRz-W4VxKl0hYb2CgMjUs8Dp1FaO7tIe3NwSq9LrHk",
    "caf\u00e9 \"quoted\" \u2603",  # not a token's, but what JSON would have to escape
])
def test_the_token_signer_writes_what_itsdangerous_writes_and_reads(raw):
    """The signer is itsdangerous's serializer without its per-call key derivation: the
    same bytes at the same second, read back by the serializer Flask-WTF checks with; a
    token signed under another secret, or altered, is refused."""
    from itsdangerous import BadSignature, URLSafeTimedSerializer

    from web.csrf import SALT, TokenSigner

    secret = "k" * 64
    theirs = URLSafeTimedSerializer(secret, salt=SALT)
    now = 1_796_000_000
    with freeze_time(datetime.fromtimestamp(now, UTC)):
        assert TokenSigner(secret).sign(raw, now) == theirs.dumps(raw)
        assert TokenSigner(secret).sign(raw) == theirs.dumps(raw)  # the clock's second
    mine = TokenSigner(secret).sign(raw, now)
    assert theirs.loads(mine) == raw
    with pytest.raises(BadSignature):
        theirs.loads(TokenSigner("x" * 64).sign(raw, now))
    with pytest.raises(BadSignature):
        theirs.loads(mine[:-2] + ("AA" if mine[-2:] != "AA" else "BB"))


def test_a_token_that_would_compress_still_reads_back():
    """A visitor's own cookie may bring a raw token that compresses ("A-b_" again and
    again): the serializer would sign its zlib form, the signer signs it as it is, and the
    serializer reads either."""
    from itsdangerous import URLSafeTimedSerializer

    from web.csrf import SALT, TokenSigner

    raw = "A-b_" * 32
    theirs = URLSafeTimedSerializer("k" * 64, salt=SALT)
    assert theirs.dumps(raw).startswith(".")  # compressed there
    assert theirs.loads(TokenSigner("k" * 64).sign(raw)) == raw
