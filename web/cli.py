"""Operator commands: `flask --app app <group> <command>`. None of them prints health data."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app

from domain import audit, demo, sessions
from domain.accounts import SETUP_HOURS
from domain.demo import agenda as demo_agenda
from domain.demo import child as demo_child
from domain.demo import messages as demo_messages
from domain.demo import profile as demo_profile
from domain.files import write_private
from extensions import blobs, db, keys
from web.sessions import lifetimes


def alembic_config(database_url: str) -> AlembicConfig:
    root = Path(current_app.root_path)
    config = AlembicConfig(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def register(app: Flask) -> None:
    register_lifecycle(app)
    register_vault(app)
    register_professionals(app)
    register_agenda(app)
    from web.cli_outbox import register_outbox
    register_outbox(app)
    from web.cli_backup import register_backup
    register_backup(app)
    from web.cli_representation import register_representation
    register_representation(app)
    from web.cli_accounts import register_accounts
    register_accounts(app)
    from web.cli_catalogue import register_catalogue
    register_catalogue(app)

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
        if demo_profile.seed_profile(db.session, keys.ring, "camille.martin", date.today()):
            created.append("camille.martin's medical profile")
        if demo_agenda.seed_agenda(db.session, keys.ring, "camille.martin", date.today()):
            created.append("camille.martin's agenda")
        if demo_messages.seed_messages(db.session, keys.ring, "camille.martin", "dr.bernard"):
            created.append("a conversation with Dr Bernard")
        if demo_child.seed_child(db.session, keys.ring, blobs.store, "camille.martin",
                                 "dr.bernard"):
            created.append("Léo's measures, vaccinations and a document")
        db.session.commit()
        if created or not if_empty:
            click.echo("Demo accounts (password, then the second factor):")
            for account in demo.DEMO_ACCOUNTS:
                factor = (f"TOTP secret {account.totp_secret}" if account.totp_secret
                          else f"SMS code written to {current_app.config['OUTBOX_DIR']}/sms/")
                click.echo(f"  {account.role.value:13} {account.login:16} "
                           f"{account.password:24} {factor}")
            click.echo(f"Created now: {', '.join(created) if created else 'nothing (all exist)'}")

    from web.cli_audit import register_audit
    register_audit(app)

    @app.cli.group("sessions")
    def sessions_group():
        """Web sessions."""

    @sessions_group.command("purge")
    def sessions_purge():
        """Delete expired sessions (run from cron every few minutes)."""
        count = sessions.purge_expired(db.session, lifetimes(current_app))
        db.session.commit()
        click.echo(f"{count} expired session(s) deleted.")


def register_lifecycle(app: Flask) -> None:
    """Commands for the insurer's data and the life cycle of spaces (DESIGN.md §2)."""
    _register_insured(app)
    _register_codes(app)
    _register_space_jobs(app)


def _register_insured(app: Flask) -> None:
    """`insured import`: the insurer's file of insured people."""
    from domain import insured
    from domain.models.base import utcnow

    @app.cli.group("insured")
    def insured_group():
        """Insured people, as the health insurer knows them."""

    @insured_group.command("import")
    @click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
    def insured_import(csv_file: str):
        """Import insured people from CSV_FILE (UTF-8, header row; see the README)."""
        text = Path(csv_file).read_text(encoding="utf-8-sig")
        report = insured.import_csv(db.session, keys.ring, text, utcnow().date())
        db.session.commit()
        for line, reason in report.errors:
            click.echo(f"line {line}: {reason}", err=True)
        click.echo(f"{report.created} created, {report.updated} updated, "
                   f"{report.unchanged} unchanged, {len(report.errors)} rejected.")
        if report.errors:
            raise SystemExit(2)


