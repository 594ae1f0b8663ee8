"""The secure messaging in a real browser (issue 7; ACCESSIBILITY.md items 2, 4, 5, 7, 8,
13–15, 21 and the htmx patterns), from both sides:

- the patient (camille.martin): the inbox (empty, with unread conversations said in text,
  25 conversations over two pages), a conversation (messages in order with their sender,
  profession, time and "lu" / "pas encore lu" on her own ones, an attachment and its
  "Enregistrer dans mes documents" button, the reply form with its character count and
  "Joindre des fichiers"), replies that fail (empty, 5,001 characters, a conversation closed
  meanwhile), a reply sent with htmx (appended to the list, the form emptied, the focus kept
  in the message box, "Message envoyé." in the page's live region) or without JavaScript
  (post-redirect-get to the new message with a flash), by keyboard only both ways, and a
  closed conversation;
- the professional (dr.bernard): the inbox, writing to the patient (errors first: summary
  focused, linking to its fields, typed values kept), a conversation, closing it after the
  confirmation page, by mouse and by keyboard only.

axe (WCAG 2.2 AA tags, the options of the other browser tests) runs on every page in every
state (first load, after an error, after each htmx swap), at 1280 and 320 px, JavaScript on
and off (the htmx send and the character count: JavaScript on, at both widths), with the
checks the other flow tests share: one h1, no skipped heading level, no id used twice, no
JavaScript error; at 320 px no sideways scroll and targets of 44×44 CSS px. Without
JavaScript a refused reply puts its error summary at the top of main; with it, htmx puts
back the reply form starting with the summary, which takes the focus, and a later send
clears the error state (summary, inline error, aria-invalid, "Erreur :" in the title).

Conversations are seeded through the domain API (domain/messaging start, reply, close), as
the forms would write them. Each test starts and ends with no conversation for the demo
patient; the professional's care relation and the documents a test adds are put back, so
the order of the tests does not matter and the other modules find the demo data as the seed
left it.
"""

from __future__ import annotations

import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from domain import audit, care, messaging, vault
from domain.models import (
    CareRelation,
    Category,
    Conversation,
    Document,
    Message,
    MessageAttachment,
    User,
)
from domain.models.base import utcnow
from extensions import blobs, db, keys
from tests.browser import flows, support
from tests.browser.flows import (
    ALL_COMBOS,
    MARK,
    NOT_RELOADED,
    Findings,
    click_and_load,
    press_and_load,
    tab_to_id,
    tab_to_text,
)

pytestmark = pytest.mark.browser

PATIENT = "camille.martin"
DOCTOR = "dr.bernard"
PATIENT_NAME = "Camille Martin"
DOCTOR_NAME = "Julien Bernard"
SUBJECT = "Résultats de votre prise de sang"
FILE_NAME = "compte-rendu_analyses.txt"
MAX_BODY = messaging.BODY.max_length  # 5,000
SWAP_TIMEOUT = 5.0

JS_ONLY = [pytest.param(True, 1280, id="js-1280"), pytest.param(True, 320, id="js-320")]


# --------------------------------------------------------------------------- data

def _user(login: str) -> User:
    return db.session.execute(select(User).where(User.login == login)).scalar_one()


