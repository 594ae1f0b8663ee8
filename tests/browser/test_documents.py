"""The document vault in a real browser (ACCESSIBILITY.md items 2, 8, 12–15, 21 and the htmx
patterns): the list (empty, full, filtered, searched, page 2), the add form (clean and after
an error), uploads with JavaScript off (keyboard only) and on (htmx, progress bar), the
document page (download, hide/show, delete through the confirmation page) and 320 px.

axe (WCAG 2.2 AA tags) runs in every state reached. Documents are seeded for the demo patient
through the domain API; each test deletes the documents it added (seeded or uploaded), so
the order of the tests does not matter and other modules find the vault as it was.
"""

from __future__ import annotations

import io
import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from domain import audit, vault
from domain.models import Category, Document, User
from extensions import blobs, db, keys
from tests.browser import support
from tests.browser.flows import MARK, NOT_RELOADED, press_and_load, tab_to_id, tab_to_text
from tests.browser.support import JS_MODES

pytestmark = pytest.mark.browser

LOGIN = "camille.martin"
JS_PARAMS = pytest.mark.parametrize("js", [True, False], ids=JS_MODES.get)
SEEDED = 25  # more than one page of 20
BILANS = 5  # seeded documents titled "Bilan sanguin …", in the lab results category
DOCUMENT_URL = re.compile(r"/documents/([0-9a-f]{32})$")
SWAP_TIMEOUT_MS = 5_000


# --------------------------------------------------------------------------- data

def _patient(app) -> User:
    return db.session.execute(select(User).where(User.login == LOGIN)).scalar_one()


def _document_ids(app) -> set[str]:
    with app.app_context():
        patient = _patient(app)
        return set(db.session.execute(
            select(Document.id).where(Document.patient_id == patient.id)).scalars())


class Vault:
    """Camille's vault for one test: seed documents through the domain API."""

    def __init__(self, app, folder: Path):
        self.app = app
        self.folder = folder

    def add(self, *, title: str, category: Category = Category.REPORTS, day: date,
            content: bytes | None = None, file_name: str | None = None, kind: str = "txt",
            mimetype: str = "text/plain; charset=utf-8", hidden: bool = False) -> str:
        return self.add_many([dict(title=title, category=category, day=day, content=content,
                                   file_name=file_name, kind=kind, mimetype=mimetype,
                                   hidden=hidden)])[0]

    def add_many(self, specs: list[dict]) -> list[str]:
        """Encrypt each document into the vault, one commit for all."""
        ids = []
        with self.app.app_context():
            patient = _patient(self.app)
            for spec in specs:
                title = spec["title"]
                content = spec.get("content") or f"Contenu de {title}".encode()
                path = self.folder / f"seed-{len(list(self.folder.iterdir()))}"
                path.write_bytes(content)
                document = vault.add_document(
                    db.session, keys.ring, blobs.store, patient=patient, author=patient,
                    path=path, size=len(content), kind=spec.get("kind") or "txt",
                    mimetype=spec.get("mimetype") or "text/plain; charset=utf-8",
                    file_name=spec.get("file_name") or f"{title}.txt", title=title,
                    category=spec.get("category") or Category.REPORTS,
                    document_date=spec["day"], hidden=bool(spec.get("hidden")),
                    source="test", actor=audit.Actor())
                ids.append(document.id)
            db.session.commit()
        return ids

    def seed_list(self) -> list[str]:
        """25 documents: 5 "Bilan sanguin" (lab results), 20 "Compte rendu" (reports)."""
        return self.add_many([
            dict(title=(f"Bilan sanguin {index // 5 + 1}" if index % 5 == 0
                        else f"Compte rendu de consultation {index + 1}"),
                 category=Category.LAB_RESULTS if index % 5 == 0 else Category.REPORTS,
                 day=date(2025, 1, 1) + timedelta(days=index))
            for index in range(SEEDED)])

    def exists(self, document_id: str) -> bool:
        return document_id in _document_ids(self.app)

    def hidden(self, document_id: str) -> bool:
        with self.app.app_context():
            return db.session.get(Document, document_id).hidden


