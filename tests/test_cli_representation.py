"""`flask representation …`: the operator adds and ends representations by NIR; the daily
job ends a parent's at the child's 18th birthday. No name is ever printed."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path
from datetime import UTC, datetime

from sqlalchemy import select

from domain import representation
from domain.models import AuditEvent, Representation
from extensions import db
from tests.domain.test_care import CAMILLE_NIR, LEO_NIR, UNKNOWN_NIR


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["representation", *args])


def test_end_list_add_by_nir_with_the_reason_audited(app, demo_users):
    listed = _run(app, "list", "--holder", CAMILLE_NIR)
    assert listed.exit_code == 0 and "1 space(s)." in listed.output
    assert "Léo" not in listed.output and "Martin" not in listed.output
    ended = _run(app, "end", "--holder", CAMILLE_NIR, "--for", LEO_NIR, "--reason",
                 "Jugement RG 26/00012")
    assert ended.exit_code == 0 and "Representation ended." in ended.output
    assert "No representation in force." in _run(
        app, "end", "--holder", CAMILLE_NIR, "--for", LEO_NIR, "--reason", "x").output
    assert "0 space(s)." in _run(app, "list", "--holder", CAMILLE_NIR).output
    added = _run(app, "add", "--holder", CAMILLE_NIR, "--for", LEO_NIR, "--kind", "parent",
                 "--reason", "Erreur corrigée")
    assert added.exit_code == 0 and "Representation added (parent)." in added.output
    with app.app_context():
        reasons = [json.loads(event.details).get("reason") for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("representation.%"))
            .order_by(AuditEvent.seq))]
        assert reasons == ["Jugement RG 26/00012", "Erreur corrigée"]


def test_refusals_name_the_problem(app, demo_users):
    wrong_kind = _run(app, "add", "--holder", CAMILLE_NIR, "--for", LEO_NIR, "--kind",
                      "tutelle", "--reason", "x")
    assert wrong_kind.exit_code == 1 and "a minor is represented by a parent" in (
        wrong_kind.output)
    nobody = _run(app, "add", "--holder", UNKNOWN_NIR, "--for", LEO_NIR, "--kind", "parent",
                  "--reason", "x")
    assert nobody.exit_code == 2 and "nobody with a space has this NIR" in nobody.output
    invalid = _run(app, "end", "--holder", "123", "--for", LEO_NIR, "--reason", "x")
    assert invalid.exit_code == 2 and "invalid NIR" in invalid.output


def test_majority_job(app, demo_users, monkeypatch):
    assert "0 person(s) came of age; 0 representation(s) ended." in _run(
        app, "majority").output
    monkeypatch.setattr(representation, "utcnow",
                        lambda: datetime(2037, 5, 13, 22, 0, tzinfo=UTC))  # 14 May in Paris
    outbox = Path(app.config["OUTBOX_DIR"]) / "email"
    before = set(outbox.iterdir()) if outbox.exists() else set()
    result = _run(app, "majority")
    assert "1 person(s) came of age; 1 representation(s) ended." in result.output
    with app.app_context():
        assert db.session.scalars(select(Representation.ended_reason)).all() == ["majority"]
    (sent,) = set(outbox.iterdir()) - before
    mail = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    body = mail.get_body(("plain",)).get_content()
    assert mail["To"] == "camille.martin@example.org" and "Léo a 18 ans aujourd’hui" in body
    assert "0 person(s)" in _run(app, "majority").output  # once
    assert len(set(outbox.iterdir()) - before) == 1
