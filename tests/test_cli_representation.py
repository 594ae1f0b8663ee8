"""`flask representation …`: the operator adds and ends representations by NIR; the daily
job ends a parent's at the child's 18th birthday. No name is ever printed."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from domain import activation, audit, insured, representation
from domain.errors import NotAllowed
from domain.models import (
    ActivationCode,
    AuditEvent,
    Representation,
    SecondFactor,
    SpaceStatus,
    User,
)
from extensions import db, keys
from tests.audit_trail import AUDIT_ORDER
from tests.domain.test_care import CAMILLE_NIR, LEO_NIR, UNKNOWN_NIR
from web import cli_representation


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
            .order_by(*AUDIT_ORDER))]
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
    assert "0 person(s) came of age; 0 representation(s) ended;" in _run(
        app, "majority").output
    for module in (representation, cli_representation):  # 14 May in Paris
        monkeypatch.setattr(module, "utcnow", lambda: datetime(2037, 5, 13, 22, 0, tzinfo=UTC))
    outbox = Path(app.config["OUTBOX_DIR"]) / "email"
    before = set(outbox.iterdir()) if outbox.exists() else set()
    result = _run(app, "majority")
    assert "1 person(s) came of age; 1 representation(s) ended;" in result.output
    with app.app_context():
        assert db.session.scalars(select(Representation.ended_reason)).all() == ["majority"]
    (sent,) = set(outbox.iterdir()) - before
    mail = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    body = mail.get_body(("plain",)).get_content()
    assert mail["To"] == "camille.martin@example.org" and "Léo a 18 ans aujourd’hui" in body
    assert "0 person(s)" in _run(app, "majority").output  # once
    assert len(set(outbox.iterdir()) - before) == 1


def test_at_18_the_young_adult_gets_a_code_to_take_the_space_over(app, demo_users,
                                                                    monkeypatch):
    """Léo has no e-mail of his own: his code goes by post. With it he takes his space
    over (his own sign-in, his history kept); an opposition can no longer erase it."""
    for module in (representation, cli_representation):
        monkeypatch.setattr(module, "utcnow", lambda: datetime(2037, 5, 13, 22, 0, tzinfo=UTC))
    result = _run(app, "majority")
    assert "1 code(s) to take the space over by post." in result.output, result.output
    letters = Path(re.search(r"Letters for the post: (\S+)", result.output).group(1))
    assert letters.stat().st_mode & 0o077 == 0 and letters.read_bytes().startswith(b"%PDF")
    with app.app_context():
        person = insured.find_by_nir(db.session, keys.ring, LEO_NIR)
        assert person.space_status == SpaceStatus.AUTO_CREATED
        code = db.session.scalars(select(ActivationCode).where(
            ActivationCode.insured_id == person.id)).one()
        leo = db.session.get(User, person.user_id)
        now = datetime(2037, 5, 20, 10, 0, tzinfo=UTC)
        refused = activation.oppose_without_code(
            db.session, keys.ring, LEO_NIR, "23456789012", person.birth_date, now,
            audit.Actor())
        assert refused.outcome == "not_opposable"
        assert activation.handed_over(db.session, person)
        with pytest.raises(NotAllowed):
            activation.oppose(db.session, keys.ring, person, now, audit.Actor(), code)
        activation.activate(db.session, keys.ring, code, activation.Credentials(
            "leo.martin", "x" * 20, SecondFactor.TOTP, "JBSWY3DPEHPK3PXP", None, None),
            now, audit.Actor())
        db.session.commit()
        assert (leo.login, person.space_status) == ("leo.martin", SpaceStatus.ACTIVE)
