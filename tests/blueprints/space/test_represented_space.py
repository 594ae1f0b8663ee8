"""A parent in the child's space, over HTTP: the switch, the banner and title, the vault
under /espace/<id>/…, links that stay in the space, audit "for" the child, and nobody
else getting in (other people's ids, the parent's own id, after the 18th birthday)."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from bs4 import BeautifulSoup
from sqlalchemy import select

from domain import insured, representation
from domain.models import AuditEvent, Document, Representation, Role, SpaceStatus, User
from extensions import db, keys
from tests.blueprints.documents.test_vault_pages import png
from tests.conftest import DEMO, csrf_from
from tests.html_checks import check_page


def _ids(app):
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        leo = db.session.scalars(select(Representation.represented_id).where(
            Representation.representative_id == camille.id)).one()
        return camille.id, leo


def test_the_parent_switches_to_the_childs_space_and_back(app, signed_in):
    client = signed_in("camille.martin")
    camille_id, leo_id = _ids(app)
    own = client.get("/mon-espace").get_data(as_text=True)
    html = BeautifulSoup(own, "html.parser")
    switch = html.select_one("nav.space-switch")
    assert [a.get_text(strip=True) for a in switch.select("a")] == ["Mon espace",
                                                                  "Espace de Léo"]
    assert switch.select_one("a[aria-current]")["href"] == "/mon-espace?bascule=1"
    assert f'href="/espace/{leo_id}/mon-espace?bascule=1"' in own
    assert "Vous agissez pour" not in own

    home = client.get(f"/espace/{leo_id}/mon-espace?bascule=1")
    page = home.get_data(as_text=True)
    assert home.status_code == 200 and check_page(page) == []
    html = BeautifulSoup(page, "html.parser")
    assert html.title.get_text() == "Espace santé de Léo – Carnet santé"
    assert "Vous agissez pour Léo Martin, né(e) le 14 mai 2019." in html.get_text(" ")
    assert html.select_one(".banner--represented a")["href"] == "/mon-espace?bascule=1"
    assert html.h1.has_attr("data-focus-on-load")  # app.js: the switch lands on the h1
    assert html.h1.get_text(strip=True) == "Espace santé de Léo"
    # Every link of the menu stays in the child's space; areas not served there are absent.
    menu = [a["href"] for a in html.select("nav.main-nav a")]
    assert menu == [f"/espace/{leo_id}/{path}" for path in ("mon-espace", "documents",
                                                              "profil", "agenda", "messagerie",
                                                              "acces")]
    assert html.select_one("nav.space-switch a[aria-current]").get_text() == "Espace de Léo"


def test_the_parent_files_a_document_in_the_childs_vault(app, signed_in):
    client = signed_in("camille.martin")
    camille_id, leo_id = _ids(app)
    base = f"/espace/{leo_id}/documents"
    form = client.get(f"{base}/ajouter").get_data(as_text=True)
    assert f'action="{base}/ajouter"' in form and check_page(form) == []
    response = client.post(f"{base}/ajouter", data={
        "csrf_token": csrf_from(form), "file": (io.BytesIO(png()), "carnet.png"),
        "title": "Certificat de vaccination", "category": "prevention",
        "visibility": "visible", "date_day": "3", "date_month": "3", "date_year": "2026"},
        content_type="multipart/form-data")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{base}/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Certificat de vaccination" in page and "Léo – " in page
    listing = client.get(base).get_data(as_text=True)
    document_id = re.search(rf"{base}/([0-9a-f]{{32}})/fichier", listing).group(1)
    assert client.get(f"{base}/{document_id}/fichier").status_code == 200
    # Not in Camille's own vault, and not under her own address either.
    assert "Certificat de vaccination" not in client.get("/documents").get_data(as_text=True)
    assert client.get(f"/documents/{document_id}").status_code == 404
    with app.app_context():
        document = db.session.get(Document, document_id)
        assert (document.patient_id, document.author_id) == (leo_id, leo_id)
        added = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "document.added")).all()[-1]
        assert (added.actor_id, added.acting_as, added.subject_id) == (
            camille_id, "representative", leo_id)


def test_nobody_else_enters_the_childs_space(app, signed_in, demo_users):
    client = signed_in("camille.martin")
    camille_id, leo_id = _ids(app)
    for path in (f"/espace/{camille_id}/mon-espace", f"/espace/{'0' * 32}/documents",
                 f"/espace/{'x' * 40}/documents", f"/espace/{leo_id}/pro/patients",
                 f"/espace/{leo_id}/compte/sessions"):
        assert client.get(path).status_code == 404, path
    doctor = signed_in("dr.bernard")
    assert doctor.get(f"/espace/{leo_id}/documents").status_code == 403
    with app.app_context():
        denied = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "space.open")).all()
        assert {event.outcome for event in denied} == {"denied"}
        assert len(denied) >= 2


def test_the_space_closes_to_the_parent_at_the_18th_birthday(app, signed_in, monkeypatch):
    client = signed_in("camille.martin")
    _camille_id, leo_id = _ids(app)
    assert client.get(f"/espace/{leo_id}/documents").status_code == 200
    monkeypatch.setattr(representation, "utcnow",
                        lambda: datetime(2037, 5, 13, 22, 0, tzinfo=UTC))  # 14 May, Paris
    assert client.get(f"/espace/{leo_id}/documents").status_code == 404
    assert "Espace de Léo" not in client.get("/mon-espace").get_data(as_text=True)


def test_a_represented_person_is_never_a_representative_by_address(app, signed_in):
    """The address names whose space; the session never does: a second tab in the
    parent's own space shows the parent's data."""
    client = signed_in("camille.martin")
    _camille_id, leo_id = _ids(app)
    client.get(f"/espace/{leo_id}/documents")
    own = client.get("/documents").get_data(as_text=True)
    assert "Vous agissez pour" not in own and "Léo – " not in own
    with app.app_context():
        assert db.session.get(User, leo_id).role == Role.PATIENT


def test_the_childs_profile_and_agenda_are_the_childs(app, signed_in):
    """Léo's vaccinations (what is due at his age), measures and agenda, under his
    address; an entry added there is his, audited as Camille acting for him."""
    client = signed_in("camille.martin")
    camille_id, leo_id = _ids(app)
    base = f"/espace/{leo_id}"
    for path in ("/profil", "/profil/vaccinations", "/profil/mesures", "/agenda",
                 "/agenda/ajouter"):
        response = client.get(base + path)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and check_page(page) == [], path
        assert "Vous agissez pour Léo Martin" in page and "<title>Léo – " in page, path
    allergies = client.get(f"{base}/profil/allergies").get_data(as_text=True)
    response = client.post(f"{base}/profil/allergies", data={
        "csrf_token": csrf_from(allergies), "substance": "other",
        "substance_other": "Pollen de bouleau", "reaction": "", "severity": "severe"})
    assert response.status_code == 303 and response.headers["Location"].startswith(base)
    assert "Pollen de bouleau" in client.get(f"{base}/profil/allergies").get_data(as_text=True)
    assert "Pollen de bouleau" not in client.get("/profil/allergies").get_data(as_text=True)
    with app.app_context():
        added = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "profile.entry_added")).all()[-1]
        assert (added.actor_id, added.acting_as, added.subject_id) == (
            camille_id, "representative", leo_id)


def test_the_childs_history_shows_what_each_representative_did(app, signed_in):
    """Léo's history, "actions in the space" tab: Camille's own actions for him as "Vous",
    another representative's under their name; nothing of Camille's own space."""
    client = signed_in("camille.martin")
    camille_id, leo_id = _ids(app)
    base = f"/espace/{leo_id}"
    form = client.get(f"{base}/documents/ajouter").get_data(as_text=True)
    client.post(f"{base}/documents/ajouter", data={
        "csrf_token": csrf_from(form), "file": (io.BytesIO(png()), "carnet.png"),
        "title": "Carnet", "category": "prevention", "visibility": "visible",
        "date_day": "3", "date_month": "3", "date_year": "2026"},
        content_type="multipart/form-data")
    with app.app_context():
        from domain import audit
        from extensions import keys
        other = User(role=Role.PATIENT, login="alex.martin", given_name="Alex",
                     family_name="Martin", birth_date=datetime(1986, 1, 2).date())
        db.session.add(other)
        db.session.flush()
        audit.record(db.session, keys.ring, "profile.entry_added",
                     actor=audit.Actor(user_id=other.id, acting_as="representative"),
                     subject_id=leo_id)
        db.session.commit()
    for path in (f"{base}/acces", f"{base}/acces/historique?onglet=moi"):
        response = client.get(path)
        assert response.status_code == 200 and check_page(response.get_data(as_text=True)) == []
    page = BeautifulSoup(client.get(f"{base}/acces/historique?onglet=moi").get_data(
        as_text=True), "html.parser")
    who = {cell.get_text(" ", strip=True).split(" ")[0] for cell in page.select(
        "tbody tr td:nth-of-type(1)")}
    assert "Vous" in who and "Alex" in who
    own = client.get("/acces/historique?onglet=moi").get_data(as_text=True)
    assert "Alex Martin" not in own


def test_a_professional_writing_to_the_child_reaches_the_parent(app, signed_in):
    """Dr Bernard writes to Léo; Camille reads it in Léo's inbox and answers for him."""
    client = signed_in("camille.martin")
    camille_id, leo_id = _ids(app)
    with app.app_context():
        from domain import audit, care, messaging
        from extensions import keys
        doctor = db.session.scalars(select(User).where(User.login == "dr.bernard")).one()
        leo = db.session.get(User, leo_id)
        care.declare(db.session, keys.ring, doctor, leo, audit.Actor(user_id=doctor.id))
        conversation, _message = messaging.start(
            db.session, keys.ring, doctor, leo, subject="Rappel DTCaP",
            body="Le rappel des 6 ans est à faire.", actor=audit.Actor(user_id=doctor.id))
        db.session.commit()
        conversation_id = conversation.id
    inbox = client.get(f"/espace/{leo_id}/messagerie").get_data(as_text=True)
    assert "Rappel DTCaP" in inbox and check_page(inbox) == []
    assert "Rappel DTCaP" not in client.get("/messagerie").get_data(as_text=True)
    path = f"/espace/{leo_id}/messagerie/{conversation_id}"
    page = client.get(path).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_from(page),
                                       "body": "Rendez-vous pris pour samedi."})
    assert response.status_code == 303 and response.headers["Location"].startswith(path)
    assert "Rendez-vous pris pour samedi." in client.get(path).get_data(as_text=True)
    assert client.get(f"/messagerie/{conversation_id}").status_code == 404
    with app.app_context():
        done = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action.like("message.%"), AuditEvent.actor_id == camille_id,
            AuditEvent.subject_id == leo_id, AuditEvent.outcome == "success")).all()
        assert {event.action for event in done} >= {"message.inbox", "message.read",
                                                     "message.sent"}
        assert {event.acting_as for event in done} == {"representative"}


