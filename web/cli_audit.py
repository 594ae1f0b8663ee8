"""`flask audit verify` and `flask audit checkpoint`: the tamper-evident audit trail."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app

from domain import audit, audit_checkpoints
from domain.models.base import utcnow
from extensions import db, keys

# The checkpoint timer runs every 5 minutes: a trail older than this has one.
CHECKPOINT_EXPECTED_WITHIN = timedelta(hours=1)


def checkpoint_store() -> audit_checkpoints.CheckpointStore | None:
    """The store AUDIT_CHECKPOINTS names, or None when it names none."""
    config = current_app.config
    return audit_checkpoints.make_store(
        config["AUDIT_CHECKPOINTS"], Path(current_app.instance_path),
        {name: config[name] for name in ("S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID",
                                         "S3_SECRET_ACCESS_KEY")})


def write_checkpoint(reason: str) -> audit_checkpoints.Checkpoint | None:
    """Record where the chains stand now, if a checkpoint store is configured (used by
    `audit checkpoint` and after a restore, which legitimately rolls the chain back)."""
    store = checkpoint_store()
    if store is None:
        return None
    return audit_checkpoints.write(store, db.session, keys.ring, utcnow(), reason)


def register_audit(app: Flask) -> None:
    @app.cli.group("audit")
    def audit_group():
        """The tamper-evident audit trail."""

    @audit_group.command("verify")
    def audit_verify():
        """Check every chain's MACs, its authenticated head and the newest checkpoint;
        print OK or the first problem (exit code 1)."""
        store = checkpoint_store()
        try:
            checkpoint = audit_checkpoints.newest(store, keys.ring) if store else None
        except audit_checkpoints.CheckpointError as problem:
            click.echo(f"BROKEN: {problem}.")
            raise SystemExit(1) from None
        result = audit.verify(db.session, keys.ring,
                              checkpoint.marks if checkpoint else None)
        if not result.ok:
            click.echo(f"BROKEN at event {result.first_broken_seq} of chain {result.chain}: "
                       f"{result.reason} ({result.checked} events verified before it).")
            raise SystemExit(1)
        click.echo(f"OK: {result.checked} events, chain intact.")
        if checkpoint is not None:
            marks = ", ".join(f"chain {chain} at event {mark.seq}"
                              for chain, mark in sorted(checkpoint.marks.items()))
            click.echo(f"Newest checkpoint {checkpoint.written_at:%Y-%m-%d %H:%M:%S} UTC "
                       f"({marks or 'empty'}): nothing before it was removed.")
        elif store is None:
            click.echo("No checkpoint store (AUDIT_CHECKPOINTS): deleting the newest events "
                       "together with the head cannot be detected.")
        else:
            oldest = audit.oldest_event_at(db.session)
            if oldest is not None and utcnow() - oldest > CHECKPOINT_EXPECTED_WITHIN:
                # The timer writes one every 5 minutes: none at all for an older trail
                # means they were deleted (or the timer never ran).
                click.echo(f"BROKEN: no checkpoint in {store!r}, although the trail goes "
                           f"back to {oldest:%Y-%m-%d %H:%M} UTC: checkpoints were deleted "
                           "or the timer never ran.")
                raise SystemExit(1)
            click.echo("No checkpoint yet: run `flask audit checkpoint`.")

    @audit_group.command("checkpoint")
    def audit_checkpoint():
        """Write where every chain stands to AUDIT_CHECKPOINTS (a timer, every 5 minutes);
        refused when a chain's head does not authenticate."""
        try:
            checkpoint = write_checkpoint("timer")
        except ValueError as problem:
            click.echo(f"REFUSED: {problem}.")
            raise SystemExit(1) from None
        if checkpoint is None:
            raise click.ClickException("AUDIT_CHECKPOINTS is not set")
        marks = ", ".join(f"chain {chain} at event {mark.seq}"
                          for chain, mark in sorted(checkpoint.marks.items()))
        click.echo(f"Checkpoint {checkpoint.name}: {marks or 'no event yet'}.")