class Mailbox:
    """The demo patient's conversations for one test, seeded through the domain API. Starts
    and ends empty; the doctor's care relation and the documents added are put back."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            self.patient_id = _user(PATIENT).id
            self.doctor_id = _user(DOCTOR).id
            found = care.relation(db.session, self.patient_id, self.doctor_id)
            self.relation_before = (None if found is None else
                                    (found.declared_at, found.blocked, found.blocked_at))
        self.documents_before = self.document_ids()
        self.empty()
        self.declare()

    # -- reading
    def document_ids(self) -> set[str]:
        with self.app.app_context():
            return set(db.session.execute(select(Document.id).where(
                Document.patient_id == self.patient_id)).scalars())

    def message_ids(self, conversation_id: str) -> list[int]:
        with self.app.app_context():
            return list(db.session.execute(select(Message.id).where(
                Message.conversation_id == conversation_id).order_by(Message.id)).scalars())

    def closed(self, conversation_id: str) -> bool:
        with self.app.app_context():
            return db.session.get(Conversation, conversation_id).closed_at is not None

    # -- writing
    def declare(self) -> None:
        """The doctor's statement (the patient was informed), as /pro/patients records it."""
        with self.app.app_context():
            care.declare(db.session, keys.ring, _user(DOCTOR), _user(PATIENT), audit.Actor())
            db.session.commit()

    def start(self, subject: str = SUBJECT, body: str = "Bonjour, vos résultats sont "
              "arrivés : tout est normal.", *, minutes_ago: int = 180,
              attachment: str | None = None) -> str:
        """The doctor writes to the patient (with a small text file if `attachment`)."""
        with self.app.app_context():
            conversation, message = messaging.start(
                db.session, keys.ring, _user(DOCTOR), _user(PATIENT), subject=subject,
                body=body, actor=audit.Actor(), now=utcnow() - timedelta(minutes=minutes_ago))
            if attachment:
                content = "Ferritine : 12 µg/L.\n".encode()
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / "file"
                    path.write_bytes(content)
                    messaging.attach_file(db.session, keys.ring, blobs.store, message,
                                          _user(PATIENT), path=path, size=len(content),
                                          kind="txt", mimetype="text/plain; charset=utf-8",
                                          file_name=attachment)
            db.session.commit()
            return conversation.id

    def reply(self, conversation_id: str, login: str, body: str, *,
              minutes_ago: int) -> int:
        with self.app.app_context():
            conversation = db.session.get(Conversation, conversation_id)
            message = messaging.reply(db.session, keys.ring, _user(login), conversation,
                                      body=body, actor=audit.Actor(),
                                      now=utcnow() - timedelta(minutes=minutes_ago))
            db.session.commit()
            return message.id

    def mark_read(self, conversation_id: str, login: str) -> None:
        with self.app.app_context():
            messaging.mark_read(_user(login), db.session.get(Conversation, conversation_id))
            db.session.commit()

    def close(self, conversation_id: str) -> None:
        with self.app.app_context():
            messaging.close(db.session, keys.ring, _user(DOCTOR),
                            db.session.get(Conversation, conversation_id), audit.Actor())
            db.session.commit()

    def document(self, title: str) -> str:
        """A document of the patient's own, offered in the reply form's select."""
        content = f"Contenu de {title}".encode()
        with self.app.app_context(), tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "document"
            path.write_bytes(content)
            added = vault.add_document(
                db.session, keys.ring, blobs.store, patient=_user(PATIENT),
                author=_user(PATIENT), path=path, size=len(content), kind="txt",
                mimetype="text/plain; charset=utf-8", file_name=f"{title}.txt", title=title,
                category=Category.PRESCRIPTIONS, document_date=utcnow().date(),
                hidden=False, source="test", actor=audit.Actor())
            db.session.commit()
            return added.id

    # -- cleaning
    def empty(self) -> None:
        """No conversation (messages, attachments and their encrypted files) for the patient."""
        with self.app.app_context():
            attachments = db.session.execute(select(MessageAttachment).where(
                MessageAttachment.patient_id == self.patient_id)).scalars().all()
            blob_keys = [attachment.blob_key for attachment in attachments]
            conversations = select(Conversation.id).where(
                Conversation.patient_id == self.patient_id)
            messages = select(Message.id).where(Message.conversation_id.in_(conversations))
            db.session.execute(delete(MessageAttachment).where(
                MessageAttachment.message_id.in_(messages)))
            db.session.execute(delete(Message).where(Message.conversation_id.in_(
                conversations)))
            db.session.execute(delete(Conversation).where(
                Conversation.patient_id == self.patient_id))
            db.session.commit()
            for key in blob_keys:
                blobs.store.delete(key)

    def restore(self) -> None:
        self.empty()
        with self.app.app_context():
            for document in db.session.execute(select(Document).where(
                    Document.patient_id == self.patient_id)).scalars().all():
                if document.id not in self.documents_before:
                    vault.delete_document(db.session, keys.ring, blobs.store, document,
                                          audit.Actor())
            found = db.session.execute(select(CareRelation).where(
                CareRelation.patient_id == self.patient_id,
                CareRelation.professional_id == self.doctor_id)).scalar_one_or_none()
            if found is not None:
                if self.relation_before is None:
                    db.session.delete(found)
                else:
                    found.declared_at, found.blocked, found.blocked_at = self.relation_before
            db.session.commit()


@pytest.fixture
def mailbox(app):
    state = Mailbox(app)
    yield state
    state.restore()


# --------------------------------------------------------------------------- browser

# htmx is done: no request running, nothing swapping or settling, no target busy.
SETTLED = """() => !document.querySelector(
  "[aria-busy], .htmx-request, .htmx-settling, .htmx-swapping, .htmx-added")"""


def text_of(locator) -> str:
    """Visible text with its spaces made plain (numbers use narrow no-break spaces)."""
    return re.sub(r"\s+", " ", locator.inner_text().replace("\u202f", " ")
                  .replace("\xa0", " ")).strip()


def focus_is(page, test_js: str) -> tuple[bool, str]:
    """flows.focus_is, waiting up to 1 s."""
    return flows.focus_is(page, test_js, timeout=1.0)


UNSETTLED = """() => Array.from(document.querySelectorAll(
  "[aria-busy], .htmx-request, .htmx-settling, .htmx-swapping, .htmx-added"))
  .map(e => e.outerHTML.slice(0, 160))"""


def wait_settled(page) -> None:
    try:
        support.wait_until(page, SETTLED, timeout=SWAP_TIMEOUT)
    except AssertionError:
        raise AssertionError(f"htmx never settled: {page.evaluate(UNSETTLED)}") from None
    page.wait_for_timeout(80)  # app.js moves the focus in htmx:afterSettle


def message_items(page):
    return page.locator("#message-list > li.message")


def send_reply(page, js: bool) -> int | None:
    """Click "Envoyer" in the reply form. Without JavaScript: the status of the page that
    answers. With JavaScript: None, once htmx is done (the page must not be reloaded)."""
    button = page.locator("#reply-form button[type=submit]")
    if not js:
        return click_and_load(page, button)
    before = message_items(page).count()
    page.evaluate(MARK)
    button.click()
    support.wait_until(page, f"""() => document.querySelectorAll("#message-list > li").length
        !== {before} || !!document.querySelector("#reply-form [data-error-summary]")""",
                       timeout=SWAP_TIMEOUT)
    wait_settled(page)
    return None


def check_errors(findings: Findings, page, js: bool, status: int | None, fields: list[str],
                 where: str, *, above_the_form: bool) -> None:
    """flows.check_failed_form, with JavaScript on the same document (no reload).

    `above_the_form`: a whole page, where the summary comes first in main, before the h1
    and the form (item 8: without JavaScript nothing moves the focus or the view to a
    reply form below the messages); otherwise the reply form htmx put back, which starts
    with the summary. Its link to #reply-closed (the conversation closed meanwhile) leads
    to a message, not to a field."""
    if js:
        findings.check(page.evaluate(NOT_RELOADED) or status is not None,
                       f"{where}: the page was reloaded")
    summary = flows.check_failed_form(
        findings, page, js, status, fields, where,
        above=("main h1", "main form.form") if above_the_form else (),
        not_marked=("reply-closed",), focus_timeout=1.0)
    if summary is not None and not above_the_form:
        findings.check(summary.evaluate("s => s.parentElement.id === 'reply-form'"),
                       f"{where}: the summary is not in the reply form htmx put back")