@pytest.fixture
def documents(app, tmp_path):
    """Camille's vault; whatever the test added (seeded or uploaded) is deleted afterwards,
    rows and encrypted blobs, with the domain API."""
    before = _document_ids(app)
    folder = tmp_path / "seed"
    folder.mkdir()
    yield Vault(app, folder)
    with app.app_context():
        patient = _patient(app)
        for document in db.session.execute(
                select(Document).where(Document.patient_id == patient.id)).scalars().all():
            if document.id not in before:
                vault.delete_document(db.session, keys.ring, blobs.store, document,
                                      audit.Actor())


def noise_png(width: int, height: int) -> bytes:
    """Random noise does not compress: 1000×1000 RGB is about 3 MB of PNG."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "PNG")
    return buffer.getvalue()


# --------------------------------------------------------------------------- browser

def check_page(page, js: bool, where: str) -> None:
    """One h1, axe (WCAG 2.2 AA tags), no JavaScript error."""
    assert page.locator("h1").count() == 1, f"one h1 on {where}"
    support.assert_no_axe_violations(page, js, where=f"{where} ({JS_MODES[js]})")
    assert not page.js_errors, f"JavaScript errors on {where}: {page.js_errors}"


def list_heading(page) -> str:
    return page.locator("#document-list-title").inner_text().strip()


def titles_shown(page) -> list[str]:
    return [text.strip() for text in page.locator("#document-list li.card h3").all_inner_texts()]


LIST_SETTLED = """() => { const list = document.getElementById("document-list");
  return !!list && !list.hasAttribute("aria-busy") && !list.classList.contains("htmx-settling")
    && !list.classList.contains("htmx-swapping") && !list.classList.contains("htmx-added"); }"""


def wait_for_list(page, heading: str) -> None:
    expect(page.locator("#document-list-title")).to_have_text(heading, timeout=SWAP_TIMEOUT_MS)
    support.wait_until(page, LIST_SETTLED)


# --------------------------------------------------------------------------- 1. the list

@JS_PARAMS
def test_empty_vault(open_page, documents, js):
    assert not _document_ids(documents.app), "the demo patient's vault should start empty"
    page = open_page(js=js)
    page.goto("/documents")
    assert page.title().startswith("Mes documents"), page.title()
    assert list_heading(page) == "0 document"
    assert "Votre coffre-fort est vide" in page.locator("#document-list").inner_text()
    assert page.locator("#document-list nav.pagination").count() == 0
    check_page(page, js, "liste vide")


@JS_PARAMS
def test_full_list_and_category_filter(open_page, documents, js):
    documents.seed_list()
    page = open_page(js=js)
    page.goto("/documents")
    assert list_heading(page) == f"{SEEDED} documents"
    assert len(titles_shown(page)) == 20, "20 documents per page"
    assert titles_shown(page)[0] == "Compte rendu de consultation 25", "newest first"
    expect(page.locator("nav.pagination [aria-current=page]")).to_have_text("Page 1 sur 2")
    check_page(page, js, "liste pleine")

    # Filter by category: Tab to the select, choose; without JavaScript, Tab to the button.
    if js:
        page.evaluate(MARK)
    tab_to_id(page, "categorie")
    page.select_option("#categorie", "lab_results")  # one change event, as a person makes it
    if js:  # htmx swaps the list on change
        wait_for_list(page, f"{BILANS} documents")
        assert page.evaluate(NOT_RELOADED), "the page was loaded again"
        expect(page.locator("#live-region")).to_have_text(f"{BILANS} documents")
        assert "categorie=lab_results" in page.url, page.url
        assert page.evaluate("document.activeElement.id") == "categorie", \
            "the filter keeps the focus"
    else:
        tab_to_text(page, "Rechercher", "button")
        press_and_load(page)
        assert "categorie=lab_results" in page.url, page.url
        assert list_heading(page) == f"{BILANS} documents"
    assert all(title.startswith("Bilan sanguin") for title in titles_shown(page))
    assert len(titles_shown(page)) == BILANS
    check_page(page, js, "liste filtrée par catégorie")


@JS_PARAMS
def test_search(open_page, documents, js):
    documents.seed_list()
    page = open_page(js=js)
    page.goto("/documents")
    if js:
        page.evaluate(MARK)
        searches = []
        page.on("request", lambda request: searches.append(request.url)
                if "q=" in request.url else None)
    tab_to_id(page, "q")
    page.keyboard.type("bilan")
    if js:
        # Live search: one request ~600 ms after the last key, the list swapped in place.
        wait_for_list(page, f"{BILANS} documents")
        expect(page.locator("#live-region")).to_have_text(f"{BILANS} documents")
        assert page.evaluate(NOT_RELOADED), "the page was loaded again"
        assert page.evaluate("document.activeElement.id") == "q", "typing keeps the focus"
        assert len(searches) == 1, f"one request for the whole word: {searches}"
    else:
        tab_to_text(page, "Rechercher", "button")
        press_and_load(page)
        assert list_heading(page) == f"{BILANS} documents"
    assert re.search(r"[?&]q=bilan(&|$)", page.url), page.url
    assert sorted(titles_shown(page)) == [f"Bilan sanguin {n}" for n in range(1, BILANS + 1)]
    check_page(page, js, "après une recherche")

    # A search that finds nothing says so.
    if page.evaluate("document.activeElement.id") != "q":
        tab_to_id(page, "q")
    page.keyboard.press("Control+A")
    page.keyboard.type("zzz")
    if js:
        wait_for_list(page, "0 document")
        expect(page.locator("#live-region")).to_have_text("0 document")
    else:
        tab_to_text(page, "Rechercher", "button")
        press_and_load(page)
    assert "Aucun document ne correspond" in page.locator("#document-list").inner_text()
    check_page(page, js, "recherche sans résultat")


@JS_PARAMS
def test_page_two_by_keyboard(open_page, documents, js):
    documents.seed_list()
    page = open_page(js=js)
    page.goto("/documents")
    if js:
        page.evaluate(MARK)
    tab_to_text(page, "Page suivante", "a", limit=80)  # 20 documents, 2 links each
    if js:
        page.keyboard.press("Enter")
        expect(page.locator("nav.pagination [aria-current=page]")).to_have_text(
            "Page 2 sur 2", timeout=SWAP_TIMEOUT_MS)
        support.wait_until(page, LIST_SETTLED)
        assert page.evaluate(NOT_RELOADED), "the page was loaded again"
        expect(page.locator("#live-region")).to_have_text(f"{SEEDED} documents")
        info = support.focused(page)
        assert info is not None, "focus dropped to <body> after the swap"
    else:
        press_and_load(page)
    assert re.search(r"[?&]page=2(&|$)", page.url), page.url
    assert len(titles_shown(page)) == SEEDED - 20
    assert titles_shown(page)[-1] == "Bilan sanguin 1", "oldest last"
    assert page.locator("nav.pagination a", has_text="Page précédente").count() == 1
    check_page(page, js, "page 2 de la liste")


def test_page_two_by_keyboard_focuses_the_list_heading(open_page, documents):
    documents.seed_list()
    page = open_page(js=True)
    page.goto("/documents")
    tab_to_text(page, "Page suivante", "a", limit=80)  # 20 documents, 2 links each
    page.keyboard.press("Enter")
    expect(page.locator("nav.pagination [aria-current=page]")).to_have_text(
        "Page 2 sur 2", timeout=SWAP_TIMEOUT_MS)
    support.wait_until(page, LIST_SETTLED)
    page.wait_for_timeout(100)  # app.js moves the focus right after the settle
    info = support.focused(page)
    assert info and info["id"] == "document-list-title", f"focus on {info}"


# --------------------------------------------------------------------------- 2. add form

EXPECTED_ERROR_LINKS = {"#file", "#title", "#category", "#visibility"}


@JS_PARAMS
def test_add_form_clean_and_after_an_error(open_page, documents, js):
    page = open_page(js=js)
    page.goto("/documents/ajouter")
    assert page.title().startswith("Ajouter un document"), page.title()
    assert page.locator(".upload-progress").is_hidden(), "no progress bar before sending"
    check_page(page, js, "formulaire d’ajout")

    # No file, no title, no category. The browser always sends the visibility checked by
    # default; it is emptied here (as if the patient had no default) so all four checks fail.
    page.evaluate("() => document.querySelectorAll('input[name=visibility]')"
                  ".forEach(radio => { radio.checked = false; })")
    if js:
        page.evaluate(MARK)
    tab_to_text(page, "Ajouter le document", "button")
    if js:
        page.keyboard.press("Enter")
        page.locator("[data-error-summary]").wait_for(timeout=SWAP_TIMEOUT_MS)
        support.wait_until(page, "() => !!document.activeElement && "
                                 "document.activeElement.hasAttribute('data-error-summary')")
        assert page.evaluate(NOT_RELOADED), "htmx swapped the form in place"
    else:
        press_and_load(page)
        status = page.evaluate("performance.getEntriesByType('navigation')[0].responseStatus")
        assert status == 422
    assert page.title().startswith("Erreur :"), page.title()
    summary = page.locator("[data-error-summary]")
    assert summary.get_attribute("role") == "alert"
    links = summary.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert set(links) == EXPECTED_ERROR_LINKS and len(links) == 4, links
    for href in links:  # every link leads to a field of the page
        assert page.locator(href).count() == 1, f"{href} not found"
    for field in ("#file", "#title", "#category"):
        assert page.locator(field).get_attribute("aria-invalid") == "true", field
    for error in page.locator(".field-error").all():
        assert error.locator(".visually-hidden").inner_text().strip() == "Erreur :"
    check_page(page, js, "formulaire d’ajout en erreur")

    # The summary's first link takes the keyboard to the file field.
    if js:
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('href')") == "#file"
        page.keyboard.press("Enter")
        support.wait_until(page, "() => document.activeElement.id === 'file'")


def test_add_form_errors_are_listed_in_the_order_of_the_fields(open_page, documents):
    page = open_page(js=False)
    page.goto("/documents/ajouter")
    page.evaluate("() => document.querySelectorAll('input[name=visibility]')"
                  ".forEach(radio => { radio.checked = false; })")
    support.submit_main_form(page)
    fields = page.locator("#ajout form.form").evaluate(
        "form => Array.from(form.querySelectorAll('[id]')).map(element => '#' + element.id)")
    links = page.locator("[data-error-summary] a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    assert links == [field for field in fields if field in links], links


# --------------------------------------------------------------------------- 3. upload, no JS

def test_upload_with_the_keyboard_without_javascript(open_page, documents, tmp_path):
    file = tmp_path / "ordonnance été.txt"
    file.write_text("Paracétamol 1 g, trois fois par jour.\n", encoding="utf-8")
    page = open_page(js=False)
    page.goto("/documents/ajouter")
    tab_to_id(page, "file")
    # Headless Chromium opens no file chooser on Space/Enter: the file is set on the focused
    # input, everything else is done with the keyboard.
    page.set_input_files("#file", str(file))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "title", "Tab from the file to title"
    page.keyboard.type("Ordonnance du Dr Bernard")
    for field, value in (("date", "3"), ("date-month", "3"), ("date-year", "2026")):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == field
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "category"
    page.keyboard.type("Ordonnances")  # type-ahead in a closed select
    assert page.locator("#category").input_value() == "prescriptions"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "visibility", \
        "Tab goes to the checked radio"
    page.keyboard.press("ArrowDown")  # to "Personne d'autre que moi"
    page.keyboard.press("Space")
    assert page.locator("#visibility-hidden").is_checked()
    tab_to_text(page, "Ajouter le document", "button")
    press_and_load(page)

    match = DOCUMENT_URL.search(page.url)
    assert match, f"not on the document page: {page.url}"
    expect(page.locator(".banner--success")).to_contain_text("Le document a été ajouté.")
    assert page.locator("h1").inner_text().strip() == "Ordonnance du Dr Bernard"
    summary = page.locator("dl.summary").inner_text()
    assert "Ordonnances et soins" in summary and "3 mars 2026" in summary, summary
    assert "ordonnance été.txt" in summary, summary
    expect(page.locator("dl.summary .badge")).to_have_text("Masqué aux professionnels")
    check_page(page, False, "document ajouté sans JavaScript")
    assert documents.exists(match.group(1))


# --------------------------------------------------------------------------- 4. upload, JS

PROGRESS_LISTENER = """() => document.addEventListener("htmx:xhr:progress", event => {
  const box = document.querySelector("#ajout .upload-progress");
  const bar = box && box.querySelector("progress");
  window.__uploadProgress({
    computable: event.detail.lengthComputable, loaded: event.detail.loaded,
    total: event.detail.total, shown: !!box && !box.hidden && box.offsetHeight > 0,
    value: bar ? bar.value : null, text: bar ? bar.textContent : null});
})"""


def test_upload_with_htmx_shows_progress(open_page, documents, tmp_path):
    file = tmp_path / "scanner thorax.png"
    file.write_bytes(noise_png(1000, 1000))
    assert 2_800_000 < file.stat().st_size < 5 * 1024 * 1024
    page = open_page(js=True)
    events: list[dict] = []
    page.expose_function("__uploadProgress", lambda event: events.append(event))
    page.goto("/documents/ajouter")
    progress = page.locator("#ajout form progress#upload-progress")
    assert progress.count() == 1, "the form has its progress bar"
    assert page.locator("label[for=upload-progress]").inner_text().strip() == "Envoi du fichier"
    page.evaluate(PROGRESS_LISTENER)

    page.set_input_files("#file", str(file))
    page.fill("#title", "Scanner du thorax")
    page.select_option("#category", "imaging")
    page.check("#visibility")
    page.focus("#ajout form button[type=submit]")
    # On loopback 3 MB go in one go (a single progress event at 100 %): throttle the upload
    # so the bar is seen part-way.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
             "downloadThroughput": -1, "uploadThroughput": 6 * 1024 * 1024})
    with page.expect_response(lambda response: response.url.endswith("/documents/ajouter")
                              and response.request.method == "POST") as answer:
        with page.expect_navigation(url=DOCUMENT_URL, timeout=20_000):
            page.keyboard.press("Enter")
    response = answer.value
    assert response.request.headers.get("hx-request") == "true", "sent by htmx"
    assert response.status == 200 and DOCUMENT_URL.search(response.headers["hx-redirect"])

    assert events, "no htmx:xhr:progress event while sending 3 MB"
    assert all(event["computable"] and event["shown"] for event in events), events
    assert any(0 < event["value"] < 100 for event in events), f"never seen part-way: {events}"
    last = events[-1]
    assert last["loaded"] == last["total"] and last["value"] == 100, last
    assert last["text"] == "100 %", last

    expect(page.locator(".banner--success")).to_contain_text("Le document a été ajouté.")
    assert page.locator("h1").inner_text().strip() == "Scanner du thorax"
    check_page(page, True, "document ajouté avec htmx")
    assert documents.exists(DOCUMENT_URL.search(page.url).group(1))


# --------------------------------------------------------------------------- 5. document page

def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), (20, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def test_document_page_download_hide_show_delete(open_page, documents):
    """JavaScript on (the page has no htmx: its plain forms are covered without JavaScript by
    the upload test, which ends on a document page)."""
    js = True
    content = png_bytes()
    document_id = documents.add(title="Radio du genou", category=Category.IMAGING,
                                day=date(2026, 3, 3), content=content,
                                file_name="radio genou été.png", kind="png",
                                mimetype="image/png")
    page = open_page(js=js)
    page.goto(f"/documents/{document_id}")
    # The h1 names the document; the title stays generic (ACCESSIBILITY.md, item 2).
    assert page.title() == "Document – Carnet santé", page.title()
    assert page.locator("h1").inner_text().strip() == "Radio du genou"
    check_page(page, js, "page du document")
    # Its own document: the links to change and delete it stand alone, 44 px high each.
    small = page.evaluate(support.SMALL_TARGETS)
    assert not small, "targets smaller than 44×44 CSS px:\n" + "\n".join(small)

    # Download with the keyboard: the file name keeps its accents.
    tab_to_text(page, "Télécharger « Radio du genou » (PNG, 1 Ko)", "a")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename == "radio genou été.png"
    assert Path(download.path()).read_bytes() == content

    # Hide, then show again, with the keyboard.
    tab_to_text(page, "Masquer aux professionnels", "button")
    press_and_load(page)
    expect(page.locator(".banner--success")).to_contain_text(
        "Le document est maintenant masqué aux professionnels.")
    expect(page.locator("dl.summary .badge")).to_have_text("Masqué aux professionnels")
    assert page.locator("main form button", has_text="Rendre visible aux professionnels") \
        .count() == 1
    assert documents.hidden(document_id)
    check_page(page, js, "document masqué")

    tab_to_text(page, "Rendre visible aux professionnels", "button")
    press_and_load(page)
    expect(page.locator(".banner--success")).to_contain_text(
        "Le document est de nouveau visible par les professionnels autorisés.")
    assert page.locator("dl.summary .badge").count() == 0
    assert page.locator("main form button", has_text="Masquer aux professionnels").count() == 1
    assert not documents.hidden(document_id)

    # Delete through the confirmation page.
    tab_to_text(page, "Supprimer « Radio du genou »", "a")
    press_and_load(page)
    assert page.url.endswith(f"/documents/{document_id}/supprimer"), page.url
    assert page.locator("h1").inner_text().strip() == "Supprimer le document"
    check_page(page, js, "confirmation de suppression")
    tab_to_text(page, "Oui, supprimer « Radio du genou »", "button")
    press_and_load(page)
    assert page.url.endswith("/documents"), page.url
    expect(page.locator(".banner--success")).to_contain_text("Le document a été supprimé.")
    check_page(page, js, "liste après suppression")
    assert not documents.exists(document_id)
    assert page.goto(f"/documents/{document_id}").status == 404


# --------------------------------------------------------------------------- 6. 320 px

def check_reflow(page, where: str) -> None:
    overflow = page.evaluate(support.HORIZONTAL_OVERFLOW)
    assert overflow is None, f"horizontal scroll at 320 px on {where}: {overflow}"
    small = page.evaluate(support.SMALL_TARGETS)
    assert not small, f"targets smaller than 44×44 CSS px on {where}:\n" + "\n".join(small)


def test_list_and_add_form_at_320(open_page, documents):
    documents.seed_list()
    page = open_page(js=True, width=320)
    page.goto("/documents")
    assert page.locator("nav.pagination").count() == 1
    check_reflow(page, "la liste")
    check_page(page, True, "liste à 320 px")
    page.goto("/documents/ajouter")
    check_reflow(page, "le formulaire d’ajout")
    check_page(page, True, "formulaire d’ajout à 320 px")
