"""Outgoing messages. In development they are written to an outbox folder.

E-mails and SMS never carry health content; each file holds one message.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path


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
