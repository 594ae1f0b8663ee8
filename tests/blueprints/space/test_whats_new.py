"""The dashboard says what is new (issue 17, item 4): documents others added since the
previous visit, the next appointment, emergency accesses since then, unread messages —
each a link; and says so when nothing is."""

from __future__ import annotations

from datetime import date, timedelta

from bs4 import BeautifulSoup
from sqlalchemy import select

from domain import agenda, audit, news, vault
from domain.models import AuditEvent, Category, EmergencyAccess, User
from domain.models.base import utcnow
from extensions import blobs, db, keys
from tests.html_checks import check_page

ACTOR = audit.Actor()


def _users():
    camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
    doctor = db.session.scalars(select(User).where(User.login == "dr.bernard")).one()
    return camille, doctor


def test_nothing_new_is_said(signed_in):
    soup = BeautifulSoup(signed_in("camille.martin").get("/mon-espace").get_data(
        as_text=True), "html.parser")
    heading = soup.find("h2", id="news-title")
    assert heading.get_text() == "Quoi de neuf ?"
    assert "Rien de nouveau" in heading.find_next("p").get_text()


def test_what_is_new_since_the_previous_visit(app, signed_in, tmp_path):
    client = signed_in("camille.martin")
    now = utcnow()
    with app.app_context():
        camille, doctor = _users()
        # The sign-in before this one was two days ago.
        previous = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "auth.login", AuditEvent.actor_id == camille.id)).one()
        audit.record(db.session, keys.ring, "auth.login", actor=audit.Actor(camille.id),
                     subject_id=camille.id, now=now)
        previous.occurred_at = now - timedelta(days=2)
        for name, author in (("Compte rendu", doctor), ("Mon ordonnance", camille)):
            path = tmp_path / f"{name}.txt"
            path.write_bytes(b"x")
            vault.add_document(db.session, keys.ring, blobs.store, patient=camille,
                               author=author, path=path, size=1, kind="txt",
                               mimetype="text/plain", file_name=path.name, title=name,
                               category=Category.REPORTS, document_date=date.today(),
                               hidden=False, source="professional", actor=ACTOR)
        agenda.add(db.session, keys.ring, camille, {
            "kind": "appointment", "title": "Dentiste", "date": (date.today() + timedelta(
                days=3)).isoformat(), "time": "09:30"}, ACTOR)
        db.session.add(EmergencyAccess(patient_id=camille.id, professional_id=doctor.id,
                                       started_at=now - timedelta(hours=3),
                                       ends_at=now - timedelta(hours=2), reason_sealed=b"x"))
        db.session.commit()
        found = news.whats_new(db.session, keys.ring, camille, now)
        assert (found.new_documents, found.emergencies) == (1, 1)  # her own is not news
        assert found.next_item.title == "Dentiste"
    html = client.get("/mon-espace").get_data(as_text=True)
    assert check_page(html) == []
    items = {a.get_text(" ", strip=True): a["href"] for a in BeautifulSoup(
        html, "html.parser").select("ul[aria-labelledby=news-title] a")}
    assert any(text.startswith("1 nouveau document depuis votre dernière visite")
               and href == "/documents" for text, href in items.items()), items
    assert any(text.startswith("Prochain rendez-vous : Dentiste") and "à 09:30" in text
               and href.startswith("/agenda/") for text, href in items.items()), items
    assert any(text.startswith("1 accès en urgence") and href == "/acces/historique"
               for text, href in items.items()), items


def test_the_next_item_is_the_soonest_from_now_in_the_same_round_trip(app, demo_users):
    """The dashboard's one statement (domain/news.py) brings the next agenda item along:
    later today by the clock in Paris, an item without a time first on its day, else the
    soonest day after; none when nothing is ahead."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    day = date(2099, 3, 10)  # far beyond the demo's items
    with app.app_context():
        camille, _doctor = _users()
        for title, when, at in (("Matin", day, "09:00"), ("Après-midi", day, "14:00"),
                                ("Lendemain", day + timedelta(days=1), "08:00")):
            agenda.add(db.session, keys.ring, camille, {
                "kind": "appointment", "title": title, "date": when.isoformat(),
                "time": at}, ACTOR)
        db.session.flush()

        def next_title(hour: int, on: date = day) -> str | None:
            now = datetime(on.year, on.month, on.day, hour, tzinfo=paris)
            found = news.whats_new(db.session, keys.ring, camille, now).next_item
            return found and found.title

        assert (next_title(8), next_title(12), next_title(15)) == (
            "Matin", "Après-midi", "Lendemain")
        assert next_title(9, day + timedelta(days=1)) is None
        agenda.add(db.session, keys.ring, camille, {
            "kind": "reminder", "title": "Toute la journée",
            "date": (day + timedelta(days=1)).isoformat(), "time": ""}, ACTOR)
        db.session.flush()
        assert next_title(15) == next_title(23, day + timedelta(days=1)) == "Toute la journée"
        db.session.rollback()
