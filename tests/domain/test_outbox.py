"""The outbox without HTTP: sealed content, one transaction with the action, claims that
two workers never share, retries with backoff, giving up, and nothing kept once sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from domain import outbox
from domain.crypto import CryptoError
from domain.models import Channel, OutgoingMessage
from domain.notify import DeliveryError, build_email
from extensions import db, keys

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
CODE = "481516"


class Clock:
    def __init__(self, start: datetime = T0):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class Channels:
    """Transports that record what left, and fail as told."""

    def __init__(self):
        self.emails: list[bytes] = []
        self.sms: list[tuple[str, str, str]] = []
        self.failures: list[DeliveryError] = []

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def email(self, raw: bytes) -> None:
        self._maybe_fail()
        self.emails.append(raw)

    def send_sms(self, to: str, body: str, key: str) -> None:
        self._maybe_fail()
        self.sms.append((to, body, key))

    @property
    def transports(self) -> outbox.Transports:
        return outbox.Transports(email=self.email, sms=self.send_sms)


@pytest.fixture(autouse=True)
def _only_these_workers_send(app):
    """The test app sends right after each commit (as in development); here the tests'
    own transports and clocks must be the only ones to send."""
    saved = app.config["OUTBOX_SEND_AFTER_COMMIT"]
    app.config["OUTBOX_SEND_AFTER_COMMIT"] = False
    yield
    app.config["OUTBOX_SEND_AFTER_COMMIT"] = saved


def _raw(to: str = "camille@example.org") -> bytes:
    return bytes(build_email("Carnet <ne-pas-repondre@example.org>", to, "Votre code",
                             f"Votre code est {CODE}."))


def _rows() -> list[OutgoingMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutgoingMessage)))


def test_content_is_sealed_and_bound_to_its_row(app):
    with app.app_context():
        email = outbox.queue_email(db.session, keys.ring, _raw(), now=T0)
        sms = outbox.queue_sms(db.session, keys.ring, "+33612345678", f"Code {CODE}", now=T0)
        db.session.commit()
        with db.engine.connect() as connection:
            stored = connection.execute(text("SELECT payload_sealed FROM outbox")).scalars()
            for payload in stored:
                assert CODE.encode() not in bytes(payload)
                assert b"camille@example.org" not in bytes(payload)
                assert b"+33612345678" not in bytes(payload)
        # Swapping two rows' content makes both unreadable.
        email.payload_sealed, sms.payload_sealed = sms.payload_sealed, email.payload_sealed
        with pytest.raises(CryptoError):
            keys.ring.open_server(email.payload_sealed, f"outbox|payload_sealed|{email.id}")


def test_a_message_leaves_only_if_its_action_commits(app):
    channels = Channels()
    with app.app_context():
        outbox.queue_email(db.session, keys.ring, _raw(), now=T0)
        db.session.rollback()
        assert _rows() == []
        run = outbox.deliver_due(db.session, keys.ring, channels.transports, now=lambda: T0)
        assert run.handled == 0 and channels.emails == []


def test_sent_once_then_deleted(app):
    channels, clock = Channels(), Clock()
    with app.app_context():
        outbox.queue_email(db.session, keys.ring, _raw(), now=T0)
        queued = outbox.queue_sms(db.session, keys.ring, "+33612345678", "Code", now=T0)
        db.session.commit()
        run = outbox.deliver_due(db.session, keys.ring, channels.transports, now=clock)
        assert (run.sent, run.retried, run.given_up) == (2, 0, 0)
        assert len(channels.emails) == 1
        assert f"Votre code est {CODE}.".encode() in channels.emails[0]
        # The SMS carries its row id as the gateway's idempotency key.
        assert channels.sms == [("+33612345678", "Code", queued.id)]
        assert _rows() == []
        again = outbox.deliver_due(db.session, keys.ring, channels.transports, now=clock)
        assert again.handled == 0 and len(channels.emails) == 1 and len(channels.sms) == 1


def test_a_failure_that_may_pass_is_retried_with_growing_waits(app):
    channels, clock = Channels(), Clock()
    with app.app_context():
        outbox.queue_email(db.session, keys.ring, _raw(), now=T0)
        db.session.commit()
        waits = []
        for _attempt in range(4):
            channels.failures.append(DeliveryError("SMTP unreachable", final=False))
            run = outbox.deliver_due(db.session, keys.ring, channels.transports, now=clock)
            assert run.retried == 1
            (row,) = _rows()
            waits.append(row.next_attempt_at - clock.now)
            assert row.last_error == "SMTP unreachable" and row.failed_at is None
            # Not due before its time.
            assert outbox.deliver_due(db.session, keys.ring, channels.transports,
                                      now=clock).handled == 0
            clock.now = row.next_attempt_at
        assert waits == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20),
                         timedelta(seconds=40)]
        run = outbox.deliver_due(db.session, keys.ring, channels.transports, now=clock)
        assert run.sent == 1 and len(channels.emails) == 1 and _rows() == []


def test_backoff_is_capped():
    assert outbox.backoff(1) == timedelta(seconds=5)
    assert outbox.backoff(50) == outbox.LONGEST_RETRY


def test_a_final_failure_is_given_up_at_once_and_keeps_no_content(app):
    channels, clock = Channels(), Clock()
    with app.app_context():
        outbox.queue_email(db.session, keys.ring, _raw(), now=T0)
        db.session.commit()
        channels.failures.append(DeliveryError("SMTP recipient refused 550", final=True))
        run = outbox.deliver_due(db.session, keys.ring, channels.transports, now=clock)
        assert run.given_up == 1
        (row,) = _rows()
        assert row.failed_at == T0 and row.payload_sealed == b""
        assert row.last_error == "SMTP recipient refused 550"
        clock.advance(days=1)
        assert outbox.deliver_due(db.session, keys.ring, channels.transports,
                                  now=clock).handled == 0
        state = outbox.status(db.session)
        assert (state.waiting, state.given_up) == (0, 1)
        assert outbox.forget_given_up(db.session, T0 + timedelta(seconds=1)) == 1


def test_after_the_last_attempt_the_message_is_given_up(app):
    channels, clock = Channels(), Clock()
    with app.app_context():
        outbox.queue_sms(db.session, keys.ring, "+33612345678", "Code", now=T0)
        db.session.commit()
        for _attempt in range(outbox.MAX_ATTEMPTS):
            channels.failures.append(DeliveryError("SMS gateway 503", final=False))
            outbox.deliver_due(db.session, keys.ring, channels.transports, now=clock)
            clock.advance(hours=1)
        (row,) = _rows()
        assert row.attempts == outbox.MAX_ATTEMPTS and row.failed_at is not None
        assert channels.sms == []


def test_two_workers_never_hold_the_same_message(app):
    clock = Clock()
    with app.app_context():
        message = outbox.queue_email(db.session, keys.ring, _raw(), now=T0)
        db.session.commit()
        factory = app.extensions["carnet_db"][1]
        first, second = factory(), factory()
        try:
            assert outbox._claim(first, message.id, clock()) is True
            assert outbox._claim(second, message.id, clock()) is False
            # A worker that died holding it: the message is due again after the lease.
            clock.now += outbox.LEASE + timedelta(seconds=1)
            assert outbox._claim(second, message.id, clock()) is True
        finally:
            first.close()
            second.close()


def test_a_worker_that_died_mid_send_leaves_the_message_due_after_its_lease(app):
    channels, clock = Channels(), Clock()
    with app.app_context():
        message = outbox.queue_email(db.session, keys.ring, _raw(), now=T0)
        db.session.commit()
        factory = app.extensions["carnet_db"][1]
        dead = factory()
        outbox._claim(dead, message.id, clock())
        dead.close()
        assert outbox.deliver_due(db.session, keys.ring, channels.transports,
                                  now=clock).handled == 0
        clock.now += outbox.LEASE + timedelta(seconds=1)
        assert outbox.deliver_due(db.session, keys.ring, channels.transports,
                                  now=clock).sent == 1


def test_status_counts_waiting_and_retrying(app):
    channels, clock = Channels(), Clock()
    with app.app_context():
        for _number in range(3):
            outbox.queue_sms(db.session, keys.ring, "+33612345678", "Code", now=T0)
        db.session.commit()
        channels.failures.append(DeliveryError("SMS gateway 503", final=False))
        outbox.deliver_due(db.session, keys.ring, channels.transports, now=clock, limit=1)
        state = outbox.status(db.session)
        assert (state.waiting, state.retrying, state.given_up) == (3, 1, 0)
        assert state.oldest_waiting == T0


def test_an_sms_payload_is_json_with_the_number_and_text(app):
    with app.app_context():
        message = outbox.queue_sms(db.session, keys.ring, "+33612345678", "Bonjour é", now=T0)
        opened = keys.ring.open_server(message.payload_sealed,
                                       f"outbox|payload_sealed|{message.id}")
        assert json.loads(opened) == {"to": "+33612345678", "text": "Bonjour é"}
        assert message.channel == Channel.SMS
        db.session.rollback()
