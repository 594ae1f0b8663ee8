"""Connecting an app (issue 19): OAuth 2.0 authorisation code with PKCE S256 through
Authlib, the person's consent per kind of data (fewer boxes than asked), rotating refresh
tokens with reuse detection, revocation and withdrawal taking effect on the next call, and
the refusals an outsider meets (unknown app, foreign redirect, no PKCE, no CSRF token)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from freezegun import freeze_time
from sqlalchemy import select

from domain import apps, policy
from domain.models import AppConnection, AuditEvent, Representation, User
from domain.models.base import utcnow
from extensions import db, keys
from tests.conftest import csrf_from
from tests.html_checks import check_page
from tests.oauth_client import (
    APP,
    REDIRECT,
    authorize_url,
    connect,
    consent,
    exchange,
    refresh,
)

PATIENT = "camille.martin"


def _grant(app, token: str):
    with app.app_context():
        return apps.authenticate(db.session, keys.ring, token)


def _user(app, login: str) -> User:
    with app.app_context():
        return db.session.scalars(select(User).where(User.login == login)).one()


def test_the_consent_page_lists_each_kind_of_data_with_its_purpose(app, signed_in):
    browser = signed_in(PATIENT)
    url, _verifier = authorize_url()
    page = browser.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    check_page(html, "/oauth/autoriser")
    assert "Balance connectée" in html
    assert "Lire vos mesures" in html and "Ajouter des mesures" in html
    assert html.count('name="donnees"') == 2 and " checked" not in html.split(
        'name="donnees"')[1][:200]  # nothing ticked for the person
    assert "Pourquoi :" in html


def test_fewer_boxes_than_asked_give_a_token_for_those_only(app, signed_in, client):
    browser = signed_in(PATIENT)
    authorisation = consent(browser, tick=["patient/Observation.rs"])
    assert authorisation.location.startswith(REDIRECT + "?")
    assert authorisation.query["state"] == "etat-42"
    response = exchange(client, authorisation)
    assert response.status_code == 200, response.get_data(as_text=True)
    token = response.get_json()
    assert token["scope"] == "patient/Observation.rs"
    assert token["token_type"].lower() == "bearer" and token["expires_in"] == 600
    assert token["patient"] == _user(app, PATIENT).id and token["refresh_token"]
    assert "Set-Cookie" not in response.headers  # the token endpoint never keeps a session
    grant = _grant(app, token["access_token"])
    assert grant is not None and grant.scopes == {"patient/Observation.rs"}
    assert policy.app_scope_allows(grant.scopes, "Observation", "search")
    assert not policy.app_scope_allows(grant.scopes, "Observation", "create")
    assert not grant.for_representative


def test_nothing_ticked_is_refused_on_the_page_and_nothing_is_connected(app, signed_in):
    browser = signed_in(PATIENT)
    url, _verifier = authorize_url()
    page = browser.get(url).get_data(as_text=True)
    answer = browser.post(url, data={"csrf_token": csrf_from(page), "decision": "autoriser",
                                     "espace": "moi"})
    assert answer.status_code == 422
    assert "Cochez au moins une donnée" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(AppConnection)).all() == []


def test_refusing_sends_access_denied_back_and_is_written_down(app, signed_in):
    browser = signed_in(PATIENT)
    authorisation = consent(browser, decision="refuser")
    assert authorisation.query["error"] == "access_denied"
    assert "code" not in authorisation.query
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "app.connected")).one()
        assert event.outcome == "denied" and event.target_id == APP


def test_the_consent_form_may_go_to_the_site_and_this_app_only(app, signed_in):
    """Browsers apply the form page's form-action to the redirect that answers it."""
    browser = signed_in(PATIENT)
    url, _verifier = authorize_url()
    page = browser.get(url)
    for response in (page, browser.post(url, data={
            "csrf_token": csrf_from(page.get_data(as_text=True)), "decision": "autoriser",
            "espace": "moi"})):  # the page again, with its error
        policy = response.headers["Content-Security-Policy"]
        assert "form-action 'self' http://127.0.0.1:8765;" in policy + ";"
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "form-action 'self';" in browser.get("/services-connectes").headers[
        "Content-Security-Policy"] + ";"