def follow_summary_link(findings: Findings, page, field: str, where: str) -> None:
    """The summary's link takes the keyboard to the field (a plain in-page link)."""
    page.locator(f"main [data-error-summary] a[href='#{field}']").click()
    ok, focus = focus_is(page, f"e.id === {field!r}")
    findings.check(ok, f"{where}: the summary's link to #{field} left the focus on {focus}")


def open_attach(page) -> None:
    """Open "Joindre des fichiers" (a native <details>: works without JavaScript)."""
    details = page.locator("#reply-form details.attach, main form details.attach")
    if details.count() and not details.first.evaluate("d => d.open"):
        details.first.locator("summary").click()


# --------------------------------------------------------------------------- 1. inbox

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_patient_inbox(open_page, mailbox, js, width):
    """Empty; then three conversations, two of them unread (the counts in text, not only
    in bold); then 25 conversations over two pages."""
    findings = Findings()
    page = open_page(PATIENT, js=js, width=width)
    assert page.goto("/messagerie").status == 200
    main = page.locator("main")
    findings.check(page.title().startswith("Messagerie"), page.title())
    findings.check(text_of(page.locator("h1")) == "Messagerie", text_of(page.locator("h1")))
    findings.check("Aucun message non lu." in text_of(main), "empty: no 'Aucun message non lu'")
    findings.check("Aucune conversation pour l’instant." in text_of(main),
                   "empty: no 'Aucune conversation'")
    # (on a phone the menu is on the menu page: hidden here, but marked all the same)
    current = page.locator("nav.main-nav a[aria-current=page]")
    findings.check(current.count() == 1 and current.get_attribute("href") == "/messagerie",
                   "the menu does not mark Messagerie as the current page")
    findings.page(page, js, width, "/messagerie vide")

    # Two unread messages in one, one in a closed one, none in the third.
    unread_two = mailbox.start("Résultats de votre prise de sang", minutes_ago=300)
    mailbox.reply(unread_two, DOCTOR, "J’ajoute le compte rendu.", minutes_ago=200)
    read = mailbox.start("Rendez-vous de contrôle", minutes_ago=250)
    mailbox.mark_read(read, PATIENT)
    closed = mailbox.start("Vaccin contre la grippe", minutes_ago=100)
    mailbox.close(closed)
    assert page.goto("/messagerie").status == 200
    text = text_of(main)
    findings.check("3 messages non lus" in text, f"no '3 messages non lus' in {text[:300]!r}")
    findings.check(text_of(page.locator("#conversations-title")) == "3 conversations",
                   "the list's heading does not say 3 conversations")
    items = page.locator("main ul.conversations > li")
    subjects = [text_of(item.locator("h3")) for item in items.all()]
    findings.check(subjects == ["Vaccin contre la grippe", "Résultats de votre prise de sang",
                                "Rendez-vous de contrôle"],
                   f"not the most recent first: {subjects}")
    if items.count() == 3:
        first, second, third = (text_of(item) for item in items.all())
        findings.check("1 non lu" in first and "conversation close" in first, first)
        findings.check("2 non lus" in second, second)
        findings.check(f"{DOCTOR_NAME}, Médecin" in second, f"no sender in {second!r}")
        findings.check("Lu" in third and "non lu" not in third, third)
        link = items.nth(1).get_by_role("link", name="Résultats de votre prise de sang")
        findings.check(link.count() == 1 and
                       link.get_attribute("href") == f"/messagerie/{unread_two}",
                       "the subject is not a link to the conversation")
    findings.page(page, js, width, "/messagerie avec des non lus")

    # 25 conversations: 20 on the first page, 5 on the second.
    for number in range(22):
        mailbox.start(f"Message numéro {number + 1}", minutes_ago=1000 + number)
    assert page.goto("/messagerie").status == 200
    findings.check(text_of(page.locator("#conversations-title")) == "25 conversations",
                   text_of(page.locator("#conversations-title")))
    findings.check(items.count() == 20, f"page 1 lists {items.count()} conversations")
    pagination = page.locator("main nav.pagination")
    findings.check(pagination.count() == 1 and bool(pagination.get_attribute("aria-label")),
                   "no named pagination navigation")
    findings.check(text_of(page.locator("main [aria-current=page]")) == "Page 1 sur 2",
                   "page 1: the current page is not 'Page 1 sur 2'")
    findings.check(pagination.get_by_role("link", name="Page précédente").count() == 0,
                   "page 1 offers a previous page")
    findings.page(page, js, width, "/messagerie page 1 sur 2")
    status = click_and_load(page, pagination.get_by_role("link", name="Page suivante"))
    findings.check(status == 200 and page.url.endswith("/messagerie?page=2"),
                   f"the next page answered {status} at {page.url}")
    findings.check(items.count() == 5, f"page 2 lists {items.count()} conversations")
    findings.check(text_of(page.locator("main [aria-current=page]")) == "Page 2 sur 2",
                   "page 2: the current page is not 'Page 2 sur 2'")
    findings.check(pagination.get_by_role("link", name="Page précédente").count() == 1,
                   "page 2 offers no way back")
    findings.page(page, js, width, "/messagerie page 2 sur 2")
    findings.done()


# --------------------------------------------------------------------------- 2. conversation

