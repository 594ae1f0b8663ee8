"""SQL statements per page: none more when the data grows (no N+1), and no more than a
budget written here (issue 20).

For each kind of visitor (the patient, the doctor, the adviser), one test seeds the demo
data, signs in once and counts what the application's engine sends for one GET of each of
its pages: every cursor execution (the session's load and touch, the queries, the audit
trail's writes) and every COMMIT, with a listener on db.engine attached only around the
request. It counts every page with the small demo data, then again after the data has grown
a lot (grow(): Camille's documents, weights, agenda items, conversations, audit events,
connected apps and professionals in her care; the adviser's accompaniments), and checks:

1. FLAT: each page sends as many statements after the growth as before. A page whose count
   grows reads something per row (an N+1); every page that grew is listed, page: before →
   after. A page found growing is not to be silenced here: fix the per-row read (or, until
   then, mark it xfail(strict=True) naming the growth).
2. BUDGET: each page sends at most its number in BUDGET (the statements are listed when
   it does not).

The session's activity is written at most every 15 seconds (domain/sessions.py
TOUCH_EVERY), which would make a count depend on the clock: here it is written on every
request (the worst case, counted every time).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from domain import agenda, assist, audit, care, measures, messaging, vault
from domain import sessions as domain_sessions
from domain.demo import agenda as demo_agenda
from domain.demo import messages as demo_messages
from domain.demo import profile as demo_profile
from domain.models import Accompaniment, Category, Conversation, Representation, Sector, User
from domain.models.base import utcnow
from extensions import blobs, db, keys
from tests.blueprints.pro.test_exclusion import professional_account
from tests.conftest import csrf_from
from tests.oauth_client import token_for

PATIENT, DOCTOR, ADVISER = "camille.martin", "dr.bernard", "conseil.durand"
# Doctors added by the growth, so that what a page reads per professional (a name, a care
# relation) is not hidden by the ORM's identity map, which answers for the same person.
MORE_DOCTORS = ("dr.lambert", "dr.rousseau", "dr.faure")
ACTOR = audit.Actor(acting_as="operator")
# Apps of the catalogue connected to Camille's space: the first by the seed, the rest by the
# growth.
APPS = ("neuf-lunes", "exemple-balance", "glycemie-facile", "esprit-leger")
APP_SCOPES = ("patient/Observation.rs",)

# The pages of each visitor, home first; {conversation} and {patient} are filled with the
# ids seeded.
PAGES = {
    PATIENT: ("/mon-espace", "/documents", "/profil", "/profil/resume", "/profil/mesures",
              "/profil/mesures/poids", "/profil/vaccinations", "/profil/allergies",
              "/agenda", "/messagerie", "/messagerie/{conversation}", "/acces",
              "/acces/historique", "/services-connectes", "/catalogue", "/menu",
              "/espace/{child}/mon-espace", "/espace/{child}/documents"),
    DOCTOR: ("/pro", "/pro/messagerie", "/pro/messagerie/{conversation}",
             "/pro/patients/{patient}"),
    ADVISER: ("/conseiller",),
}

# The most statements each page may send: the counts measured when this test was written,
# exactly, without slack, so that ANY extra statement fails the test. Whoever adds one on
# purpose (and it is not one per row: the flat check says so) raises the number here in
# the same change, consciously. The counts are the same on SQLite and PostgreSQL (no
# SAVEPOINT nor sequence statement differs) but for the audit trail's write, one statement
# on PostgreSQL (budget_of() takes it off); should a page come to differ otherwise, give it
# one number per dialect, for that page only.
BUDGET = {
    "/mon-espace": 4,
    "/documents": 6,
    "/profil": 5,
    "/profil/resume": 9,
    "/profil/mesures": 5,
    "/profil/mesures/poids": 6,
    "/profil/vaccinations": 5,
    "/profil/allergies": 5,
    "/agenda": 9,
    "/messagerie": 9,
    "/messagerie/{conversation}": 12,
    "/acces": 5,
    "/acces/historique": 5,
    "/services-connectes": 4,
    "/catalogue": 3,
    "/menu": 3,
    "/espace/{child}/mon-espace": 3,
    "/espace/{child}/documents": 5,
    "/pro": 3,
    "/pro/messagerie": 9,
    "/pro/messagerie/{conversation}": 11,
    "/pro/patients/{patient}": 11,
    "/conseiller": 5,
}


# Forms posted in a conversation, each from its page (read uncounted for its token): the
# reply without JavaScript (post-redirect-get) and with htmx (the new message's fragment),
# and the professional's close. Each is decided and recorded on the parties get() read
# with the conversation, in one statement, and reads none of them again (the reply read
# them three times more before: to decide, to name the actor and in reply()).
HTMX_REPLY = {"HX-Request": "true", "HX-Target": "message-list"}
POSTS = {
    PATIENT: (("reply", "/messagerie/{conversation}", {"body": "Merci"}, {}, 303),
              ("reply with htmx", "/messagerie/{conversation}", {"body": "Merci"},
               HTMX_REPLY, 200)),
    DOCTOR: (("reply", "/pro/messagerie/{conversation}", {"body": "Bien reçu"}, {}, 303),
             ("reply with htmx", "/pro/messagerie/{conversation}", {"body": "Bien reçu"},
              HTMX_REPLY, 200),
             ("close", "/pro/messagerie/{conversation}/clore", {}, {}, 303)),
}
# As BUDGET, exact. Here the tests send the e-mail a reply queues within the request (the
# outbox's claim, read and delete: six statements, COMMITs included), where production
# leaves it to the worker.
POST_BUDGET = {
    (PATIENT, "reply"): 18,  # 24 before the parties came with the conversation
    (PATIENT, "reply with htmx"): 20,  # 27 before
    (DOCTOR, "reply"): 18,  # 24 before
    (DOCTOR, "reply with htmx"): 20,  # 26 before
    (DOCTOR, "close"): 9,  # 13 before
}


# On PostgreSQL, an audited commit writes the rows and their heads in one statement
# (domain/audit.py _write_statement), where SQLite sends two.
WRITE_ONE = "WITH written AS"


def budget_of(written: int, sent: list[str]) -> int:
    """A budget written for SQLite, less the statement each audit write in one saves."""
    return written - sum(statement.lstrip().startswith(WRITE_ONE) for statement in sent)


# --- data ------------------------------------------------------------------------------------

def _people() -> dict[str, User]:
    return {user.login: user for user in db.session.scalars(select(User)) if user.login}


def _add_documents(patient: User, authors: list[User], count: int, folder) -> None:
    categories = list(Category)
    for number in range(count):
        path = folder / secrets.token_hex(6)
        path.write_bytes(f"contenu {number}".encode())
        vault.add_document(
            db.session, keys.ring, blobs.store, patient=patient,
            author=authors[number % len(authors)], path=path, size=path.stat().st_size,
            kind="txt", mimetype="text/plain; charset=utf-8", file_name="document.txt",
            title=f"Document {number}", category=categories[number % len(categories)],
            document_date=date.today() - timedelta(days=1 + number), hidden=False,
            source="test", actor=ACTOR)


def _add_accompaniments(adviser: User, count: int) -> None:
    """Today's accompaniments at the desk, every other one waiting for its outcome."""
    now = utcnow()
    for number in range(count):
        db.session.add(Accompaniment(
            adviser_id=adviser.id, structure=adviser.workplace,
            purpose=assist.PURPOSES[number % len(assist.PURPOSES)], started_at=now,
            ended_at=now, ended_reason="button",
            outcome=assist.OUTCOMES[0] if number % 2 else None))


