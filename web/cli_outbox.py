"""`flask outbox work` (the sending service) and `flask outbox status`."""

from __future__ import annotations

import logging
import signal
import time
from datetime import timedelta

import click
from flask import Flask, current_app

from domain import outbox
from domain.models.base import utcnow
from extensions import db, keys
from web.outgoing import transports

log = logging.getLogger("carnet.outbox")
KEEP_GIVEN_UP = timedelta(days=30)


def register_outbox(app: Flask) -> None:
    @app.cli.group("outbox")
    def outbox_group():
        """Queued e-mails and SMS."""

    @outbox_group.command("work")
    @click.option("--poll", default=0.5, show_default=True, type=click.FloatRange(0.05, 60),
                  help="Seconds between two looks at the queue when it is empty.")
    @click.option("--once", is_flag=True, help="Send what is due now, then stop.")
    def outbox_work(poll: float, once: bool):
        """Send queued e-mails and SMS as they come (a service: run it under systemd or
        compose, restarted if it stops). Stops cleanly on SIGTERM or Ctrl-C after the
        message in hand. Prints counts only."""
        stopping = []

        def stop(_signum, _frame):
            stopping.append(True)

        previous = {number: signal.signal(number, stop)
                    for number in (signal.SIGTERM, signal.SIGINT)}
        channels = transports(current_app.config)
        factory = current_app.extensions["carnet_db"][1]
        total = outbox.Run()
        try:
            while not stopping:
                session = factory()
                try:
                    run = outbox.deliver_due(session, keys.ring, channels)
                finally:
                    session.close()
                if run.handled:
                    total.sent += run.sent
                    total.retried += run.retried
                    total.given_up += run.given_up
                    log.info("outbox: %d sent, %d to retry, %d given up", run.sent,
                             run.retried, run.given_up)
                if once:
                    break
                if not run.handled:
                    time.sleep(poll)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        click.echo(f"{total.sent} sent, {total.retried} to retry, {total.given_up} given up.")

    @outbox_group.command("status")
    def outbox_status():
        """How many messages wait, wait after a failure, or were given up (exit code 1 if
        any was given up in the last 30 days)."""
        forgotten = outbox.forget_given_up(db.session, utcnow() - KEEP_GIVEN_UP)
        db.session.commit()
        state = outbox.status(db.session)
        oldest = state.oldest_waiting.isoformat(timespec="seconds") \
            if state.oldest_waiting else "none"
        click.echo(f"{state.waiting} waiting ({state.retrying} after a failure), "
                   f"oldest {oldest}; {state.given_up} given up"
                   f"{f', {forgotten} older ones forgotten' if forgotten else ''}.")
        if state.given_up:
            raise SystemExit(1)
