"""`flask --app app accounts …`: an operator's controls over one account, named by its
login. Each is audited (domain/accounts.py); none prints a name, a password that opens
anything, or a health datum."""

from __future__ import annotations

import click
from flask import Flask, current_app

from domain import accounts, audit
from domain.models import User
from extensions import db, keys
from web.cli import echo_setup_password
from web.devices import describe_device

OPERATOR = audit.Actor(acting_as="operator")
PROBLEMS = {
    "unknown": "no account has this login",
    "already_disabled": "this account is already disabled",
    "already_enabled": "this account is not disabled",
    "space_closed": "this space was closed by its holder: they reopen it with a provisional "
                    "code (flask codes issue), not here",
    "patient": "a patient proves who they are through the insurer's records (recovery codes "
               "or a code by post), never on an operator's word",
}


def _account(login: str) -> User:
    try:
        return accounts.by_login(db.session, login)
    except accounts.AccountProblem as problem:
        raise click.ClickException(PROBLEMS[problem.reason]) from problem


def _apply(action):
    """Run an account action; its AccountProblem becomes the operator's error message."""
    try:
        result = action()
    except accounts.AccountProblem as problem:
        db.session.rollback()
        raise click.ClickException(PROBLEMS[problem.reason]) from problem
    db.session.commit()
    return result


def register_accounts(app: Flask) -> None:
    group = app.cli.commands["accounts"]
    login_argument = click.argument("login")
    reason_option = click.option("--reason", required=True,
                                 help="Why (a ticket's reference); kept in the audit trail.")

    @group.command("disable")
    @login_argument
    @reason_option
    def accounts_disable(login: str, reason: str):
        """Nobody signs in to LOGIN until `enable`; its sessions end now."""
        user = _account(login)
        ended = _apply(lambda: accounts.disable(db.session, keys.ring, user, reason=reason,
                                                actor=OPERATOR))
        click.echo(f"{login} disabled; {ended} session(s) ended.")

    @group.command("enable")
    @login_argument
    @reason_option
    def accounts_enable(login: str, reason: str):
        """LOGIN may sign in again (not a space its holder closed)."""
        user = _account(login)
        _apply(lambda: accounts.enable(db.session, keys.ring, user, reason=reason,
                                       actor=OPERATOR))
        click.echo(f"{login} enabled.")

    @group.command("unlock")
    @login_argument
    def accounts_unlock(login: str):
        """Forget the waits left by wrong passwords and codes on LOGIN."""
        user = _account(login)
        forgotten = _apply(lambda: accounts.unlock(db.session, keys.ring, user,
                                                   actor=OPERATOR))
        click.echo(f"{login} unlocked ({forgotten} failure count(s) forgotten).")

    @group.command("reset-second-factor")
    @login_argument
    @click.option("--identity-checked", is_flag=True,
                  help="Say that you checked who asks, outside this system (in person, "
                       "with an identity document, or by the professional order).")
    def accounts_reset_second_factor(login: str, identity_checked: bool):
        """A professional or adviser lost their phone: a new set-up password."""
        if not identity_checked:
            raise click.ClickException("check the person's identity outside the system "
                                       "first, then pass --identity-checked")
        user = _account(login)
        password = _apply(lambda: accounts.reset_second_factor(
            db.session, keys.ring, user, actor=OPERATOR,
            hash_profile=current_app.config["PASSWORD_HASH_PROFILE"]))
        click.echo(f"{login}: password and second factor reset; every session ended.")
        echo_setup_password(password)

    @group.command("sessions")
    @login_argument
    def accounts_sessions(login: str):
        """List LOGIN's open sessions (device, when opened, last activity)."""
        user = _account(login)
        rows = accounts.sessions_of(db.session, user)
        if not rows:
            click.echo(f"{login} has no open session.")
        for row in rows:
            assisted = " (assisted at a desk)" if row.assisted_by_id else ""
            device = describe_device(row.user_agent) or "unknown device"
            click.echo(f"  {row.id}  opened {row.created_at:%Y-%m-%d %H:%M} UTC, last seen "
                       f"{row.last_seen:%Y-%m-%d %H:%M} UTC, "
                       f"{device}{assisted}")

    @group.command("end-sessions")
    @login_argument
    def accounts_end_sessions(login: str):
        """End every session of LOGIN (a lost or stolen device)."""
        user = _account(login)
        ended = _apply(lambda: accounts.end_sessions(db.session, keys.ring, user,
                                                     actor=OPERATOR))
        click.echo(f"{login}: {ended} session(s) ended.")
