"""Operator commands."""

from __future__ import annotations

from sqlalchemy import func, select

from domain.models import Document, Measure, ProfileEntry, Representation, User
from extensions import db


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_demo_seed_is_idempotent_and_prints_the_credentials(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0
    assert "camille.martin" in first.output and "JBSWY3DPEHPK3PXPCAMILLEMARTIN234" in first.output
    users = _count(app, User)
    assert users == 5 and _count(app, Representation) == 1
    assert "Léo's measures, vaccinations and a document" in first.output
    with app.app_context():
        leo = db.session.scalars(select(Representation.represented_id)).one()
        assert db.session.scalar(select(func.count()).select_from(Document).where(
            Document.patient_id == leo)) == 1
        assert db.session.scalar(select(func.count()).select_from(ProfileEntry).where(
            ProfileEntry.patient_id == leo)) == 10
        assert db.session.scalar(select(func.count()).select_from(Measure).where(
            Measure.patient_id == leo)) == 13 * 2 + 12
    second = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert second.exit_code == 0 and second.output == ""
    assert _count(app, User) == users


def test_demo_seed_is_refused_in_production(app):
    runner = app.test_cli_runner()
    app.config["CARNET_ENV"] = "production"
    try:
        result = runner.invoke(args=["demo", "seed"])
    finally:
        app.config["CARNET_ENV"] = "development"
    assert result.exit_code != 0 and "refused in production" in result.output
    assert _count(app, User) == 0


def test_sessions_purge_reports_a_count(app, signed_in):
    signed_in("camille.martin")
    result = app.test_cli_runner().invoke(args=["sessions", "purge"])
    assert result.exit_code == 0 and result.output.startswith("0 expired session")
