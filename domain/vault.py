"""The document vault ("coffre-fort"): adding, listing, reading, changing and deleting
documents, every decision through the access policy and every access in the audit trail.

Crash consistency: the encrypted blob is written first, under a fresh random key, and the
row that points to it is committed after. A crash in between leaves an orphan blob that
nobody can see; once it is older than ORPHAN_GRACE (an upload still committing is younger),
the nightly `flask vault sweep` removes it, and `flask vault verify` reports it.

The counts per category of a person's documents are kept in the transaction that adds,
moves or deletes one (domain/tallies.py): record_sealed, update_document and
delete_document are the only writes of a document's row.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import Select, String, bindparam, select
from sqlalchemy.orm import Session

from domain import audit, care, clock, intake, policy, tallies
from domain.crypto import (
    CHUNK_SIZE,
    Keyring,
    decrypt_chunks,
    document_binding,
    encrypt_chunks,
    new_data_key,
    open_sealed,
    seal,
    unwrap_data_key,
    wrap_data_key,
)
from domain.db import Prepared, mapped_columns, mapped_row, read_rows
from domain.errors import NotAllowed
from domain.keys import patient_key
from domain.models import (
    SYSTEM_CATEGORIES,
    AccountRow,
    AppUpload,
    AuthorKind,
    Category,
    Document,
    MessageAttachment,
    Role,
    User,
)
from domain.models.base import UTCDateTime, new_id, utcnow
from domain.people import by_id as accounts_by_id
from domain.storage import BlobStore

TITLE_MAX = 200
PER_PAGE = 20
CONTROL = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


class DocumentNotFound(Exception):
    """No such document for this person (also when it exists but is not theirs)."""


class InvalidDocument(ValueError):
    """`reason`: title_missing, title_too_long, date_future, category."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _associated(document_id: str, column: str) -> str:
    return f"documents.{column}.{document_id}"


def clean_title(title: str) -> str:
    """The title with control characters and direction marks removed and spaces collapsed;
    InvalidDocument "title_missing" or "title_too_long" (over TITLE_MAX)."""
    title = " ".join(CONTROL.sub(" ", title or "").split())
    if not title:
        raise InvalidDocument("title_missing")
    if len(title) > TITLE_MAX:
        raise InvalidDocument("title_too_long")
    return title


def check_date(value: date, today: date) -> date:
    """The document's date, unchanged; InvalidDocument("date_future") when after `today`."""
    if value > today:
        raise InvalidDocument("date_future")
    return value


@dataclass(frozen=True)
class DocumentView:
    """A document with its sealed fields opened, for one request (the file name only where
    a page shows it). On the patient's list (documents_page), `document` is a row of its
    columns (read-only), not the ORM object."""

    document: Document
    title: str
    file_name: str = ""

    @property
    def id(self) -> str:
        return self.document.id


def _file_pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while piece := handle.read(CHUNK_SIZE):
            yield piece


@dataclass(frozen=True)
class SealedBlob:
    """A file sealed into the store: its blob key, its stored size and SHA-256 (of the
    encrypted bytes), and its data key wrapped by the patient key."""

    key: str
    size: int
    checksum: str
    wrapped_key: bytes


def seal_file(store: BlobStore, key: bytes, binding: str, path: Path, size: int) -> SealedBlob:
    """Encrypt a checked file into the store under a fresh data key wrapped by the patient
    key `key`: the vault's documents and the messages' attachments alike."""
    blob_key, data_key = new_id(), new_data_key()
    digest = hashlib.sha256()

    def sealed_pieces():
        for sealed in encrypt_chunks(data_key, binding, _file_pieces(path), size):
            digest.update(sealed)
            yield sealed

    blob_size = store.put(blob_key, sealed_pieces())
    return SealedBlob(blob_key, blob_size, digest.hexdigest(), wrap_data_key(key, data_key))


def open_blob(keyring: Keyring, store: BlobStore, patient: User, wrapped_key: bytes, binding: str,
              blob_key: str, blob_size: int) -> Iterator[bytes]:
    """The clear content of a sealed blob, chunk by chunk, checked by AES-GCM as it
    streams."""
    data_key = unwrap_data_key(patient_key(keyring, patient), wrapped_key)
    return decrypt_chunks(data_key, binding, store.open(blob_key), blob_size)


