"""Liveness and readiness: can this process serve, and are the services it needs there?

The answers given to the outside world are one word; which part failed goes to the log
only, so strangers learn nothing about the installation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text

from domain.crypto import Keyring


@dataclass(frozen=True)
class Readiness:
    """Which parts answered; `failed` names the others (for the log, not for strangers)."""

    checked: tuple[str, ...]
    failed: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return not self.failed


def database_ready(engine: Engine) -> bool:
    """One round trip to the database."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
    return True


def redis_ready(url: str, timeout_seconds: float = 1.0) -> bool:
    """Redis answers PING within the time-out."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout_seconds,
                                      socket_connect_timeout=timeout_seconds)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001
        return False


def key_file_ready(path: str | Path) -> bool:
    """The key file can be read and holds a usable keyring."""
    try:
        Keyring.from_file(path)
    except Exception:  # noqa: BLE001
        return False
    return True


def readiness(checks: dict[str, Callable[[], bool]]) -> Readiness:
    """Run every check and say which failed; a check that raises has failed."""
    failed = []
    for name, check in checks.items():
        try:
            passed = check()
        except Exception:  # noqa: BLE001 - a misconfigured part is a part not ready
            passed = False
        if not passed:
            failed.append(name)
    return Readiness(tuple(checks), tuple(failed))
