"""Planted secrets never reach the logs, the audit trail or any table in clear."""

from __future__ import annotations

import logging

from sqlalchemy import select

from domain.models import Base
from extensions import db
from tests.conftest import DEMO, csrf_from, last_sms_code, next_totp

PASSWORD_CANARY = "Canari-Mot-De-Passe-7731"
LOGIN_CANARY = "canari.identifiant.5512"


def _everything_stored(app) -> str:
    dump = []
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            dump += [repr(tuple(row)) for row in db.session.execute(select(table))]
    return "\n".join(dump)


def test_secrets_stay_out_of_logs_and_tables(client, app, demo_users, caplog):
    caplog.set_level(logging.DEBUG)
    page = client.get("/connexion").get_data(as_text=True)
    client.post("/connexion", data={"csrf_token": csrf_from(page), "login": LOGIN_CANARY,
                                    "password": PASSWORD_CANARY})
    client.post("/connexion", data={"csrf_token": csrf_from(page), "login": "camille.martin",
                                    "password": PASSWORD_CANARY})
    client.post("/connexion", data={"csrf_token": csrf_from(page), "login": "pharma.petit",
                                    "password": DEMO["pharma.petit"].password})
    sms_code = last_sms_code(app)
    page = client.get("/connexion/code").get_data(as_text=True)
    client.post("/connexion/code", data={"csrf_token": csrf_from(page), "code": sms_code})
    totp_code = next_totp(app, "camille.martin")

    stored = _everything_stored(app)
    logged = caplog.text
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    for secret in (PASSWORD_CANARY, LOGIN_CANARY, DEMO["pharma.petit"].password, cookie,
                   DEMO["camille.martin"].totp_secret):
        assert secret not in stored, secret
        assert secret not in logged, secret
    # Six-digit codes can collide with timestamps' microseconds in a table dump, so they
    # are checked where they could leak as text: the logs.
    assert sms_code not in logged and totp_code not in logged