def add_document(session: Session, keyring: Keyring, store: BlobStore, *, patient: User,
                 author: User, path: Path, size: int, kind: str, mimetype: str,
                 file_name: str, title: str, category: Category, document_date: date,
                 hidden: bool | None, source: str,
                 actor: audit.Actor, secret_from_representatives: bool = False) -> Document:
    """Encrypt a checked file into the store and record it in the patient's vault."""
    title = clean_title(title)
    check_date(document_date, clock.today())
    document_id = new_id()
    blob = seal_file(store, patient_key(keyring, patient),
                     document_binding(document_id, patient.id), path, size)
    return record_sealed(session, keyring, document_id=document_id, blob=blob,
                         patient=patient, author=author, size=size, kind=kind,
                         mimetype=mimetype, file_name=file_name, title=title,
                         category=category, document_date=document_date, hidden=hidden,
                         source=source, actor=actor,
                         secret_from_representatives=secret_from_representatives)


def record_sealed(session: Session, keyring: Keyring, *, document_id: str, blob: SealedBlob,
                  patient: User, author: User, size: int, kind: str, mimetype: str,
                  file_name: str, title: str, category: Category, document_date: date,
                  hidden: bool | None, source: str, actor: audit.Actor,
                  secret_from_representatives: bool = False,
                  details: dict | None = None) -> Document:
    """Record in the patient's vault a file already sealed into the store under
    `document_id` (its blob is bound to that id), with its title and file name sealed,
    and audit it (`details`: more for the audit row, such as the app that sent it)."""
    title = clean_title(title)
    check_date(document_date, clock.today())
    key = patient_key(keyring, patient)
    is_patient = author.id == patient.id
    document = Document(
        id=document_id, patient_id=patient.id, author_id=author.id,
        author_kind=AuthorKind.PATIENT if is_patient else AuthorKind.PROFESSIONAL,
        source=source, category=category,
        title_sealed=seal(key, title.encode(), _associated(document_id, "title")),
        file_name_sealed=seal(key, file_name.encode(), _associated(document_id, "file_name")),
        document_date=document_date, deposited_at=utcnow(),
        hidden=patient.hide_new_documents if hidden is None else hidden,
        kind=kind, mimetype=mimetype, size=size, blob_key=blob.key, blob_size=blob.size,
        checksum=blob.checksum, wrapped_key=blob.wrapped_key,
        secret_from_representatives=secret_from_representatives and not is_patient)
    session.add(document)
    session.flush()
    tallies.change(session, patient.id, {
        tallies.documents_name(category, document.secret_from_representatives): 1})
    audit.record(session, keyring, "document.added", actor=actor, subject_id=patient.id,
                 target_type="document", target_id=document_id,
                 details={"category": category.value, "kind": kind, "size": size,
                          **(details or {})})
    return document


def deposit(session: Session, keyring: Keyring, store: BlobStore, *,
            incoming: intake.Incoming, limits: intake.Limits, workdir: Path, patient: User,
            author: User, title: str, category: Category, document_date: date,
            hidden: bool | None, source: str, actor: audit.Actor,
            secret_from_representatives: bool = False) -> Document:
    """A file into the patient's vault: spooled, checked and cleaned, sealed, recorded and
    audited, in the caller's transaction. A professional deposits only the categories the
    matrix gives their profession (refused and audited otherwise: NotAllowed). Raises
    uploads.UploadRejected or InvalidDocument for what the person can fix."""
    if author.id != patient.id and not policy.matrix_allows(
            author.profession, author.sector, category, "deposit"):
        audit.record(session, keyring, "document.deposit", actor=actor, outcome="denied",
                     subject_id=patient.id, details={"category": category.value})
        raise NotAllowed("category not in this profession's deposits")
    title = clean_title(title)
    check_date(document_date, clock.today())
    with intake.checked(incoming, limits, workdir) as clean:
        return add_document(
            session, keyring, store, patient=patient, author=author, path=clean.path,
            size=clean.size, kind=clean.kind, mimetype=clean.mimetype,
            file_name=clean.display_name, title=title, category=category,
            document_date=document_date, hidden=hidden, source=source, actor=actor,
            secret_from_representatives=secret_from_representatives)