def seed_thread(mailbox: Mailbox) -> tuple[str, list[int]]:
    """Doctor (with a file), patient, doctor, patient: the patient's first message was read
    by the doctor (who answered after it), the last one not yet."""
    conversation = mailbox.start(minutes_ago=180, attachment=FILE_NAME)
    mailbox.reply(conversation, PATIENT, "Merci docteur. Dois-je refaire une prise de sang ?",
                  minutes_ago=120)
    mailbox.reply(conversation, DOCTOR, "Oui, dans un an.", minutes_ago=60)
    mailbox.reply(conversation, PATIENT, "Entendu, bonne journée.", minutes_ago=30)
    return conversation, mailbox.message_ids(conversation)


@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_conversation_page(open_page, mailbox, js, width):
    findings = Findings()
    conversation, ids = seed_thread(mailbox)
    mailbox.document("Ordonnance de kinésithérapie")
    page = open_page(PATIENT, js=js, width=width)
    assert page.goto(f"/messagerie/{conversation}").status == 200
    # The h1 gives the subject; the title stays generic (ACCESSIBILITY.md, item 2).
    findings.check(page.title() == "Conversation – Carnet santé", f"title {page.title()!r}")
    findings.check(text_of(page.locator("h1")) == SUBJECT, text_of(page.locator("h1")))
    findings.check(f"Avec {DOCTOR_NAME}, Médecin" in text_of(page.locator("main .lead")),
                   text_of(page.locator("main .lead")))
    listed = page.locator("#message-list").evaluate(
        "list => list.tagName.toLowerCase() + ' ' + (list.getAttribute('aria-labelledby') "
        "|| '')")
    findings.check(listed == "ol messages-title", f"#message-list is {listed!r}")

    items = message_items(page)
    shown = [item.get_attribute("id") for item in items.all()]
    findings.check(shown == [f"message-{number}" for number in ids],
                   f"messages not in order: {shown}, expected {ids}")
    metas = [text_of(item.locator(".message__meta")) for item in items.all()]
    bodies = [text_of(item.locator(".message__body")) for item in items.all()]
    if len(metas) == 4:
        for index in (0, 2):
            findings.check(metas[index].startswith(f"{DOCTOR_NAME}, Médecin — "),
                           f"doctor's message meta {metas[index]!r}")
            findings.check(not metas[index].endswith("lu"),
                           f"a received message says whether it was read: {metas[index]!r}")
        findings.check(metas[1].startswith("Vous — ") and metas[1].endswith("— lu"),
                       f"own message read by the doctor: {metas[1]!r}")
        findings.check(metas[3].startswith("Vous — ") and metas[3].endswith("pas encore lu"),
                       f"own message not yet read: {metas[3]!r}")
        findings.check(bodies[1] == "Merci docteur. Dois-je refaire une prise de sang ?",
                       bodies[1])
    times = page.locator("#message-list time[datetime]")
    findings.check(times.count() == 4, f"{times.count()} messages with a <time datetime>")
    findings.check(bool(re.search(r"\d{1,2} \w+ \d{4}, \d{2}:\d{2}",
                                  text_of(times.first) if times.count() else "")),
                   "the time is not written in full")

    # The attachment: its name, type and size, and the button to keep it.
    # Item 20: the link's own text gives the file, its type and its size.
    download = items.first.locator("ul.attachments a[download]")
    name = text_of(download) if download.count() == 1 else ""
    findings.check(bool(re.fullmatch(rf"Télécharger « {re.escape(FILE_NAME)} » "
                                     r"\(TXT, \d+(,\d+)? [KM]o\)", name)),
                   f"download link {name!r}: not «Télécharger « nom » (type, taille)»")
    keep = page.get_by_role("button", name=f"Enregistrer dans mes documents : {FILE_NAME}")
    findings.check(keep.count() == 1, "no 'Enregistrer dans mes documents' button named "
                                      "after the file")

    # The reply form.
    form = page.locator("#reply-form")
    findings.check(form.count() == 1 and form.get_attribute("aria-labelledby") == "reply-title"
                   and form.get_attribute("novalidate") is not None,
                   "no #reply-form named by its heading, with novalidate")
    label = page.locator("label[for=body]")
    findings.check(label.count() == 1 and "(obligatoire)" in text_of(label),
                   "#body has no label saying it is required")
    described = (page.locator("#body").get_attribute("aria-describedby") or "").split()
    findings.check("body-hint" in described, f"#body described by {described}")
    findings.check("5 000 caractères au plus." in text_of(page.locator("#body-hint")),
                   "the limit is not said")
    live = page.locator("#body-count-live")
    findings.check(live.get_attribute("aria-live") == "polite" and text_of(live) == "",
                   "#body-count-live is not an empty polite live region")
    summary = page.locator("#reply-form details.attach > summary")
    findings.check(summary.count() == 1 and text_of(summary).startswith("Joindre des fichiers"),
                   "no 'Joindre des fichiers' disclosure")
    open_attach(page)
    findings.check(page.locator("#files").is_visible() and page.locator("label[for=files]")
                   .count() == 1, "the file input is not shown with its label once opened")
    options = page.locator("#documents option").all_inner_texts()
    findings.check(any(option.startswith("Ordonnance de kinésithérapie") for option in options),
                   f"my documents are not offered: {options}")
    findings.page(page, js, width, "/messagerie/<id>")

    # Opening the conversation marked it read.
    assert page.goto("/messagerie").status == 200
    findings.check("Aucun message non lu." in text_of(page.locator("main")),
                   "the inbox still counts the messages just read")
    findings.done()