def test_a_wrong_verifier_or_none_gets_no_token(app, signed_in, client):
    browser = signed_in(PATIENT)
    wrong = exchange(client, consent(browser), verifier="x" * 50)
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    authorisation = consent(browser)
    missing = client.post("/oauth/jeton", data={
        "grant_type": "authorization_code", "code": authorisation.query["code"],
        "redirect_uri": REDIRECT, "client_id": APP})
    assert missing.status_code == 400


def test_no_pkce_or_plain_pkce_is_sent_back_as_an_error(app, signed_in):
    browser = signed_in(PATIENT)
    for url in (authorize_url(challenge=False)[0], authorize_url(method="plain")[0]):
        answer = browser.get(url)
        assert answer.status_code == 302
        assert "error=invalid_request" in answer.headers["Location"]
        assert answer.headers["Location"].startswith(REDIRECT)


def test_an_unknown_app_or_a_foreign_address_is_never_redirected_to(app, signed_in):
    browser = signed_in(PATIENT)
    for url in (authorize_url(app="pas-au-catalogue")[0],
                authorize_url(redirect="https://evil.example/vol")[0],
                authorize_url(redirect="http://127.0.0.1:8765/retour/../ailleurs")[0]):
        answer = browser.get(url)
        assert answer.status_code == 400, url
        assert "Location" not in answer.headers
        html = answer.get_data(as_text=True)
        check_page(html, "/oauth/autoriser")
        assert "Rien n’a été partagé" in html


def test_scopes_the_catalogue_entry_does_not_allow_are_never_offered(app, signed_in):
    browser = signed_in(PATIENT)
    url, _verifier = authorize_url(("patient/Observation.rs", "patient/DocumentReference.rs"))
    html = browser.get(url).get_data(as_text=True)
    assert "patient/DocumentReference.rs" not in html and "Lire vos mesures" in html
    only_foreign = browser.get(authorize_url(("patient/DocumentReference.rs",))[0])
    assert only_foreign.status_code == 302
    assert "error=invalid_scope" in only_foreign.headers["Location"]


def test_the_consent_form_needs_its_csrf_token(app, signed_in):
    browser = signed_in(PATIENT)
    url, _verifier = authorize_url()
    browser.get(url)
    answer = browser.post(url, data={"decision": "autoriser", "espace": "moi",
                                     "donnees": ["patient/Observation.rs"]})
    assert answer.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(AppConnection)).all() == []


def test_signed_out_the_consent_page_asks_to_sign_in_and_comes_back(app, client, demo_users):
    url, _verifier = authorize_url()
    answer = client.get(url)
    assert answer.status_code in (302, 303)
    location = answer.headers["Location"]
    assert location.startswith("/connexion")
    assert "oauth%2Fautoriser" in location or "oauth/autoriser" in location


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(app, signed_in, client):
    first = connect(signed_in(PATIENT), client)
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.get_data(as_text=True)
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _grant(app, second["access_token"]) is not None
    replay = refresh(client, first["refresh_token"])  # a copy of the spent one
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    assert _grant(app, second["access_token"]) is None  # the whole family is revoked
    assert refresh(client, second["refresh_token"]).status_code == 400
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "app.refresh_reused")).one().outcome == "denied"


def test_a_code_used_twice_revokes_what_it_gave(app, signed_in, client):
    authorisation = consent(signed_in(PATIENT))
    token = exchange(client, authorisation).get_json()
    assert _grant(app, token["access_token"]) is not None
    again = exchange(client, authorisation)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert _grant(app, token["access_token"]) is None


def test_access_tokens_expire_after_ten_minutes_and_refresh_still_works(
        app, signed_in, client):
    token = connect(signed_in(PATIENT), client)
    with app.app_context():
        later = utcnow() + timedelta(minutes=10, seconds=1)
        assert apps.authenticate(db.session, keys.ring, token["access_token"],
                                 now=later) is None
    with freeze_time(utcnow() + timedelta(minutes=11)):
        renewed = refresh(client, token["refresh_token"])
    assert renewed.status_code == 200


def test_revoking_a_token_ends_its_family_on_the_next_call(app, signed_in, client):
    token = connect(signed_in(PATIENT), client)
    answer = client.post("/oauth/revocation", data={"token": token["refresh_token"],
                                                    "client_id": APP})
    assert answer.status_code == 200
    assert _grant(app, token["access_token"]) is None


