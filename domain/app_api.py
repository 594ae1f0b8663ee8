"""The FHIR API's use cases: what a connected app may read, search and add, one call per
request. The grant (domain/apps.py) says which space and which scopes; domain/policy.py
decides (app_scope_allows, app_document_allowed) exactly as it does for the pages; every
call, allowed or refused, is audited as the app ("Application X" in the history).

Another space's ids, unknown ids and ids of something the app may not see all answer
ResourceNotFound alike. A missing scope is OutOfScope (written down, then refused).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import agenda, apps, intake, measures, policy, profile, representation, vault
from domain.crypto import Keyring, document_binding, open_sealed, seal
from domain.fhir import InvalidResource, codes, observation_to_measure, resources, validate
from domain.fhir.wording import Wording
from domain.keys import patient_key
from domain.models import (
    SYSTEM_CATEGORIES,
    AppUpload,
    Category,
    Document,
    InsuredPerson,
    Measure,
)
from domain.models.base import new_id, utcnow
from domain.storage import BlobStore
from domain.uploads import UploadRejected

# The resource types the API serves, and the profile section behind the entry resources.
SECTIONS = {resource: section for section, resource in resources.ENTRY_RESOURCES.items()}
RESOURCE_TYPES = ("Patient", "Observation", *SECTIONS, "DocumentReference", "Appointment")
ID = re.compile(r"[0-9a-f]{32}")
DATE_PARAM = re.compile(r"(eq|ne|gt|lt|ge|le)?(\d{4}-\d{2}-\d{2})")
# Search parameters each type understands (besides `patient`, `_count` and `_format`).
PARAMETERS = {"Observation": ("code", "date")}
COMMON_PARAMETERS = ("patient", "subject", "_count", "_getpagesoffset", "_format")
PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000
NUMBER = re.compile(r"[0-9]{1,10}")


class OutOfScope(Exception):
    """The person did not grant the app this (403)."""


class ResourceNotFound(Exception):
    """No such resource in this space, or one the app may not see (404)."""


class BadSearch(ValueError):
    """A search parameter the API does not know, or a value it cannot read (400)."""

    def __init__(self, parameter: str) -> None:
        super().__init__(parameter)
        self.parameter = parameter


@dataclass(frozen=True)
class Call:
    """Who calls and how to answer: the grant, the caller's address and the words."""

    grant: apps.Grant
    wording: Wording
    ip: str | None = None


def _allow(session: Session, keyring: Keyring, call: Call, resource: str, action: str,
           target_id: str | None = None) -> None:
    if not policy.app_scope_allows(call.grant.scopes, resource, action):
        apps.record_call(session, keyring, call.grant, f"api.{action}", outcome="denied",
                         target_type=resource, target_id=target_id, ip=call.ip)
        raise OutOfScope(f"{resource}.{action}")


def _trace_id(value: str | None) -> str | None:
    """An id as the audit row keeps it: only a well-formed one (what an app sends may hold
    anything, NUL included, which PostgreSQL refuses in text)."""
    return value if value and ID.fullmatch(value) else None


def _denied(session: Session, keyring: Keyring, call: Call, resource: str, action: str,
            target_id: str | None) -> ResourceNotFound:
    apps.record_call(session, keyring, call.grant, f"api.{action}", outcome="denied",
                     target_type=resource, target_id=_trace_id(target_id), ip=call.ip)
    return ResourceNotFound(resource)


def _patient(session: Session, call: Call) -> dict:
    space = call.grant.space
    sex = session.scalars(select(InsuredPerson.sex).where(
        InsuredPerson.user_id == space.id).limit(1)).first()
    return resources.patient(space, sex_code=sex)


def _measures(session: Session, keyring: Keyring, call: Call,
              loinc: set[str] | None = None) -> list[measures.MeasureView]:
    """The space's measures that have a code, only of the kinds whose LOINC code is in
    `loinc` when it is given: other kinds are never read or opened."""
    space = call.grant.space
    kinds = measures.kinds_for(space, representation.today_in_france())
    found = []
    for kind in kinds:
        code = codes.MEASURES.get(kind.key)
        if code is None or (loinc is not None and code.loinc not in loinc):
            continue
        found.extend(measures.history(session, keyring, space, kind))
    return found