# --------------------------------------------------------------------------- 3. errors

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_reply_errors_then_sent(open_page, mailbox, js, width):
    """Sent empty, then 5,001 characters (kept): an error summary (focused with JavaScript,
    where htmx replaces the form), "Erreur :" in the title; nothing sent. Then a valid
    reply: no error left behind."""
    findings = Findings()
    conversation = mailbox.start()
    page = open_page(PATIENT, js=js, width=width)
    assert page.goto(f"/messagerie/{conversation}").status == 200
    where = "réponse vide"
    status = send_reply(page, js)
    check_errors(findings, page, js, status, ["body"], where, above_the_form=not js)
    findings.check("Écrivez votre message." in text_of(page.locator("#body-error")),
                   f"{where}: {text_of(page.locator('#body-error'))!r}")
    findings.check(page.locator("#reply-form").count() == 1, f"{where}: not one #reply-form")
    findings.page(page, js, width, f"/messagerie/<id> {where}")

    where = "réponse trop longue"
    typed = ("Bonjour docteur, voici mes questions. " * 200)[:MAX_BODY] + "!"
    assert len(typed) == MAX_BODY + 1
    page.fill("#body", typed)
    status = send_reply(page, js)
    check_errors(findings, page, js, status, ["body"], where, above_the_form=not js)
    error = text_of(page.locator("#body-error"))
    findings.check("5 000 caractères" in error and "5 001" in error,
                   f"{where}: the message gives neither the limit nor the length: {error!r}")
    kept = page.locator("#body").input_value()
    findings.check(kept == typed, f"{where}: the text was not kept ({len(kept)} characters)")
    findings.page(page, js, width, f"/messagerie/<id> {where}")
    follow_summary_link(findings, page, "body", where)
    findings.check(len(mailbox.message_ids(conversation)) == 1, "a faulty reply was sent")

    # Corrected: sent, and the error state is gone (summary, inline error, title).
    where = "réponse corrigée"
    page.fill("#body", "Merci docteur.")
    status = send_reply(page, js)
    findings.check(status in (None, 200), f"{where}: answered {status}")
    findings.check(len(mailbox.message_ids(conversation)) == 2, f"{where}: not sent")
    findings.check(not page.title().startswith("Erreur"), f"{where}: title {page.title()!r}")
    findings.check(page.locator("main [data-error-summary]").count() == 0,
                   f"{where}: the error summary is still there")
    findings.check(page.locator("main .field-error").count() == 0,
                   f"{where}: an inline error is still there")
    findings.check(page.locator("#body[aria-invalid]").count() == 0,
                   f"{where}: #body is still aria-invalid")
    findings.check(text_of(message_items(page).last.locator(".message__body")) ==
                   "Merci docteur.", f"{where}: the reply is not last in the list")
    if js:
        ok, focus = focus_is(page, "e.id === 'body'")
        findings.check(ok, f"{where}: focus on {focus}, not in #body")
    findings.page(page, js, width, f"/messagerie/<id> {where}")
    findings.done()


# --------------------------------------------------------------------------- 4. htmx send

@pytest.mark.parametrize(("js", "width"), JS_ONLY)
def test_send_with_htmx(open_page, mailbox, js, width):
    """The new message is added at the end of the list without a reload; the form is
    emptied and keeps the focus; the page's live region says "Message envoyé."."""
    findings = Findings()
    conversation = mailbox.start()
    page = open_page(PATIENT, js=js, width=width)
    assert page.goto(f"/messagerie/{conversation}").status == 200
    url = page.url
    open_attach(page)
    page.fill("#body", "Bonjour, pouvez-vous m’envoyer l’ordonnance ?")
    status = send_reply(page, js)
    findings.check(status is None and page.evaluate(NOT_RELOADED) and page.url == url,
                   "the page was reloaded")
    ids = mailbox.message_ids(conversation)
    findings.check(len(ids) == 2, f"{len(ids)} messages stored")
    items = message_items(page)
    findings.check(items.count() == 2, f"{items.count()} messages listed")
    last = items.last
    findings.check(last.get_attribute("id") == f"message-{ids[-1]}",
                   f"the new message is not last: {last.get_attribute('id')}")
    findings.check(text_of(last.locator(".message__body")) ==
                   "Bonjour, pouvez-vous m’envoyer l’ordonnance ?", text_of(last))
    meta = text_of(last.locator(".message__meta"))
    findings.check(meta.startswith("Vous — ") and meta.endswith("pas encore lu"), meta)
    findings.check(page.locator("#body").input_value() == "", "the message box is not emptied")
    findings.check(text_of(page.locator("#body-count")) == "", "the count still shows")
    ok, focus = focus_is(page, "e.id === 'body'")
    findings.check(ok, f"focus on {focus}, not in #body")
    live = page.locator("#live-region")
    findings.check(text_of(live) == "Message envoyé.", f"#live-region says {text_of(live)!r}")
    findings.check(live.get_attribute("role") == "status", "#live-region is not role=status")
    findings.check(page.locator("main [role=alert]").count() == 0, "an alert after a success")
    findings.check(not page.title().startswith("Erreur"), page.title())
    findings.page(page, js, width, "/messagerie/<id> après un envoi htmx")

    # A second message: appended after the first, the live region says it again.
    page.evaluate("() => { document.getElementById('live-region').textContent = ''; }")
    page.keyboard.type("Et une seconde question.")
    send_reply(page, js)
    findings.check(items.count() == 3 and text_of(items.last.locator(".message__body")) ==
                   "Et une seconde question.", "the second message is not last")
    findings.check(text_of(live) == "Message envoyé.", f"second send: {text_of(live)!r}")
    ok, focus = focus_is(page, "e.id === 'body'")
    findings.check(ok, f"second send: focus on {focus}, not in #body")
    findings.check(page.evaluate(support.DUPLICATE_IDS) == [], "duplicate ids")
    findings.done()


# --------------------------------------------------------------------------- 5. keyboard

@pytest.mark.parametrize(("js", "width"), [pytest.param(True, 320, id="js-320"),
                                           pytest.param(False, 1280, id="sans-js-1280"),
                                           pytest.param(True, 1280, id="js-1280"),
                                           pytest.param(False, 320, id="sans-js-320")])
