"""`backup create` and `backup restore`: a restore drill on the suite's database (SQLite by
default, PostgreSQL when DATABASE_URL names one), and every refusal."""

from __future__ import annotations

import base64
import json
import sqlite3
import stat
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from domain import backup, vault
from domain.crypto import Keyring, generate_key_file
from domain.models import AuditEvent, Document, User
from extensions import blobs, db, keys
from tests.audit_trail import AUDIT_ORDER
from tests.conftest import empty_database
from tests.test_cli_vault import _add


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _blob_keys(app) -> list[str]:
    with app.app_context():
        return list(blobs.store.keys())


def _backup_with_a_document(app, tmp_path, title="Bilan") -> tuple[Path, str]:
    with app.app_context():
        document_id = _add(app, tmp_path, title).id
        db.session.commit()
    folder = tmp_path / "backup"
    result = _run(app, "backup", "create", str(folder))
    assert result.exit_code == 0, result.output
    return folder, document_id


def _database_file(folder: Path) -> Path:
    return next(folder.glob("database.*"))


def test_restore_drill_brings_back_the_database_and_the_documents(app, demo_users, tmp_path):
    with app.app_context():
        document_id = _add(app, tmp_path, "Exercice").id
        db.session.commit()
    users = _count(app, User)
    folder = tmp_path / "backup"
    started = time.perf_counter()
    created = _run(app, "backup", "create", str(folder))
    create_seconds = time.perf_counter() - started
    assert created.exit_code == 0, created.output
    assert "blobs:    1 (" in created.output
    assert "The key file is NOT in the backup: it is kept apart" in created.output

    empty_database(app)  # the disaster: every table empty, every blob gone
    assert _count(app, User) == 0 and _blob_keys(app) == []

    started = time.perf_counter()
    restored = _run(app, "backup", "restore", str(folder))
    restore_seconds = time.perf_counter() - started
    assert restored.exit_code == 0, restored.output
    assert "Blobs: 1 restored, 0 already in place, 0 deleted" in restored.output
    assert "Exercice" not in created.output + restored.output
    print(f"\nrestore drill on {make_url(app.config['DATABASE_URL']).get_backend_name()}: "
          f"create {create_seconds:.2f} s, restore {restore_seconds:.2f} s")

    audit_check = _run(app, "audit", "verify")
    assert audit_check.exit_code == 0, audit_check.output
    vault_check = _run(app, "vault", "verify")
    assert vault_check.exit_code == 0, vault_check.output
    assert "1 document(s) checked." in vault_check.output
    assert _count(app, User) == users
    with app.app_context():
        patient = db.session.execute(select(User).where(
            User.login == "camille.martin")).scalar_one()
        document = db.session.get(Document, document_id)
        assert b"".join(vault.open_content(keys.ring, blobs.store, patient,
                                           document)) == b"contenu Exercice"
        actions = db.session.scalars(select(AuditEvent.action)
                                     .order_by(*AUDIT_ORDER)).all()
    # backup.created was written after the copy; backup.restored after the restore.
    assert actions[-1] == "backup.restored" and "backup.created" not in actions


def test_the_backup_never_holds_the_key_file_and_is_private(app, demo_users, tmp_path):
    folder, _ = _backup_with_a_document(app, tmp_path)
    key_file = Path(app.config["CARNET_KEY_FILE"])
    raw = key_file.read_bytes()
    content = json.loads(raw)
    encoded = [content["audit_key"], content["index_key"], content["server_key"],
               *content["kek"].values()]
    forbidden = [raw, key_file.name.encode(), str(key_file.parent).encode(),
                 *(value.encode() for value in encoded),
                 *(base64.b64decode(value) for value in encoded)]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [path for path in folder.rglob("*") if not path.is_dir()]
    assert len(files) == 3  # database, one blob, manifest
    for path in folder.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
            continue
        assert path.is_file() and not path.is_symlink() and mode == 0o600, path
        data = path.read_bytes()
        for secret in forbidden:
            assert secret not in data, path
    manifest = json.loads((folder / "manifest.json").read_text())
    with app.app_context():
        assert manifest["key_fingerprint"] == keys.ring.fingerprint()
    assert manifest["database"]["alembic_revision"]
    assert manifest["database"]["tables"]["users"] == 5
    assert manifest["counts"]["blobs"] == 1 and len(manifest["mac"]) == 64


