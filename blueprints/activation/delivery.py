"""Sending a code: e-mail, SMS (provisional codes) or a printed letter for the post."""

from __future__ import annotations

from flask_babel import gettext as _

from domain import activation
from domain.identity import mask_email, mask_phone
from web.outgoing import render_pdf, send_email, send_sms


def deliver_code(issued: activation.IssuedCode) -> str | None:
    """Send the code by e-mail or SMS; return the masked destination (None: goes by post)."""
    code = activation.format_code(issued.code)
    if issued.channel.value == "email":
        send_email(issued.email, lambda: _("Votre code d’activation"),
                   "email/activation_code.txt", code=code, expires_at=issued.expires_at,
                   provisional=issued.provisional, for_representative=issued.for_representative,
                   person_name=issued.person.given_names)
        return mask_email(issued.email)
    if issued.channel.value == "sms":
        send_sms(issued.phone, lambda: _("Votre code provisoire est %(code)s. Il est valable "
                                         "48 heures. Ne le donnez à personne.", code=code))
        return mask_phone(issued.phone)
    return None


def code_letters_pdf(letters: list[activation.IssuedCode]) -> bytes:
    """One letter per page for the codes sent by post, with the fraud warning printed."""
    return render_pdf("pdf/code_letters.html", letters=letters,
                      format_code=activation.format_code)