def test_send_by_keyboard(open_page, mailbox, js, width):
    """Tab to the message box, type, Tab to "Envoyer", Enter."""
    conversation = mailbox.start()
    page = open_page(PATIENT, js=js, width=width)
    page.goto(f"/messagerie/{conversation}")
    page.evaluate(MARK)
    tab_to_id(page, "body")
    page.keyboard.type("Merci, à bientôt.")
    info = tab_to_text(page, "Envoyer", "button", limit=4)
    assert info["formAction"] == f"/messagerie/{conversation}", info
    if js:
        page.keyboard.press("Enter")
        support.wait_until(page, """() => document.querySelectorAll("#message-list > li")
            .length === 2""", timeout=SWAP_TIMEOUT)
        wait_settled(page)
        assert page.evaluate(NOT_RELOADED), "the page was reloaded"
        ok, focus = focus_is(page, "e.id === 'body'")
        assert ok, f"focus on {focus}, not back in #body"
        assert page.locator("#body").input_value() == ""
        assert text_of(page.locator("#live-region")) == "Message envoyé."
    else:
        assert press_and_load(page) == 200
        match = re.search(r"/messagerie/[0-9a-f]{32}#message-(\d+)$", page.url)
        assert match, f"not back on the new message: {page.url}"
        assert [int(match.group(1))] == mailbox.message_ids(conversation)[1:]
        banner = page.locator("main .banner[role=status]")
        assert banner.count() == 1 and text_of(banner) == "Message envoyé.", \
            "no 'Message envoyé.' flash in a role=status banner"
        assert page.locator("#reply-form textarea#body").input_value() == ""
    item = page.locator(f"#message-{mailbox.message_ids(conversation)[-1]}")
    assert text_of(item.locator(".message__body")) == "Merci, à bientôt."
    assert not page.js_errors, page.js_errors


# --------------------------------------------------------------------------- 6. the count

@pytest.mark.parametrize(("js", "width"), JS_ONLY)
def test_character_count(open_page, mailbox, js, width):
    """The characters left are shown as one types; the polite live region stays quiet
    while typing and says the same only after a pause of 1.5 s."""
    findings = Findings()
    conversation = mailbox.start()
    page = open_page(PATIENT, js=js, width=width)
    page.goto(f"/messagerie/{conversation}")
    shown = page.locator("#body-count")
    live = page.locator("#body-count-live")
    findings.check(text_of(shown) == "" and text_of(live) == "", "a count before typing")
    page.locator("#body").focus()
    page.keyboard.type("Bonjour docteur")  # 15 characters
    typed_at = time.monotonic()
    findings.check(text_of(shown) == "Caractères restants : 4 985",
                   f"visible count after 15 characters: {text_of(shown)!r}")
    findings.check(text_of(live) == "", f"the live region spoke at once: {text_of(live)!r}")
    page.wait_for_timeout(700)
    findings.check(text_of(live) == "", f"the live region spoke before the pause ended: "
                                        f"{text_of(live)!r}")
    support.wait_until(page, """() => document.getElementById("body-count-live")
        .textContent.trim() !== "" """, timeout=4.0)
    waited = time.monotonic() - typed_at
    findings.check(waited >= 1.3, f"the live region spoke after {waited:.2f} s")
    findings.check(text_of(live) == "Caractères restants : 4 985",
                   f"the live region says {text_of(live)!r}")

    # Typing on: the visible count follows each key; the live region waits again.
    page.keyboard.type(", merci.")
    findings.check(text_of(shown) == "Caractères restants : 4 977", text_of(shown))
    findings.check(text_of(live) == "Caractères restants : 4 985",
                   f"the live region followed the keys: {text_of(live)!r}")
    support.wait_until(page, """() => document.getElementById("body-count-live")
        .textContent.includes("977")""", timeout=4.0)

    # Over the limit: said as characters too many.
    page.fill("#body", "x" * (MAX_BODY + 12))
    findings.check(text_of(shown) == "Caractères en trop : 12", f"over: {text_of(shown)!r}")
    support.wait_until(page, """() => document.getElementById("body-count-live")
        .textContent.includes("en trop")""", timeout=4.0)
    # Emptied: the visible count goes away.
    page.fill("#body", "")
    findings.check(text_of(shown) == "", f"empty box: {text_of(shown)!r}")
    findings.page(page, js, width, "/messagerie/<id> compteur")
    findings.done()


# --------------------------------------------------------------------------- 7. closed

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_closed_conversation(open_page, mailbox, js, width):
    """The doctor closes the conversation while the patient writes: her reply is refused
    with the text given back; reloaded, the page has no form and says it is closed."""
    findings = Findings()
    conversation = mailbox.start()
    page = open_page(PATIENT, js=js, width=width)
    assert page.goto(f"/messagerie/{conversation}").status == 200
    typed = "Une dernière question, docteur."
    page.fill("#body", typed)
    mailbox.close(conversation)
    where = "réponse à une conversation close"
    status = send_reply(page, js)
    check_errors(findings, page, js, status, ["reply-closed"], where,
                 above_the_form=not js)
    findings.check("Cette conversation est close" in text_of(page.locator(
        "main [data-error-summary]")), f"{where}: the summary does not say why")
    findings.check(text_of(page.locator("#reply-form .kept-text")) == typed,
                   f"{where}: the text typed is not given back")
    findings.check(page.locator("#body").count() == 0, f"{where}: a message box is offered")
    findings.check(len(mailbox.message_ids(conversation)) == 1, f"{where}: sent")
    findings.page(page, js, width, f"/messagerie/<id> {where}")

    assert page.goto(f"/messagerie/{conversation}").status == 200
    findings.check(page.locator("#reply-form").count() == 0, "closed: a reply form")
    banner = page.locator("main .banner")
    findings.check(banner.count() == 1 and "Conversation close le" in text_of(banner) and
                   "personne ne peut plus y écrire" in text_of(banner),
                   f"closed: banner {text_of(banner) if banner.count() else None!r}")
    findings.check(message_items(page).count() == 1, "closed: the messages are not shown")
    findings.page(page, js, width, "/messagerie/<id> close")
    assert page.goto("/messagerie").status == 200
    findings.check("conversation close" in text_of(page.locator("main ul.conversations")),
                   "the inbox does not say the conversation is closed")
    findings.done()


