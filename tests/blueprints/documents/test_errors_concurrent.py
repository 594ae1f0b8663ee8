"""A document deleted by another request while this one edits, hides, deletes or
downloads it: a clear 404, never a server error (issue 13, item 5).

Deterministic, no threads: a hook deletes the row (and its blob) right after the view has
loaded the document, as a delete committed by another request in that instant would. On
every database the hook can delete inside the request's own transaction (what the view's
UPDATE then meets is the same: no row); on PostgreSQL it also deletes from another
connection, committed (SQLite would wait on the request's write lock)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from domain import tallies, vault
from domain.models import Document
from extensions import blobs, db
from tests.blueprints.documents.test_vault_pages import png, upload
from tests.conftest import csrf_from

MODES = ["same-transaction", "other-connection"]
pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")


@pytest.fixture
def patient(signed_in):
    return signed_in("camille.martin")


@pytest.fixture
def document_id(patient):
    response = upload(patient, png(), "genou.png")
    assert response.status_code == 303
    return response.headers["Location"].rsplit("/", 1)[1]


@pytest.fixture
def vanish(app, monkeypatch):
    """Arm the hook: the next load of a document through the policy is followed by its
    deletion elsewhere."""

    def arm(mode: str):
        if mode == "other-connection" and app.config["DATABASE_URL"].startswith("sqlite"):
            pytest.skip("SQLite serialises writers: the other request would wait")
        loaded = vault.get_document

        def get_then_vanish(session, *args, **kwargs):
            owner, document = loaded(session, *args, **kwargs)
            query = delete(Document).where(Document.id == document.id)
            # Counted off with its row, as the other request's delete would.
            count = {tallies.documents_name(document.category,
                                            document.secret_from_representatives): -1}
            if mode == "same-transaction":
                session.connection().execute(query.execution_options(
                    synchronize_session=False))
                tallies.change(session, document.patient_id, count)
            else:
                with Session(db.engine) as other:
                    other.execute(query)
                    tallies.change(other, document.patient_id, count)
                    other.commit()
            blobs.store.delete(document.blob_key)
            monkeypatch.setattr(vault, "get_document", loaded)  # once
            return owner, document

        monkeypatch.setattr(vault, "get_document", get_then_vanish)

    return arm


def _token(patient, document_id) -> str:
    return csrf_from(patient.get(f"/documents/{document_id}/modifier").get_data(as_text=True))


def _gone(app, document_id) -> bool:
    with app.app_context():
        return not db.session.scalar(select(func.count()).select_from(Document).where(
            Document.id == document_id))


@pytest.mark.parametrize("mode", MODES)
def test_editing_a_document_deleted_meanwhile_says_it_is_gone(app, patient, document_id,
                                                              vanish, mode):
    token = _token(patient, document_id)
    vanish(mode)
    response = patient.post(f"/documents/{document_id}/modifier", data={
        "csrf_token": token, "title": "Radio du genou droit", "category": "imaging",
        "date_day": "3", "date_month": "3", "date_year": "2026"})
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)
    assert _gone(app, document_id)
    assert patient.get("/documents").status_code == 200  # the session still works


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("hidden", ["1", "0"])
def test_hiding_a_document_deleted_meanwhile_says_it_is_gone(app, patient, document_id,
                                                             vanish, mode, hidden):
    token = _token(patient, document_id)
    vanish(mode)
    response = patient.post(f"/documents/{document_id}/visibilite",
                            data={"csrf_token": token, "hidden": hidden})
    assert response.status_code == 404
    assert _gone(app, document_id)


@pytest.mark.parametrize("mode", MODES)
def test_deleting_a_document_deleted_meanwhile_says_it_is_gone(app, patient, document_id,
                                                               vanish, mode):
    token = _token(patient, document_id)
    vanish(mode)
    response = patient.post(f"/documents/{document_id}/supprimer",
                            data={"csrf_token": token})
    assert response.status_code == 404
    assert _gone(app, document_id)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("page", ["fichier", "apercu"])
def test_downloading_a_document_deleted_meanwhile_says_it_is_gone(patient, document_id,
                                                                  vanish, mode, page):
    vanish(mode)
    response = patient.get(f"/documents/{document_id}/{page}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("page", ["", "/modifier", "/supprimer"])
def test_pages_of_a_document_deleted_meanwhile_answer(patient, document_id, vanish, mode,
                                                      page):
    vanish(mode)
    response = patient.get(f"/documents/{document_id}{page}")
    assert response.status_code in (200, 404)
    assert patient.get(f"/documents/{document_id}{page}").status_code == 404


def test_the_hook_leaves_other_documents_alone(app, patient, document_id, vanish):
    other = upload(patient, png(), "coude.png", title="Radio du coude")
    other_id = other.headers["Location"].rsplit("/", 1)[1]
    vanish("same-transaction")
    patient.get(f"/documents/{document_id}")
    assert _gone(app, document_id) and not _gone(app, other_id)
    assert re.search(other_id, patient.get("/documents").get_data(as_text=True))
