"""Growing waits after failed sign-in attempts, instead of a hard account lock.

Wrong passwords count per (account, client address): a stranger who knows a login can
slow down their own address only, never the person signing in from elsewhere (issue 13,
"lockout on demand"). Wrong second-factor codes count per account, whatever the session
or the address: whoever types them already knows the password, and a new sign-in must not
give them a fresh allowance (issue 13, "second-factor codes can be guessed").

From the policy's count on, every further failure starts a wait twice as long as the
previous one (1, 2, 4, 8… minutes, capped); while a wait runs, no attempt at that step is
even looked at. A success starts the count again from zero. Nothing here knows about
Flask: domain/auth.py calls it, with the address the request came from.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from domain.crypto import Keyring
from domain.models import SignInDelay, SignInStep, User

PER_ACCOUNT = ""  # the address key of rows that count for the whole account
# The rate-limit scope shared by every form that checks a password (Flask-Limiter's
# shared_limit), so the closing form and the sign-in page draw on one allowance.
LIMIT_SCOPE = "sign-in-check"
_MAX_DOUBLINGS = 16  # 2**16 minutes: far beyond any cap, and no huge integers


@dataclass(frozen=True)
class DelayPolicy:
    """When failures start to cost a wait, and how long the wait grows."""

    password_failures: int = 10  # wrong passwords from one address before the first wait
    code_failures: int = 5  # wrong second-factor codes before the first wait
    first_minutes: int = 1
    max_minutes: int = 15
    forget_hours: int = 24  # failures older than this are forgotten

    @classmethod
    def from_settings(cls, config: Mapping) -> DelayPolicy:
        """The policy from the app's settings (config.py, next to ACCOUNT_LOCK_*)."""
        return cls(password_failures=config["ACCOUNT_LOCK_THRESHOLD"],
                   code_failures=config["SECOND_FACTOR_MAX_FAILURES"],
                   first_minutes=config["SIGN_IN_DELAY_FIRST_MINUTES"],
                   max_minutes=config["ACCOUNT_LOCK_MINUTES"])

    def wait_after(self, step: SignInStep, failures: int) -> timedelta | None:
        """The wait that the failure number `failures` starts, if any."""
        threshold = (self.password_failures if step == SignInStep.PASSWORD
                     else self.code_failures)
        if failures < max(threshold, 1):
            return None
        doublings = min(failures - max(threshold, 1), _MAX_DOUBLINGS)
        return timedelta(minutes=min(self.first_minutes * 2 ** doublings, self.max_minutes))


@dataclass(frozen=True)
class Failure:
    """A counted failure: how many since the last success, and the wait it started."""

    failures: int
    wait_until: datetime | None


def address_key(keyring: Keyring, address: str | None) -> str:
    """A keyed hash of the client address (never stored in clear here). An IPv6 address
    counts by its /64, the block one subscriber gets: otherwise each of their 2**64
    addresses would start from zero."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        normalised = "unknown"
    else:
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        if isinstance(parsed, ipaddress.IPv6Address):
            normalised = str(ipaddress.IPv6Network((parsed, 64), strict=False))
        else:
            normalised = str(parsed)
    return keyring.blind_index("sign-in-address", normalised)


def limit_key(keyring: Keyring, login: str, address: str | None) -> str:
    """The rate-limit key of password checks: one identifier from one address. Keyed per
    address too, so that someone else's tries never use up the person's allowance."""
    return "password:{}:{}".format(keyring.blind_index("login", login),
                                   address_key(keyring, address))


def lock_account(session: Session, user: User) -> None:
    """Serialise attempts on one account until the transaction ends, and reload it: two
    parallel guesses must not both pass the count (PostgreSQL locks the row; SQLite lets
    one writer at a time anyway)."""
    session.refresh(user, with_for_update=True)


def waiting_until(session: Session, user_id: str, step: SignInStep, key: str,
                  now: datetime) -> datetime | None:
    """The end of the wait running for this step, or None when attempts are accepted."""
    row = session.get(SignInDelay, (user_id, step, key), populate_existing=True)
    if row is not None and row.wait_until is not None and row.wait_until > now:
        return row.wait_until
    return None


def record_failure(session: Session, user: User, step: SignInStep, key: str,
                   policy: DelayPolicy, now: datetime) -> Failure:
    """Count one failure and start a wait when the policy says so (call lock_account()
    first, before looking at the wait)."""
    stale = now - timedelta(hours=policy.forget_hours)
    # Rows nobody touched for a day are only clutter (one per address tried).
    session.execute(delete(SignInDelay).where(
        SignInDelay.user_id == user.id, SignInDelay.address_key != key,
        SignInDelay.last_failure_at < stale,
        or_(SignInDelay.wait_until.is_(None), SignInDelay.wait_until <= now)))
    row = session.get(SignInDelay, (user.id, step, key), populate_existing=True)
    if row is None:
        row = SignInDelay(user_id=user.id, step=step, address_key=key, failures=0,
                          last_failure_at=now)
        session.add(row)
    elif row.last_failure_at < stale and (row.wait_until is None or row.wait_until <= now):
        row.failures, row.wait_until = 0, None
    row.failures += 1
    row.last_failure_at = now
    wait = policy.wait_after(step, row.failures)
    started = None
    if wait is not None:
        row.wait_until = started = now + wait
    session.flush()
    return Failure(row.failures, started)


def forget(session: Session, user_id: str, step: SignInStep, key: str | None = None) -> None:
    """A success at this step: its count starts again from zero (for one address key, or
    for all of them)."""
    query = delete(SignInDelay).where(SignInDelay.user_id == user_id, SignInDelay.step == step)
    if key is not None:
        query = query.where(SignInDelay.address_key == key)
    session.execute(query)