def seed(app, tmp_path) -> dict[str, str]:
    """The small demo data, with at least one row of what each page lists: Camille's
    profile, measures and agenda (domain/demo), the conversation with Dr Bernard, who
    declared he cares for her, two documents, one read of hers by him in her history, one
    connected app; one accompaniment waiting for its outcome at the adviser's desk."""
    today = date.today()
    with app.app_context():
        people = _people()
        patient, doctor = people[PATIENT], people[DOCTOR]
        care.declare(db.session, keys.ring, doctor, patient, audit.Actor(doctor.id))
        demo_messages.seed_messages(db.session, keys.ring, PATIENT, DOCTOR)
        demo_profile.seed_profile(db.session, keys.ring, PATIENT, today)
        demo_agenda.seed_agenda(db.session, keys.ring, PATIENT, today)
        _add_documents(patient, [patient, doctor], 2, tmp_path)
        audit.record(db.session, keys.ring, "document.read",
                     actor=audit.Actor(doctor.id, acting_as="professional"),
                     subject_id=patient.id, target_type="document", target_id="0" * 32)
        _add_accompaniments(people[ADVISER], 1)
        db.session.commit()
        conversation = db.session.scalars(select(Conversation.id)).one()
        child = db.session.scalars(select(Representation.represented_id).where(
            Representation.representative_id == patient.id)).one()
        ids = {"conversation": conversation, "patient": patient.id, "child": child}
    token_for(app, PATIENT, APP_SCOPES, app_slug=APPS[0])
    return ids


