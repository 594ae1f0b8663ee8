"""The agenda as an iCalendar file (RFC 5545, built with the `icalendar` library), for a
download and for the private subscription address a calendar application polls.

The subscription address carries a random 256-bit token; only its SHA-256 is looked up.
The token itself is sealed with the patient key so the settings page can show the address
again, and it dies with the key (crypto-shredding). Regenerating replaces the row, which
revokes the old address at once.

What each file holds:
- the download is made for the signed-in patient, who saves it themselves: every item,
  with its note;
- the subscription is fetched without a session by a calendar service (Google, Apple,
  Microsoft…) that keeps a copy on its servers, and the address can leak (shared screen,
  synced bookmarks): it carries the title, place and professional a calendar needs, never
  the note, which is where people write symptoms and reasons; and only items from the last
  FEED_PAST_DAYS days on.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from domain import audit
from domain.agenda import SITE_ZONE, ItemView, between
from domain.crypto import Keyring, open_sealed, seal, token_hash
from domain.db import Prepared
from domain.keys import patient_key
from domain.models import AccountRow, CalendarFeed, ItemKind, User
from domain.models.base import utcnow

FEED_PAST_DAYS = 365
TOKEN_BYTES = 32
PRODUCT_ID = "-//Carnet sante//Agenda//FR"


class FeedNotFound(Exception):
    """No subscription answers to this token (unknown, revoked, or a closed space)."""


@dataclass(frozen=True)
class Wording:
    """The words the file carries, in the person's language (the domain knows none)."""

    calendar_name: str
    kinds: Mapping[ItemKind, str]
    professional: str  # the label before the professional's name


def _description(view: ItemView, wording: Wording, with_note: bool) -> str:
    lines = [wording.kinds[view.kind]]
    if view.values.get("professional"):
        lines.append(f"{wording.professional} {view.values['professional']}")
    if with_note and view.values.get("note"):
        lines += ["", view.values["note"]]
    return "\n".join(lines)


def build_calendar(views: list[ItemView], wording: Wording, *, with_notes: bool,
                   uid_domain: str) -> bytes:
    """An iCalendar file of these items: a time of day is local time in Europe/Paris
    (TZID with its VTIMEZONE), an item without one is a whole-day event. No end is
    invented: a timed event without DTEND lasts no time (RFC 5545 3.6.1)."""
    cal = Calendar()
    cal.add("prodid", PRODUCT_ID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", wording.calendar_name)
    cal.add("x-wr-timezone", str(SITE_ZONE))
    cal.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT6H")
    for view in views:
        event = Event()
        event.add("uid", f"{view.id}@{uid_domain}")
        event.add("dtstamp", view.item.updated_at.astimezone(UTC))
        event.add("created", view.item.created_at.astimezone(UTC))
        event.add("last-modified", view.item.updated_at.astimezone(UTC))
        event.add("summary", view.title)
        if view.at is None:
            event.add("dtstart", view.day)
            event.add("dtend", view.day + timedelta(days=1))
        else:
            event.add("dtstart", datetime.combine(view.day, view.at, tzinfo=SITE_ZONE))
        if view.values.get("place"):
            event.add("location", view.values["place"])
        event.add("description", _description(view, wording, with_notes))
        event.add("categories", [wording.kinds[view.kind]])
        event.add("transp", "OPAQUE" if view.kind == ItemKind.APPOINTMENT else "TRANSPARENT")
        event.add("class", "PRIVATE")
        cal.add_component(event)
    if any(view.at is not None for view in views):
        years = [view.day.year for view in views]
        cal.add_missing_timezones(first_date=date(max(min(years) - 1, 1970), 1, 1),
                                  last_date=date(max(years) + 1, 12, 31))
    return cal.to_ical()


def export(session: Session, keyring: Keyring, patient: User, wording: Wording,
           uid_domain: str, actor: audit.Actor) -> bytes:
    """The whole agenda, notes included, for the patient's own download (audited)."""
    views = between(session, keyring, patient)
    audit.record(session, keyring, "agenda.exported", actor=actor, subject_id=patient.id,
                 details={"items": len(views)})
    return build_calendar(views, wording, with_notes=True, uid_domain=uid_domain)


# --------------------------------------------------------------------------- subscription

def _token_associated(patient_id: str) -> str:
    return f"calendar_feeds.token.{patient_id}"


# The export page shows the address again on every view: read on the connection
# (Prepared), with no ORM session.
_FEED = Prepared(select(CalendarFeed.token_sealed)
                 .where(CalendarFeed.patient_id == bindparam("patient_id")))


def feed_token(session: Session, keyring: Keyring, patient: User | AccountRow) -> str | None:
    """The current subscription token, to show the address again; None without one."""
    feed = _FEED.first(session, {"patient_id": patient.id})
    if feed is None:
        return None
    return open_sealed(patient_key(keyring, patient), feed.token_sealed,
                       _token_associated(patient.id)).decode()


def regenerate(session: Session, keyring: Keyring, patient: User, actor: audit.Actor) -> str:
    """A new subscription token; the previous address stops working at once."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    sealed = seal(patient_key(keyring, patient), token.encode(), _token_associated(patient.id))
    feed = session.get(CalendarFeed, patient.id)
    replaced = feed is not None
    if feed is None:
        session.add(CalendarFeed(patient_id=patient.id, token_hash=token_hash(token),
                                 token_sealed=sealed, created_at=utcnow()))
    else:
        feed.token_hash, feed.token_sealed, feed.created_at = (token_hash(token), sealed,
                                                               utcnow())
    session.flush()
    audit.record(session, keyring, "agenda.feed_regenerated", actor=actor,
                 subject_id=patient.id, details={"replaced": replaced})
    return token


def revoke(session: Session, keyring: Keyring, patient: User, actor: audit.Actor) -> bool:
    """Stop the subscription: the address answers 404 from now on."""
    feed = session.get(CalendarFeed, patient.id)
    if feed is None:
        return False
    session.delete(feed)
    audit.record(session, keyring, "agenda.feed_revoked", actor=actor, subject_id=patient.id)
    return True


def feed(session: Session, keyring: Keyring, token: str, wording: Wording, uid_domain: str,
         on: date, actor: audit.Actor) -> bytes:
    """The subscription file for a token, or FeedNotFound (unknown or revoked token, closed
    space). The lookup is by the token's SHA-256, then compared in constant time; both
    outcomes are audited, with no actor (the calendar service has no account) and the
    patient as subject when known."""
    digest = token_hash(token) if 20 <= len(token) <= 100 else ""
    found = session.scalars(select(CalendarFeed).where(CalendarFeed.token_hash == digest)
                            ).first() if digest else None
    patient = session.get(User, found.patient_id) if found is not None else None
    if (found is None or not hmac.compare_digest(found.token_hash, digest)
            or patient is None or not patient.enabled or patient.wrapped_key is None):
        audit.record(session, keyring, "agenda.feed_read", actor=actor, outcome="denied",
                     subject_id=patient.id if patient else None)
        raise FeedNotFound()
    views = between(session, keyring, patient, first=on - timedelta(days=FEED_PAST_DAYS))
    audit.record(session, keyring, "agenda.feed_read", actor=actor, subject_id=patient.id,
                 details={"items": len(views)})
    return build_calendar(views, wording, with_notes=False, uid_domain=uid_domain)
