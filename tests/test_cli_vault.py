"""`vault verify` and `keys rotate`, as an operator runs them."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from domain import audit, tallies, vault
from domain.models import Category, Tally, User
from extensions import blobs, db, keys


def _add(app, tmp_path, title="Bilan"):
    path = tmp_path / f"{title}.txt"
    path.write_bytes(b"contenu " + title.encode())
    patient = db.session.execute(select(User).where(User.login == "camille.martin")).scalar_one()
    return vault.add_document(db.session, keys.ring, blobs.store, patient=patient,
                              author=patient, path=path, size=path.stat().st_size, kind="txt",
                              mimetype="text/plain; charset=utf-8", file_name=path.name,
                              title=title, category=Category.LAB_RESULTS,
                              document_date=date(2026, 2, 2), hidden=False, source="test",
                              actor=audit.Actor())


def test_verify_reports_an_interrupted_upload_and_repairs_it(app, demo_users, tmp_path):
    runner = app.test_cli_runner()
    with app.app_context():
        _add(app, tmp_path, "Gardé")
        db.session.commit()
        _add(app, tmp_path, "Interrompu")
        db.session.rollback()  # the process stopped between the blob and the commit
    result = runner.invoke(args=["vault", "verify"])  # may be an upload committing
    assert result.exit_code == 0, result.output
    assert "1 recent blob(s) without a row, less than 60 min old" in result.output
    assert "orphan blob:" not in result.output
    assert "0 orphan blob(s) deleted." in runner.invoke(args=["vault", "sweep"]).output
    old = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    with app.app_context():
        root = Path(blobs.store.root)
    for path in root.rglob("*"):  # as if the crash was 2 hours ago
        if path.is_file():
            os.utime(path, (old, old))
    result = runner.invoke(args=["vault", "verify"])
    assert result.exit_code == 1 and "orphan blob:" in result.output
    result = runner.invoke(args=["vault", "sweep"])
    assert result.exit_code == 0 and "1 orphan blob(s) deleted." in result.output
    result = runner.invoke(args=["vault", "verify"])
    assert result.exit_code == 0 and "1 document(s) checked." in result.output
    assert "recent" not in result.output and "orphan" not in result.output


def test_verify_reports_a_count_that_differs_from_its_rows_and_repairs_it(app, demo_users,
                                                                         tmp_path):
    runner = app.test_cli_runner()
    with app.app_context():
        patient_id = _add(app, tmp_path).patient_id
        db.session.commit()
        db.session.execute(update(Tally).values(total=Tally.total + 2))
        db.session.commit()
    result = runner.invoke(args=["vault", "verify"])
    assert result.exit_code == 1
    assert f"count documents/lab_results of {patient_id}: kept 3, rows 1" in result.output
    result = runner.invoke(args=["vault", "verify", "--repair"])
    assert result.exit_code == 0 and "1 count(s) put right." in result.output
    result = runner.invoke(args=["vault", "verify"])
    assert result.exit_code == 0 and "count " not in result.output, result.output
    with app.app_context():
        assert tallies.documents(db.session, patient_id) == {Category.LAB_RESULTS: 1}


def test_keys_rotate_rewraps_patient_keys_and_documents_stay_readable(app, demo_users,
                                                                      tmp_path):
    original = app.config["CARNET_KEY_FILE"]
    copy = tmp_path / "keys.json"
    shutil.copy(original, copy)
    app.config["CARNET_KEY_FILE"] = str(copy)
    saved_ring = app.extensions["carnet_keys"]
    try:
        with app.app_context():
            document = _add(app, tmp_path, "Avant")
            db.session.commit()
            blob_before = b"".join(blobs.store.open(document.blob_key))
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "KEK version 2 is current" in result.output
        assert json.loads(copy.read_text())["kek_current"] == 2
        with app.app_context():
            patient = db.session.execute(select(User).where(
                User.login == "camille.martin")).scalar_one()
            assert patient.kek_version == 2
            assert b"".join(blobs.store.open(document.blob_key)) == blob_before
            assert b"".join(vault.open_content(keys.ring, blobs.store, patient,
                                               document)) == b"contenu Avant"
            assert audit.verify(db.session, keys.ring).ok
    finally:
        app.config["CARNET_KEY_FILE"] = original
        app.extensions["carnet_keys"] = saved_ring
