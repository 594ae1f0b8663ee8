"""Answers that must not tell whether a person, or a login, exists (SECURITY.md: "Every
answer that depends on whether a person exists is indistinguishable").

For each endpoint, every branch gives the same status, the same headers, the same body once
the per-request values are removed (same length too) and the same number of calls to the
hashing functions (keyed hashes, argon2). Timing is measured in
benchmarks/activation_oracles.py, never here.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from stdnum.fr import nir as stdnum_nir

from domain import insured, passwords
from domain.crypto import Keyring
from domain.forms import LOGIN
from domain.models import ActivationCode, InsuredPerson, SpaceStatus, User
from domain.notify import Mailer
from extensions import db, keys
from tests.blueprints.activation.test_activate_flow import walk_to_credentials
from tests.blueprints.activation.test_oppose_and_provisional import (
    JEANNE_IDENTITY,
    PAUL_IDENTITY,
)
from tests.conftest import csrf_from
from tests.html_checks import check_page

PASSWORD = "Le chat dort sur le toit"
CAMILLE_IDENTITY = {"nir": "2 88 03 75 108 021 50", "vitale": "12345678901", "birth_day": "14",
                    "birth_month": "3", "birth_year": "1988"}


def _with_key(first13: str) -> str:
    return first13 + stdnum_nir.calc_check_digits(first13)


UNKNOWN_NIR = _with_key("1800175123456")
UNKNOWN_IDENTITY = {"nir": UNKNOWN_NIR, "vitale": "98765432109", "birth_day": "1",
                    "birth_month": "1", "birth_year": "1980"}
PHONE_ONLY_NIR = _with_key("1750269123456")
PHONE_ONLY_IDENTITY = {"nir": PHONE_ONLY_NIR, "vitale": "67890123456", "birth_day": "3",
                       "birth_month": "2", "birth_year": "1975"}

# Values that change with every request, whoever asks: the CSRF token and nonce-like
# attributes. Everything else must be byte for byte the same.
VOLATILE = (re.compile(r'(name="csrf_token" value=")[^"]*(")'),
            re.compile(r'(name="csrf-token" content=")[^"]*(")'),
            re.compile(r'(nonce=")[^"]*(")'))
VOLATILE_HEADERS = {"date", "x-request-id", "content-length", "retry-after", "x-ratelimit-limit",
                    "x-ratelimit-remaining", "x-ratelimit-reset"}


def _normalised(html: str) -> str:
    for pattern in VOLATILE:
        html = pattern.sub(r"\1…\2", html)
    return html


def _headers(response) -> list[tuple[str, str]]:
    return sorted((name.lower(), value.split("=")[0] if name.lower() == "set-cookie" else value)
                  for name, value in response.headers.items()
                  if name.lower() not in VOLATILE_HEADERS)


@pytest.fixture
def hashes(monkeypatch):
    """A counting spy on every hashing function the branches use: keyed hashes (blind
    indexes: NIR, carte Vitale, codes, throttle keys) by purpose, and argon2."""
    counts: Counter = Counter()
    blind_index = Keyring.blind_index

    def counting_blind_index(self, purpose, value):
        counts[f"blind_index:{purpose}"] += 1
        return blind_index(self, purpose, value)

    monkeypatch.setattr(Keyring, "blind_index", counting_blind_index)
    for name in ("hash_password", "verify_password"):
        original = getattr(passwords, name)

        def counting(*args, _original=original, _name=name, **kwargs):
            counts[f"argon2:{_name}"] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(passwords, name, counting)
    return counts


def _submit(client, path: str, data: dict, hashes: Counter, **kwargs):
    """Show the form, then send it; returns the answer and the hash calls of the POST only."""
    page = client.get(path, **kwargs)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and check_page(html) == [], (path, check_page(html))
    hashes.clear()
    response = client.post(path, data={"csrf_token": csrf_from(html), **data}, **kwargs)
    return response, Counter(hashes)


def _assert_indistinguishable(answers: dict) -> None:
    (first_name, (first, first_hashes)), *others = answers.items()
    first_body = first.get_data(as_text=True)
    for name, (response, counted) in others:
        body = response.get_data(as_text=True)
        assert response.status_code == first.status_code, (name, first_name)
        assert _headers(response) == _headers(first), (name, first_name)
        assert len(body) == len(first_body), (name, first_name)
        assert _normalised(body) == _normalised(first_body), (name, first_name)
        assert counted == first_hashes, (name, counted, first_name, first_hashes)
    assert sum(first_hashes.values()) > 0
    assert check_page(first_body) == [], check_page(first_body)


def _person(app, nir: str) -> InsuredPerson:
    with app.app_context():
        return insured.find_by_nir(db.session, keys.ring, nir)


def _emails_to(app, address: str) -> list:
    return [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
            if message["To"] == address]


def _add_phone_only_person(app) -> None:
    with app.app_context():
        report = insured.import_csv(
            db.session, keys.ring,
            "nir,vitale_serial,birth_name,given_names,birth_date,sex,email,phone,address,"
            f"representative_nirs\n{PHONE_ONLY_NIR},67890123456,Roux,Hugo,1975-02-03,1,,"
            "0600000044,,\n", date.today())
        db.session.commit()
        assert report.created == 1, report.errors


# --------------------------------------------------------------------- login (item 8)

def test_choosing_a_login_hashes_the_password_whether_or_not_the_login_is_free(
        client, app, demo_users, hashes):
    walk_to_credentials(client, app)
    answers = {}
    for login in ("camille.martin", "jeanne.dupont"):
        answers[login] = _submit(client, "/activation/identifiants", {
            "login": login, "password": PASSWORD, "password_confirm": PASSWORD}, hashes)
    (taken, taken_hashes), (free, free_hashes) = answers.values()
    assert taken.status_code == 422
    assert free.headers["Location"] == "/activation/second-facteur"
    assert taken_hashes["argon2:hash_password"] == free_hashes["argon2:hash_password"] == 1
    assert taken_hashes == free_hashes


def test_an_unusable_login_gets_one_answer_whatever_the_reason_with_free_suggestions(
        client, app, demo_users, hashes):
    walk_to_credentials(client, app)
    # Same length on purpose: the typed login is kept in its field (typed values are kept).
    answers = {login: _submit(client, "/activation/identifiants", {
        "login": login, "password": PASSWORD, "password_confirm": PASSWORD}, hashes)
        for login in ("camille.martin", "administrateur")}
    bodies = {login: response.get_data(as_text=True) for login, (response, _) in answers.items()}
    suggestions = {}
    for login, body in bodies.items():
        assert check_page(body) == [], check_page(body)
        assert "déjà pris" not in body
        assert body.count(login) == 1  # in the field only: the message never repeats it
        message = re.search(r'id="login-error">(.*?)</p>', body, re.S).group(1)
        suggestions[login] = re.findall(r"\b[a-z][a-z0-9.-]*\d{3}\b", message)
        assert len(suggestions[login]) == 3, message
    with app.app_context():
        existing = set(db.session.execute(select(User.login)).scalars())
    for offered in suggestions.values():
        for suggestion in offered:
            assert LOGIN.fullmatch(suggestion) and suggestion not in existing, suggestion
            assert "jeanne" in suggestion or "dupont" in suggestion, suggestion
    # Suggestions are drawn at random (same shape, same length): the rest is identical.
    blanked = {login: re.sub(r"\d{3}\b", "000", _normalised(body))
               for login, body in bodies.items()}
    assert len(bodies["camille.martin"]) == len(bodies["administrateur"])
    assert blanked["camille.martin"] == blanked["administrateur"].replace(
        "administrateur", "camille.martin")
    # And a suggestion offered is indeed free: taking it moves the flow on.
    response, _ = _submit(client, "/activation/identifiants", {
        "login": suggestions["camille.martin"][0], "password": PASSWORD,
        "password_confirm": PASSWORD}, hashes)
    assert response.headers["Location"] == "/activation/second-facteur"


def test_login_choices_are_rate_limited_per_flow_and_per_address(
        client, app, demo_users, hashes, monkeypatch):
    walk_to_credentials(client, app)
    form = {"login": "camille.martin", "password": PASSWORD, "password_confirm": PASSWORD}
    # Per address: a low limit for the test; another address still gets through.
    monkeypatch.setitem(app.config, "ACTIVATION_LIMIT_PER_IP", "3 per minute")
    here = {"environ_base": {"REMOTE_ADDR": "192.0.2.1"}}
    statuses = [_submit(client, "/activation/identifiants", form, hashes, **here)[0].status_code
                for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    # Per flow: the same activation from many addresses is counted once.
    monkeypatch.setitem(app.config, "ACTIVATION_LIMIT_PER_IP", "60 per 10 minutes")
    statuses = [_submit(client, "/activation/identifiants", form, hashes,
                        environ_base={"REMOTE_ADDR": f"198.51.100.{index}"})[0].status_code
                for index in range(1, 40)]
    assert statuses[0] == 422 and 429 in statuses
    first_refused = statuses.index(429)
    assert 3 < first_refused <= 25 and set(statuses[first_refused:]) == {429}, statuses


# ---------------------------------------------------------- opposition without code (item 9)

def test_opposing_without_a_code_answers_the_same_for_unknown_active_and_pending_people(
        app, demo_users, hashes):
    answers = {}
    for name, identity in (("unknown", UNKNOWN_IDENTITY), ("active", CAMILLE_IDENTITY),
                           ("pending, e-mail on file", JEANNE_IDENTITY),
                           ("pending, nothing on file", PAUL_IDENTITY),
                           ("already opposed", JEANNE_IDENTITY)):
        answers[name] = _submit(app.test_client(), "/activation/opposition/sans-code",
                                identity, hashes)
    _assert_indistinguishable(answers)
    response = answers["unknown"][0]
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Jeanne" not in body and "Paul" not in body and "OPP-" not in body
    # What happened is told to the person, not to the page.
    jeanne = _person(app, "254071305512392")
    assert jeanne.space_status == SpaceStatus.OPPOSED
    sent = _emails_to(app, "jeanne.dupont@example.org")
    assert len(sent) == 2 and jeanne.opposition_reference in sent[0].get_body(
        ("plain",)).get_content()
    assert any(part.get_filename() == "attestation-opposition.pdf"
               for part in sent[0].iter_attachments())
    assert _person(app, "167089201234508").space_status == SpaceStatus.OPPOSED
    assert _person(app, "288037510802150").space_status == SpaceStatus.ACTIVE
    assert len(_emails_to(app, "camille.martin@example.org")) == 1


# ------------------------------------------------------------ provisional code (item 9)

def test_the_provisional_code_answer_is_one_fixed_sentence_for_every_case(
        app, demo_users, hashes):
    _add_phone_only_person(app)
    for _ in range(3):  # Jeanne's daily limit, reached beforehand
        _submit(app.test_client(), "/activation/code-provisoire", JEANNE_IDENTITY, hashes)
    answers = {"daily limit reached": _submit(app.test_client(), "/activation/code-provisoire",
                                              JEANNE_IDENTITY, hashes)}
    for name, identity in (("unknown", UNKNOWN_IDENTITY), ("active", CAMILLE_IDENTITY),
                           ("phone only", PHONE_ONLY_IDENTITY),
                           ("nothing on file", PAUL_IDENTITY)):
        answers[name] = _submit(app.test_client(), "/activation/code-provisoire", identity,
                                hashes)
    _reset_jeanne_limit(app)
    answers["e-mail on file"] = _submit(app.test_client(), "/activation/code-provisoire",
                                        JEANNE_IDENTITY, hashes)
    _assert_indistinguishable(answers)
    response = answers["unknown"][0]
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "***" not in body and "Regardez ici" not in body
    assert app.config["OFFICIAL_PHONE"] in body
    # The codes did go out where they should, and only there.
    assert len(_emails_to(app, "jeanne.dupont@example.org")) == 4
    assert len(_emails_to(app, "camille.martin@example.org")) == 0
    sms = [path.read_text() for path in (Path(app.config["OUTBOX_DIR"]) / "sms").iterdir()]
    assert len(sms) == 1 and "0600000044" in sms[0].replace("+33", "0")


def _reset_jeanne_limit(app) -> None:
    """Age Jeanne's provisional codes by a day, so her next request is under the limit."""
    with app.app_context():
        jeanne = insured.find_by_nir(db.session, keys.ring, "254071305512392")
        for record in db.session.execute(select(ActivationCode).where(
                ActivationCode.insured_id == jeanne.id)).scalars():
            record.sent_at -= timedelta(days=2)
        db.session.commit()
