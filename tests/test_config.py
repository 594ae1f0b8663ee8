"""Production refuses a weak set-up and names the setting; development makes its secrets."""

from __future__ import annotations

import pytest

from config import ConfigError, load_config
from domain.crypto import generate_key_file


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "keys.json"
    generate_key_file(path)
    return str(path)


def _production(key_file, **changes):
    env = {"CARNET_ENV": "production", "SECRET_KEY": "s" * 48, "CARNET_KEY_FILE": key_file,
           "DATABASE_URL": "postgresql+psycopg://db/carnet",
           "SMTP_URL": "smtp+starttls://carnet:secret@smtp.example.org:587",
           "SMS_URL": "https://sms.example.org/v1/messages", "SMS_TOKEN": "t" * 32,
           "REDIS_URL": "redis://redis.internal:6379/0",
           "PUBLIC_URL": "https://carnet.example.org",
           "PUBLISHER_NAME": "Association Santé Pour Tous",
           "PUBLISHER_ADDRESS": "1 rue de la Paix, 75002 Paris",
           "PUBLISHER_CONTACT": "contact@carnet.example.org",
           "PUBLICATION_DIRECTOR": "Claire Dubois",
           "HOST_NAME": "Hébergeur HDS", "HOST_ADDRESS": "2 avenue des Serveurs, 59000 Lille",
           "AUDIT_CHECKPOINTS": "s3://carnet-audit/checkpoints"}
    env.update(changes)
    return {key: value for key, value in env.items() if value is not None}


def test_a_complete_production_setup_starts(tmp_path, key_file):
    config = load_config(tmp_path / "instance", _production(key_file))
    assert config["SESSION_COOKIE_NAME"] == "__Host-carnet"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "instance").exists()  # nothing generated in production
    # The request only queues mail and SMS; the outbox worker sends them.
    assert config["OUTBOX_SEND_AFTER_COMMIT"] is False
    # No Referer check: Referrer-Policy: no-referrer suppresses the header (web/proxy.py).
    assert config["WTF_CSRF_SSL_STRICT"] is False


@pytest.mark.parametrize(("changes", "named"), [
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"CARNET_KEY_FILE": None}, "CARNET_KEY_FILE"),
    ({"CARNET_KEY_FILE": "/nonexistent/keys.json"}, "CARNET_KEY_FILE"),
    ({"FLASK_DEBUG": "1"}, "FLASK_DEBUG"),
    ({"CARNET_HTTPS": "0"}, "CARNET_HTTPS"),
    ({"PASSWORD_HASH_PROFILE": "fast"}, "PASSWORD_HASH_PROFILE"),
    ({"CARNET_ENV": "staging"}, "CARNET_ENV"),
    # Codes would be written to files under instance/outbox/ instead of being sent.
    ({"SMTP_URL": None}, "SMTP_URL"),
    ({"SMTP_URL": ""}, "SMTP_URL"),
    # People whose second factor is SMS could never sign in.
    ({"SMS_URL": None}, "SMS_URL"),
    # Rate limits in each worker's memory: a limit of 10 becomes 10 per worker.
    ({"REDIS_URL": None}, "REDIS_URL"),
    # Links in e-mails and letters would point at the server itself.
    ({"PUBLIC_URL": None}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "http://127.0.0.1:5000"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "https://localhost"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "https://[::1]:8443"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "https://0.0.0.0"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "http://carnet.example.org"}, "PUBLIC_URL"),
    # The legal notice must name who publishes and who hosts the site (LCEN).
    ({"PUBLISHER_NAME": None}, "PUBLISHER_NAME"),
    ({"PUBLISHER_ADDRESS": " "}, "PUBLISHER_ADDRESS"),
    ({"PUBLISHER_CONTACT": None}, "PUBLISHER_CONTACT"),
    ({"PUBLICATION_DIRECTOR": None}, "PUBLICATION_DIRECTOR"),
    ({"HOST_NAME": None}, "HOST_NAME"),
    ({"HOST_ADDRESS": None}, "HOST_ADDRESS"),
    # Deleting the newest audit events could not be detected.
    ({"AUDIT_CHECKPOINTS": None}, "AUDIT_CHECKPOINTS"),
])
def test_production_refuses_and_names_the_setting(tmp_path, key_file, changes, named):
    with pytest.raises(ConfigError, match=named):
        load_config(tmp_path, _production(key_file, **changes))


def test_a_refusal_names_one_setting_and_leaks_no_secret(tmp_path, key_file):
    env = _production(key_file, SMTP_URL=None)
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path, env)
    assert "SMTP_URL" in str(refused.value)
    for secret in (env["SECRET_KEY"], env["SMS_TOKEN"]):
        assert secret not in str(refused.value)


def test_development_generates_its_secrets_once(tmp_path):
    first = load_config(tmp_path, {})
    second = load_config(tmp_path, {})
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 48
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first["SESSION_COOKIE_NAME"] == "carnet_session"
    assert first["DATABASE_URL"] == f"sqlite:///{tmp_path / 'carnet.db'}"


def test_settings_come_from_the_environment(tmp_path):
    config = load_config(tmp_path, {"SITE_NAME": "Mon carnet", "OFFICIAL_PHONE": "0800",
                                    "REDIS_URL": "redis://127.0.0.1:6379/0",
                                    "SESSION_IDLE_MINUTES": "10"})
    assert config["SITE_NAME"] == "Mon carnet" and config["OFFICIAL_PHONE"] == "0800"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["SESSION_IDLE_MINUTES"] == 10
    with pytest.raises(ConfigError, match="SESSION_IDLE_MINUTES"):
        load_config(tmp_path, {"SESSION_IDLE_MINUTES": "dix"})


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    from sqlalchemy import text

    from extensions import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas only apply to SQLite")
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
