"""Operator commands: `flask --app app <group> <command>`. None of them prints health data."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app

from domain import audit, demo, sessions
from extensions import db, keys
from web.sessions import lifetimes


def alembic_config(database_url: str) -> AlembicConfig:
    root = Path(current_app.root_path)
    config = AlembicConfig(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def register(app: Flask) -> None:
    @app.cli.group("db")
    def db_group():
        """Database schema (Alembic migrations)."""

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str):
        """Apply migrations up to REVISION (default: the latest)."""
        command.upgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)
        click.echo(f"Database at {revision}.")

    @app.cli.group("demo")
    def demo_group():
        """Demo data for development (refused in production)."""

    @demo_group.command("seed")
    @click.option("--if-empty", is_flag=True, help="Print nothing when everything exists.")
    def demo_seed(if_empty: bool):
        """Create the demo accounts of the README (idempotent)."""
        if current_app.config["CARNET_ENV"] == "production":
            raise click.ClickException("demo accounts are refused in production")
        created = demo.seed(db.session, keys.ring, current_app.config["PASSWORD_HASH_PROFILE"])
        db.session.commit()
        if created or not if_empty:
            click.echo("Demo accounts (password, then the second factor):")
            for account in demo.DEMO_ACCOUNTS:
                factor = (f"TOTP secret {account.totp_secret}" if account.totp_secret
                          else f"SMS code written to {current_app.config['OUTBOX_DIR']}/sms/")
                click.echo(f"  {account.role.value:13} {account.login:16} "
                           f"{account.password:24} {factor}")
            click.echo(f"Created now: {', '.join(created) if created else 'nothing (all exist)'}")

    @app.cli.group("audit")
    def audit_group():
        """The tamper-evident audit trail."""

    @audit_group.command("verify")
    def audit_verify():
        """Check the HMAC chain; print OK or the first broken row (exit code 1)."""
        result = audit.verify(db.session, keys.ring)
        if result.ok:
            click.echo(f"OK: {result.checked} events, chain intact.")
            return
        click.echo(f"BROKEN at event {result.first_broken_seq}: {result.reason} "
                   f"({result.checked} events verified before it).")
        raise SystemExit(1)

    @app.cli.group("sessions")
    def sessions_group():
        """Web sessions."""

    @sessions_group.command("purge")
    def sessions_purge():
        """Delete expired sessions (run from cron every few minutes)."""
        count = sessions.purge_expired(db.session, lifetimes(current_app))
        db.session.commit()
        click.echo(f"{count} expired session(s) deleted.")