@pytest.mark.parametrize("damage", ["blob", "database", "manifest", "missing blob"])
def test_restore_refuses_an_altered_backup(app, demo_users, tmp_path, damage):
    folder, _ = _backup_with_a_document(app, tmp_path)
    empty_database(app)
    blob = next(path for path in (folder / "blobs").rglob("*") if path.is_file())
    if damage == "manifest":
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["counts"]["rows"] += 1
        (folder / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "missing blob":
        blob.unlink()
    else:
        target = blob if damage == "blob" else _database_file(folder)
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    result = _run(app, "backup", "restore", str(folder))
    assert result.exit_code == 1
    assert {"blob": "does not match its checksum", "database": "does not match its checksum",
            "manifest": "manifest.json was altered",
            "missing blob": "is missing from the backup"}[damage] in result.output
    assert _count(app, User) == 0 and _blob_keys(app) == []  # nothing was touched


def test_restore_refuses_a_backup_made_under_another_key_file(app, demo_users, tmp_path):
    folder, _ = _backup_with_a_document(app, tmp_path)
    empty_database(app)
    other = tmp_path / "other-keys.json"
    generate_key_file(other)
    content = json.loads(Path(app.config["CARNET_KEY_FILE"]).read_text())
    # The same file after `keys rotate` and `keys retire 1`: version 1 is gone.
    retired = Keyring({2: bytes(32)}, 2, *(base64.b64decode(content[name]) for name in
                                           ("audit_key", "index_key", "server_key")))
    saved = app.extensions["carnet_keys"]
    try:
        app.extensions["carnet_keys"] = Keyring.from_file(other)
        result = _run(app, "backup", "restore", str(folder))
        assert result.exit_code == 1
        assert "made under another key file" in result.output
        app.extensions["carnet_keys"] = retired
        result = _run(app, "backup", "restore", str(folder))
        assert result.exit_code == 1
        assert "no longer has KEK version(s) 1" in result.output
    finally:
        app.extensions["carnet_keys"] = saved
    assert _count(app, User) == 0 and _blob_keys(app) == []


def test_restore_over_data_needs_force_then_replaces_everything(app, demo_users, tmp_path):
    folder, kept_id = _backup_with_a_document(app, tmp_path, "Avant")
    with app.app_context():
        _add(app, tmp_path, "Apres")
        db.session.commit()
    result = _run(app, "backup", "restore", str(folder))
    assert result.exit_code == 1
    assert "restoring would erase 5 account(s), 2 document(s)" in result.output
    assert "and 1 blob(s) that are not in the backup" in result.output
    assert "--force" in result.output
    assert _count(app, Document) == 2 and len(_blob_keys(app)) == 2

    result = _run(app, "backup", "restore", "--force", str(folder))
    assert result.exit_code == 0, result.output
    assert "Blobs: 0 restored, 1 already in place, 1 deleted" in result.output
    with app.app_context():
        assert db.session.scalars(select(Document.id)).all() == [kept_id]
    assert len(_blob_keys(app)) == 1
    assert _run(app, "audit", "verify").exit_code == 0
    assert _run(app, "vault", "verify").exit_code == 0


def test_create_refuses_a_folder_that_is_not_new_and_empty(app, demo_users, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("à garder")
    done, _ = _backup_with_a_document(app, tmp_path)
    key_folder = Path(app.config["CARNET_KEY_FILE"]).parent
    for folder, reason in [
        (busy, "is not empty"),
        (done, "already holds a backup"),
        (key_folder, "contains the key file"),
        (key_folder / "backups", "is in the key file's folder"),
        (Path(app.instance_path) / "blobs" / "backups", "keep backups apart"),
        (tmp_path / "nowhere" / "backup", "parent folder"),
    ]:
        result = _run(app, "backup", "create", str(folder))
        assert result.exit_code == 1, folder
        assert reason in result.output or "is inside" in result.output, result.output
    assert [path.name for path in busy.iterdir()] == ["notes.txt"]
    assert not (key_folder / "backups").exists()


def test_sqlite_copy_is_one_snapshot_while_the_site_writes(app, demo_users, tmp_path):
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's online backup")
    writer = sqlite3.connect(url.database)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM representations")  # not committed during the copy
        folder = tmp_path / "backup"
        with app.app_context():  # the copy itself (the command then waits to audit it)
            report = backup.create_backup(folder, engine=db.engine, store=blobs.store,
                                          keyring=keys.ring,
                                          key_file=Path(app.config["CARNET_KEY_FILE"]))
        assert report.snapshot.tables["representations"] == 1
        writer.commit()  # the copy did not block the writer
    finally:
        writer.close()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"]["tables"]["representations"] == 1
    copy = sqlite3.connect(f"file:{_database_file(folder)}?mode=ro", uri=True)
    try:
        assert copy.execute("SELECT count(*) FROM representations").fetchone() == (1,)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    finally:
        copy.close()
    assert sorted(path.name for path in folder.iterdir()) == [
        "blobs", "database.sqlite3", "manifest.json"]


def test_postgresql_password_goes_through_the_environment_never_the_command_line():
    url = make_url("postgresql+psycopg://carnet:s3cr%27et%40x@db.example:6543/carnet"
                   "?sslmode=require")
    conninfo, environment = backup.pg_connection(url)
    assert "s3cr" not in conninfo and environment["PGPASSWORD"] == "s3cr'et@x"
    assert conninfo == ("host='db.example' port='6543' user='carnet' dbname='carnet' "
                        "sslmode='require'")


def test_restore_drill_with_blobs_in_s3(app, demo_users, tmp_path):
    from moto import mock_aws

    from domain.storage import S3BlobStore

    saved = app.extensions["carnet_blobs"]
    with mock_aws():
        store = S3BlobStore("carnet-backup-drill", region="eu-west-3", access_key="test",
                            secret_key="test")  # moto's fake credentials
        store.ensure_bucket()
        app.extensions["carnet_blobs"] = store
        try:
            folder, document_id = _backup_with_a_document(app, tmp_path, "Nuage")
            empty_database(app)
            for key in list(store.keys()):
                store.delete(key)
            result = _run(app, "backup", "restore", str(folder))
            assert result.exit_code == 0, result.output
            assert "Blobs: 1 restored" in result.output
            assert _run(app, "vault", "verify").exit_code == 0
            with app.app_context():
                patient = db.session.execute(select(User).where(
                    User.login == "camille.martin")).scalar_one()
                document = db.session.get(Document, document_id)
                assert b"".join(vault.open_content(keys.ring, store, patient,
                                                   document)) == b"contenu Nuage"
        finally:
            app.extensions["carnet_blobs"] = saved