def test_the_minors_secret_is_never_shown_to_the_parent(app, signed_in):
    """Dr Bernard deposits a document Léo asked to keep from his parents: nowhere in the
    parent's view of his space (list, counts, search, the page, the file, attachments),
    no e-mail; the doctor still sees it; an ordinary deposit is shown and announced."""
    doctor = signed_in("dr.bernard")
    _camille_id, leo_id = _ids(app)
    page = doctor.get("/pro/patients").get_data(as_text=True)
    found = doctor.post("/pro/patients", data={
        "csrf_token": csrf_from(page), "nir": "1 19 05 69 123 456 74", "born_day": "14",
        "born_month": "5", "born_year": "2019", "informed": "oui"})
    assert found.headers["Location"] == f"/pro/patients/{leo_id}"
    outbox = Path(app.config["OUTBOX_DIR"]) / "email"
    before = len(list(outbox.iterdir())) if outbox.exists() else 0
    for title, secret in (("Consultation confidentielle", "oui"), ("Bilan ORL", "")):
        form = doctor.get(f"/pro/patients/{leo_id}/deposer").get_data(as_text=True)
        assert "le patient mineur a demandé le secret" in form and check_page(form) == []
        sent = doctor.post(f"/pro/patients/{leo_id}/deposer", data={
            "csrf_token": csrf_from(form), "file": (io.BytesIO(b"Note\n"), "note.txt"),
            "title": title, "category": "reports", "secret": secret, "date_day": "2",
            "date_month": "12", "date_year": "2026"}, content_type="multipart/form-data")
        assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    assert len(list(outbox.iterdir())) == before + 1  # the ordinary deposit only
    newest = max(outbox.iterdir(), key=lambda path: path.stat().st_mtime_ns)
    mail = email.message_from_bytes(newest.read_bytes(), policy=email.policy.default)
    assert mail["To"] == "camille.martin@example.org"
    assert f"/espace/{leo_id}/documents" in mail.get_body(("plain",)).get_content()
    seen = doctor.get(f"/pro/patients/{leo_id}").get_data(as_text=True)
    assert "Consultation confidentielle" in seen and "Bilan ORL" in seen

    parent = signed_in("camille.martin")
    base = f"/espace/{leo_id}/documents"
    listing = parent.get(base).get_data(as_text=True)
    assert "Bilan ORL" in listing and "Consultation confidentielle" not in listing
    assert "Consultation" not in parent.get(f"{base}?q=confidentielle").get_data(as_text=True)
    assert "1 document" in parent.get(f"{base}?categorie=reports").get_data(as_text=True)
    with app.app_context():
        secret_id = db.session.scalars(select(Document.id).where(
            Document.secret_from_representatives.is_(True))).one()
    for path in (f"{base}/{secret_id}", f"{base}/{secret_id}/fichier",
                 f"{base}/{secret_id}/apercu", f"{base}/{secret_id}/modifier"):
        assert parent.get(path).status_code == 404, path
    with app.app_context():
        from domain import messaging
        from extensions import keys
        leo = db.session.get(User, leo_id)
        offered = messaging.recent_documents(db.session, keys.ring, leo, representative=True)
        assert [view.title for view in offered] == ["Bilan ORL"]