def _register_codes(app: Flask) -> None:
    """`codes issue`: activation codes, by e-mail or in letters for the post."""
    from domain import activation, insured
    from domain.identity import InvalidIdentifier, normalise_nir
    from domain.models.base import utcnow
    from web.delivery import code_letters_pdf, deliver_code

    @app.cli.group("codes")
    def codes_group():
        """Activation codes."""

    @codes_group.command("issue")
    @click.option("--all-pending", is_flag=True, help="Everyone without a space or a code.")
    @click.option("--nir", "nirs", multiple=True, help="One person (repeat for more).")
    @click.option("--letters", type=click.Path(dir_okay=False), default=None,
                  help="Where to write the PDF of letters for the post.")
    def codes_issue(all_pending: bool, nirs: tuple[str, ...], letters: str | None):
        """Issue a code to each person: by e-mail, or in a letters PDF for the post."""
        now = utcnow()
        if all_pending == bool(nirs):
            raise click.UsageError("give either --all-pending or --nir")
        if all_pending:
            people = activation.people_without_code(db.session, now)
        else:
            people = []
            for raw in nirs:
                try:
                    person = insured.find_by_nir(db.session, keys.ring, normalise_nir(raw))
                except InvalidIdentifier as exc:
                    raise click.BadParameter(f"invalid NIR ({exc.reason})") from exc
                if person is None or person.space_status != activation.SpaceStatus.PENDING:
                    click.echo("one NIR matches nobody without a space: skipped", err=True)
                    continue
                people.append(person)
        posted, emailed = [], 0
        # E-mails and letters are rendered from templates, with absolute links to the site.
        with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
            for start in range(0, len(people), 500):
                for issued in activation.issue_codes(db.session, keys.ring,
                                                     people[start:start + 500], now):
                    if issued.channel.value == "post":
                        posted.append(issued)
                    else:
                        deliver_code(issued)
                        emailed += 1
            if posted:
                target = Path(letters or Path(current_app.config["OUTBOX_DIR"]) / "letters" /
                              f"codes-{now:%Y%m%dT%H%M%S}.pdf")
                # The letters hold activation codes in clear: 0600, in a 0700 folder.
                write_private(target.parent, target.name, code_letters_pdf(posted),
                              replace=True)
                click.echo(f"Letters for the post: {target}")
        db.session.commit()
        click.echo(f"{emailed} code(s) sent by e-mail, {len(posted)} by post.")


def _register_space_jobs(app: Flask) -> None:
    """`activation expire` and `accounts purge`: the scheduled jobs of the spaces' life."""
    from domain import activation, closing
    from domain.models.base import utcnow

    @app.cli.group("activation")
    def activation_group():
        """The scheduled activation jobs."""

    @activation_group.command("expire")
    def activation_expire():
        """Create the space of everyone who did not answer within 6 weeks (idempotent)."""
        created = activation.create_expired_spaces(db.session, keys.ring, utcnow())
        db.session.commit()
        click.echo(f"{created} space(s) created automatically.")

    @app.cli.group("accounts")
    def accounts_group():
        """Accounts: disable, enable, unlock, reset a second factor, sessions; closed
        spaces' purge."""

    @accounts_group.command("purge")
    def accounts_purge():
        """Erase closed spaces past their 10 years, or whose deletion was asked."""
        count = closing.purge(db.session, keys.ring, utcnow())
        db.session.commit()
        click.echo(f"{count} closed space(s) erased.")


def register_vault(app: Flask) -> None:
    """Commands for the document vault and the keys."""
    _register_vault_verify(app)
    _register_keys(app)


