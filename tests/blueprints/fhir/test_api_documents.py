"""Documents an app adds (issue 19): the file first (POST /fhir/Binary, streamed, checked
and sealed like any upload: the same hostile-file refusals), then the DocumentReference
that files it in the vault. Another app's or an expired Binary cannot be filed; a file
never filed is deleted; the document is the holder's own, audited as the app."""

from __future__ import annotations

import io
from datetime import timedelta

import pikepdf
from freezegun import freeze_time
from sqlalchemy import select

from domain import app_api, vault
from domain.fhir import validate
from domain.models import AppUpload, AuditEvent, Document, User
from domain.models.base import utcnow
from extensions import blobs, db, keys
from tests.oauth_client import bearer, token_for

PATIENT = "camille.martin"
CREATE = ("patient/DocumentReference.c",)


def _pdf(text: str = "Compte rendu") -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Title"] = text
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _send(client, token, data: bytes, content_type="application/pdf", **headers):
    return client.post("/fhir/Binary", data=data, headers={
        **bearer(token), "Content-Type": content_type, **headers})


def _reference(binary_id: str, **extra) -> dict:
    return {"resourceType": "DocumentReference", "status": "current",
            "description": "Compte rendu de téléconsultation",
            "category": [{"coding": [{"system": "urn:carnet-sante:categorie-document",
                                      "code": "reports"}]}],
            "content": [{"attachment": {"contentType": "application/pdf",
                                        "url": f"Binary/{binary_id}",
                                        "creation": "2026-11-30"}}], **extra}


def _outcome(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    validate(body)
    assert body["resourceType"] == "OperationOutcome"
    return body


def test_a_file_then_its_reference_lands_in_the_vault(app, client, demo_users):
    token = token_for(app, PATIENT, CREATE + ("patient/DocumentReference.rs",))
    sent = _send(client, token, _pdf())
    assert sent.status_code == 201, sent.get_data(as_text=True)
    binary = sent.get_json()
    assert binary["resourceType"] == "Binary" and binary["contentType"] == "application/pdf"
    filed = client.post("/fhir/DocumentReference", json=_reference(binary["id"]),
                        headers=bearer(token))
    assert filed.status_code == 201, filed.get_data(as_text=True)
    reference = filed.get_json()
    validate(reference)
    assert reference["id"] == binary["id"] and reference["description"] == \
        "Compte rendu de téléconsultation"
    assert reference["category"][0]["coding"][0]["code"] == "reports"
    assert filed.headers["Location"].endswith(f"/fhir/DocumentReference/{binary['id']}")
    with app.app_context():
        document = db.session.get(Document, binary["id"])
        camille = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        assert document.patient_id == document.author_id == camille.id
        assert document.source == "application" and str(document.document_date) == \
            "2026-11-30"
        assert db.session.get(AppUpload, binary["id"]) is None
        content = b"".join(vault.open_content(keys.ring, blobs.store, camille, document))
        assert content.startswith(b"%PDF")
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "document.added")).one()
        assert event.acting_as == "application" and "exemple" not in event.details
        assert vault.verify(db.session, blobs.store).ok
    read = client.get(f"/fhir/Binary/{binary['id']}", headers=bearer(token))
    assert read.status_code == 200 and read.data.startswith(b"%PDF")


def test_hostile_files_are_refused_like_any_upload(app, client, demo_users):
    token = token_for(app, PATIENT, CREATE)
    for data, content_type in ((b"MZ\x90\x00" + b"\x00" * 200, "application/pdf"),
                               (b"", "application/pdf"),
                               (b"<html><script>alert(1)</script></html>", "text/html"),
                               (b"%PDF-1.4\n%%EOF" + b"PK\x03\x04" * 40, "application/pdf")):
        outcome = _outcome(_send(client, token, data, content_type), 422)
        assert "<script>" not in str(outcome)
    with app.app_context():
        assert db.session.scalars(select(AppUpload)).all() == []


def test_only_this_apps_fresh_binary_can_be_filed(app, client, demo_users):
    mine = token_for(app, PATIENT, CREATE)
    other = token_for(app, PATIENT, CREATE, app_slug="nuit-calme")
    binary = _send(client, mine, _pdf()).get_json()
    _outcome(client.post("/fhir/DocumentReference", json=_reference(binary["id"]),
                         headers=bearer(other)), 422)
    _outcome(client.post("/fhir/DocumentReference", json=_reference("0" * 32),
                         headers=bearer(mine)), 422)
    with freeze_time(utcnow() + timedelta(hours=1, minutes=1)):
        late = token_for(app, PATIENT, CREATE)
        _outcome(client.post("/fhir/DocumentReference", json=_reference(binary["id"]),
                             headers=bearer(late)), 422)


def test_a_file_never_filed_is_deleted_after_an_hour(app, client, demo_users):
    token = token_for(app, PATIENT, CREATE)
    binary = _send(client, token, _pdf()).get_json()
    with app.app_context():
        blob_key = db.session.get(AppUpload, binary["id"]).blob_key
        assert blobs.store.exists(blob_key)
        assert vault.verify(db.session, blobs.store).ok  # waiting, not an orphan
        dropped = app_api.drop_expired_uploads(db.session, blobs.store,
                                               utcnow() + timedelta(hours=2))
        db.session.commit()
        assert dropped == 1 and not blobs.store.exists(blob_key)


def test_references_that_cannot_be_filed_say_why(app, client, demo_users):
    token = token_for(app, PATIENT, CREATE)
    binary = _send(client, token, _pdf()).get_json()["id"]
    bad = (
        {**_reference(binary), "status": "superseded"},
        {**_reference(binary), "description": "", "content": [{"attachment": {
            "url": f"Binary/{binary}"}}]},
        {**_reference(binary), "category": [{"coding": [{
            "system": "urn:carnet-sante:categorie-document", "code": "directives"}]}]},
        {**_reference(binary), "content": [{"attachment": {"url": "https://evil.example/x"}}]},
        {**_reference(binary), "subject": {"reference": "Patient/" + "1" * 32}},
        {**_reference(binary), "content": [{"attachment": {"url": f"Binary/{binary}",
                                                           "creation": "2999-01-01"}}]},
        {"resourceType": "Observation", "status": "final"},
    )
    for body in bad:
        _outcome(client.post("/fhir/DocumentReference", json=body, headers=bearer(token)),
                 422)
    with app.app_context():
        assert db.session.get(AppUpload, binary) is not None  # still waiting to be filed


def test_too_many_files_waiting_are_refused(app, client, demo_users):
    token = token_for(app, PATIENT, CREATE)
    for _ in range(app_api.MAX_PENDING):
        assert _send(client, token, _pdf()).status_code == 201
    _outcome(_send(client, token, _pdf()), 429)


def test_without_the_create_scope_nothing_is_kept(app, client, demo_users):
    token = token_for(app, PATIENT, ("patient/DocumentReference.rs",))
    _outcome(_send(client, token, _pdf()), 403)
    _outcome(client.post("/fhir/DocumentReference", json=_reference("0" * 32),
                         headers=bearer(token)), 403)
    with app.app_context():
        assert db.session.scalars(select(AppUpload)).all() == []
