"""A connected app as the tests drive it: PKCE S256, the consent page filled like a person
would, the code exchanged at the token endpoint (Flask's test client throughout)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.conftest import csrf_from

APP = "exemple-balance"
REDIRECT = "http://127.0.0.1:8765/retour"
WEIGHT_SCOPES = ("patient/Observation.rs", "patient/Observation.c")
# A weight, as a connected scale sends it.
WEIGHT = {"resourceType": "Observation", "status": "final",
          "category": [{"coding": [{
              "system": "http://terminology.hl7.org/CodeSystem/observation-category",
              "code": "vital-signs"}]}],
          "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
          "effectiveDateTime": "2026-12-01",
          "valueQuantity": {"value": 71.4, "unit": "kg", "system": "http://unitsofmeasure.org",
                            "code": "kg"}}


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                         ).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Authorisation:
    """Where the consent page sent the browser back, and what the app kept to finish."""

    location: str
    verifier: str
    state: str

    @property
    def query(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlsplit(self.location).query
                                                            ).items()}


def authorize_url(scopes=WEIGHT_SCOPES, *, app=APP, redirect=REDIRECT, challenge=None,
                  state="etat-42", method="S256") -> tuple[str, str]:
    """The authorisation request an app sends the browser to, and its verifier."""
    verifier, made = pkce()
    params = {"response_type": "code", "client_id": app, "redirect_uri": redirect,
              "scope": " ".join(scopes), "state": state}
    if challenge is not False:
        params["code_challenge"] = challenge or made
        params["code_challenge_method"] = method
    return "/oauth/autoriser?" + urlencode(params), verifier


def consent(browser, scopes=WEIGHT_SCOPES, *, tick=None, space="moi",
            decision="autoriser") -> Authorisation:
    """Open the consent page and answer it; `tick` defaults to every scope asked."""
    url, verifier = authorize_url(scopes)
    page = browser.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:400]
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "decision": decision,
            "espace": space, "donnees": list(scopes if tick is None else tick)}
    answer = browser.post(url, data=data)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:400]
    return Authorisation(answer.headers["Location"], verifier, "etat-42")


def exchange(client, authorisation: Authorisation, *, verifier=None, app=APP):
    """The app trades its code (and verifier) for tokens."""
    return client.post("/oauth/jeton", data={
        "grant_type": "authorization_code", "code": authorisation.query["code"],
        "redirect_uri": REDIRECT, "client_id": app,
        "code_verifier": verifier or authorisation.verifier})


def refresh(client, refresh_token: str, *, app=APP):
    """The app trades its refresh token for new tokens."""
    return client.post("/oauth/jeton", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app})


def connect(browser, client, scopes=WEIGHT_SCOPES, **kwargs) -> dict:
    """The whole flow: consent, then the code for tokens; the token response."""
    response = exchange(client, consent(browser, scopes, **kwargs))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def bearer(token: str) -> dict:
    """The Authorization header of an API call."""
    return {"Authorization": f"Bearer {token}"}



def token_for(application, login: str, scopes, *, app_slug: str = "neuf-lunes",
              space_id: str | None = None) -> str:
    """An access token made straight in the domain (as the consent page and the token
    endpoint would make it) for `login`'s space, or the space `space_id` it represents."""
    from sqlalchemy import select

    from domain import apps, audit
    from domain.models import User
    from extensions import db, keys

    with application.app_context():
        person = db.session.scalars(select(User).where(User.login == login)).one()
        space = db.session.get(User, space_id) if space_id else person
        code, access = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        connection = apps.connect(
            db.session, keys.ring, app_slug=app_slug, allowed=tuple(scopes),
            requested=list(scopes), ticked=list(scopes), space=space, granted_by=person,
            redirect_uri="https://app.example/retour", code=code, code_challenge="c" * 43,
            challenge_method="S256", actor=audit.Actor(person.id))
        apps.issue(db.session, keys.ring, connection_id=connection.id,
                   scopes=connection.scopes, access_token=access, refresh_token=None)
        db.session.commit()
    return access