def deposit_directives(session: Session, keyring: Keyring, store: BlobStore, *,
                       incoming: intake.Incoming, limits: intake.Limits, workdir: Path,
                       patient: User, title: str, document_date: date,
                       actor: audit.Actor) -> Document:
    """The patient's advance directives as a document (never hidden: DESIGN.md §2), which
    replaces the previous ones: the new one is committed first, then the older ones are
    deleted (each commits before its blob goes), so a failure never leaves none."""
    document = deposit(session, keyring, store, incoming=incoming, limits=limits,
                       workdir=workdir, patient=patient, author=patient, title=title,
                       category=Category.ADVANCE_DIRECTIVES, document_date=document_date,
                       hidden=False, source="upload", actor=actor)
    session.commit()
    replace_in_category(session, keyring, store, document, actor)
    return document


@dataclass(frozen=True)
class Download:
    """A document's clear content as it streams, with what the browser needs."""

    chunks: Iterator[bytes]
    name: str
    mimetype: str
    size: int


PREVIEWABLE = ("pdf", "jpeg", "png")


class NotPreviewable(Exception):
    """The browser cannot show this kind inline: the caller answers 404 and keeps nothing
    of the attempt."""


def download(session: Session, keyring: Keyring, store: BlobStore, viewer: User,
             document_id: str, actor: audit.Actor, *, patient: User | None = None,
             opened: care.OpenPatient | None = None, preview: bool = False) -> Download:
    """The document's content if the policy lets `viewer` download it (audited either way;
    DocumentNotFound otherwise). `patient`, when given, is the space the request is in, or
    `opened`, the space a professional opened (care.open_patient()): a document of anyone
    else is refused. The patient key is unwrapped once, for the name and the content."""
    _owner, document = get_document(session, keyring, viewer, document_id,
                                     policy.DocumentAction.DOWNLOAD, actor,
                                     patient_id=patient.id if patient else None,
                                     opened=opened)
    if preview and document.kind not in PREVIEWABLE:
        raise NotPreviewable
    key = patient_key(keyring, _owner)
    name = open_sealed(key, document.file_name_sealed,
                       _associated(document.id, "file_name")).decode()
    data_key = unwrap_data_key(key, document.wrapped_key)
    try:
        blob = store.open(document.blob_key)
    except KeyError:  # deleted, blob included, by another request since it was loaded
        raise DocumentNotFound from None
    chunks = decrypt_chunks(data_key, document_binding(document.id, document.patient_id,
                                                       document.scheme),
                            blob, document.blob_size)
    return Download(chunks, name, document.mimetype, document.size)


def view(keyring: Keyring, patient: User, document: Document) -> DocumentView:
    """The document with its title and file name opened; checks and audits nothing."""
    key = patient_key(keyring, patient)
    return DocumentView(
        document, title_of(key, document),
        open_sealed(key, document.file_name_sealed, _associated(document.id, "file_name")).decode())


def title_of(key: bytes, document: Document) -> str:
    """The document's title, opened with the patient key `key`."""
    return open_sealed(key, document.title_sealed, _associated(document.id, "title")).decode()


