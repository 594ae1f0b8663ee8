"""Outgoing mail never costs a saved action: the outbox and its worker, with a real SMTP
server on loopback that goes down mid-run, and SMS sign-in codes through a fake gateway."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from domain.models import Document, OutgoingMessage
from domain.models.base import utcnow
from extensions import db
from tests.blueprints.pro.test_patients import declare, deposit
from tests.conftest import DEMO, csrf_from
from tests.fake_services import FakeSmsGateway, SmtpRelay, free_port

ROOT = Path(__file__).resolve().parent.parent
DOCTOR, PHARMACIST = "dr.bernard", "pharma.petit"


@pytest.fixture
def settings(app):
    """Change app settings for one test, put back afterwards."""
    saved = dict(app.config)
    yield app.config
    for name in ("SMTP_URL", "SMS_URL", "SMS_TOKEN", "OUTBOX_SEND_AFTER_COMMIT"):
        app.config[name] = saved[name]


def _queued(app) -> list[OutgoingMessage]:
    with app.app_context():
        return list(db.session.scalars(select(OutgoingMessage)
                                       .order_by(OutgoingMessage.created_at)))


def _documents(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Document.id)).all())


def _wait(condition, timeout: float = 20.0, what: str = "",
          process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker stopped: {process.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s: {what}")
        time.sleep(0.1)


def test_an_smtp_outage_never_costs_a_saved_upload(app, signed_in, settings):
    """The defect: with the mail server down the deposit answered 500 after saving."""
    settings["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    settings["OUTBOX_SEND_AFTER_COMMIT"] = True  # as in development: try at once
    doctor = signed_in(DOCTOR)
    patient_id = declare(doctor, app)
    response = deposit(doctor, patient_id)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert _documents(app) == 1
    # Both e-mails wait: "a professional opened your space" and "a new document".
    queued = _queued(app)
    assert len(queued) == 2
    for message in queued:
        assert message.attempts == 1 and message.failed_at is None
        assert message.last_error.startswith("SMTP unreachable")
        assert "camille" not in message.last_error


def _worker(app, smtp_url: str) -> subprocess.Popen:
    """`flask outbox work` in its own process, on the test's database and key file."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FLASK_", "CARNET_"))}
    env.update({
        "CARNET_ENV": "test", "DATABASE_URL": app.config["DATABASE_URL"],
        "CARNET_KEY_FILE": app.config["CARNET_KEY_FILE"], "SECRET_KEY": app.config["SECRET_KEY"],
        "OUTBOX_DIR": app.config["OUTBOX_DIR"], "SMTP_URL": smtp_url,
        "MAIL_FROM": app.config["MAIL_FROM"], "PYTHONUNBUFFERED": "1",
    })
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "outbox", "work", "--poll", "0.2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_smtp_stopped_mid_run_nothing_lost_and_sent_once_when_it_returns(
        app, signed_in, settings):
    relay = SmtpRelay().start()
    settings["SMTP_URL"] = relay.url
    settings["OUTBOX_SEND_AFTER_COMMIT"] = False  # production: only the worker sends
    worker = _worker(app, relay.url)
    try:
        doctor = signed_in(DOCTOR)
        patient_id = declare(doctor, app)  # queues "a professional opened your space"

        # Up: the worker sends both e-mails.
        assert deposit(doctor, patient_id).status_code == 303
        _wait(lambda: len(relay.messages) == 2 and _queued(app) == [], process=worker,
              what="the first e-mails")

        # Down mid-run: the next deposit is saved; its e-mail waits in the queue.
        relay.stop()
        assert deposit(doctor, patient_id, title="Résultats").status_code == 303
        assert _documents(app) == 2
        _wait(lambda: any(row.last_error for row in _queued(app)), process=worker,
              what="the worker to try and fail")
        (waiting,) = _queued(app)
        assert waiting.failed_at is None and waiting.last_error.startswith("SMTP unreachable")
        assert len(relay.messages) == 2

        # Back: the same e-mail goes out once, at its next attempt (5 s later).
        relay.start()
        _wait(lambda: len(relay.messages) == 3 and _queued(app) == [], timeout=30,
              process=worker, what="the e-mail to go out once the server is back")
        time.sleep(1.0)  # a second sending would have happened by now
        assert len(relay.messages) == 3
        ids = [message["Message-ID"] for message in relay.messages]
        assert len(set(ids)) == 3
        assert {message["To"] for message in relay.messages} == {"camille.martin@example.org"}
        assert sum("Un nouveau document" in message["Subject"]
                   for message in relay.messages) == 2
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            out, err = worker.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            out, err = worker.communicate()
        relay.stop()
    # It stopped cleanly on SIGTERM and says what it did, never to whom or what.
    assert worker.returncode == 0, err[-2000:]
    assert re.search(r"3 sent, [1-9]\d* to retry, 0 given up\.", out), out
    assert "camille" not in out + err and "Compte rendu" not in out + err


def test_sms_sign_in_codes_go_through_the_gateway(app, demo_users, settings):
    gateway = FakeSmsGateway(token="jeton-passerelle-" + "x" * 20)
    settings["SMS_URL"], settings["SMS_TOKEN"] = gateway.url, gateway.token
    try:
        client = app.test_client()
        page = client.get("/connexion").get_data(as_text=True)
        response = client.post("/connexion", data={
            "csrf_token": csrf_from(page), "login": PHARMACIST,
            "password": DEMO[PHARMACIST].password})
        assert response.status_code == 303
        (sms,) = gateway.delivered
        code = re.search(r"\b(\d{6})\b", sms["text"]).group(1)
        assert sms["to"].startswith("+33") and sms["sender"] == app.config["SMS_SENDER"]
        (request,) = gateway.requests
        assert re.fullmatch(r"[0-9a-f]{32}", request["headers"]["Idempotency-Key"])
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        response = client.post("/connexion/code", data={"csrf_token": csrf_from(page),
                                                        "code": code})
        assert response.status_code == 303
        assert _queued(app) == []  # sent, then deleted: the code is nowhere any more
    finally:
        gateway.stop()


def test_outbox_status_counts_and_flags_given_up_messages(app, demo_users, settings):
    settings["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    settings["OUTBOX_SEND_AFTER_COMMIT"] = False
    runner = app.test_cli_runner()
    with app.test_request_context():
        from web.outgoing import send_email

        send_email("personne@example.org", lambda: "Sujet", "email/new_document.txt",
                   documents_url="https://carnet.example.org/documents")
        db.session.commit()
    result = runner.invoke(args=["outbox", "status"])
    assert result.exit_code == 0 and result.output.startswith("1 waiting (0 after a failure)")
    assert "0 given up" in result.output
    with app.app_context():
        db.session.execute(update(OutgoingMessage).values(
            failed_at=utcnow() - timedelta(days=1), payload_sealed=b""))
        db.session.commit()
    result = runner.invoke(args=["outbox", "status"])
    assert result.exit_code == 1 and "1 given up" in result.output
    assert "personne@example.org" not in result.output
