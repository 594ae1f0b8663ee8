"""The space export streams: bounded memory whatever the vault holds, a valid ZIP over HTTP
sent in pieces, no database connection held while it streams, a usable session in it."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import shutil
import subprocess
import tracemalloc
import zipfile
from datetime import date

import pytest
from flask import has_request_context
from icalendar import Calendar
from sqlalchemy import select

from domain import agenda, audit, exports, fhir, vault
from domain.crypto import CHUNK_SIZE
from domain.models import AuditEvent, Category, User
from extensions import blobs, db, keys
from tests.domain import fhir_space
from web.labels import export as export_labels

MB = 1_000_000
# Measured: a peak of 0.79 MB for 20 documents of 1 MB (tracemalloc, Python 3.11, SQLite;
# 0.39 MB of it is what the preparation reads and keeps, the rest the stream's chunks and
# buffers). 4 MB leaves room for other versions and backends, while an archive held in
# memory (over 20 MB) fails by far.
PEAK_LIMIT = 4 * MB


def _patient() -> User:
    return db.session.execute(select(User).where(User.login == "camille.martin")).scalar_one()


def _add_documents(patient: User, folder, sizes: list[int]) -> dict[str, str]:
    """Random (incompressible) documents added through the vault, as after an upload;
    returns the SHA-256 of each one under the name it gets in the archive. The vault's
    add_document does not inspect the bytes (uploads.py does, before it), so random bytes
    can stand for a PDF."""
    digests = {}
    for number, size in enumerate(sizes):
        path = folder / f"analyse-{number:02}.pdf"
        path.write_bytes(os.urandom(size))
        digests[f"mon-espace/documents/lab_results/2026-02-{number % 28 + 1:02} {path.name}"] = \
            hashlib.sha256(path.read_bytes()).hexdigest()
        vault.add_document(db.session, keys.ring, blobs.store, patient=patient, author=patient,
                           path=path, size=size, kind="pdf", mimetype="application/pdf",
                           file_name=path.name, title=f"Analyse {number}",
                           category=Category.LAB_RESULTS,
                           document_date=date(2026, 2, number % 28 + 1), hidden=False,
                           source="test", actor=audit.Actor())
        path.unlink()
    db.session.commit()
    return digests


JSON_FILES = {"mon-espace/identite.json", "mon-espace/profil-medical.json",
              "mon-espace/messages.json"}
STANDARD_FILES = {"mon-espace/ips.json", "mon-espace/agenda.ics"}


def _check_archive(archive: zipfile.ZipFile, digests: dict[str, str],
                   standard: bool = False) -> None:
    assert archive.testzip() is None
    names = set(archive.namelist())
    expected = JSON_FILES | (STANDARD_FILES if standard else set())
    assert expected <= names
    assert names - expected == set(digests)
    for name, digest in digests.items():
        with archive.open(name) as member:
            assert hashlib.file_digest(member, "sha256").hexdigest() == digest, name
    kinds = {info.filename: info.compress_type for info in archive.infolist()}
    assert {kinds[name] for name in digests} == {zipfile.ZIP_STORED}
    assert kinds["mon-espace/identite.json"] == zipfile.ZIP_DEFLATED


def test_the_export_streams_twenty_megabytes_in_bounded_memory(app, demo_users, tmp_path):
    target = tmp_path / "export.zip"
    with app.app_context():
        patient = _patient()
        digests = _add_documents(patient, tmp_path, [MB] * 20)
        pieces = largest = 0
        gc.collect()
        tracemalloc.start()
        try:
            with target.open("wb") as handle:
                for piece in exports.space_archive_stream(db.session, patient, keys.ring,
                                                          blobs.store):
                    handle.write(piece)
                    pieces += 1
                    largest = max(largest, len(piece))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"peak {peak:,} bytes while streaming 20 MB"
    assert pieces > 20 * MB // CHUNK_SIZE and largest < CHUNK_SIZE + 4096
    with zipfile.ZipFile(target) as archive:
        _check_archive(archive, digests)
    if shutil.which("unzip"):
        result = subprocess.run(["unzip", "-tq", str(target)], capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_export_downloads_as_a_stream_with_the_session_open(app, signed_in, tmp_path,
                                                                 monkeypatch):
    with app.app_context():
        patient = _patient()
        # Several chunks each, an empty file, and a name given twice (the second gets "bis").
        digests = _add_documents(patient, tmp_path, [3 * CHUNK_SIZE + 5, 0, 200_000])
        same = tmp_path / "analyse-00.pdf"
        same.write_bytes(b"%PDF-1.7 autre")
        vault.add_document(db.session, keys.ring, blobs.store, patient=patient, author=patient,
                           path=same, size=same.stat().st_size, kind="pdf",
                           mimetype="application/pdf", file_name=same.name, title="Autre",
                           category=Category.LAB_RESULTS, document_date=date(2026, 2, 1),
                           hidden=False, source="test", actor=audit.Actor())
        db.session.commit()
        digests["mon-espace/documents/lab_results/2026-02-01 analyse-00 (bis).pdf"] = \
            hashlib.sha256(b"%PDF-1.7 autre").hexdigest()
    pool = app.extensions["carnet_db"][0].pool
    seen = []
    opened = vault.open_content

    def open_content(keyring, store, owner, document):
        # Called as the archive streams. Flask 3.1 tears the request down when the view
        # returns (the request's session closed: `owner` and `document` are detached) and
        # pushes its contexts again around the stream, where db.session is a fresh session,
        # closed at the second teardown. The export reads its rows before the view returns
        # and holds no connection; the download below works on the detached objects.
        held = pool.checkedout()
        seen.append((has_request_context(), held, db.session.get(User, owner.id).id == owner.id))
        return opened(keyring, store, owner, document)

    monkeypatch.setattr(vault, "open_content", open_content)
    client = signed_in("camille.martin")
    response = client.get("/mon-compte/export.zip",
                          headers={"Accept-Encoding": "br, gzip"}, buffered=False)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"mon-espace-sante.zip\"; filename*=UTF-8''mon-espace-sante.zip")
    assert "Content-Length" not in response.headers  # nothing was buffered to measure it
    assert "Content-Encoding" not in response.headers  # web/security.py left it alone
    pieces = []
    try:
        for piece in response.response:
            pieces.append(piece)
    finally:
        response.close()  # ends the stream, then the contexts: the session is closed
    assert len(pieces) > 5 and max(map(len, pieces)) < CHUNK_SIZE + 4096
    assert seen == [(True, 0, True)] + [(True, 1, True)] * 3
    assert pool.checkedout() == 0
    with zipfile.ZipFile(io.BytesIO(b"".join(pieces))) as archive:
        _check_archive(archive, digests, standard=True)
        summary = json.loads(archive.read("mon-espace/ips.json"))
        calendar = Calendar.from_ical(archive.read("mon-espace/agenda.ics"))
    with app.app_context():
        fhir.validate(summary)
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "account.exported")) is not None
    [result] = [section for section in summary["entry"][0]["resource"]["section"]
                if section["code"]["coding"][0]["code"] == "30954-2"]
    assert len(result["entry"]) == len(digests)  # every lab result, by reference
    assert calendar.get("x-wr-calname") == "Agenda santé"


@pytest.mark.parametrize("with_keys", [True, False])
def test_an_empty_space_gives_a_valid_archive(app, demo_users, with_keys):
    with app.app_context():
        pieces = list(exports.space_archive_stream(
            db.session, _patient(), keys.ring if with_keys else None,
            blobs.store if with_keys else None))
    with zipfile.ZipFile(io.BytesIO(b"".join(pieces))) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == (3 if with_keys else 1)


def test_a_download_cut_short_closes_cleanly(app, demo_users, tmp_path):
    with app.app_context():
        patient = _patient()
        _add_documents(patient, tmp_path, [3 * CHUNK_SIZE])
        stream = exports.space_archive_stream(db.session, patient, keys.ring, blobs.store)
        assert len(next(stream)) > CHUNK_SIZE  # the JSON files and the first chunk
        stream.close()  # what Werkzeug does when the person cancels the download
        assert next(stream, None) is None


def _standard_files(pieces) -> tuple[zipfile.ZipFile, dict, Calendar]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    assert archive.testzip() is None
    kinds = {info.filename: info.compress_type for info in archive.infolist()}
    assert {kinds[name] for name in STANDARD_FILES} == {zipfile.ZIP_DEFLATED}
    return (archive, json.loads(archive.read("mon-espace/ips.json")),
            Calendar.from_ical(archive.read("mon-espace/agenda.ics")))


def test_the_archive_holds_the_summary_and_the_agenda_in_standard_formats(app, demo_users,
                                                                          tmp_path):
    with app.test_request_context():
        camille = fhir_space.seed(tmp_path, agenda.today())
        items = agenda.between(db.session, keys.ring, camille)
        plain = list(exports.space_archive_stream(db.session, camille, keys.ring, blobs.store))
        pieces = list(exports.space_archive_stream(db.session, camille, keys.ring, blobs.store,
                                                   standards=export_labels.standards()))
        archive, summary, calendar = _standard_files(pieces)
        fhir.validate(summary)
    assert not STANDARD_FILES & set(zipfile.ZipFile(io.BytesIO(b"".join(plain))).namelist())
    assert set(archive.namelist()) - JSON_FILES - STANDARD_FILES == {
        name for name in archive.namelist() if name.startswith("mon-espace/documents/")}
    composition = summary["entry"][0]["resource"]
    assert composition["type"]["coding"][0]["code"] == "60591-5"
    assert composition["subject"]["reference"] == summary["entry"][1]["fullUrl"]
    assert summary["entry"][1]["resource"]["id"] == camille.id
    events = calendar.walk("VEVENT")
    assert len(events) == len(items) == 5
    assert {str(event["summary"]) for event in events} == {item.title for item in items}
    # The person's own copy keeps the notes (as the agenda's own download does).
    assert any("Note privée" in str(event["description"]) for event in events)


def test_a_representatives_archive_leaves_the_secret_out_of_the_summary(app, demo_users,
                                                                        tmp_path):
    with app.test_request_context():
        leo = fhir_space.child()
        doctor = fhir_space.user("dr.bernard")
        for title, secret in (("Analyse ordinaire", False), ("Analyse confidentielle", True)):
            fhir_space.add_document(leo, tmp_path, title, Category.LAB_RESULTS,
                                    date(2026, 1, 5), author=doctor, secret=secret)
        db.session.commit()
        parent = fhir_space.user("camille.martin")
        pieces = list(exports.export_space(
            db.session, keys.ring, blobs.store, leo, standards=export_labels.standards(),
            actor=audit.Actor(user_id=parent.id, acting_as="representative")))
        archive, summary, _calendar = _standard_files(pieces)
        fhir.validate(summary)
    said = json.dumps(summary, ensure_ascii=False)
    assert "Analyse ordinaire" in said and "confidentielle" not in said
    assert not any("confidentielle" in name for name in archive.namelist())
    assert summary["entry"][1]["resource"]["gender"] == "male"  # Léo's insurer record