def grow(app, tmp_path) -> None:
    """Much more data: for Camille 30 documents, 40 weights, 30 agenda items, 10
    conversations of three messages (with Dr Bernard and three more doctors, who declare
    they care for her), 200 audit events about her (the professionals' reads her history
    shows) and three more connected apps; for the adviser 15 more accompaniments today."""
    for login in MORE_DOCTORS:
        professional_account(app, Sector.CARE, login=login)
    today = date.today()
    with app.app_context():
        people = _people()
        patient = people[PATIENT]
        doctors = [people[DOCTOR]] + [people[login] for login in MORE_DOCTORS]
        for doctor in doctors[1:]:
            care.declare(db.session, keys.ring, doctor, patient, audit.Actor(doctor.id))
        _add_documents(patient, [patient, *doctors], 30, tmp_path)
        for number in range(40):
            measures.add(db.session, keys.ring, patient, measures.BY_KEY["weight"],
                         {"value": 60 + number / 10,
                          "measured_on": (today - timedelta(days=100 + number)).isoformat()},
                         ACTOR)
        for number in range(30):
            offset = number + 1 if number % 2 else -(number + 1)  # half to come, half past
            agenda.add(db.session, keys.ring, patient, {
                "kind": "appointment", "title": f"Rendez-vous {number}",
                "date": (today + timedelta(days=offset)).isoformat(), "time": "10:00",
                "place": "Lyon", "professional": "Dr Lambert", "note": None}, ACTOR)
        for number in range(10):
            doctor = doctors[number % len(doctors)]
            conversation, _message = messaging.start(
                db.session, keys.ring, doctor, patient, subject=f"Sujet {number}",
                body="Bonjour", actor=audit.Actor(doctor.id))
            messaging.reply(db.session, keys.ring, patient, conversation, body="Merci",
                            actor=audit.Actor(patient.id))
            messaging.reply(db.session, keys.ring, doctor, conversation, body="Au revoir",
                            actor=audit.Actor(doctor.id))
        for number in range(200):
            doctor = doctors[number % len(doctors)]
            audit.record(db.session, keys.ring, "document.read",
                         actor=audit.Actor(doctor.id, acting_as="professional"),
                         subject_id=patient.id, target_type="document",
                         target_id=f"{number:032x}")
        _add_accompaniments(people[ADVISER], 15)
        db.session.commit()
    for slug in APPS[1:]:
        token_for(app, PATIENT, APP_SCOPES, app_slug=slug)


# --- counting --------------------------------------------------------------------------------

@contextmanager
def statements(app) -> Iterator[list[str]]:
    """The statements the engine sends while the block runs (COMMIT included)."""
    sent: list[str] = []

    def on_execute(_connection, _cursor, statement, *_args):
        sent.append(statement)

    def on_commit(_connection):
        sent.append("COMMIT")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


def count_pages(app, browser, paths: dict[str, str]) -> tuple[dict[str, int], dict]:
    """One GET of each page: how many statements each sent, and which."""
    counts, sent_by_page = {}, {}
    for label, path in paths.items():
        with statements(app) as sent:
            response = browser.get(path)
            response.get_data()  # a streamed body runs to its end
        assert response.status_code == 200, (path, response.status_code)
        counts[label], sent_by_page[label] = len(sent), sent
    return counts, sent_by_page


def _listing(sent: list[str]) -> str:
    return "\n".join("    " + " ".join(statement.split())[:160] for statement in sent)


@pytest.fixture
def touch_every_time(monkeypatch):
    """The session's activity written on every request, whatever the time since the last."""
    monkeypatch.setattr(domain_sessions, "TOUCH_EVERY", timedelta(0))


def _seeded(app, signed_in, tmp_path, login: str):
    """The seed, and the visitor signed in, on their home page (uncounted: what a sign-in
    leaves for the next page, a message to show once, is not the data's doing)."""
    ids = seed(app, tmp_path)
    browser = signed_in(login)
    assert browser.get(PAGES[login][0]).status_code == 200
    return ids, browser


def _over(label: str, sent: list[str], written: int) -> list[str]:
    """The label, its count and its statements, if it sent more than its budget."""
    allowed = budget_of(written, sent)
    return [f"{label}: {len(sent)} > {allowed}\n{_listing(sent)}"] if len(sent) > allowed else []


@pytest.mark.parametrize("login", PAGES)
@pytest.mark.usefixtures("touch_every_time")
def test_statements_per_page_stay_flat_and_within_budget(app, signed_in, tmp_path, login):
    ids, browser = _seeded(app, signed_in, tmp_path, login)
    paths = {label: label.format(**ids) for label in PAGES[login]}
    before, sent_before = count_pages(app, browser, paths)
    grow(app, tmp_path)
    after, _sent_after = count_pages(app, browser, paths)

    grew = [f"{label}: {before[label]} → {after[label]}" for label in paths
            if before[label] != after[label]]
    assert not grew, ("statements per page grew with the data (a query per row?):\n"
                      + "\n".join(grew))
    over = [line for label in paths for line in _over(label, sent_before[label], BUDGET[label])]
    assert not over, "statements over the page's budget (see BUDGET):\n" + "\n".join(over)


@pytest.mark.parametrize("login", POSTS)
@pytest.mark.usefixtures("touch_every_time")
def test_a_form_posted_in_a_conversation_sends_its_budget(app, signed_in, tmp_path, login):
    ids, browser = _seeded(app, signed_in, tmp_path, login)
    over = []
    for name, path, data, headers, status in POSTS[login]:
        path = path.format(**ids)
        token = csrf_from(browser.get(path).get_data(as_text=True))
        with statements(app) as sent:
            response = browser.post(path, data={"csrf_token": token, **data},
                                    headers=headers)
            response.get_data()
        assert response.status_code == status, (name, response.status_code)
        over += _over(name, sent, POST_BUDGET[login, name])
    assert not over, "statements over the form's budget (see POST_BUDGET):\n" + "\n".join(
        over)
