"""`flask --app app representation …`: who acts in another person's space. The operator
adds and ends representations from the insurer's records or a court decision (each change
audited with its reason); `majority` is the daily job that ends a parent's representation
at the child's 18th birthday. People are named by their social security number; nothing
here prints a name or a health datum."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from domain import audit, insured, representation
from domain.identity import InvalidIdentifier, normalise_nir
from domain.models import User
from domain.models.base import utcnow
from domain.policy import RepresentationKind
from extensions import db, keys
from web.delivery import code_letters_pdf, deliver_code, post_letter
from web.outgoing import notify_representation_ended

OPERATOR = audit.Actor(acting_as="operator")


def _user(nir: str, what: str) -> User:
    """The account of the insured person with this NIR (a space must exist)."""
    try:
        person = insured.find_by_nir(db.session, keys.ring, normalise_nir(nir))
    except InvalidIdentifier as exc:
        raise click.BadParameter(f"invalid NIR ({exc.reason})", param_hint=what) from exc
    user = db.session.get(User, person.user_id) if person and person.user_id else None
    if user is None:
        raise click.BadParameter("nobody with a space has this NIR", param_hint=what)
    return user


def register_representation(app: Flask) -> None:
    @app.cli.group("representation")
    def representation_group():
        """Parents, guardians and curators acting in another person's space."""

    @representation_group.command("add")
    @click.option("--holder", "holder_nir", required=True, help="NIR of who will act.")
    @click.option("--for", "represented_nir", required=True, help="NIR of whose space.")
    @click.option("--kind", type=click.Choice([kind.value for kind in RepresentationKind]),
                  required=True)
    @click.option("--reason", required=True,
                  help="Why (e.g. the court decision's reference); kept in the audit trail.")
    def representation_add(holder_nir: str, represented_nir: str, kind: str, reason: str):
        """Let HOLDER act in the other person's space."""
        holder, represented = _user(holder_nir, "--holder"), _user(represented_nir, "--for")
        try:
            representation.add(db.session, keys.ring, holder, represented,
                               RepresentationKind(kind), reason, OPERATOR,
                               representation.today_in_france())
        except representation.InvalidRepresentation as problem:
            raise click.ClickException({
                "self": "a person cannot represent themselves",
                "not_patient": "both people must be insured people with a space",
                "not_minor": "a parent represents a minor only; use tutelle or curatelle",
                "minor": "a minor is represented by a parent",
            }[problem.reason]) from problem
        db.session.commit()
        click.echo(f"Representation added ({kind}).")

    @representation_group.command("end")
    @click.option("--holder", "holder_nir", required=True)
    @click.option("--for", "represented_nir", required=True)
    @click.option("--reason", required=True, help="Why; kept in the audit trail.")
    def representation_end(holder_nir: str, represented_nir: str, reason: str):
        """End a representation in force."""
        holder, represented = _user(holder_nir, "--holder"), _user(represented_nir, "--for")
        ended = representation.end(db.session, keys.ring, holder, represented, reason,
                                   OPERATOR)
        db.session.commit()
        click.echo("Representation ended." if ended else "No representation in force.")

    @representation_group.command("list")
    @click.option("--holder", "holder_nir", required=True)
    def representation_list(holder_nir: str):
        """The spaces a person acts in today (kinds and counts, no names)."""
        spaces = representation.spaces_for(db.session, _user(holder_nir, "--holder"),
                                           representation.today_in_france())
        for space in spaces:
            click.echo(f"{space.person.id} {space.kind.value}")
        click.echo(f"{len(spaces)} space(s).")

    @representation_group.command("majority")
    def representation_majority():
        """Daily: end parents' representations at the child's 18th birthday, tell them, and
        send the young adult a code to take the space over (safe to run twice at once)."""
        grown = representation.end_at_majority(db.session, keys.ring,
                                               representation.today_in_france(), OPERATOR)
        # The e-mails join the outbox in the same transaction: sent once, with the ending.
        now, posted = utcnow(), []
        with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
            for item in grown:
                for former in item.former:
                    notify_representation_ended(former, item.person)
                issued = representation.hand_over(db.session, keys.ring, item.person, now)
                if issued is not None and issued.channel.value == "post":
                    posted.append(issued)
                elif issued is not None:
                    deliver_code(issued)
            if posted:  # codes in clear: post_letter writes them 0600 in a 0700 folder
                name = f"majority-{now:%Y%m%dT%H%M%S}.pdf"
                post_letter(name, code_letters_pdf(posted))
                click.echo("Letters for the post: "
                           f"{Path(current_app.config['OUTBOX_DIR']) / 'letters' / name}")
            db.session.commit()
        click.echo(f"{len(grown)} person(s) came of age; "
                   f"{sum(len(item.former) for item in grown)} representation(s) ended; "
                   f"{len(posted)} code(s) to take the space over by post.")