@dataclass
class Page:
    """One page of the patient's documents: its opened items, the total matching, the page
    number, the number of pages, the page size and the count per category."""

    items: list[DocumentView]
    total: int
    page: int
    pages: int
    per_page: int
    counts: dict[Category, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _ListSql:
    """The statements of a documents page, built once per shape: the patient, the category
    and the page's bounds are parameters. The page runs on the driver's cursor
    (domain.db.Prepared): the list only shows documents, so a page's documents are rows of
    their columns, not ORM objects. The counts per category are kept (domain.tallies)."""

    page: Prepared
    search: Select


@cache
def _list_sql(representative: bool, by_category: bool) -> _ListSql:
    mine = (Document.patient_id == bindparam("patient_id"),
            *((Document.secret_from_representatives.is_(False),) if representative else ()))
    base = select(*mapped_columns(Document)).where(*mine)
    if by_category:
        base = base.where(Document.category == bindparam("category",
                                                         type_=Document.category.type))
    ordered = base.order_by(Document.document_date.desc(), Document.deposited_at.desc())
    return _ListSql(
        page=Prepared(ordered.offset(bindparam("offset")).limit(bindparam("limit"))),
        search=ordered.with_only_columns(Document.id, Document.title_sealed))


# A list (IN) of ids: through SQLAlchemy (read_rows), as rows of the same columns.
_BY_IDS = select(*mapped_columns(Document)).where(
    Document.id.in_(bindparam("ids", expanding=True)))


def documents_page(session: Session, keyring: Keyring, patient: User, *,
                   category: Category | None = None, query: str = "", page: int = 1,
                   per_page: int = PER_PAGE, representative: bool = False) -> Page:
    """The patient's documents, newest document date first, filtered by category and by
    words of the title. Titles are sealed, so a search opens them (one AES-GCM each).
    For someone acting for the patient, the minor's secret documents are not there at all
    (nor in the counts or the search)."""
    sql = _list_sql(representative, category is not None)
    mine = {"patient_id": patient.id, **({"category": category} if category is not None else {})}
    counts = tallies.documents(session, patient.id, representative=representative)
    words = [word for word in (query or "").casefold().split() if word][:10]
    key = patient_key(keyring, patient)  # unwrapped once per request, not per document
    if not words:
        total = sum(counts.values()) if category is None else counts.get(category, 0)
        pages = max(1, math.ceil(total / per_page))
        page = min(max(page, 1), pages)
        rows = sql.page.all(session, {**mine, "offset": (page - 1) * per_page,
                                      "limit": per_page})
        return Page([DocumentView(row, title_of(key, row)) for row in rows], total, page, pages,
                    per_page, counts)
    # Titles are sealed: the search opens them, reading only the columns it needs.
    hits = [document_id for document_id, title_sealed in read_rows(session, sql.search, mine)
            if all(word in open_sealed(key, title_sealed, _associated(document_id, "title"))
                   .decode().casefold() for word in words)]
    pages = max(1, math.ceil(len(hits) / per_page))
    page = min(max(page, 1), pages)
    shown = hits[(page - 1) * per_page:page * per_page]
    by_id = {row.id: row for row in read_rows(session, _BY_IDS, {"ids": shown})} if (
        shown) else {}
    return Page([DocumentView(by_id[document_id], title_of(key, by_id[document_id]))
                 for document_id in shown], len(hits), page, pages, per_page, counts)


# A patient's documents, newest first, as a professional's page reads them until it is
# full: in the order of their index (ix_documents_patient_listed), so the first rows come
# without sorting all of them; a batch at a time (offset and limit are parameters), rows of
# their columns (the page only shows them).
NEWEST_FIRST = Prepared(
    select(*mapped_columns(Document)).where(Document.patient_id == bindparam("patient_id"))
    .order_by(Document.document_date.desc(), Document.deposited_at.desc())
    .offset(bindparam("offset")).limit(bindparam("limit")))


@dataclass
class ProfessionalPage:
    """One page of the documents a professional may list: the page number and whether an
    older page follows."""

    items: list[DocumentView]
    page: int
    more: bool


def documents_for_professional(session: Session, keyring: Keyring, viewer: User,
                               patient: User, known: policy.CareFacts, page: int = 1,
                               per_page: int = PER_PAGE) -> ProfessionalPage:
    """One page of the patient's documents this professional may list, newest first. The
    policy decides each one on facts gathered once for the page (no query per document);
    rows are read newest first only until the page is full (and one more, to know whether
    an older page follows), and only the shown titles are opened: the first page costs
    the same with 10 documents or 10,000."""
    skip, shown, more = (page - 1) * per_page, [], False
    # One batch holds the page (and one more row) when the policy lets every document
    # through; the next batches are read only while it does not.
    batch, offset = page * per_page + 1, 0
    while True:
        rows = NEWEST_FIRST.all(session, {"patient_id": patient.id, "offset": offset,
                                          "limit": batch})
        for row in rows:
            if not policy.document_allowed(
                    policy.DocumentAction.LIST, viewer.role,
                    care.document_context(session, viewer, row, patient, known),
                    hidden=row.hidden):
                continue
            if skip:
                skip -= 1
            elif len(shown) == per_page:
                more = True
                break
            else:
                shown.append(row)
        if more or len(rows) < batch:
            break
        offset += batch
    key = patient_key(keyring, patient) if shown else None
    return ProfessionalPage([DocumentView(row, title_of(key, row)) for row in shown], page,
                            more)


def authors(session: Session, documents: list[Document]) -> dict[str, AccountRow]:
    """The professionals who deposited these documents (one query), read-only, to name
    them. A document the patient added (in a represented space too: its author is the
    space's person) is named as "you" by every page that shows it: its author is not read,
    and a list of the patient's own documents sends no query."""
    ids = {document.author_id for document in documents
           if document.author_id and document.author_kind != AuthorKind.PATIENT}
    return accounts_by_id(session, ids)


def _document_statement(professional_viewer: bool, read_only: bool):
    """The document, its patient's account and, for a professional, their standing towards
    the patient (care.standing()), in one statement: two or three before, on every view,
    preview or download of a document. For an action that only reads, plain columns built
    once (domain.db.Prepared): rows, not ORM objects, whose loading (and the ORM session
    made for it) cost more than the query; a change takes the ORM rows it writes."""
    standing = (care.standing(Document.patient_id, bindparam("viewer_id", type_=String),
                              bindparam("now", type_=UTCDateTime()))
                if professional_viewer else ())
    if read_only:
        return Prepared(select(*mapped_columns(Document), *AccountRow.selected(), *standing)
                        .join(User, User.id == Document.patient_id)
                        .where(Document.id == bindparam("document_id", type_=String)))
    return (select(Document, User, *standing).join(User, User.id == Document.patient_id)
            .where(Document.id == bindparam("document_id", type_=String)))


# By whether the viewer is a professional and whether the action only reads.
_DOCUMENT = {(flag, read_only): _document_statement(flag, read_only)
             for flag in (False, True) for read_only in (False, True)}
# The actions that only read the document: its page, its preview and its download (and a
# copy attached to a message), the most frequent.
READ_ONLY_ACTIONS = frozenset({policy.DocumentAction.READ, policy.DocumentAction.DOWNLOAD})
# A document's row read without the ORM, named as Document's attributes.
DocumentRow = mapped_row(Document)
_ACCOUNT_AT = len(DocumentRow._fields)
_STANDING_AT = _ACCOUNT_AT + len(AccountRow.COLUMNS)
_DOCUMENT_ALONE = Prepared(select(*mapped_columns(Document))
                           .where(Document.id == bindparam("document_id", type_=String)))


def _read(session: Session, document_id: str, viewer_id: str, professional: bool,
          read_only: bool) -> tuple | None:
    """(document, its patient's account, the viewer's standing columns), or None."""
    parameters = {"document_id": document_id, "viewer_id": viewer_id, "now": utcnow()}
    if read_only:
        row = _DOCUMENT[professional, True].first(session, parameters)
        return None if row is None else (DocumentRow._make(row[:_ACCOUNT_AT]),
                                         AccountRow(row[_ACCOUNT_AT:_STANDING_AT]),
                                         row[_STANDING_AT:])
    row = session.execute(_DOCUMENT[professional, False], parameters).first()
    return None if row is None else (row[0], row[1], row[2:])


def get_document(session: Session, keyring: Keyring, viewer: User, document_id: str,
                 action: policy.DocumentAction, actor: audit.Actor, *,
                 patient_id: str | None = None,
                 opened: care.OpenPatient | None = None,
                 ) -> tuple[User | AccountRow, Document | DocumentRow]:
    """The document if the policy allows `action`; otherwise DocumentNotFound (a 404, so
    another person's id reveals nothing). Both outcomes are audited. For an action that
    only reads (READ_ONLY_ACTIONS), the document and its patient are read-only rows; for a
    change, the ORM rows it writes. With `patient_id`, or
    `opened` (a space a professional opened, its patient and standing already read), a
    document of anyone else is refused too (another patient's document under this
    patient's address)."""
    well_formed = re.fullmatch(r"[0-9a-f]{32}", document_id or "")
    read_only = action in READ_ONLY_ACTIONS
    if opened is not None:
        # The document alone: its patient and the standing came with the space. A
        # professional only reads a patient's documents (the policy lets them change none).
        if not read_only:
            raise ValueError(f"a space a professional opened is only read: {action}")
        row = (_DOCUMENT_ALONE.first(session, {"document_id": document_id}) if well_formed
               else None)
        document = DocumentRow._make(row) if row is not None else None
        patient, known, patient_id = opened.patient, opened.facts, opened.patient.id
    else:
        professional = viewer.role == Role.PROFESSIONAL
        found = (_read(session, document_id, viewer.id, professional, read_only)
                 if well_formed else None)
        document, patient = (found[0], found[1]) if found is not None else (None, None)
        known = (care.facts_of(viewer, patient, *found[2]) if found is not None and professional
                 else None)
    allowed = document is not None and (
        patient_id is None or document.patient_id == patient_id) and policy.document_allowed(
        action, viewer.role, replace(
            care.document_context(session, viewer, document, patient, known),
            for_representative=actor.acting_as == "representative",
            secret_from_representatives=document.secret_from_representatives),
        hidden=document.hidden)
    audit.record(session, keyring, f"document.{action.value}", actor=actor,
                 outcome="success" if allowed else "denied",
                 subject_id=document.patient_id if document else None,
                 target_type="document", target_id=(document_id or "")[:64])
    if not allowed:
        raise DocumentNotFound
    return patient, document


def open_content(keyring: Keyring, store: BlobStore, patient: User,
                 document: Document) -> Iterator[bytes]:
    """The clear content, chunk by chunk, checked by AES-GCM as it streams."""
    return open_blob(keyring, store, patient, document.wrapped_key,
                     document_binding(document.id, document.patient_id, document.scheme),
                     document.blob_key, document.blob_size)


def _hold(session: Session, document: Document) -> str:
    """Lock the document's row until the transaction ends, before changing or deleting it:
    a delete by another request then waits for this one (PostgreSQL; SQLite has one writer
    at a time). DocumentNotFound if such a delete was committed since the document was
    loaded, instead of an UPDATE or DELETE that meets no row. Returns the name of the count
    it is in now (domain.tallies), read with the lock: another request may have changed its
    category since it was loaded."""
    held = session.execute(select(Document.category, Document.secret_from_representatives)
                           .where(Document.id == document.id).with_for_update()).first()
    if held is None:
        raise DocumentNotFound
    return tallies.documents_name(*held)


def update_document(session: Session, keyring: Keyring, patient: User, document: Document, *,
                    title: str, category: Category, document_date: date,
                    actor: audit.Actor) -> None:
    """Change title, category and date of a document (the policy allows own uploads only);
    DocumentNotFound if another request deleted it since it was loaded."""
    title = clean_title(title)
    check_date(document_date, clock.today())
    if category != document.category and (
            category in SYSTEM_CATEGORIES or document.category in SYSTEM_CATEGORIES):
        raise InvalidDocument("category")  # only the service files advance directives
    counted_in = _hold(session, document)
    key = patient_key(keyring, patient)
    document.title_sealed = seal(key, title.encode(), _associated(document.id, "title"))
    document.category, document.document_date = category, document_date
    moved_to = tallies.documents_name(category, document.secret_from_representatives)
    if moved_to != counted_in:
        tallies.change(session, document.patient_id, {counted_in: -1, moved_to: 1})
    audit.record(session, keyring, "document.updated", actor=actor, subject_id=patient.id,
                 target_type="document", target_id=document.id)


def set_default_hidden(patient: User, hidden: bool) -> None:
    """Whether the patient's new documents start hidden from professionals (their own
    uploads ask each time; a professional's deposit follows this)."""
    patient.hide_new_documents = hidden


def set_hidden(session: Session, keyring: Keyring, document: Document, hidden: bool,
               actor: audit.Actor) -> None:
    """Hide the document from professionals, or show it again; DocumentNotFound if another
    request deleted it since it was loaded."""
    _hold(session, document)
    document.hidden = hidden
    audit.record(session, keyring, "document.hidden" if hidden else "document.shown",
                 actor=actor, subject_id=document.patient_id, target_type="document",
                 target_id=document.id)


def delete_document(session: Session, keyring: Keyring, store: BlobStore, document: Document,
                    actor: audit.Actor) -> None:
    """Remove the row, then the blob (a crash in between leaves only an orphan blob);
    DocumentNotFound if another request deleted it first."""
    counted_in = _hold(session, document)
    blob_key = document.blob_key
    audit.record(session, keyring, "document.deleted", actor=actor,
                 subject_id=document.patient_id, target_type="document", target_id=document.id)
    session.delete(document)
    tallies.change(session, document.patient_id, {counted_in: -1})
    session.commit()
    store.delete(blob_key)


def replace_in_category(session: Session, keyring: Keyring, store: BlobStore, keep: Document,
                        actor: audit.Actor) -> int:
    """Delete the patient's other documents of `keep`'s category: a new advance directive
    replaces the previous one."""
    older = session.scalars(select(Document).where(
        Document.patient_id == keep.patient_id, Document.category == keep.category,
        Document.id != keep.id)).all()
    for document in older:
        delete_document(session, keyring, store, document, actor)
    return len(older)


ORPHAN_GRACE = timedelta(hours=1)
"""A blob nobody points to is an orphan only once it is this old: a younger one may be an
upload whose row is about to be committed (or one a crash left a moment ago)."""


@dataclass
class VerifyReport:
    """What verify() found: rows checked, orphan blobs (older than the grace period),
    recent blobs nobody points to yet (in flight, or left by a crash less than the grace
    period ago: not a problem, never deleted), rows whose blob is missing or corrupt (by
    id), and orphans deleted by a repair."""

    checked: int = 0
    orphans: list[str] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    repaired: int = 0

    @property
    def ok(self) -> bool:
        return not (self.orphans or self.missing or self.corrupt)


def _blob_rows(session: Session):
    return session.execute(select(Document.id, Document.blob_key, Document.checksum).union_all(
        select(MessageAttachment.id, MessageAttachment.blob_key, MessageAttachment.checksum),
        select(AppUpload.id, AppUpload.blob_key, AppUpload.checksum)))


def _unreferenced(store: BlobStore, known: set[str], started: datetime,
                  grace: timedelta) -> tuple[list[str], list[str]]:
    """(orphans, recent) among the store's blobs not in known: orphans were written more
    than grace before `started`, when the rows in known were read. Anything written after
    that, or committed after it (its blob written shortly before), is recent, never an
    orphan, however long the listing took."""
    orphans, recent = [], []
    for key, written in store.listing():
        if key not in known:
            (orphans if started - written > grace else recent).append(key)
    return orphans, recent


def verify(session: Session, store: BlobStore, *, repair: bool = False,
           now: datetime | None = None, grace: timedelta = ORPHAN_GRACE) -> VerifyReport:
    """Compare the store with the database (documents, message attachments and the files
    apps sent that wait to be filed): blobs nobody points to (orphans, once older than
    `grace` before `now`, the start; younger ones are reported as recent), rows whose
    blob is gone (missing) and blobs whose checksum no longer matches (corrupt). With
    `repair`, orphans are deleted (they were never visible to anyone); recent ones never
    are, so a repair on a live site cannot take the blob of an upload about to commit."""
    started = now or utcnow()
    report = VerifyReport()
    known: set[str] = set()
    for document_id, blob_key, checksum in _blob_rows(session):
        known.add(blob_key)
        report.checked += 1
        if not store.exists(blob_key):
            report.missing.append(document_id)
            continue
        digest = hashlib.sha256()
        for piece in store.open(blob_key):
            digest.update(piece)
        if digest.hexdigest() != checksum:
            report.corrupt.append(document_id)
    report.orphans, report.recent = _unreferenced(store, known, started, grace)
    if repair:
        for key in report.orphans:
            store.delete(key)
            report.repaired += 1
    return report


def sweep(session: Session, store: BlobStore, *, now: datetime | None = None,
          grace: timedelta = ORPHAN_GRACE) -> int:
    """The nightly clean-up (`flask vault sweep`): delete the blobs nobody points to that
    are older than `grace` (left by a crash between a blob and its row), without reading
    any blob. Returns how many were deleted."""
    started = now or utcnow()
    known = {key for (_id, key, _checksum) in _blob_rows(session)}
    orphans, _recent = _unreferenced(store, known, started, grace)
    for key in orphans:
        store.delete(key)
    return len(orphans)