def _entries(session: Session, keyring: Keyring, call: Call, resource: str):
    section = profile.BY_KEY[SECTIONS[resource]]
    return profile.load(session, keyring, call.grant.space, (section,))[section.key].entries


def _documents(session: Session, keyring: Keyring, call: Call) -> list[vault.DocumentView]:
    space = call.grant.space
    rows = session.scalars(select(Document).where(Document.patient_id == space.id)
                           .order_by(Document.deposited_at.desc(), Document.id)).all()
    visible = [row for row in rows if _document_allowed(call, row)]
    key = patient_key(keyring, space) if visible else b""
    return [vault.DocumentView(row, vault.title_of(key, row)) for row in visible]


def _document_allowed(call: Call, row: Document,
                      action: policy.DocumentAction = policy.DocumentAction.LIST) -> bool:
    return policy.app_document_allowed(action, policy.DocumentContext(
        is_owner=True, is_author=row.author_id == call.grant.space.id,
        for_representative=call.grant.for_representative,
        secret_from_representatives=row.secret_from_representatives), hidden=row.hidden)


def _all(session: Session, keyring: Keyring, call: Call, resource: str,
         loinc: set[str] | None = None) -> list[dict]:
    """Every resource of a type the app may see in the space, built (for Observation,
    only the kinds `loinc` names, when given)."""
    wording = call.wording
    if resource == "Patient":
        return [_patient(session, call)]
    if resource == "Observation":
        return [resources.observation(view, wording)
                for view in _measures(session, keyring, call, loinc)]
    if resource in SECTIONS:
        return [resources.entry_resource(view, wording)
                for view in _entries(session, keyring, call, resource)]
    if resource == "DocumentReference":
        return [resources.document_reference(view, wording)
                for view in _documents(session, keyring, call)]
    return [resources.appointment(view, wording)
            for view in agenda.between(session, keyring, call.grant.space)]


def read(session: Session, keyring: Keyring, call: Call, resource: str,
         resource_id: str) -> dict:
    """One resource by id (FHIR read), audited "api.read"."""
    _allow(session, keyring, call, resource, "read", _trace_id(resource_id))
    if resource not in RESOURCE_TYPES or not ID.fullmatch(resource_id):
        raise _denied(session, keyring, call, resource, "read", resource_id)
    found = next((item for item in _one(session, keyring, call, resource, resource_id)
                  if item["id"] == resource_id), None)
    if found is None:
        raise _denied(session, keyring, call, resource, "read", resource_id)
    apps.record_call(session, keyring, call.grant, "api.read", target_type=resource,
                     target_id=resource_id, ip=call.ip)
    return found


def _one(session: Session, keyring: Keyring, call: Call, resource: str,
         resource_id: str) -> list[dict]:
    """The candidates for a read, reading no more than needed where a row can be found by
    its id (a measure, a document)."""
    space = call.grant.space
    if resource == "Observation":
        row = session.get(Measure, resource_id)
        if row is None or row.patient_id != space.id or row.kind not in codes.MEASURES:
            return []
        view = measures.MeasureView(row, measures.open_values(keyring, space, row))
        return [resources.observation(view, call.wording)]
    if resource == "DocumentReference":
        row = session.get(Document, resource_id)
        if row is None or row.patient_id != space.id or not _document_allowed(
                call, row, policy.DocumentAction.READ):
            return []
        return [resources.document_reference(vault.view(keyring, space, row), call.wording)]
    return _all(session, keyring, call, resource)


def _date_matches(day: str, tests: list[tuple[str, date]]) -> bool:
    value = date.fromisoformat(day[:10])
    checks = {"eq": value.__eq__, "ne": value.__ne__, "gt": value.__gt__,
              "lt": value.__lt__, "ge": value.__ge__, "le": value.__le__}
    return all(checks[prefix](bound) for prefix, bound in tests)


