"""The vault's pages over HTTP: upload (no JavaScript), list, search, download, others' ids."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import select

from domain import tallies, vault
from domain.models import Category, Document, User
from extensions import blobs, db, keys
from tests.conftest import csrf_from
from tests.html_checks import check_page


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(client, data: bytes, filename: str, title="Radio du genou", category="imaging",
           visibility="visible", day=("3", "3", "2026")):
    page = client.get("/documents/ajouter").get_data(as_text=True)
    return client.post("/documents/ajouter", data={
        "csrf_token": csrf_from(page), "file": (io.BytesIO(data), filename), "title": title,
        "category": category, "visibility": visibility, "date_day": day[0],
        "date_month": day[1], "date_year": day[2]}, content_type="multipart/form-data")


def test_uploading_then_reading_a_document(signed_in):
    client = signed_in("camille.martin")
    empty = client.get("/documents").get_data(as_text=True)
    assert "Votre coffre-fort est vide" in empty and check_page(empty) == []
    response = upload(client, png(), "radio genou été.png")
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Le document a été ajouté." in page and check_page(page) == []
    assert "Radio du genou" in page and "Ajouté par" in page
    listing = client.get("/documents").get_data(as_text=True)
    assert "1 document" in listing and "Ajouté par vous" in listing
    assert re.search(r"Télécharger « Radio du genou » du 3 mars 2026 \(PNG, \d+ Ko\)", listing)
    document_id = re.search(r"/documents/([0-9a-f]{32})/fichier", listing).group(1)
    download = client.get(f"/documents/{document_id}/fichier")
    assert download.status_code == 200 and download.mimetype == "image/png"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''radio%20genou%20%C3%A9t%C3%A9.png" in disposition
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    image = Image.open(io.BytesIO(download.data))
    assert image.size == (40, 30)
    preview = client.get(f"/documents/{document_id}/apercu")
    assert preview.headers["Content-Disposition"].startswith("inline;")


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"", "vide.pdf", "Ce fichier est vide"),
    (b"%PDF-1.4 abc" + b"x" * (5 * 1024 * 1024), "gros.pdf", "dépasse 5 Mo"),
    (None, "lettre.pdf", "Ce fichier est un .docx. Enregistrez-le en PDF puis réessayez."),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image.pdf", "ne correspond pas"),
])
def test_hostile_uploads_get_a_clear_message_and_nothing_is_stored(signed_in, app, data,
                                                                    filename, message):
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("word/document.xml", "<w:document/>")
        data = buffer.getvalue()
    client = signed_in("camille.martin")
    response = upload(client, data, filename, title="<script>alert(1)</script>")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html, html[:4000]
    assert "<title>Erreur :" in html and check_page(html) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # typed title kept, escaped
    with app.app_context():
        assert db.session.execute(select(Document)).first() is None
        assert list(blobs.store.keys()) == []


def test_missing_fields_are_reported_together(signed_in):
    client = signed_in("camille.martin")
    page = client.get("/documents/ajouter").get_data(as_text=True)
    response = client.post("/documents/ajouter", data={"csrf_token": csrf_from(page)},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    for field in ("#file", "#title", "#category", "#visibility"):
        assert f'href="{field}"' in html


def _seed_documents(app, count=3, author_login="camille.martin", hidden=False, tmp=None):
    with app.app_context():
        users = {u.login: u for u in db.session.execute(select(User)).scalars() if u.login}
        patient, author = users["camille.martin"], users[author_login]
        ids = []
        for index in range(count):
            path = tmp / f"doc{index}.txt"
            path.write_bytes(f"contenu {index}".encode())
            document = vault.add_document(
                db.session, keys.ring, blobs.store, patient=patient, author=author, path=path,
                size=path.stat().st_size, kind="txt", mimetype="text/plain; charset=utf-8",
                file_name=f"doc{index}.txt", title=f"Compte rendu {index}",
                category=Category.REPORTS, document_date=date(2026, 1, 1 + index),
                hidden=hidden, source="test", actor=__import__("domain.audit").audit.Actor())
            ids.append(document.id)
        db.session.commit()
        return ids


def test_search_and_filters_with_htmx_announce_the_count(signed_in, app, tmp_path):
    client = signed_in("camille.martin")
    _seed_documents(app, 3, tmp=tmp_path)
    response = client.get("/documents?q=rendu+2", headers={"HX-Request": "true",
                                                           "HX-Target": "document-list"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="document-list"') and "<html" not in html
    assert "Compte rendu 2" in html and "Compte rendu 1" not in html
    assert '<div id="live-region" hx-swap-oob="innerHTML">1 document</div>' in html
    full = client.get("/documents?categorie=reports").get_data(as_text=True)
    assert "3 documents" in full and check_page(full) == []
    assert "Aucun document ne correspond" in client.get("/documents?q=zzz").get_data(
        as_text=True)


def test_another_patients_document_answers_404_on_every_route(signed_in, app, tmp_path):
    document_id = _seed_documents(app, 1, tmp=tmp_path)[0]
    for login in ("dr.bernard",):
        other = signed_in(login)
        assert other.get(f"/documents/{document_id}").status_code == 403  # not a patient area
    with app.app_context():
        from domain.models import Role
        from domain.passwords import hash_password

        stranger = User(role=Role.PATIENT, login="autre.patient", given_name="A",
                        family_name="B", password_hash=hash_password("x" * 20, "fast"))
        db.session.add(stranger)
        db.session.commit()
        stranger_id = stranger.id
    client = signed_in("camille.martin")
    with app.app_context():
        document = db.session.get(Document, document_id)
        document.patient_id = stranger_id  # now someone else's
        db.session.commit()
        tallies.verify(db.session, repair=True)  # the counts follow the row moved by hand
        db.session.commit()
    token = csrf_from(client.get("/documents").get_data(as_text=True))
    for path in ("", "/fichier", "/apercu", "/modifier", "/supprimer"):
        assert client.get(f"/documents/{document_id}{path}").status_code == 404, path
    for path in ("/modifier", "/supprimer", "/visibilite"):
        assert client.post(f"/documents/{document_id}{path}",
                           data={"csrf_token": token}).status_code == 404, path


def test_a_professionals_document_can_be_hidden_but_not_deleted(signed_in, app, tmp_path):
    document_id = _seed_documents(app, 1, author_login="dr.bernard", tmp=tmp_path)[0]
    client = signed_in("camille.martin")
    page = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "vous pouvez le masquer, mais pas le supprimer" in page
    assert client.get(f"/documents/{document_id}/supprimer").status_code == 404
    response = client.post(f"/documents/{document_id}/visibilite",
                           data={"csrf_token": csrf_from(page), "hidden": "1"})
    assert response.status_code == 303
    assert "Masqué aux professionnels" in client.get(f"/documents/{document_id}").get_data(
        as_text=True)


def test_edit_and_delete_my_own_upload(signed_in, app, tmp_path):
    document_id = _seed_documents(app, 1, tmp=tmp_path)[0]
    client = signed_in("camille.martin")
    page = client.get(f"/documents/{document_id}/modifier").get_data(as_text=True)
    response = client.post(f"/documents/{document_id}/modifier", data={
        "csrf_token": csrf_from(page), "title": "Nouveau titre", "category": "certificates",
        "date_day": "1", "date_month": "2", "date_year": "2030"})
    assert response.status_code == 422
    assert "ne peut pas être dans le futur" in response.get_data(as_text=True)
    response = client.post(f"/documents/{document_id}/modifier", data={
        "csrf_token": csrf_from(page), "title": "Nouveau titre", "category": "certificates",
        "date_day": "1", "date_month": "2", "date_year": "2026"})
    assert response.status_code == 303
    assert "Nouveau titre" in client.get(f"/documents/{document_id}").get_data(as_text=True)
    page = client.get(f"/documents/{document_id}/supprimer").get_data(as_text=True)
    assert check_page(page) == []
    assert client.post(f"/documents/{document_id}/supprimer",
                       data={"csrf_token": csrf_from(page)}).status_code == 303
    assert client.get(f"/documents/{document_id}").status_code == 404
    with app.app_context():
        assert list(blobs.store.keys()) == []


def test_hide_new_documents_by_default(signed_in, app):
    client = signed_in("camille.martin")
    page = client.get("/documents/parametres").get_data(as_text=True)
    client.post("/documents/parametres", data={"csrf_token": csrf_from(page), "hide_new": "oui"})
    form = client.get("/documents/ajouter").get_data(as_text=True)
    assert re.search(r'value="hidden" checked', form)


def test_new_document_email_says_nothing_of_the_document(app, demo_users):
    from domain.notify import Mailer
    from web.outgoing import notify_new_document

    with app.test_request_context():
        patient = db.session.execute(select(User).where(
            User.login == "camille.martin")).scalar_one()
        ordinary = SimpleNamespace(secret_from_representatives=False)
        secret = SimpleNamespace(secret_from_representatives=True)
        assert notify_new_document(patient, ordinary)
        db.session.commit()  # e-mails leave with the transaction that queued them
        assert notify_new_document(patient, secret)  # her own address: told
        db.session.rollback()
        patient.email = None
        assert not notify_new_document(patient, ordinary)
        db.session.rollback()
    message = Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()[-1]
    body = message.get_body(("plain",)).get_content()
    assert message["To"] == "camille.martin@example.org"
    assert "/documents" in body and "ne dit rien de son contenu" in body
    assert "Compte rendu" not in body and "Ordonnance" not in body


def test_the_export_zip_holds_my_documents(signed_in, app, tmp_path):
    _seed_documents(app, 2, tmp=tmp_path)
    client = signed_in("camille.martin")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/mon-compte/export.zip").data))
    names = sorted(archive.namelist())
    assert "mon-espace/documents/reports/2026-01-01 doc0.txt" in names
    assert archive.read("mon-espace/documents/reports/2026-01-02 doc1.txt") == b"contenu 1"


def test_a_text_documents_type_is_sent_as_stored(signed_in, app, tmp_path):
    """A text document keeps the type its upload checks gave it (with its charset), sent
    once: werkzeug's `mimetype=` added a second charset to it ("text/plain;
    charset=utf-8; charset=utf-8")."""
    document_id = _seed_documents(app, 1, tmp=tmp_path)[0]
    client = signed_in("camille.martin")
    for path in (f"/documents/{document_id}/fichier", f"/documents/{document_id}/apercu"):
        response = client.get(path)
        response.get_data()
        if response.status_code == 200:
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8", path
    download = client.get(f"/documents/{document_id}/fichier")
    assert download.status_code == 200
    assert download.get_data() == b"contenu 0"
