"""Changing one's e-mail or phone (issue 18): the password again, a code sent to the new
one, and the old one told; a wrong or missing password, a wrong code and too many tries
change nothing."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from domain.models import AuditEvent, User
from domain.notify import Mailer
from extensions import db
from tests.conftest import DEMO, csrf_from, last_sms_code
from tests.html_checks import check_page

PAGE = "/mon-compte/coordonnees"
CONFIRM = "/mon-compte/coordonnees/confirmer"
NEW_EMAIL = "camille.nouvelle@example.org"


def _emails(app, address: str) -> list:
    return [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
            if message["To"] == address]


def _ask(client, **data):
    page = client.get(PAGE).get_data(as_text=True)
    assert check_page(page) == [], check_page(page)
    return client.post(PAGE, data={"csrf_token": csrf_from(page), **data})


def _confirm(client, code: str):
    page = client.get(CONFIRM).get_data(as_text=True)
    return client.post(CONFIRM, data={"csrf_token": csrf_from(page), "code": code})


def _user(app, login="camille.martin") -> tuple[str | None, str | None]:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == login)).one()
        return user.email, user.phone


def test_a_new_email_is_confirmed_by_a_code_and_the_old_one_is_told(app, signed_in):
    client = signed_in("camille.martin")
    old = DEMO["camille.martin"].email
    response = _ask(client, kind="email", email=NEW_EMAIL,
                    password=DEMO["camille.martin"].password)
    assert response.status_code == 303 and response.headers["Location"] == CONFIRM
    page = client.get(CONFIRM).get_data(as_text=True)
    assert check_page(page) == [] and NEW_EMAIL not in page  # masked
    body = _emails(app, NEW_EMAIL)[-1].get_body(("plain",)).get_content()
    code = re.search(r"\b(\d{6})\b", body).group(1)
    assert _user(app)[0] == old  # nothing changes before the code
    wrong = "000000" if code != "000000" else "111111"
    assert _confirm(client, wrong).status_code == 422
    done = _confirm(client, code)
    assert done.status_code == 303 and _user(app)[0] == NEW_EMAIL
    told = _emails(app, old)[-1]
    assert "vient d’être changée" in told.get_body(("plain",)).get_content()
    assert NEW_EMAIL not in told.get_body(("plain",)).get_content()
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "account.contact_changed")).one()
        assert json.loads(event.details) == {"kind": "email", "had_one": True,
                                             "second_factor": False, "sessions_ended": 0}
        assert NEW_EMAIL not in event.details


def test_a_new_phone_gets_the_code_by_sms(app, signed_in):
    client = signed_in("camille.martin")
    _ask(client, kind="phone", phone="06 11 22 33 44", password=DEMO["camille.martin"].password)
    assert _confirm(client, last_sms_code(app)).status_code == 303
    assert _user(app)[1] == "+33611223344"


def test_a_wrong_password_sends_nothing_and_changes_nothing(app, signed_in):
    client = signed_in("camille.martin")
    response = _ask(client, kind="email", email=NEW_EMAIL, password="Pas-le-bon-2026")
    assert response.status_code == 422
    assert "Mot de passe incorrect" in response.get_data(as_text=True)
    assert not _emails(app, NEW_EMAIL)
    assert client.get(CONFIRM).headers["Location"] == PAGE


def test_five_wrong_codes_end_the_change(app, signed_in):
    client = signed_in("camille.martin")
    _ask(client, kind="email", email=NEW_EMAIL, password=DEMO["camille.martin"].password)
    body = _emails(app, NEW_EMAIL)[-1].get_body(("plain",)).get_content()
    code = re.search(r"\b(\d{6})\b", body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        assert _confirm(client, wrong).status_code == 422
    assert _confirm(client, wrong).headers["Location"] == PAGE
    assert client.get(CONFIRM).headers["Location"] == PAGE  # the right code is of no use now
    assert _user(app)[0] == DEMO["camille.martin"].email


def test_the_phone_that_gives_sms_codes_changes_with_its_sessions_ended(app, signed_in):
    here, elsewhere = signed_in("pharma.petit"), signed_in("pharma.petit")
    _ask(here, kind="phone", phone="06 11 22 33 55", password=DEMO["pharma.petit"].password)
    assert _confirm(here, last_sms_code(app)).status_code == 303
    assert _user(app, "pharma.petit")[1] == "+33611223355"
    assert here.get(PAGE).status_code == 200
    assert elsewhere.get(PAGE).status_code in (302, 303)
    told = _emails(app, DEMO["pharma.petit"].email)[-1].get_body(("plain",)).get_content()
    assert "Un nouveau téléphone" in told or "numéro de téléphone" in told