def _filters(resource: str, params: Mapping[str, list[str]], space_id: str):
    """The search's tests, or BadSearch; None when `patient` names another space (an
    empty result, as for any other patient the app cannot see)."""
    known = PARAMETERS.get(resource, ()) + COMMON_PARAMETERS
    for name in params:
        if name not in known:
            raise BadSearch(name)
    for name, least, largest in (("_count", 1, MAX_PAGE_SIZE),
                                 ("_getpagesoffset", 0, 10**9)):
        for value in params.get(name, []):
            if not NUMBER.fullmatch(value) or not least <= int(value) <= largest:
                raise BadSearch(name)
    for name in ("patient", "subject"):
        for value in params.get(name, []):
            if value.removeprefix("Patient/") != space_id:
                return None
    wanted_codes = set()
    for value in params.get("code", []):
        for item in value.split(","):
            system, _, code = item.rpartition("|")
            if system not in ("", codes.LOINC):
                raise BadSearch("code")
            wanted_codes.add(code)
    dates = []
    for value in params.get("date", []):
        match = DATE_PARAM.fullmatch(value)
        if match is None:
            raise BadSearch("date")
        try:
            dates.append((match.group(1) or "eq", date.fromisoformat(match.group(2))))
        except ValueError:
            raise BadSearch("date") from None
    return wanted_codes, dates


def page_of(params: Mapping[str, list[str]]) -> tuple[int, int]:
    """The page a search asks for: (offset, count), from `_getpagesoffset` and `_count`
    (already checked by search())."""
    count = int((params.get("_count") or [PAGE_SIZE])[-1])
    offset = int((params.get("_getpagesoffset") or [0])[-1])
    return offset, count


def search(session: Session, keyring: Keyring, call: Call, resource: str,
           params: Mapping[str, list[str]]) -> list[dict]:
    """The resources of a type that match the search (FHIR search), audited
    "api.search" with the count found."""
    _allow(session, keyring, call, resource, "search")
    filters = _filters(resource, params, call.grant.space.id)
    found = [] if filters is None else _all(session, keyring, call, resource,
                                            loinc=filters[0] or None)
    if filters is not None and resource == "Observation":
        wanted_codes, dates = filters
        if wanted_codes:
            found = [item for item in found if {coding.get("code") for coding in
                                                item["code"].get("coding", [])} & wanted_codes]
        if dates:
            found = [item for item in found
                     if _date_matches(item.get("effectiveDateTime", ""), dates)]
    apps.record_call(session, keyring, call.grant, "api.search", target_type=resource,
                     ip=call.ip, details={"count": len(found)})
    return found


def create_observation(session: Session, keyring: Keyring, call: Call, body,
                       now: datetime | None = None) -> dict:
    """A measure sent by the app (a connected scale adds a weight): checked
    (domain/fhir/incoming.py, InvalidResource with the reason), recorded in the space and
    audited as the app; the Observation as stored."""
    _allow(session, keyring, call, "Observation", "create")
    now = now or utcnow()
    space = call.grant.space
    try:
        incoming = observation_to_measure(body, space, now=now)
    except InvalidResource:
        apps.record_call(session, keyring, call.grant, "api.create", outcome="refused",
                         target_type="Observation", ip=call.ip)
        raise
    row = measures.add(session, keyring, space, incoming.kind,
                       {**incoming.values, "measured_on": incoming.measured_on.isoformat()},
                       call.grant.actor(call.ip), details={"app": call.grant.app_slug})
    view = measures.MeasureView(row, measures.open_values(keyring, space, row))
    return resources.observation(view, call.wording)


def binary(session: Session, keyring: Keyring, store: BlobStore, call: Call,
           document_id: str) -> vault.Download:
    """A document's content (FHIR Binary), for an app that may read documents: the same
    rule as DocumentReference, audited "api.read"."""
    _allow(session, keyring, call, "DocumentReference", "read", _trace_id(document_id))
    space = call.grant.space
    row = session.get(Document, document_id) if ID.fullmatch(document_id) else None
    if row is None or row.patient_id != space.id or not _document_allowed(
            call, row, policy.DocumentAction.DOWNLOAD):
        raise _denied(session, keyring, call, "Binary", "read", document_id)
    apps.record_call(session, keyring, call.grant, "api.read", target_type="Binary",
                     target_id=document_id, ip=call.ip)
    return vault.Download(vault.open_content(keyring, store, space, row), "", row.mimetype,
                          row.size)


