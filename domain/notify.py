"""Outgoing messages. In development they are written to an outbox folder.

E-mails and SMS never carry health content; each file holds one message.
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


class Outbox:
    """Writes each SMS or e-mail as a JSON file under outbox/<kind>/."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _write(self, kind: str, payload: dict) -> Path:
        folder = self.directory / kind
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = folder / f"{stamp}-{secrets.token_hex(4)}.json"
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    def send_sms(self, phone: str, text: str) -> Path:
        return self._write("sms", {"to": phone, "text": text})

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
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    for filename, mimetype, content in attachments:
        maintype, _, subtype = mimetype.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


class Mailer:
    """Sends e-mail through SMTP when SMTP_URL is set, else into the outbox folder."""

    def __init__(self, smtp_url: str, outbox_dir: str | Path, sender: str):
        self.smtp_url = smtp_url
        self.outbox = Path(outbox_dir) / "email"
        self.sender = sender

    def send(self, to: str, subject: str, text: str,
             attachments: tuple[tuple[str, str, bytes], ...] = ()) -> None:
        message = build_email(self.sender, to, subject, text, attachments)
        if not self.smtp_url:
            self.outbox.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            (self.outbox / f"{stamp}-{secrets.token_hex(4)}.eml").write_bytes(bytes(message))
            return
        url = urlsplit(self.smtp_url)
        smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with smtp_class(url.hostname or "127.0.0.1", url.port or 25, timeout=30) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)

    def sent(self) -> list[EmailMessage]:
        """E-mails written to the outbox, oldest first (development and tests)."""
        if not self.outbox.exists():
            return []
        return [message_from_bytes(path.read_bytes(), policy=default_policy)
                for path in sorted(self.outbox.iterdir())]
