"""/healthz and /readyz: one word for the load balancer, the failing part only in the log."""

from __future__ import annotations

import logging

import pytest

from tests.fake_services import free_port


@pytest.fixture
def settings(app):
    saved = dict(app.config)
    saved_store = app.extensions.get("carnet_blobs")
    yield app.config
    app.config.clear()
    app.config.update(saved)
    app.extensions["carnet_blobs"] = saved_store


def test_alive_answers_ok_without_a_session(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok\n"
    assert response.mimetype == "text/plain" and "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_when_every_part_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ready\n"


def _not_ready(client, caplog) -> list[str]:
    with caplog.at_level(logging.WARNING):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready\n"  # no detail for strangers
    return [name for record in caplog.records for name in getattr(record, "failed", [])]


def test_an_unreachable_redis_is_not_ready(client, settings, caplog):
    settings["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    assert _not_ready(client, caplog) == ["redis"]


def test_a_missing_key_file_is_not_ready(client, settings, caplog, tmp_path):
    settings["CARNET_KEY_FILE"] = str(tmp_path / "gone.json")
    assert _not_ready(client, caplog) == ["key_file"]


def test_a_blob_store_that_cannot_be_written_is_not_ready(client, settings, caplog,
                                                          tmp_path):
    from domain.storage import LocalBlobStore

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the blob folder should be")
    client.application.extensions["carnet_blobs"] = LocalBlobStore(blocker / "blobs")
    assert _not_ready(client, caplog) == ["blob_store"]


def test_a_broken_blob_store_setting_is_not_ready(client, settings, caplog):
    client.application.extensions["carnet_blobs"] = None
    settings["BLOB_STORE"] = "ftp://nowhere"
    assert _not_ready(client, caplog) == ["blob_store"]


def test_an_unreachable_database_is_not_ready(app, caplog, tmp_path):
    from app import create_app

    config = dict(app.config)
    config["DATABASE_URL"] = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    broken = create_app(config, instance_path=str(tmp_path))
    assert "database" in _not_ready(broken.test_client(), caplog)