# Documents an app adds: the file first (FHIR Binary, streamed, checked and sealed like any
# upload), then the DocumentReference that files it in the vault with its title, category
# and date. A file never filed is deleted after UPLOAD_LIFETIME.

UPLOAD_LIFETIME = timedelta(hours=1)
MAX_PENDING = 5  # files waiting per connection
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png",
              "image/tiff": "tiff", "text/plain": "txt"}
BINARY_URL = re.compile(r"(?:.*/)?Binary/([0-9a-f]{32})")


class TooManyPending(Exception):
    """The app already has MAX_PENDING files waiting to be filed (429)."""


def file_name_for(content_type: str, given: str | None) -> str:
    """The name an app's file is checked under: the one it gave, else `document` with
    the extension of its Content-Type (the upload checks compare it with the bytes)."""
    if given:
        return given
    return f"document.{EXTENSIONS.get(content_type, 'bin')}"


def drop_expired_uploads(session: Session, store: BlobStore,
                         now: datetime | None = None) -> int:
    """Delete the files apps sent and never filed, past their time; how many."""
    now = now or utcnow()
    expired = session.scalars(select(AppUpload).where(AppUpload.expires_at <= now)).all()
    for upload in expired:
        store.delete(upload.blob_key)
        session.delete(upload)
    session.flush()
    return len(expired)


def stage_binary(session: Session, keyring: Keyring, store: BlobStore, call: Call,
                 incoming: intake.Incoming, limits: intake.Limits, workdir: Path,
                 now: datetime | None = None) -> dict:
    """A file sent by the app (FHIR Binary): checked and cleaned like any upload
    (uploads.UploadRejected otherwise), sealed under the id of the document it will
    become, kept until a DocumentReference files it. The Binary as kept (no content)."""
    _allow(session, keyring, call, "DocumentReference", "create")
    now = now or utcnow()
    drop_expired_uploads(session, store, now)
    connection = call.grant.connection
    waiting = session.scalar(select(func.count()).select_from(AppUpload).where(
        AppUpload.connection_id == connection.id)) or 0
    if waiting >= MAX_PENDING:
        apps.record_call(session, keyring, call.grant, "api.create", outcome="refused",
                         target_type="Binary", ip=call.ip, details={"reason": "pending"})
        raise TooManyPending()
    space = call.grant.space
    key = patient_key(keyring, space)
    try:
        with intake.checked(incoming, limits, workdir) as clean:
            document_id = new_id()
            blob = vault.seal_file(store, key, document_binding(document_id, space.id),
                                   clean.path, clean.size)
            upload = AppUpload(
                id=document_id, connection_id=connection.id,
                file_name_sealed=seal(key, clean.display_name.encode(),
                                      f"app-upload={document_id}|patient={space.id}"),
                created_at=now, expires_at=now + UPLOAD_LIFETIME, kind=clean.kind,
                mimetype=clean.mimetype, size=clean.size, blob_key=blob.key,
                blob_size=blob.size, checksum=blob.checksum, wrapped_key=blob.wrapped_key)
    except UploadRejected as problem:
        apps.record_call(session, keyring, call.grant, "api.create", outcome="refused",
                         target_type="Binary", ip=call.ip, details={"reason": problem.reason})
        raise
    session.add(upload)
    apps.record_call(session, keyring, call.grant, "api.create", target_type="Binary",
                     target_id=document_id, ip=call.ip, details={"size": clean.size})
    session.flush()
    return {"resourceType": "Binary", "id": document_id, "contentType": upload.mimetype}


def _refused(reason: str, message: str, *where: str) -> InvalidResource:
    return InvalidResource(reason, "invalid", message, where)


