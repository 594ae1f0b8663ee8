"""Settings, read from the environment.

Development generates its secrets under ``instance/`` on first start; production refuses to
start on a weak set-up and names the setting that is wrong.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from domain.catalogue import DEFAULT_FILE as CATALOGUE_DEMO_FILE
from domain.crypto import generate_key_file
from domain.files import private_dir


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message names it."""


ENVIRONMENTS = ("development", "production", "test")


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


# The legal notice (French law, LCEN art. 6 III) names the publisher and the host.
LEGAL_NOTICE_SETTINGS = ("PUBLISHER_NAME", "PUBLISHER_ADDRESS", "PUBLISHER_CONTACT",
                         "PUBLICATION_DIRECTOR", "HOST_NAME", "HOST_ADDRESS")


def _is_local_url(url: str) -> bool:
    """True when the address points at this machine (localhost, 127.0.0.0/8, ::1, 0.0.0.0)
    or has no host at all: links in e-mails would lead nowhere."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _refuse_unsafe_production(env: dict, debug: bool, https: bool, secret_key: str,
                              key_file: str) -> None:
    """Production refuses to start, naming the setting, on a set-up that would leak data or
    silently fail people (codes written to files, rate limits per worker, no SMS)."""
    if debug:
        raise ConfigError("FLASK_DEBUG is on: debug mode is refused in production")
    if len(secret_key) < 32:
        raise ConfigError("SECRET_KEY is missing or shorter than 32 characters")
    if not key_file:
        raise ConfigError("CARNET_KEY_FILE is missing: production needs its own key file")
    if not Path(key_file).is_file():
        raise ConfigError(f"CARNET_KEY_FILE points to {key_file!r}, which does not exist")
    if not https:
        raise ConfigError("CARNET_HTTPS is off: production cookies must be HTTPS-only")
    if env.get("PASSWORD_HASH_PROFILE", "standard") != "standard":
        raise ConfigError("PASSWORD_HASH_PROFILE must be 'standard' in production")
    if not env.get("SMTP_URL"):
        raise ConfigError("SMTP_URL is missing: production would write activation and "
                          "sign-in codes to files instead of sending them")
    if not env.get("SMS_URL"):
        raise ConfigError("SMS_URL is missing: people whose second factor is SMS could "
                          "never sign in")
    if not env.get("REDIS_URL"):
        raise ConfigError("REDIS_URL is missing: rate limits would live in each worker's "
                          "memory")
    if not env.get("AUDIT_CHECKPOINTS"):
        raise ConfigError("AUDIT_CHECKPOINTS is missing: without checkpoints outside the "
                          "database, deleting the newest audit events cannot be detected")
    public_url = env.get("PUBLIC_URL", "")
    if not public_url or _is_local_url(public_url):
        raise ConfigError("PUBLIC_URL is missing or points at this machine: links in "
                          "e-mails would lead nowhere")
    if urlsplit(public_url).scheme != "https":
        raise ConfigError("PUBLIC_URL must start with https:// in production")
    for name in LEGAL_NOTICE_SETTINGS:
        if not env.get(name, "").strip():
            raise ConfigError(f"{name} is missing: the legal notice must name who publishes "
                              "and who hosts the site")


@dataclass(frozen=True)
class Paths:
    instance: Path

    @property
    def secret_key_file(self) -> Path:
        return self.instance / "secret_key"

    @property
    def key_file(self) -> Path:
        return self.instance / "keys.json"

    @property
    def database(self) -> Path:
        return self.instance / "carnet.db"

    @property
    def outbox(self) -> Path:
        return self.instance / "outbox"


def _development_secret_key(paths: Paths) -> str:
    """Read, or create once, a random SECRET_KEY kept in instance/ (development only)."""
    path = paths.secret_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def load_config(instance_path: str | Path, env: dict | None = None) -> dict:
    """Build the Flask configuration from environment variables.

    Raises ConfigError, naming the setting, when production would run with a missing
    secret, debug mode, cookies not limited to HTTPS, keys it cannot read, or without the
    real services it needs (SMTP, SMS, Redis, a public address).
    """
    env = dict(os.environ if env is None else env)
    paths = Paths(Path(instance_path))
    environment = env.get("CARNET_ENV", "development")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"CARNET_ENV must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    production = environment == "production"
    debug = _bool(env.get("FLASK_DEBUG"), False)
    https = _bool(env.get("CARNET_HTTPS"), production)

    secret_key = env.get("SECRET_KEY", "")
    key_file = env.get("CARNET_KEY_FILE", "")
    if production:
        _refuse_unsafe_production(env, debug, https, secret_key, key_file)
    else:
        private_dir(paths.instance)  # keys, database, outbox: the owner's only
        if not secret_key:
            secret_key = _development_secret_key(paths)
        if not key_file:
            key_file = str(paths.key_file)
            if not paths.key_file.exists():
                generate_key_file(paths.key_file)

    database_url = env.get("DATABASE_URL") or f"sqlite:///{paths.database}"
    redis_url = env.get("REDIS_URL", "")

    return {
        "CARNET_ENV": environment,
        "DEBUG": debug,
        "TESTING": environment == "test",
        "SECRET_KEY": secret_key,
        "CARNET_KEY_FILE": key_file,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SITE_NAME": env.get("SITE_NAME", "Carnet santé"),
        "OFFICIAL_PHONE": env.get("OFFICIAL_PHONE", "3646"),
        "OUTBOX_DIR": env.get("OUTBOX_DIR") or str(paths.outbox),
        "SMTP_URL": env.get("SMTP_URL", ""),
        # SMS gateway: a JSON POST {to, text, sender} to SMS_URL (domain/sms.py).
        "SMS_URL": env.get("SMS_URL", ""),
        "SMS_TOKEN": env.get("SMS_TOKEN", ""),
        "SMS_USER": env.get("SMS_USER", ""),
        "SMS_PASSWORD": env.get("SMS_PASSWORD", ""),
        "SMS_SENDER": env.get("SMS_SENDER", "CarnetSante"),
        # Outgoing mail and SMS wait in the outbox table; a worker sends them
        # (`flask outbox work`). Development and tests send them right after each commit.
        "OUTBOX_SEND_AFTER_COMMIT": _bool(env.get("OUTBOX_SEND_AFTER_COMMIT"),
                                          not production),
        "MAIL_FROM": env.get("MAIL_FROM", "Carnet santé <ne-pas-repondre@carnet-sante.invalid>"),
        "PUBLIC_URL": env.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # Where audit checkpoints are written, outside the database (domain/audit_checkpoints).
        "AUDIT_CHECKPOINTS": env.get("AUDIT_CHECKPOINTS")
        or ("" if production else (paths.instance / "audit-checkpoints").resolve().as_uri()),
        # Proxies in front of the app whose X-Forwarded-* headers are believed (web/proxy.py).
        "TRUSTED_PROXY_HOPS": _int(env, "TRUSTED_PROXY_HOPS", 0),
        # Who runs this installation (legal notice) and where its source code is (AGPL).
        "SOURCE_URL": env.get("SOURCE_URL", ""),
        "PUBLISHER_NAME": env.get("PUBLISHER_NAME", ""),
        "PUBLISHER_ADDRESS": env.get("PUBLISHER_ADDRESS", ""),
        "PUBLISHER_CONTACT": env.get("PUBLISHER_CONTACT", ""),
        "PUBLICATION_DIRECTOR": env.get("PUBLICATION_DIRECTOR", ""),
        "HOST_NAME": env.get("HOST_NAME", ""),
        "HOST_ADDRESS": env.get("HOST_ADDRESS", ""),
        "ACTIVATION_LIMIT_PER_IP": env.get("ACTIVATION_LIMIT_PER_IP", "60 per 10 minutes"),
        "PASSWORD_HASH_PROFILE": env.get("PASSWORD_HASH_PROFILE", "standard"),
        # Sessions (SECURITY.md "Sessions").
        "CARNET_HTTPS": https,
        "SESSION_COOKIE_NAME": "__Host-carnet" if https else "carnet_session",
        # The raw CSRF token of a visitor with no server-side session (web/csrf.py).
        "CSRF_COOKIE_NAME": "__Host-carnet-csrf" if https else "carnet_csrf",
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_IDLE_MINUTES": _int(env, "SESSION_IDLE_MINUTES", 15),
        "SESSION_ASSISTED_IDLE_MINUTES": _int(env, "SESSION_ASSISTED_IDLE_MINUTES", 5),
        "SESSION_ABSOLUTE_HOURS": _int(env, "SESSION_ABSOLUTE_HOURS", 12),
        "SESSION_WARNING_SECONDS": _int(env, "SESSION_WARNING_SECONDS", 120),
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        # Requests.
        "MAX_UPLOAD_MB": _int(env, "MAX_UPLOAD_MB", 5),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_UPLOAD_MB", 5) * 1024 * 1024 + 64 * 1024,
        "MAX_IMAGE_PIXELS": _int(env, "MAX_IMAGE_PIXELS", 40_000_000),
        # The referenced health apps (domain/catalogue.py): read once at start-up, which
        # stops on a faulty file. Empty: the fictional demonstration entries shipped.
        "CATALOGUE_FILE": env.get("CATALOGUE_FILE") or str(CATALOGUE_DEMO_FILE),
        # Emergency ("bris de glace") access lasts this many hours.
        "EMERGENCY_HOURS": _int(env, "EMERGENCY_HOURS", 4),
        # Document blobs: a folder under instance/ by default, or s3://bucket[/prefix].
        "BLOB_STORE": env.get("BLOB_STORE", ""),
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": env.get("S3_REGION") or None,
        "S3_ACCESS_KEY_ID": env.get("S3_ACCESS_KEY_ID") or None,
        "S3_SECRET_ACCESS_KEY": env.get("S3_SECRET_ACCESS_KEY") or None,
        "WTF_CSRF_TIME_LIMIT": None,  # bound to the server-side session instead
        # Flask-WTF's HTTPS check wants a Referer, which Referrer-Policy: no-referrer
        # suppresses: web/proxy.py checks Sec-Fetch-Site and Origin instead.
        "WTF_CSRF_SSL_STRICT": False,
        # Rate limits (Flask-Limiter); memory by default, Redis when REDIS_URL is set.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_LIMIT_PER_IP": env.get("LOGIN_LIMIT_PER_IP", "60 per 5 minutes"),
        # Per identifier *and* address (domain/sign_in.py limit_key), shared by every form
        # that checks a password: someone else's tries never use up the person's allowance.
        "LOGIN_LIMIT_PER_ACCOUNT": env.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes"),
        # Growing waits, not a hard lock (domain/sign_in.py): after ACCOUNT_LOCK_THRESHOLD
        # wrong passwords for one account from one address, or SECOND_FACTOR_MAX_FAILURES
        # wrong codes for one account, each failure starts a wait of
        # SIGN_IN_DELAY_FIRST_MINUTES, then twice as long each time, up to
        # ACCOUNT_LOCK_MINUTES.
        "ACCOUNT_LOCK_THRESHOLD": _int(env, "ACCOUNT_LOCK_THRESHOLD", 10),
        "ACCOUNT_LOCK_MINUTES": _int(env, "ACCOUNT_LOCK_MINUTES", 15),
        "SECOND_FACTOR_MAX_FAILURES": _int(env, "SECOND_FACTOR_MAX_FAILURES", 5),
        "SIGN_IN_DELAY_FIRST_MINUTES": _int(env, "SIGN_IN_DELAY_FIRST_MINUTES", 1),
        # Translations.
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_TRANSLATION_DIRECTORIES": "translations",
        "LANGUAGES": ("fr", "en"),
    }