def test_another_app_cannot_revoke_or_refresh_this_apps_tokens(app, signed_in, client):
    token = connect(signed_in(PATIENT), client)
    other = "glycemie-facile"
    client.post("/oauth/revocation", data={"token": token["access_token"],
                                           "client_id": other})
    assert _grant(app, token["access_token"]) is not None
    assert refresh(client, token["refresh_token"], app=other).status_code in (400, 401)
    assert _grant(app, token["access_token"]) is not None


def test_withdrawing_from_services_connectes_stops_the_app_at_once(app, signed_in, client):
    browser = signed_in(PATIENT)
    token = connect(browser, client)
    page = browser.get("/services-connectes")
    html = page.get_data(as_text=True)
    check_page(html, "/services-connectes")
    assert "Balance connectée" in html and "Lire vos mesures" in html
    with app.app_context():
        connection = db.session.scalars(select(AppConnection)).one()
    answer = browser.post(f"/services-connectes/{connection.id}/retirer",
                          data={"csrf_token": csrf_from(html)})
    assert answer.status_code == 303
    assert _grant(app, token["access_token"]) is None
    assert refresh(client, token["refresh_token"]).status_code == 400
    landing = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Aucun service n’est connecté" in landing and "est retiré" in landing


def test_someone_elses_connection_cannot_be_withdrawn(app, signed_in, client):
    connect(signed_in(PATIENT), client)
    with app.app_context():
        connection = db.session.scalars(select(AppConnection)).one()
    doctor = signed_in("dr.bernard")
    token = csrf_from(doctor.get("/pro").get_data(as_text=True))
    refused = doctor.post(f"/services-connectes/{connection.id}/retirer",
                          data={"csrf_token": token})
    assert refused.status_code in (403, 404)
    with app.app_context():
        assert db.session.get(AppConnection, connection.id).revoked_at is None


def test_connecting_again_replaces_the_earlier_consent(app, signed_in, client):
    browser = signed_in(PATIENT)
    first = connect(browser, client)
    connect(browser, client, tick=["patient/Observation.c"])
    assert _grant(app, first["access_token"]) is None
    with app.app_context():
        live = apps.connections(db.session, db.session.scalars(select(User).where(
            User.login == PATIENT)).one())
        assert [item.scopes for item in live] == ["patient/Observation.c"]


def test_a_parent_connects_an_app_to_the_childs_space(app, signed_in, client):
    browser = signed_in(PATIENT)
    with app.app_context():
        child_id = db.session.scalars(select(Representation.represented_id)).first()
    url, _verifier = authorize_url()
    html = browser.get(url).get_data(as_text=True)
    assert "Pour quel espace ?" in html and "Espace de Léo" in html
    token = connect(browser, client, space=child_id)
    assert token["patient"] == child_id
    grant = _grant(app, token["access_token"])
    assert grant.for_representative and grant.space.id == child_id
    child_page = browser.get(f"/espace/{child_id}/services-connectes")
    assert "Balance connectée" in child_page.get_data(as_text=True)
    assert "Balance connectée" not in browser.get("/services-connectes").get_data(
        as_text=True)
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "app.connected")).one()
        assert event.acting_as == "representative" and event.subject_id == child_id


def test_a_space_one_does_not_represent_cannot_be_chosen(app, signed_in):
    browser = signed_in(PATIENT)
    url, _verifier = authorize_url()
    page = browser.get(url).get_data(as_text=True)
    stranger = _user(app, "dr.bernard").id
    answer = browser.post(url, data={"csrf_token": csrf_from(page), "decision": "autoriser",
                                     "espace": stranger,
                                     "donnees": ["patient/Observation.rs"]})
    assert answer.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(AppConnection)).all() == []


def test_the_token_endpoint_ignores_a_session_cookie_and_needs_no_csrf(
        app, signed_in):
    browser = signed_in(PATIENT)  # a browser with a live session posts to the endpoint
    authorisation = consent(browser)
    response = exchange(browser, authorisation)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert urlsplit(authorisation.location).netloc == "127.0.0.1:8765"
