"""A copy of everything a space holds, for the person to keep: a ZIP produced as a stream.

The archive is written to a small unseekable sink and handed out as it grows: whatever the
documents' sizes, the stream holds a few chunks of 64 KiB (the one being decrypted, its
ciphertext, the piece handed out) and zipfile's small buffers, plus about 3 KB per document
(its row, read beforehand, and its entry of the central directory, which zipfile keeps
until the end).
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import agenda_export, audit, vault
from domain.fhir.wording import Wording
from domain.models import Document, User
from domain.models.base import utcnow
from domain.people import represented_by


class _Sink:
    """A write-only file for zipfile that keeps what was written until it is taken.

    It has no tell() or seek(), so zipfile never goes back: it counts the offsets itself and
    writes each member's CRC and sizes in a data descriptor after its data (flag bit 3), then
    the central directory. Readers that start from the central directory (unzip, 7-Zip,
    Windows, macOS, Python) take it as usual; one that only walks the local headers, like
    Java's ZipInputStream, cannot read a stored member written this way."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []

    def write(self, data) -> int:
        self._pieces.append(bytes(data))  # no copy for bytes, zipfile's usual argument
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        pieces, self._pieces = self._pieces, []
        return b"".join(pieces)


@dataclass(frozen=True)
class Standards:
    """What the archive's standard files need from the web layer: the words of the
    patient summary and of the calendar file, in the person's language, and the domain
    that names the calendar's events."""

    fhir: Wording
    calendar: agenda_export.Wording
    uid_domain: str


def space_archive_stream(session: Session, user: User, keyring=None,
                         store=None, representative: bool = False,
                         standards: Standards | None = None) -> Iterator[bytes]:
    """The account's identity and contact details, the spaces it manages and every document
    of the vault, decrypted, one file each under documents/<category>/, the medical
    profile (every section, vaccinations and measures) as JSON with its codes, and every
    conversation with its messages (attachments are named; the vault keeps those saved):
    a ZIP, as an iterator of bytes pieces (``b"".join()`` them where a whole archive is
    wanted, never on a request path). With `standards`, the same space in standard
    formats too: ips.json, the International Patient Summary (a FHIR document Bundle,
    domain/fhir/ips.py), and agenda.ics, the whole agenda with its notes (RFC 5545).

    Everything is read from the database before this returns (the JSON files are ready and
    the documents' rows loaded), so the caller can end its transaction and give the
    connection back before a long download: while the archive streams, only the store and
    the keyring are used, on attributes already loaded. The session may then be committed
    (the app's sessions do not expire what they loaded) or closed, not expired.

    Documents are stored as they are (ZIP_STORED), only the JSON files are deflated: the
    vault holds PDF, JPEG, PNG and TIFF files whose content is already compressed, which
    deflate shrinks by a few per cent at most, for a CPU cost per byte some thirty to fifty
    times that of decrypting them (benchmarks/export.py): on a server of two cores, one
    export would hold a core for close to a minute per gigabyte instead of a second or two.

    A document that fails to decrypt mid-stream raises (AES-GCM refuses altered data); the
    headers being already sent, the download is cut short rather than answered with an
    error page, and the truncated archive has no central directory, so no reader takes it
    for a complete one."""
    stamp = time.localtime()[:6]  # every entry dated from the export, as writestr() does
    files = [("mon-espace/identite.json", _identity(session, user))]
    calendar = None
    if keyring is not None and user.wrapped_key is not None:
        files.append(("mon-espace/profil-medical.json", _profile(session, user, keyring)))
        files.append(("mon-espace/messages.json", _messages(session, user, keyring)))
        if standards is not None:
            files.append(("mon-espace/ips.json", _summary(session, user, keyring, standards,
                                                          representative)))
            calendar = _calendar(session, user, keyring, standards)
    prepared = [(_entry(name, stamp, zipfile.ZIP_DEFLATED),
                 json.dumps(data, ensure_ascii=False, indent=2).encode())
                for name, data in files]
    if calendar is not None:
        prepared.append((_entry("mon-espace/agenda.ics", stamp, zipfile.ZIP_DEFLATED), calendar))
    documents = (_documents(session, user, keyring, stamp, representative)
                 if keyring is not None and store is not None else [])
    return _stream(prepared, documents,
                   lambda document: vault.open_content(keyring, store, user, document))


def _stream(files: list[tuple[zipfile.ZipInfo, bytes]],
            documents: list[tuple[zipfile.ZipInfo, Document]],
            content: Callable[[Document], Iterator[bytes]]) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for info, data in files:
            archive.writestr(info, data)
        for info, document in documents:
            with archive.open(info, "w") as target:
                for piece in content(document):
                    target.write(piece)
                    yield sink.take()  # this chunk, after the previous entry's tail
    yield sink.take()  # the last data descriptor and the central directory


def _entry(name: str, stamp: tuple, compression: int, size: int = 0) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = compression
    info.external_attr = 0o600 << 16  # ?rw-------, as zipfile gives a file by default
    info.file_size = size  # known in advance: zipfile picks ZIP64 from it, when needed
    return info


def _identity(session: Session, user: User) -> dict:
    return {
        "given_name": user.given_name,
        "family_name": user.family_name,
        "birth_date": user.birth_date.isoformat() if user.birth_date else None,
        "login": user.login,
        "email": user.email,
        "phone": user.phone,
        "space_created_at": user.created_at.isoformat(),
        "managed_spaces": [f"{person.given_name} {person.family_name}"
                           for person, _relationship in represented_by(session, user.id)],
        "exported_at": utcnow().isoformat(),
    }