def _register_vault_verify(app: Flask) -> None:
    """`vault verify`: blobs against the documents' rows, and each person's kept counts
    against their rows."""
    from domain import tallies, vault
    from extensions import blobs

    @app.cli.group("vault")
    def vault_group():
        """Encrypted documents."""

    @vault_group.command("verify")
    @click.option("--repair", is_flag=True,
                  help="Delete orphan blobs (never visible; recent ones are kept) and put "
                       "right the counts that differ from their rows.")
    def vault_verify(repair: bool):
        """Find orphan, missing and corrupt blobs, and counts of documents or measures
        that differ from their rows; exit code 1 if any."""
        drifts = tallies.verify(db.session, repair=repair)
        db.session.commit()
        for drift in drifts:
            click.echo(f"count {drift.name} of {drift.patient_id}: kept {drift.kept}, "
                       f"rows {drift.counted}")
        if repair:
            click.echo(f"{len(drifts)} count(s) put right.")
        report = vault.verify(db.session, blobs.store, repair=repair)
        click.echo(f"{report.checked} document(s) checked.")
        for label, items in (("orphan blob", report.orphans), ("missing blob", report.missing),
                             ("corrupt blob", report.corrupt)):
            for item in items:
                click.echo(f"{label}: {item}")
        if report.recent:
            click.echo(f"{len(report.recent)} recent blob(s) without a row, less than "
                       f"{_minutes(vault.ORPHAN_GRACE)} min old: an upload committing, or "
                       "left by a crash (never visible; `vault sweep` deletes them later).")
        if repair:
            click.echo(f"{report.repaired} orphan blob(s) deleted.")
        if (report.ok and not drifts) or (repair and not report.missing
                                          and not report.corrupt):
            click.echo("OK")
            return
        raise SystemExit(1)

    @vault_group.command("sweep")
    @click.option("--grace-minutes", type=click.IntRange(min=0),
                  default=_minutes(vault.ORPHAN_GRACE), show_default=True,
                  help="Keep blobs younger than this (an upload may be committing).")
    def vault_sweep(grace_minutes: int):
        """Delete blobs no row points to, left by a crash (nightly; reads no blob)."""
        deleted = vault.sweep(db.session, blobs.store, grace=timedelta(minutes=grace_minutes))
        click.echo(f"{deleted} orphan blob(s) deleted.")


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _register_keys(app: Flask) -> None:
    """`keys rotate|rewrap|status|retire`: the key-encryption keys of the key file."""
    from domain.crypto import Keyring, add_kek_version, kek_versions
    from domain.keys import RetireRefused, keys_by_version, retire_kek, rewrap_patient_keys

    @app.cli.group("keys")
    def keys_group():
        """Key-encryption keys (KEK). Safe while the site serves: running processes follow
        the key file (new versions within a second, retired ones dropped)."""

    def rewrap_and_report(path: str) -> None:
        current_app.extensions["carnet_keys"] = Keyring.from_file(path)
        count = rewrap_patient_keys(db.session, keys.ring)
        current = keys.ring.current_version
        click.echo(f"KEK version {current} is current; {count} patient key(s) re-wrapped.")
        counts = keys_by_version(db.session)
        left = sum(number for version, number in counts.items() if version != current)
        if left:
            raise click.ClickException(f"{left} patient key(s) still use an older version: "
                                       "run `flask --app app keys rewrap`.")
        unused = [str(version) for version in keys.ring.versions if version != current]
        if unused:
            click.echo(f"No patient key uses version(s) {', '.join(unused)} any more: "
                       "`flask --app app keys retire N` removes one from the key file.")

    @keys_group.command("rotate")
    def keys_rotate():
        """Add a new KEK to the key file, make it current and re-wrap every patient key with
        it (in committed batches; documents are not touched). If it stops half-way, run
        `keys rewrap`: it finishes the job without adding another version."""
        path = current_app.config["CARNET_KEY_FILE"]
        click.echo(f"KEK version {add_kek_version(path)} added to the key file.")
        rewrap_and_report(path)

    @keys_group.command("rewrap")
    def keys_rewrap():
        """Re-wrap with the current KEK every patient key still wrapped by an older one,
        without adding a version: finishes an interrupted `keys rotate`. Safe to re-run."""
        rewrap_and_report(current_app.config["CARNET_KEY_FILE"])

    @keys_group.command("status")
    def keys_status():
        """List the KEK versions of the key file and how many patient keys each wraps;
        exit code 1 if a patient key uses a version the file does not hold."""
        versions, current, retired = kek_versions(current_app.config["CARNET_KEY_FILE"])
        counts = keys_by_version(db.session)
        for version in versions:
            click.echo(f"KEK version {version}{' (current)' if version == current else ''}: "
                       f"{counts.get(version, 0)} patient key(s)")
        if retired:
            click.echo(f"Retired: {', '.join(str(version) for version in retired)}")
        missing = sorted(set(counts) - set(versions))
        for version in missing:
            click.echo(f"KEK version {version} is not in the key file, yet wraps "
                       f"{counts[version]} patient key(s)", err=True)
        if missing:
            raise SystemExit(1)

    @keys_group.command("retire")
    @click.argument("version", type=int)
    def keys_retire(version: int):
        """Remove KEK VERSION from the key file once no patient key uses it; refused (exit
        code 1) for the current version or while a patient key still uses it (`keys
        rewrap` first). Database backups taken before the re-wrap need the key file of
        their time: keep a copy with them, as safely as the key file itself."""
        try:
            retire_kek(db.session, keys.ring, current_app.config["CARNET_KEY_FILE"], version)
        except RetireRefused as refused:
            raise click.ClickException({
                "unknown": f"KEK version {version} is not in the key file (it holds "
                           f"{', '.join(str(number) for number in refused.versions)}).",
                "current": f"KEK version {version} is the current one: run "
                           "`flask --app app keys rotate` first, then retire it.",
                "in_use": f"KEK version {version} still wraps {refused.count} patient "
                          "key(s): run `flask --app app keys rewrap` first, then retire it.",
            }[refused.reason]) from refused
        click.echo(f"KEK version {version} retired: removed from the key file.")


