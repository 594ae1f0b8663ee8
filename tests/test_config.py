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
           "DATABASE_URL": "postgresql+psycopg://db/carnet"}
    env.update(changes)
    return {key: value for key, value in env.items() if value is not None}


def test_a_complete_production_setup_starts(tmp_path, key_file):
    config = load_config(tmp_path / "instance", _production(key_file))
    assert config["SESSION_COOKIE_NAME"] == "__Host-carnet"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "instance").exists()  # nothing generated in production


@pytest.mark.parametrize(("changes", "named"), [
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"CARNET_KEY_FILE": None}, "CARNET_KEY_FILE"),
    ({"CARNET_KEY_FILE": "/nonexistent/keys.json"}, "CARNET_KEY_FILE"),
    ({"FLASK_DEBUG": "1"}, "FLASK_DEBUG"),
    ({"CARNET_HTTPS": "0"}, "CARNET_HTTPS"),
    ({"PASSWORD_HASH_PROFILE": "fast"}, "PASSWORD_HASH_PROFILE"),
    ({"CARNET_ENV": "staging"}, "CARNET_ENV"),
])
def test_production_refuses_and_names_the_setting(tmp_path, key_file, changes, named):
    with pytest.raises(ConfigError, match=named):
        load_config(tmp_path, _production(key_file, **changes))


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