def _document_fields(body, space_id: str, today: date) -> tuple[str, str, Category, date]:
    """What a DocumentReference gives to file a Binary: its id, the title, the category
    and the document's date; InvalidResource saying what to send otherwise."""
    if not isinstance(body, dict) or body.get("resourceType") != "DocumentReference":
        raise InvalidResource("resource_type", "structure",
                              "Le corps doit être une ressource DocumentReference.",
                              ("resourceType",))
    validate(body)
    if body.get("status") != "current":
        raise _refused("status", "Le statut du document doit être « current ».", "status")
    subject = body.get("subject")
    if subject is not None and subject.get("reference") != f"Patient/{space_id}":
        raise _refused("subject", "Le document doit concerner la personne de cet espace.",
                       "subject")
    contents = body.get("content") or []
    found = BINARY_URL.fullmatch(str(contents[0].get("attachment", {}).get("url", ""))) \
        if len(contents) == 1 else None
    if found is None:
        raise _refused("binary", "Le document doit avoir un seul contenu, dont l’adresse est "
                       "celle d’un Binary envoyé avant (Binary/ suivi de son identifiant).",
                       "content")
    title = (body.get("description") or contents[0]["attachment"].get("title") or "").strip()
    if not title:
        raise _refused("title", "Donnez un titre au document (description).", "description")
    category = Category.OTHER
    for item in body.get("category") or []:
        for coding in item.get("coding") or []:
            if coding.get("system") == codes.DOCUMENT_CATEGORY:
                try:
                    category = Category(coding.get("code"))
                except ValueError:
                    raise _refused("category", "Cette catégorie de document n’existe pas.",
                                   "category") from None
    if category in SYSTEM_CATEGORIES:
        raise _refused("category", "Cette catégorie de document n’existe pas.", "category")
    created = contents[0]["attachment"].get("creation")
    try:
        day = date.fromisoformat(created[:10]) if created else today
    except ValueError:
        raise _refused("date", "La date du document doit être un jour (AAAA-MM-JJ).",
                       "content[0].attachment.creation") from None
    if day > today:
        raise _refused("date", "La date du document ne peut pas être dans le futur.",
                       "content[0].attachment.creation")
    return found.group(1), title, category, day


def create_document(session: Session, keyring: Keyring, store: BlobStore, call: Call, body,
                    now: datetime | None = None) -> dict:
    """File a Binary the app sent into the vault (FHIR DocumentReference create), with
    the space holder as its author and the app in the audit row; the DocumentReference
    as stored."""
    _allow(session, keyring, call, "DocumentReference", "create")
    now = now or utcnow()
    space = call.grant.space
    try:
        upload_id, title, category, day = _document_fields(
            body, space.id, representation.today_in_france(now))
        upload = session.get(AppUpload, upload_id)
        if upload is None or upload.connection_id != call.grant.connection.id \
                or upload.expires_at <= now:
            raise _refused("binary_unknown", "Ce Binary n’existe pas, n’est pas le vôtre ou a "
                           "expiré : envoyez le fichier à nouveau.", "content")
        title = vault.clean_title(title)
    except (InvalidResource, vault.InvalidDocument) as problem:
        apps.record_call(session, keyring, call.grant, "api.create", outcome="refused",
                         target_type="DocumentReference", ip=call.ip)
        if isinstance(problem, vault.InvalidDocument):
            raise _refused("title", "Le titre du document n’est pas valable.",
                           "description") from None
        raise
    key = patient_key(keyring, space)
    file_name = open_sealed(key, upload.file_name_sealed,
                            f"app-upload={upload.id}|patient={space.id}").decode()
    document = vault.record_sealed(
        session, keyring, document_id=upload.id,
        blob=vault.SealedBlob(upload.blob_key, upload.blob_size, upload.checksum,
                              upload.wrapped_key),
        patient=space, author=space, size=upload.size, kind=upload.kind,
        mimetype=upload.mimetype, file_name=file_name, title=title, category=category,
        document_date=day, hidden=None, source="application", actor=call.grant.actor(call.ip),
        details={"app": call.grant.app_slug})
    session.delete(upload)
    session.flush()
    return resources.document_reference(vault.view(keyring, space, document), call.wording)
