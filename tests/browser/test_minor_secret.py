"""The minor's secret in the browser (issue 15): Dr Bernard deposits two documents for Léo,
one the boy asked to keep from his parents. In Léo's space his mother sees the ordinary
one and nothing of the other — not in the list, the search, the category counts, the
export, nor the e-mails — while the doctor sees both. JavaScript on and off."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select

from domain import audit, vault
from domain.models import CareRelation, Document
from extensions import blobs, db, keys
from tests.browser import support
from tests.browser.flows import submit
from tests.browser.support import JS_MODES
from tests.browser.test_pro_portal import fill_search, outbox_emails, png_file

pytestmark = pytest.mark.browser

LEO_NIR = "1 19 05 69 123 456 74"
LEO_BORN = {"born": "14", "born-month": "5", "born-year": "2019"}
SECRET, ORDINARY = "Consultation confidentielle", "Bilan ORL"
LEO_SPACE = re.compile(r"/espace/([0-9a-f]{32})/")


@pytest.fixture
def deposits(app):
    """The documents and the care statement made here are removed afterwards: the other
    browser modules find the demo data as it was."""
    with app.app_context():
        documents = set(db.session.scalars(select(Document.id)))
        relations = set(db.session.scalars(select(CareRelation.id)))
    yield
    with app.app_context():
        for document in db.session.scalars(select(Document).where(
                Document.id.not_in(documents))).all():
            vault.delete_document(db.session, keys.ring, blobs.store, document,
                                  audit.Actor())  # counted off with its row
        db.session.execute(delete(CareRelation).where(CareRelation.id.not_in(relations)))
        db.session.commit()


def deposit(page, patient_path: str, title: str, secret: bool, file) -> None:
    assert page.goto(f"{patient_path}/deposer").status == 200
    page.set_input_files("#file", str(file))
    page.fill("#title", title)
    page.select_option("#category", "reports")
    day = date.today() - timedelta(days=1)
    page.fill("#date", str(day.day))
    page.fill("#date-month", str(day.month))
    page.fill("#date-year", str(day.year))
    if secret:
        page.check("#secret")
    assert submit(page) == 200
    assert page.url.endswith(patient_path), page.url


@pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
def test_the_secret_document_never_reaches_the_parent(browsing, app, deposits, tmp_path, js):
    doctor = browsing.page_for("professionnel", js, 1280)
    doctor.goto("/pro/patients")
    fill_search(doctor, nir=LEO_NIR, born=LEO_BORN)
    assert submit(doctor) == 200
    patient_path = re.search(r"/pro/patients/[0-9a-f]{32}", doctor.url).group(0)
    emails_before = set(outbox_emails(app))
    deposit(doctor, patient_path, SECRET, True, png_file(tmp_path, "note.png"))
    deposit(doctor, patient_path, ORDINARY, False, png_file(tmp_path, "orl.png"))
    seen = doctor.locator("main").inner_text()
    assert SECRET in seen and ORDINARY in seen  # the doctor sees both
    new_emails = [text for name, text in outbox_emails(app).items()
                  if name not in emails_before]
    assert len(new_emails) == 1, new_emails  # the ordinary deposit only
    assert SECRET not in new_emails[0] and ORDINARY not in new_emails[0]

    parent = browsing.page_for("patient", js, 320)
    parent.goto("/mon-espace")
    with parent.expect_navigation():
        parent.locator("nav.space-switch a", has_text="Espace de Léo").click()
    space = LEO_SPACE.search(parent.url).group(0)
    parent.goto(f"{space}documents")
    listing = parent.locator("main").inner_text()
    assert ORDINARY in listing and SECRET not in listing
    count = parent.locator("#document-list-title").inner_text()
    listed = parent.locator("main .document-list li").count()
    assert re.match(rf"{listed} documents?$", count.strip()), count  # counts leave it out
    support.assert_no_axe_violations(parent, js, where="Léo's documents with a secret one")
    parent.goto(f"{space}documents?q=confidentielle")
    assert SECRET not in parent.locator("main").inner_text()
    assert parent.locator("main .document-list li").count() == 0
    parent.goto(f"{space}documents?categorie=reports")
    reports = parent.locator("#document-list-title").inner_text()
    assert SECRET not in parent.locator("main").inner_text()
    with app.app_context():
        secret_id = db.session.scalars(select(Document.id).where(
            Document.secret_from_representatives.is_(True))).one()
    for suffix in ("", "/fichier", "/apercu"):
        assert parent.request.get(f"{space}documents/{secret_id}{suffix}").status == 404
    export = parent.request.get(f"{space}mon-compte/export.zip")
    assert export.status == 200
    archive = zipfile.ZipFile(io.BytesIO(export.body()))
    names = " ".join(archive.namelist())
    contents = b" ".join(archive.read(name) for name in archive.namelist())
    assert "note" not in names and SECRET.encode() not in contents
    assert ORDINARY.encode() in contents or "orl" in names
    # The category's count too: as many documents as the parent can open.
    parent.goto(f"{space}documents?categorie=reports")
    shown = parent.locator("main .document-list li").count()
    assert re.match(rf"{shown} documents?$", reports.strip()), reports