def _profile(session: Session, user: User, keyring) -> dict:
    from domain import measures, profile

    sections = profile.load(session, keyring, user)
    return {
        "sections": {key: {"not_concerned": view.not_concerned,
                           "entries": [{**item.values, "locked": item.entry.locked}
                                       for item in view.entries]}
                     for key, view in sections.items()},
        "measures": {kind.key: [{"date": item.day.isoformat(), **item.values}
                                for item in measures.history(session, keyring, user, kind)]
                     for kind in measures.KINDS},
    }


def _summary(session: Session, user: User, keyring, standards: Standards,
             representative: bool) -> dict:
    from domain.fhir import ips

    return ips.build(session, keyring, user, standards.fhir, representative=representative)


def _calendar(session: Session, user: User, keyring, standards: Standards) -> bytes:
    from domain import agenda

    return agenda_export.build_calendar(agenda.between(session, keyring, user),
                                        standards.calendar, with_notes=True,
                                        uid_domain=standards.uid_domain)


def _messages(session: Session, user: User, keyring) -> list[dict]:
    from domain import messaging
    from domain.models import Conversation

    result = []
    for conversation in session.scalars(select(Conversation).where(
            Conversation.patient_id == user.id).order_by(Conversation.created_at)):
        summary = messaging.view(session, keyring, user, conversation)
        items, _older = messaging.messages(session, keyring, user, conversation,
                                           limit=10**6)
        result.append({
            "subject": summary.subject,
            "professional": summary.professional.display_name,
            "closed_at": conversation.closed_at.isoformat() if conversation.closed_at else None,
            "messages": [{"from": "patient" if item.from_patient else "professional",
                          "sent_at": item.message.sent_at.isoformat(), "text": item.body,
                          "attachments": [file.file_name for file in item.attachments]}
                         for item in items]})
    return result


def _documents(session: Session, user: User, keyring, stamp: tuple,
               representative: bool = False) -> list[tuple[zipfile.ZipInfo, Document]]:
    """Each document's entry in the archive, oldest first (then in the order deposited, so
    the names are the same at every export); a name already taken gains " (bis)" before
    its extension."""
    used: set[str] = set()
    result = []
    mine = select(Document).where(Document.patient_id == user.id)
    if representative:  # the minor's secret documents never leave with a representative
        mine = mine.where(Document.secret_from_representatives.is_(False))
    for document in session.scalars(mine.order_by(Document.document_date, Document.deposited_at,
                                               Document.id)).all():
        item = vault.view(keyring, user, document)
        name = f"mon-espace/documents/{document.category.value}/" \
               f"{document.document_date.isoformat()} {item.file_name}"
        while name in used:
            stem, dot, extension = name.rpartition(".")
            name = f"{stem} (bis).{extension}" if dot else f"{name} (bis)"
        used.add(name)
        result.append((_entry(name, stamp, zipfile.ZIP_STORED, document.size), document))
    return result


# The printable summary of the profile: what a doctor reads in 30 seconds, not an archive.
SUMMARY_SECTIONS = ("blood_group", "allergies", "conditions", "treatments",
                    "hospitalisations", "disabilities", "family_history", "lifestyle",
                    "vaccinations", "emergency_contacts", "trusted_person")
SUMMARY_FIRST = 15  # newest entries per section
SHOWN_WHOLE = {"blood_group", "allergies"}  # never cut what can harm if missed


@dataclass
class ProfileSummary:
    """What the printable profile summary shows: the sections' views, the measure kinds for
    the person's age and the newest value of each."""

    views: list  # profile.SectionView, in SUMMARY_SECTIONS order
    kinds: tuple  # the measure kinds for this person's age
    latest: dict  # measure kind key -> its newest MeasureView


def profile_summary(session: Session, keyring, patient: User, today: date, output: str,
                    actor: audit.Actor) -> ProfileSummary:
    """The profile as its printable summary shows it, audited "profile.summary" with the
    output ("html" or "pdf")."""
    summary = load_summary(session, keyring, patient, today)
    audit.record(session, keyring, "profile.summary", actor=actor, subject_id=patient.id,
                 details={"output": output})
    return summary


def load_summary(session: Session, keyring, patient: User, today: date) -> ProfileSummary:
    """What the printable summary shows, not audited (for a caller that audits the reading
    itself, as domain/summary_pdf.py does when the PDF is handed out): the sections where a
    cut could harm whole, the newest SUMMARY_FIRST entries of the others, and the latest
    value of each measure."""
    from domain import measures, profile

    sections = tuple(profile.BY_KEY[key] for key in SUMMARY_SECTIONS)
    complete = tuple(section for section in sections if section.key in SHOWN_WHOLE)
    views = profile.load(session, keyring, patient, sections, first=SUMMARY_FIRST,
                         whole=complete)
    kinds = measures.kinds_for(patient, today)
    latest = measures.latest(session, keyring, patient, kinds)
    return ProfileSummary([views[key] for key in SUMMARY_SECTIONS], kinds, latest)


def export_space(session: Session, keyring, store, user: User, *,
                 actor: audit.Actor, standards: Standards) -> Iterator[bytes]:
    """The person downloads a copy of their space, with its standard files (`standards`):
    recorded and committed first (the audit chain is not held while the archive is
    prepared), then space_archive_stream(), whose transaction is ended so that no
    connection stays taken while it streams (minutes on a slow link; the loaded rows stay
    readable, sessions do not expire them on commit). Someone acting for the person (a
    parent, a guardian) gets it without the minor's secret documents, in the vault's files
    as in the patient summary."""
    audit.record(session, keyring, "account.exported", actor=actor, subject_id=user.id)
    session.commit()
    chunks = space_archive_stream(session, user, keyring, store,
                                  representative=actor.acting_as == "representative",
                                  standards=standards)
    session.commit()
    return chunks
