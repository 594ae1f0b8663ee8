"""The Alembic migrations and the SQLAlchemy models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from domain.models import Base
from extensions import db


def test_models_and_migrations_match(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrading_keeps_rows_that_point_to_rebuilt_tables(tmp_path):
    """SQLite rebuilds tables in batch mode; no cascade may delete data on the way."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from domain.db import make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config("alembic.ini")
    config.attributes["database_url"] = url
    command.upgrade(config, "0001")
    engine = make_engine(url)
    with engine.begin() as connection:
        for user_id in ("parent", "child"):
            connection.execute(text(
                "INSERT INTO users (id, role, given_name, family_name, last_totp_step, "
                "failed_logins, created_at) VALUES (:id, 'patient', 'A', 'B', 0, 0, "
                "'2026-01-01 00:00:00')"), {"id": user_id})
        connection.execute(text(
            "INSERT INTO representations (representative_id, represented_id, relationship, "
            "created_at) VALUES ('parent', 'child', 'parent', '2026-01-01 00:00:00')"))
    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM representations")).scalar() == 1
        assert connection.execute(text("SELECT enabled FROM users WHERE id = 'child'")).scalar()
    engine.dispose()