# --------------------------------------------------------------------------- 8. attachment

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_save_attachment(open_page, mailbox, js, width):
    """"Enregistrer dans mes documents": the document page, with a confirmation; back in
    the conversation, a link to the document replaces the button."""
    findings = Findings()
    conversation = mailbox.start(attachment=FILE_NAME)
    page = open_page(PATIENT, js=js, width=width)
    assert page.goto(f"/messagerie/{conversation}").status == 200
    status = click_and_load(page, page.get_by_role(
        "button", name=f"Enregistrer dans mes documents : {FILE_NAME}"))
    added = mailbox.document_ids() - mailbox.documents_before
    findings.check(len(added) == 1, f"{len(added)} documents added")
    document_id = next(iter(added), "?")
    findings.check(status == 200 and page.url.endswith(f"/documents/{document_id}"),
                   f"answered {status} at {page.url}")
    banner = page.locator("main .banner[role=status]")
    findings.check(banner.count() == 1 and f"« {FILE_NAME} » est enregistré dans vos "
                   "documents" in text_of(banner), "no confirmation in a role=status banner")
    findings.check(text_of(page.locator("h1")) == "compte-rendu analyses",
                   f"document page h1 {text_of(page.locator('h1'))!r}")
    findings.page(page, js, width, "/documents/<id> enregistré depuis un message")

    assert page.goto(f"/messagerie/{conversation}").status == 200
    link = page.get_by_role("link", name="enregistré dans vos documents")
    findings.check(link.count() == 1 and link.get_attribute("href") ==
                   f"/documents/{document_id}", "no link to the saved document")
    findings.check(page.get_by_role("button", name=re.compile("Enregistrer dans mes "
                                                              "documents")).count() == 0,
                   "the button is still offered")
    findings.page(page, js, width, "/messagerie/<id> pièce enregistrée")
    findings.done()


# --------------------------------------------------------------------------- 9. professional

@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_pro_inbox_conversation_and_close(open_page, mailbox, js, width):
    """The doctor's inbox with the patient's unread reply, the conversation, the
    confirmation page, and the conversation once closed."""
    findings = Findings()
    conversation = mailbox.start(minutes_ago=120)
    mailbox.reply(conversation, PATIENT, "Merci docteur.", minutes_ago=60)
    page = open_page(DOCTOR, js=js, width=width)
    assert page.goto("/pro/messagerie").status == 200
    main = page.locator("main")
    findings.check(text_of(page.locator("h1")) == "Messagerie", text_of(page.locator("h1")))
    findings.check("1 message non lu" in text_of(main), f"inbox: {text_of(main)[:300]!r}")
    item = page.locator("main ul.conversations > li")
    findings.check(item.count() == 1 and PATIENT_NAME in text_of(item) and
                   "1 non lu" in text_of(item), "the conversation is not listed as unread")
    findings.page(page, js, width, "/pro/messagerie")

    status = click_and_load(page, main.get_by_role("link", name=SUBJECT))
    findings.check(status == 200 and page.url.endswith(f"/pro/messagerie/{conversation}"),
                   f"answered {status} at {page.url}")
    findings.check(f"Avec {PATIENT_NAME}" in text_of(page.locator("main .lead")),
                   text_of(page.locator("main .lead")))
    metas = [text_of(meta) for meta in page.locator("#message-list .message__meta").all()]
    findings.check(len(metas) == 2 and metas[0].startswith("Vous — ") and
                   metas[0].endswith("— lu") and metas[1].startswith(f"{PATIENT_NAME} — "),
                   f"messages: {metas}")
    findings.check(page.locator("#reply-form #body").count() == 1, "no reply form")
    findings.check(page.locator("#documents").count() == 0,
                   "the professional is offered the patient's documents")
    open_attach(page)
    findings.page(page, js, width, "/pro/messagerie/<id>")

    status = click_and_load(page, main.get_by_role("link", name="Clore la conversation"))
    findings.check(status == 200 and page.url.endswith(f"/pro/messagerie/{conversation}/clore"),
                   f"answered {status} at {page.url}")
    findings.check(page.title().startswith("Clore la conversation"), page.title())
    findings.check(text_of(page.locator("h1")) == "Clore la conversation ?",
                   text_of(page.locator("h1")))
    findings.check(SUBJECT in text_of(main) and PATIENT_NAME in text_of(main),
                   "the confirmation does not say which conversation")
    findings.check(main.get_by_role("link", name="Annuler").count() == 1, "no way back")
    findings.page(page, js, width, "/pro/messagerie/<id>/clore")

    status = click_and_load(page, main.get_by_role("button", name="Clore la conversation"))
    findings.check(status == 200 and page.url.endswith(f"/pro/messagerie/{conversation}"),
                   f"answered {status} at {page.url}")
    findings.check(mailbox.closed(conversation), "not closed")
    flash = page.locator("main .banner[role=status]")
    findings.check(flash.count() == 1 and "La conversation est close" in text_of(flash),
                   "no confirmation in a role=status banner")
    findings.check("Conversation close le" in text_of(main), "no closed banner")
    findings.check(page.locator("#reply-form").count() == 0, "closed: a reply form")
    findings.check(main.get_by_role("link", name="Clore la conversation").count() == 0,
                   "closed: still offered to close")
    findings.page(page, js, width, "/pro/messagerie/<id> close")
    findings.done()


