"""Operator commands for backups: `flask --app app backup create|restore DIR`.

They print counts, paths and revisions only, never health data. The key file is never in
a backup; the commands say so, and restore refuses a backup made under another key file.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from alembic import command
from alembic.script import ScriptDirectory
from flask import Flask, current_app

from domain import audit, audit_checkpoints, backup
from extensions import blobs, db, keys
from web.cli import alembic_config
from web.cli_audit import write_checkpoint

OPERATOR = audit.Actor(acting_as="operator")


def _fail(message: str) -> NoReturn:
    """Say why on stderr and stop with exit code 1."""
    click.echo(f"Refused: {message}", err=True)
    raise SystemExit(1)


def register_backup(app: Flask) -> None:
    """The `backup` group: create and restore."""

    @app.cli.group("backup")
    def backup_group():
        """Backups of the database and the document blobs (never the key file)."""

    @backup_group.command("create")
    @click.argument("folder", type=click.Path(path_type=Path))
    def backup_create(folder: Path):
        """Write a backup into FOLDER (new, or empty): the database, every blob and a
        manifest of checksums. The key file is not included: keep a copy of it apart."""
        key_file = Path(current_app.config["CARNET_KEY_FILE"])
        db.session.close()
        try:
            report = backup.create_backup(
                folder, engine=db.engine, store=blobs.store, keyring=keys.ring,
                key_file=key_file, private_folders=[Path(current_app.instance_path)])
        except backup.BackupError as problem:
            _fail(str(problem))
        snapshot = report.snapshot
        backup.record_created(db.session, keys.ring, report, OPERATOR)
        db.session.commit()
        click.echo(f"Backup written to {report.folder}")
        click.echo(f"  database: {report.kind} at revision {snapshot.revision}, "
                   f"{sum(snapshot.tables.values())} rows in {len(snapshot.tables)} tables "
                   f"({report.database_bytes} bytes)")
        click.echo(f"  blobs:    {report.blobs} ({report.blob_bytes} bytes)")
        if report.vanished:
            click.echo(f"  {report.vanished} blob(s) were deleted while the backup ran "
                       f"(their documents were being deleted): not in the backup")
        click.echo(f"The key file is NOT in the backup: it is kept apart ({key_file}, "
                   f"fingerprint {report.fingerprint[:16]}). Without it the backup cannot be "
                   f"read: keep a copy of it somewhere else than the backups, and copy it "
                   f"again after each `keys rotate` or `keys retire`.")

    @backup_group.command("restore")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--force", is_flag=True,
                  help="Replace a database that holds data, and delete the blobs that are "
                       "not in the backup.")
    def backup_restore(folder: Path, force: bool):
        """Restore the backup in FOLDER (made under this key file): database and blobs.
        Refused over a database that holds data unless --force. Stop the site first."""
        url = current_app.config["DATABASE_URL"]
        scripts = ScriptDirectory.from_config(alembic_config(url))
        known = {script.revision for script in scripts.walk_revisions()}
        db.session.close()
        try:
            report = backup.restore_backup(folder, engine=db.engine, store=blobs.store,
                                           keyring=keys.ring, force=force,
                                           known_revisions=known)
        except backup.DatabaseNotEmpty as problem:
            _fail(f"{problem}. Give --force to replace them.")
        except backup.BackupError as problem:
            _fail(str(problem))
        click.echo(f"Backup of {report.created_at} checked (key file, manifest, checksums).")
        if report.erased:
            click.echo(f"Replaced: {backup.describe_contents(report.erased, 0)}.")
        click.echo(f"Blobs: {report.blobs_written} restored, {report.blobs_unchanged} "
                   f"already in place, {report.blobs_deleted} deleted (not in the backup).")
        if report.blobs_left:
            click.echo(f"{report.blobs_left} blob(s) not in the backup were left in place: "
                       f"`flask --app app vault verify --repair` deletes them.")
        rows = sum(report.tables.values())
        click.echo(f"Database restored ({report.kind}, revision {report.revision}): "
                   f"{rows} rows in {len(report.tables)} tables.")
        if report.revision != scripts.get_current_head():
            # The running code expects its own schema (the audit row below included).
            command.upgrade(alembic_config(url), "head")
            click.echo(f"Database upgraded from {report.revision} to "
                       f"{scripts.get_current_head()}.")
        # After the restore, in the restored database: its chain goes on from the backup's.
        backup.record_restored(db.session, keys.ring, report, forced=force, actor=OPERATOR)
        db.session.commit()
        # The restore rolled the chain back on purpose: later checkpoints describe events
        # that no longer exist. A new one marks the restored chain as the one to verify.
        if write_checkpoint(audit_checkpoints.RESTORE) is not None:
            click.echo("A new audit checkpoint marks the restored chain.")
        click.echo("Recorded in the audit trail. Check with `flask --app app audit verify` "
                   "and `flask --app app vault verify`.")