def register_professionals(app: Flask) -> None:
    """Professional accounts (an operator creates them; the professional signs in)."""
    from domain import professionals
    from domain.models import Profession, Sector

    @app.cli.group("professionals")
    def professionals_group():
        """Health professionals' accounts."""

    @professionals_group.command("add")
    @click.option("--login", required=True)
    @click.option("--given-name", required=True)
    @click.option("--family-name", required=True)
    @click.option("--rpps", required=True, help="11 digits; the last is a check digit.")
    @click.option("--profession", required=True,
                  type=click.Choice([item.value for item in Profession]))
    @click.option("--sector", default=Sector.CARE.value, show_default=True,
                  type=click.Choice([item.value for item in Sector]),
                  help="Only care ever reaches a space.")
    @click.option("--specialty")
    @click.option("--workplace")
    @click.option("--email")
    @click.option("--samu", is_flag=True, help="Works in an emergency medical service.")
    def professionals_add(login, given_name, family_name, rpps, profession, sector,
                          specialty, workplace, email, samu):
        """Create an account; prints its one-time set-up password once."""
        try:
            created = professionals.create(
                db.session, keys.ring, login=login, given_name=given_name,
                family_name=family_name, rpps=rpps, profession=Profession(profession),
                sector=Sector(sector), specialty=specialty, workplace=workplace, email=email,
                samu=samu, hash_profile=current_app.config["PASSWORD_HASH_PROFILE"],
                actor=audit.Actor(acting_as="operator"))
        except professionals.InvalidProfessional as problem:
            raise click.ClickException({
                "rpps_invalid": "this RPPS number is not valid (11 digits, check digit)",
                "rpps_taken": "an account already has this RPPS number",
                "login_taken": "this login is taken",
                "name_missing": "give the given and family names",
                "name_invalid": "names are letters, with spaces, hyphens, apostrophes or "
                                "dots between them (at most 80 characters)",
            }[problem.reason]) from problem
        db.session.commit()
        click.echo(f"Created {login} ({profession}, {sector}).")
        echo_setup_password(created.password)


def echo_setup_password(password: str) -> None:
    """Print a set-up password with what it allows (domain/accounts.py)."""
    click.echo(f"  set-up password: {password}")
    click.echo(f"It works once, for {SETUP_HOURS} hours: at sign-in the person chooses their "
               "own password and adds an authenticator app. Hand it over in person or by a "
               "channel you trust; it is not stored in clear and not shown again.")


def register_agenda(app: Flask) -> None:
    """The agenda's scheduled job."""
    from domain import agenda
    from web.outgoing import notify_agenda_reminder

    @app.cli.group("agenda")
    def agenda_group():
        """The medical agenda."""

    @agenda_group.command("remind")
    @click.option("--today", "today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Run as if on this day (YYYY-MM-DD); default: today in Europe/Paris.")
    def agenda_remind(today):
        """E-mail everyone with appointments or reminders tomorrow (cron, daily; sends each
        item's e-mail once, however often it runs). Prints counts only."""
        on = today.date() if today else agenda.today()
        with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
            run = agenda.reminders(db.session, keys.ring, on, notify_agenda_reminder)
        click.echo(f"{run.patients} e-mail(s) sent for {run.items} item(s) on "
                   f"{(on + timedelta(days=1)).isoformat()}; "
                   f"{run.unreachable} person(s) without an address; "
                   f"{len(run.skipped)} already being sent by another run.")
