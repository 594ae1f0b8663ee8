"""Real servers on loopback standing in for the operator's SMTP relay and SMS gateway."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------------------- SMS gateway

@dataclass
class Reply:
    """What the gateway does with one request: a status (and headers), or hang for
    `delay` seconds first (longer than the client's time-out: the request times out)."""

    status: int = 200
    delay: float = 0.0
    headers: dict = field(default_factory=dict)


class FakeSmsGateway:
    """The stated wire format (domain/sms.py): checks the credentials and the body, and
    honours the Idempotency-Key: a key seen before is acknowledged and not sent again.
    `script` lists replies for the next requests; afterwards every request gets 200."""

    def __init__(self, token: str = "", user: str = "", password: str = ""):
        self.token, self.user, self.password = token, user, password
        self.script: list[Reply] = []
        self.requests: list[dict] = []   # every request that reached the handler
        self.delivered: list[dict] = []  # messages really sent to a phone, once per key
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                gateway._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/sms"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _authorised(self, header: str) -> bool:
        if self.token:
            return header == f"Bearer {self.token}"
        pair = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return header == f"Basic {pair}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        with self._lock:
            reply = self.script.pop(0) if self.script else Reply()
            record = {"headers": dict(handler.headers), "body": raw, "path": handler.path}
            self.requests.append(record)
        status = reply.status
        if not self._authorised(handler.headers.get("Authorization", "")):
            status = 401
        elif handler.headers.get("Content-Type", "").split(";")[0] != "application/json":
            status = 415
        else:
            try:
                body = json.loads(raw)
                valid = set(body) == {"to", "text", "sender"} and all(
                    isinstance(value, str) and value for value in body.values())
            except ValueError:
                valid = False
            key = handler.headers.get("Idempotency-Key", "")
            if not valid or not key:
                status = 400
            elif 200 <= status < 300 or reply.delay:
                with self._lock:
                    # Accepted (even when the answer will come too late for the client).
                    if key not in self._keys:
                        self._keys.add(key)
                        self.delivered.append(body)
        if reply.delay:
            time.sleep(reply.delay)
        try:
            handler.send_response(status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Type", "application/json")
            answer = b'{"accepted": true}' if 200 <= status < 300 else b'{"error": "no"}'
            handler.send_header("Content-Length", str(len(answer)))
            handler.end_headers()
            handler.wfile.write(answer)
        except OSError:
            pass  # the client gave up waiting

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------- SMTP relay

class SmtpRelay:
    """aiosmtpd on loopback; stop() and start() again on the same port, as an outage."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list = []
        self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpRelay:
        from aiosmtpd.controller import Controller

        relay = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                relay.messages.append(message_from_bytes(envelope.content,
                                                         policy=default_policy))
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
