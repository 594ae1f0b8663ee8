"""Outgoing messages: how an e-mail is built, and the transports that carry one.

Requests never talk to a mail server: they queue (domain/outbox.py), and the outbox hands
each message to a transport here. Without SMTP_URL or SMS_URL (development), transports
write each message as a file under the outbox folder. E-mails and SMS never carry health
content.
"""

from __future__ import annotations

import json
import secrets
import smtplib
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from domain.files import write_private

SMTP_TIMEOUT_SECONDS = 30


class DeliveryError(Exception):
    """A message could not be handed over. `final`: trying again will not help (an address
    refused, a request the gateway rejects); otherwise it may work later. The message
    never holds content, addresses or codes."""

    def __init__(self, reason: str, final: bool):
        super().__init__(reason)
        self.reason = reason
        self.final = final


def _stamped_name(suffix: str) -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(4)}{suffix}"


class Outbox:
    """Development SMS: each one a JSON file under outbox/sms/."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def send_sms(self, phone: str, text: str, idempotency_key: str = "") -> Path:
        payload = json.dumps({"to": phone, "text": text}, ensure_ascii=False, indent=2)
        return write_private(self.directory / "sms", _stamped_name(".json"),
                             payload.encode("utf-8"))

    def messages(self, kind: str) -> list[dict]:
        folder = self.directory / kind
        if not folder.exists():
            return []
        return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.iterdir())]


def build_email(sender: str, to: str, subject: str, text: str,
                attachments: tuple[tuple[str, str, bytes], ...] = ()) -> EmailMessage:
    """A plain-text e-mail (attachments: file name, MIME type, bytes)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">")
                                       or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    for filename, mimetype, content in attachments:
        maintype, _, subtype = mimetype.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


class Mailer:
    """Hands a built e-mail to SMTP when SMTP_URL is set, else writes it to the outbox
    folder (development)."""

    def __init__(self, smtp_url: str, outbox_dir: str | Path, sender: str = ""):
        self.smtp_url = smtp_url
        self.outbox = Path(outbox_dir) / "email"
        self.sender = sender

    def __repr__(self) -> str:  # the URL may hold the SMTP password
        return f"<Mailer {urlsplit(self.smtp_url).hostname or 'outbox folder'}>"

    def deliver(self, raw: bytes) -> None:
        """Send one e-mail given as RFC 5322 bytes; raise DeliveryError on failure."""
        if not self.smtp_url:
            write_private(self.outbox, _stamped_name(".eml"), raw)
            return
        message = message_from_bytes(raw, policy=default_policy)
        try:
            self._smtp_send(message)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _text in refused.recipients.values()]
            final = all(500 <= code < 600 for code in codes)
            raise DeliveryError(f"SMTP recipient refused {codes[0] if codes else ''}".strip(),
                                final=final) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(f"SMTP {error.smtp_code}",
                                final=500 <= error.smtp_code < 600) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP unreachable ({type(error).__name__})",
                                final=False) from None

    def _smtp_send(self, message: EmailMessage) -> None:
        url = urlsplit(self.smtp_url)
        smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with smtp_class(url.hostname or "127.0.0.1", url.port or 25,
                        timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)

    def sent(self) -> list[EmailMessage]:
        """E-mails written to the outbox folder, oldest first (development and tests)."""
        if not self.outbox.exists():
            return []
        return [message_from_bytes(path.read_bytes(), policy=default_policy)
                for path in sorted(self.outbox.iterdir())]