def test_the_parent_exports_and_closes_the_childs_space(app, signed_in):
    """The export leaves out nothing of Léo's but the minor's secret documents; closing
    his space (with Camille's own password) archives it and keeps Camille signed in."""
    client = signed_in("camille.martin")
    _camille_id, leo_id = _ids(app)
    base = f"/espace/{leo_id}"
    with app.app_context(), tempfile.TemporaryDirectory() as folder:
        from domain import audit, vault
        from domain.models import Category
        from extensions import blobs
        doctor = db.session.scalars(select(User).where(User.login == "dr.bernard")).one()
        leo = db.session.get(User, leo_id)
        for name, secret in (("ordinaire.txt", False), ("confidentiel.txt", True)):
            path = Path(folder) / name
            path.write_bytes(b"Note\n")
            vault.add_document(
                db.session, keys.ring, blobs.store, patient=leo, author=doctor, path=path,
                size=5, kind="txt", mimetype="text/plain", file_name=name, title=name,
                category=Category.REPORTS, document_date=datetime(2026, 1, 5).date(),
                hidden=False, source="professional", actor=audit.Actor(),
                secret_from_representatives=secret)
        db.session.commit()
    export = client.get(f"{base}/mon-compte/export.zip")
    assert export.status_code == 200 and export.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(export.data)).namelist()
    assert names and all(name.startswith("mon-espace/") for name in names)
    assert {"mon-espace/ips.json", "mon-espace/agenda.ics"} <= set(names)
    summary = json.loads(zipfile.ZipFile(io.BytesIO(export.data)).read("mon-espace/ips.json"))
    assert summary["entry"][1]["resource"]["id"] == leo_id  # Léo's summary, not Camille's
    assert any(name.endswith("ordinaire.txt") for name in names)
    assert not any("confidentiel" in name for name in names)
    page = client.get(f"{base}/mon-compte/fermer").get_data(as_text=True)
    assert "Fermer l’espace santé de Léo" in page and check_page(page) == []
    response = client.post(f"{base}/mon-compte/fermer", data={
        "csrf_token": csrf_from(page), "retention": "archive", "understood": "oui",
        "password": DEMO["camille.martin"].password})
    assert response.status_code == 303 and response.headers["Location"] == "/mon-espace"
    home = client.get("/mon-espace").get_data(as_text=True)
    assert "L’espace santé de Léo est fermé." in home
    assert client.get(f"{base}/documents").status_code == 404  # closed: nobody opens it
    with app.app_context():
        person = insured.find_by_nir(db.session, keys.ring, "119056912345674")
        assert person.space_status == SpaceStatus.CLOSED
        assert db.session.get(User, leo_id).enabled is False