@pytest.mark.parametrize(("js", "width"), ALL_COMBOS)
def test_pro_new_message(open_page, mailbox, js, width):
    """From the patient page to "Écrire au patient"; sent empty (summary above the h1,
    focused with JavaScript, linking to both fields), then with a subject only (kept),
    then sent: the conversation with a confirmation."""
    findings = Findings()
    page = open_page(DOCTOR, js=js, width=width)
    assert page.goto(f"/pro/patients/{mailbox.patient_id}").status == 200
    status = click_and_load(page, page.locator("main").get_by_role(
        "link", name="Écrire au patient"))
    path = f"/pro/patients/{mailbox.patient_id}/ecrire"
    findings.check(status == 200 and page.url.endswith(path), f"{status} at {page.url}")
    # The h1 names the patient; the title stays generic (ACCESSIBILITY.md, item 2).
    findings.check(page.title() == "Nouveau message – Carnet santé", page.title())
    findings.check(page.locator("main form.form[novalidate]").count() == 1,
                   "form without novalidate")
    for field in ("subject", "body"):
        label = page.locator(f"label[for={field}]")
        findings.check(label.count() == 1 and "(obligatoire)" in text_of(label),
                       f"#{field} has no label saying it is required")
    open_attach(page)
    findings.page(page, js, width, f"{path} vide")

    where = f"{path} envoyé vide"
    status = click_and_load(page, page.locator("main form.form button[type=submit]"))
    check_errors(findings, page, js, status, ["subject", "body"], where, above_the_form=True)
    findings.check("Donnez un objet" in text_of(page.locator("#subject-error")),
                   text_of(page.locator("#subject-error")))
    findings.page(page, js, width, f"{where}")
    follow_summary_link(findings, page, "subject", where)
    follow_summary_link(findings, page, "body", where)

    where = f"{path} sans message"
    page.fill("#subject", "Vos analyses")
    status = click_and_load(page, page.locator("main form.form button[type=submit]"))
    check_errors(findings, page, js, status, ["body"], where, above_the_form=True)
    findings.check(page.locator("#subject").input_value() == "Vos analyses",
                   f"{where}: the subject was not kept")
    findings.page(page, js, width, where)

    page.fill("#body", "Vos résultats sont arrivés.")
    status = click_and_load(page, page.locator("main form.form button[type=submit]"))
    match = re.search(r"/pro/messagerie/([0-9a-f]{32})$", page.url)
    findings.check(status == 200 and match is not None, f"sent: {status} at {page.url}")
    flash = page.locator("main .banner[role=status]")
    findings.check(flash.count() == 1 and text_of(flash) == "Message envoyé.",
                   "no 'Message envoyé.' in a role=status banner")
    findings.check(text_of(page.locator("h1")) == "Vos analyses", text_of(page.locator("h1")))
    findings.check(text_of(message_items(page).last.locator(".message__body")) ==
                   "Vos résultats sont arrivés.", "the message is not shown")
    findings.page(page, js, width, "/pro/messagerie/<id> nouvelle conversation")
    findings.done()


@pytest.mark.parametrize(("js", "width"), [pytest.param(True, 1280, id="js-1280"),
                                           pytest.param(False, 320, id="sans-js-320")])
def test_pro_close_by_keyboard(open_page, mailbox, js, width):
    """From the conversation to the closed conversation with Tab and Enter only."""
    conversation = mailbox.start()
    page = open_page(DOCTOR, js=js, width=width)
    page.goto(f"/pro/messagerie/{conversation}")
    tab_to_text(page, "Clore la conversation", "a")
    assert press_and_load(page) == 200
    assert page.url.endswith(f"/pro/messagerie/{conversation}/clore"), page.url
    tab_to_text(page, "Clore la conversation", "button")
    page.keyboard.press("Tab")
    after = support.focused(page)
    assert after and after["tag"] == "a" and after["text"] == "Annuler", after
    page.keyboard.press("Shift+Tab")
    assert press_and_load(page) == 200
    assert page.url.endswith(f"/pro/messagerie/{conversation}"), page.url
    assert mailbox.closed(conversation)
    assert "La conversation est close" in text_of(page.locator("main .banner[role=status]"))
    assert page.locator("#reply-form").count() == 0
    assert not page.js_errors, page.js_errors


def test_conversations_need_their_people(open_page, mailbox, app):
    """Another id, or a professional without the statement: not found (404), and the error
    page passes axe; the patient cannot open the professional's pages."""
    findings = Findings()
    conversation = mailbox.start()
    page = open_page(PATIENT, js=False, width=1280)
    findings.check(page.goto(f"/messagerie/{'0' * 32}").status == 404, "unknown id")
    findings.check(page.goto(f"/pro/messagerie/{conversation}").status in (403, 404),
                   "the patient opens the professional's conversation page")
    findings.page(page, False, 1280, "/pro/messagerie/<id> as the patient")
    doctor = open_page(DOCTOR, js=True, width=320)
    with app.app_context():
        found = care.relation(db.session, mailbox.patient_id, mailbox.doctor_id)
        found.declared_at = None
        db.session.commit()
        left = db.session.execute(select(func.count()).select_from(Conversation).where(
            Conversation.patient_id == mailbox.patient_id)).scalar_one()
    assert left == 1
    findings.check(doctor.goto(f"/pro/patients/{mailbox.patient_id}/ecrire").status == 404,
                   "writing without the statement")
    findings.page(doctor, True, 320, "/pro/patients/<id>/ecrire sans déclaration")
    findings.done()
