"""The SMS gateway adapter: one stated wire format, so any provider can sit behind a small
bridge.

    POST SMS_URL
    Content-Type: application/json
    Authorization: Bearer SMS_TOKEN        (or Basic SMS_USER:SMS_PASSWORD)
    Idempotency-Key: <the outbox message id>

    {"to": "+33612345678", "text": "…", "sender": "CarnetSante"}

Any 2xx means the gateway accepted the message. 5xx, 429 and time-outs are retried here
with exponential backoff (a 429's Retry-After is honoured up to a cap); any other 4xx is
final. The idempotency key stays the same across retries, so a request that timed out
after the gateway accepted it is never sent twice. When every retry fails the outbox tries
again later (domain/outbox.py).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from domain.notify import DeliveryError

RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
MAX_RETRY_AFTER_SECONDS = 10.0


@dataclass(frozen=True)
class SmsSettings:
    """The gateway's address and credentials (a token, or user and password), the sender
    name, the time-out per request in seconds, and the retries with their backoff."""

    url: str
    token: str = ""
    user: str = ""
    password: str = ""
    sender: str = "CarnetSante"
    timeout_seconds: float = 10.0
    tries: int = 3
    backoff_seconds: float = 0.5


class SmsGateway:
    """Sends one SMS through the HTTP gateway (see the module docstring for the format)."""

    def __init__(self, settings: SmsSettings, sleep: Callable[[float], None] = time.sleep):
        scheme = urlsplit(settings.url).scheme
        if scheme not in ("http", "https"):
            raise ValueError("SMS_URL must be an http:// or https:// address")
        self.settings = settings
        self._sleep = sleep

    def __repr__(self) -> str:  # credentials never in a log or a traceback
        return f"<SmsGateway {urlsplit(self.settings.url).netloc}>"

    def _headers(self, idempotency_key: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Accept": "application/json", "Idempotency-Key": idempotency_key,
                   "User-Agent": "carnet-sante-sms/1"}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        elif self.settings.user:
            pair = f"{self.settings.user}:{self.settings.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers

    def send(self, to: str, text: str, idempotency_key: str) -> None:
        """Send, retrying what may succeed later; raise DeliveryError (final or not)."""
        body = json.dumps({"to": to, "text": text, "sender": self.settings.sender},
                          ensure_ascii=False).encode()
        headers = self._headers(idempotency_key)
        reason, retry_after = "no attempt", None
        for attempt in range(self.settings.tries):
            if attempt:
                self._sleep(self._delay(attempt, retry_after))
            try:
                self._post(body, headers)
                return
            except urllib.error.HTTPError as error:
                status = error.code
                retry_after = _seconds(error.headers.get("Retry-After") if error.headers
                                       else None)
                error.close()
                if status not in RETRY_STATUSES:
                    raise DeliveryError(f"SMS gateway {status}", final=True) from None
                reason = f"SMS gateway {status}"
            except (urllib.error.URLError, OSError) as error:
                timed_out = isinstance(getattr(error, "reason", error), TimeoutError)
                reason = "SMS gateway time-out" if timed_out else "SMS gateway unreachable"
                retry_after = None
        raise DeliveryError(reason, final=False)

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.settings.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(  # noqa: S310 - the scheme is checked in __init__
                request, timeout=self.settings.timeout_seconds) as response:
            response.read(4096)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = self.settings.backoff_seconds * 2 ** (attempt - 1)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return delay


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: keep our own backoff
