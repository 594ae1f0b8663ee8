"""Sending a code or an opposition's outcome: e-mail, SMS (provisional codes) or a printed
letter for the post.

Answers that must not tell whether a person exists (SECURITY.md) do the same work whether or
not anything is sent: when nobody is to receive a message, the very same message is built
and dropped (`_email(None, …)`, rehearse_code()). benchmarks/activation_oracles.py measures
what is left.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

from flask import current_app

from domain import activation
from domain.files import write_private
from domain.notify import build_email
from extensions import keys
from web.i18n import gettext as _
from web.outgoing import (
    bilingual,
    bilingual_subject,
    in_language,
    render_pdf,
    send_email,
    send_sms,
)

PROOF_FILENAME = "attestation-opposition.pdf"


def deliver_code(issued: activation.IssuedCode) -> None:
    """Send the code by e-mail or SMS (by post: nothing here, the letters job prints it)."""
    code = activation.format_code(issued.code)
    if issued.channel.value == "email":
        if issued.takeover:
            send_email(issued.email, lambda: _("Votre espace santé est maintenant le vôtre"),
                       "email/takeover_code.txt", code=code, expires_at=issued.expires_at)
            return
        send_email(issued.email, lambda: _("Votre code d’activation"),
                   "email/activation_code.txt", code=code, expires_at=issued.expires_at,
                   provisional=issued.provisional, for_representative=issued.for_representative,
                   person_name=issued.person.given_names)
    elif issued.channel.value == "sms":
        send_sms(issued.phone, lambda: _("Votre code provisoire est %(code)s. Il est valable "
                                         "48 heures. Ne le donnez à personne.", code=code))


def rehearse_code(expires_at: datetime) -> None:
    """What sending a code by e-mail costs, for a provisional-code request that sends no
    e-mail (nobody matched, a phone only, nothing on file, the daily limit reached)."""
    _email(None, lambda: _("Votre code d’activation"), "email/activation_code.txt",
           code=activation.format_code(activation.generate_code()), expires_at=expires_at,
           provisional=True, for_representative=False, person_name="")


def _email(to: str | None, subject_source, template: str, attachments=(), **context) -> None:
    """Queue the e-mail; without an address, build the same message and drop it."""
    if to:
        send_email(to, subject_source, template, attachments=attachments, **context)
        return
    message = build_email(current_app.config["MAIL_FROM"], "personne@example.invalid",
                          bilingual_subject(subject_source), bilingual(template, **context),
                          tuple(attachments))
    keys.ring.seal_server(bytes(message), "outbox|payload_sealed|rehearsal")


def code_letters_pdf(letters: list[activation.IssuedCode]) -> bytes:
    """One letter per page for the codes sent by post, with the fraud warning printed."""
    return render_pdf("pdf/code_letters.html", letters=letters,
                      format_code=activation.format_code)


def opposition_proof_pdf(person) -> bytes:
    return render_pdf("pdf/opposition_proof.html", person=person,
                      reference=person.opposition_reference, decided_at=person.status_changed_at)


def _stand_in(birth_date: date, now: datetime) -> SimpleNamespace:
    """Someone who does not exist, for the proof rendered when nobody matched."""
    return SimpleNamespace(given_names="", birth_name="", birth_date=birth_date,
                           opposition_reference="OPP-" + "X" * 10, status_changed_at=now)


def tell_opposition(result: activation.OppositionRequest, birth_date: date,
                    now: datetime) -> tuple[str, bytes] | None:
    """Tell the person what an opposition without a code did. E-mails join the outbox in
    this transaction; a letter for the post is returned (file name, PDF), to be written
    with post_letter() once the transaction is committed.

    A new opposition goes by e-mail with the proof attached, or by post when no e-mail is
    on file; a repeated one is e-mailed again (never posted twice); a space that already
    exists is left as it is and its holder told by e-mail. Every path renders one PDF (the
    proof, the letter, or a stand-in's proof) and builds the proof's e-mail (sent, or
    dropped): the PDF is by far the slowest part of the answer."""
    person, opposed = result.person, result.outcome == "opposed"
    letter = None
    if opposed and not result.email and not result.repeated:
        pdf = render_pdf("pdf/opposition_letter.html", person=person,
                         recipient=result.recipient, address=result.address,
                         reference=person.opposition_reference,
                         decided_at=person.status_changed_at)
        letter = (f"opposition-{person.opposition_reference}.pdf", pdf)
    else:
        pdf = opposition_proof_pdf(person if opposed else _stand_in(birth_date, now))
    _email(result.email if opposed else None, lambda: _("Votre opposition est enregistrée"),
           "email/opposition.txt",
           reference=person.opposition_reference if opposed else "OPP-" + "X" * 10,
           attachments=((PROOF_FILENAME, "application/pdf", pdf),))
    if result.outcome == "not_opposable" and result.email:
        _email(result.email, lambda: _("Une demande de refus de votre espace santé"),
               "email/opposition_not_possible.txt")
    return letter


def post_letter(name: str, pdf: bytes) -> None:
    """A letter for the post, next to the code letters (OUTBOX_DIR/letters), readable by
    the service's user only: the operator prints them."""
    write_private(Path(current_app.config["OUTBOX_DIR"]) / "letters", name, pdf,
                  replace=True)


def deliver_reset_code(requested) -> None:
    """Send a forgotten password's code (domain/password_reset.py) to the insurer's contact;
    when nothing is to be sent, build the same e-mail and drop it (the same work)."""
    if requested.channel == "sms":
        send_sms(requested.to, lambda: _("Carnet santé : votre code pour choisir un nouveau "
                                         "mot de passe est %(code)s. Il est valable 30 "
                                         "minutes. Ne le donnez à personne.",
                                         code=requested.code))
    _email(requested.to if requested.channel == "email" else None,
           lambda: _("Votre code pour choisir un nouveau mot de passe"),
           "email/password_reset_code.txt",
           code=requested.code or f"{secrets.randbelow(10 ** 8):08d}")


def factor_reset_letter_pdf(letter) -> bytes:
    """The letter with the code to change phones (domain/factor_reset.py), in French like
    every letter, whatever the language of the page that asked for it."""
    return in_language("fr", lambda: render_pdf("pdf/factor_reset_letter.html",
                                                letter=letter))
