"""The profile's PDF summary, built off the request and kept until what it shows changes.

Making the PDF takes about a second, too long for a request. Asking for it (ask()) hands
out the kept PDF when it is still the profile's, or notes that it must be (re)built and
says whether this request should start the work; the work itself (build()) runs outside
the request (web/summary_jobs.py) and stores the PDF sealed with the patient key. A
worker holds the job for LEASE: if its process dies, the next request after that starts
it again. The fingerprint covers everything the PDF shows (every entry, section state and
measure as stored, the person's name and birth date, the day and the language), so any
change makes the next request build a new one; it reads stored bytes only, nothing is
opened to compute it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from domain import audit, exports
from domain.crypto import Keyring, open_sealed, seal
from domain.db import Prepared
from domain.keys import patient_key
from domain.models import AccountRow, Measure, ProfileEntry, ProfileSection, SummaryPdf, User

LEASE = timedelta(minutes=2)
PREPARING, READY, FAILED = "preparing", "ready", "failed"


@dataclass(frozen=True)
class Asked:
    """The answer to ask(): the PDF when it is ready (`content`), else the state of its
    preparation and whether the caller must start a worker (`start`; the worker reads what
    to make from the row, job())."""

    content: bytes | None
    state: str
    start: bool


def _associated(patient_id: str) -> str:
    return f"summary_pdfs.content.{patient_id}"


# What the fingerprint reads (the stored bytes of what the PDF shows), and what the waiting
# page's polling reads of the row: Prepared, so neither loads the kept PDF nor makes an
# ORM session.
_PATIENT = bindparam("patient_id")
_FINGERPRINTED = tuple(Prepared(query) for query in (
    select(ProfileEntry.id, ProfileEntry.payload_sealed).where(
        ProfileEntry.patient_id == _PATIENT).order_by(ProfileEntry.id),
    select(ProfileSection.section, ProfileSection.state_sealed).where(
        ProfileSection.patient_id == _PATIENT).order_by(ProfileSection.section),
    select(Measure.id, Measure.value_sealed).where(
        Measure.patient_id == _PATIENT).order_by(Measure.id)))
_STATE = Prepared(select(SummaryPdf.fingerprint, SummaryPdf.state, SummaryPdf.lease_until)
                  .where(SummaryPdf.patient_id == _PATIENT))


def fingerprint(session: Session, patient: User | AccountRow, today: date,
                language: str) -> str:
    """A digest of everything the summary shows, from the stored (sealed) bytes: an entry
    changed, added or removed, a section said "not concerned", a measure, a new day or
    another language each give another fingerprint."""
    digest = hashlib.sha256()
    for part in (patient.id, today.isoformat(), language, patient.display_name,
                 patient.birth_date.isoformat() if patient.birth_date else ""):
        digest.update(part.encode() + b"\0")
    for query in _FINGERPRINTED:
        digest.update(b"\1")
        for key, sealed in query.all(session, {"patient_id": patient.id}):
            digest.update(key.encode() + b"\0" + hashlib.sha256(sealed).digest())
    return digest.hexdigest()


def ask(session: Session, keyring: Keyring, patient: User, today: date, language: str,
        actor: audit.Actor, now: datetime) -> Asked:
    """The person asks for their PDF summary. Ready and still the profile's: the PDF,
    audited "profile.summary" (output "pdf") as any reading of the profile. Otherwise the
    job is (re)started when nobody holds it: the caller commits, then starts build() with
    the returned fingerprint outside the request."""
    current = fingerprint(session, patient, today, language)
    row = session.scalars(select(SummaryPdf).where(SummaryPdf.patient_id == patient.id)
                          .with_for_update()).first()
    if row is not None and row.fingerprint == current and row.state == READY:
        content = open_sealed(patient_key(keyring, patient), row.content_sealed,
                              _associated(patient.id))
        audit.record(session, keyring, "profile.summary", actor=actor, subject_id=patient.id,
                     details={"output": "pdf"})
        return Asked(content, READY, False)
    if (row is not None and row.state == PREPARING and row.lease_until is not None
            and row.lease_until > now):
        # A worker is at it: at most one per person, whatever they ask meanwhile (another
        # language, a changed profile): it makes what the row says once it is done.
        row.fingerprint, row.language, row.day = current, language, today
        return Asked(None, PREPARING, False)
    if row is None:
        row = SummaryPdf(patient_id=patient.id)
        session.add(row)
    row.fingerprint, row.language, row.day = current, language, today
    row.state, row.lease_until = PREPARING, now + LEASE
    row.requested_at, row.ready_at, row.content_sealed = now, None, None
    session.flush()
    return Asked(None, PREPARING, True)


def state(session: Session, patient: User | AccountRow, today: date, language: str,
          now: datetime) -> str:
    """Where the person's PDF stands, without starting anything (for the page that waits
    for it): READY, PREPARING, or FAILED (also when the worker's lease ran out or the
    profile changed meanwhile: asking again starts it anew)."""
    row = _STATE.first(session, {"patient_id": patient.id})
    if row is None or row.fingerprint != fingerprint(session, patient, today, language):
        return FAILED
    if row.state == PREPARING and (row.lease_until is None or row.lease_until <= now):
        return FAILED
    return row.state


@dataclass(frozen=True)
class Job:
    """What a worker is to make: for this fingerprint, in this language, for this day."""

    fingerprint: str
    language: str
    day: date


def job(session: Session, patient_id: str) -> Job | None:
    """The job waiting for this person's worker, if any (the row may have changed since the
    worker started: it then makes the newer one)."""
    row = session.get(SummaryPdf, patient_id, populate_existing=True)
    if row is None or row.state != PREPARING:
        return None
    return Job(row.fingerprint, row.language, row.day)


def build(session: Session, keyring: Keyring, patient: User, wanted: Job,
          render: Callable[[exports.ProfileSummary], bytes], now: datetime) -> bool:
    """Make the PDF of `wanted` with `render` (which lays it out in wanted.language) and
    keep it sealed; False (nothing kept) when the person asked for something else
    meanwhile: the caller commits and takes the newer job. A failure of `render` marks the
    job failed, for the page to say so and the next request to start it again."""
    mine = (SummaryPdf.patient_id == patient.id, SummaryPdf.state == PREPARING)
    try:
        content = render(exports.load_summary(session, keyring, patient, wanted.day))
    except Exception:
        session.execute(update(SummaryPdf).where(*mine).values(state=FAILED,
                                                               lease_until=None))
        raise
    # Kept only if the row still asks for this very PDF, in one statement: the person may
    # have asked for another meanwhile, or their account may have been erased (the row is
    # gone; an update of a row read earlier would then fail at commit).
    # Should the profile change after this, the next request's fingerprint differs from
    # this one and makes a new one: this one is never shown for it.
    sealed = seal(patient_key(keyring, patient), content, _associated(patient.id))
    kept = session.execute(
        update(SummaryPdf).where(*mine, SummaryPdf.fingerprint == wanted.fingerprint)
        .values(content_sealed=sealed, state=READY, lease_until=None, ready_at=now))
    return kept.rowcount == 1
