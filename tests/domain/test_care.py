"""Care relations without HTTP: finding a patient (NIR + birth date, open spaces only, every
search audited and the NIR never), the non-opposition statement, blocks, and the facts the
document policy decides on for each kind of viewer."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event as sql_event
from sqlalchemy import func, select

from domain import audit, care, emergency, insured, passwords, policy, vault
from domain.errors import NotAllowed
from domain.identifiers import rpps_valid
from domain.models import (
    AccountRow,
    AuditEvent,
    CareRelation,
    Category,
    Document,
    Profession,
    Role,
    Sector,
    SpaceStatus,
    User,
)
from domain.models.base import utcnow
from domain.policy import DocumentAction
from extensions import blobs, db, keys

ACTOR = audit.Actor(ip="127.0.0.1")
CAMILLE_NIR = "288037510802150"
CAMILLE_BORN = date(1988, 3, 14)
UNKNOWN_NIR = "188037510802103"  # valid key, nobody in the insurer's records
JEANNE_NIR = "254071305512392"   # a code was sent, no space yet
LEO_NIR = "119056912345674"      # Camille's son: an active space, managed by her
NIR_PIECES = (CAMILLE_NIR, CAMILLE_NIR[:13], "2 88 03 75 108 021 50", UNKNOWN_NIR, JEANNE_NIR)


# --- helpers ---------------------------------------------------------------------------------

def _people() -> dict[str, User]:
    return {user.login: user for user in db.session.scalars(select(User)) if user.login}


def rpps(prefix: str) -> str:
    """A valid RPPS number (Luhn check digit) starting with this 10-digit prefix."""
    for check in "0123456789":
        if rpps_valid(prefix + check):
            return prefix + check
    raise AssertionError(prefix)


def professional(login: str, profession: Profession = Profession.DOCTOR,
                 sector: Sector | None = Sector.CARE) -> User:
    user = User(role=Role.PROFESSIONAL, login=login, given_name="Test", family_name=login,
                password_hash=passwords.hash_password(secrets.token_hex(10), "fast"),
                rpps=rpps(f"2{secrets.randbelow(10**9):09d}"), profession=profession,
                sector=sector)
    db.session.add(user)
    db.session.flush()
    return user


def _person(nir: str):
    return insured.find_by_nir(db.session, keys.ring, nir)


def _events(action: str) -> list[AuditEvent]:
    """The action's events, in the order they happened, once the work so far is committed
    (as the view does: audit rows are written at commit)."""
    db.session.commit()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.occurred_at, AuditEvent.chain,
                                             AuditEvent.seq)))


def _no_nir_in_audit() -> None:
    for event in db.session.scalars(select(AuditEvent)):
        row = json.dumps({column.name: str(getattr(event, column.key))
                          for column in AuditEvent.__table__.columns})
        compact = row.replace(" ", "")
        for piece in NIR_PIECES:
            assert piece.replace(" ", "") not in compact, (event.action, piece)


def _document(patient: User, author: User, category: Category, hidden: bool = False,
              tmp_path=None) -> Document:
    path = tmp_path / secrets.token_hex(4)
    path.write_bytes(b"contenu")
    return vault.add_document(db.session, keys.ring, blobs.store, patient=patient,
                              author=author, path=path, size=7, kind="txt",
                              mimetype="text/plain; charset=utf-8", file_name="note.txt",
                              title="Note", category=category, document_date=date(2026, 1, 5),
                              hidden=hidden, source="test", actor=ACTOR)


# --- find_patient ----------------------------------------------------------------------------

def test_the_right_nir_and_birth_date_find_the_patient_and_the_search_is_audited(
        app, demo_users):
    with app.app_context():
        people = _people()
        doctor = people["dr.bernard"]
        found = care.find_patient(db.session, keys.ring, doctor, CAMILLE_NIR, CAMILLE_BORN,
                                  audit.Actor(user_id=doctor.id, acting_as="professional"))
        assert found.id == people["camille.martin"].id
        child = care.find_patient(db.session, keys.ring, doctor, LEO_NIR, date(2019, 5, 14),
                                  ACTOR)
        assert child.given_name == "Léo" and child.id != found.id
        events = _events("care.patient_search")
        assert [(e.outcome, e.subject_id) for e in events] == [
            ("success", found.id), ("success", child.id)]
        assert events[0].actor_id == doctor.id and events[0].acting_as == "professional"
        assert json.loads(events[0].details) == {}
        # Finding is not declaring: nothing is recorded as a care relation yet.
        assert db.session.scalar(select(func.count()).select_from(CareRelation)) == 0
        _no_nir_in_audit()


def _close(nir: str, status: SpaceStatus) -> None:
    _person(nir).space_status = status
    db.session.flush()


@pytest.mark.parametrize(("nir", "born", "change"), [
    (CAMILLE_NIR, date(1988, 3, 15), None),          # right NIR, wrong birth date
    (CAMILLE_NIR, date(1989, 3, 14), None),           # wrong year
    (UNKNOWN_NIR, CAMILLE_BORN, None),               # nobody has this NIR
    (JEANNE_NIR, date(1954, 7, 2), None),            # no space yet (a code is pending)
    (CAMILLE_NIR, CAMILLE_BORN, SpaceStatus.CLOSED),
    (CAMILLE_NIR, CAMILLE_BORN, SpaceStatus.OPPOSED),
    (CAMILLE_NIR, CAMILLE_BORN, SpaceStatus.PENDING),
    (CAMILLE_NIR, CAMILLE_BORN, SpaceStatus.DELETED),
], ids=["wrong-day", "wrong-year", "unknown", "pending-code", "closed", "opposed",
        "pending", "deleted"])
def test_no_open_space_means_patient_not_found_and_a_denied_search(app, demo_users, nir,
                                                                   born, change):
    with app.app_context():
        doctor = _people()["dr.bernard"]
        if change is not None:
            _close(nir, change)
        with pytest.raises(care.PatientNotFound):
            care.find_patient(db.session, keys.ring, doctor, nir, born, ACTOR)
        events = _events("care.patient_search")
        assert [(e.outcome, e.subject_id, e.details) for e in events] == [
            ("denied", None, "{}")]
        _no_nir_in_audit()


def test_only_professionals_in_care_can_find_a_patient(app, demo_users):
    with app.app_context():
        people = _people()
        for searcher in (people["camille.martin"], people["conseil.durand"],
                         professional("medecin.travail", sector=Sector.OCCUPATIONAL_HEALTH),
                         professional("sans.secteur", sector=None)):
            with pytest.raises(care.PatientNotFound):
                care.find_patient(db.session, keys.ring, searcher, CAMILLE_NIR, CAMILLE_BORN,
                                  ACTOR)
        events = _events("care.patient_search")
        assert [(e.outcome, e.subject_id) for e in events] == [("denied", None)] * 4
        _no_nir_in_audit()


# --- declare ---------------------------------------------------------------------------------

def test_declare_creates_the_relation_then_refreshes_the_statement(app, demo_users):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        first = care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        db.session.commit()
        assert first.professional_sector == "care" and not first.blocked
        assert first.declared_at is not None
        old = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
        first.declared_at = old
        db.session.commit()
        again = care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        db.session.commit()
        assert again.id == first.id and again.declared_at > old
        assert db.session.scalar(select(func.count()).select_from(CareRelation)) == 1
        events = _events("care.declared")
        assert [(e.outcome, e.subject_id, e.target_type, e.target_id) for e in events] == [
            ("success", patient.id, "professional", doctor.id)] * 2


def test_a_blocked_professional_cannot_declare_again(app, demo_users):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        found = care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        found.blocked, found.declared_at = True, datetime(2025, 1, 2, tzinfo=UTC)
        db.session.commit()
        with pytest.raises(care.Blocked):
            care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        db.session.commit()
        db.session.refresh(found)
        assert found.blocked and found.declared_at == datetime(2025, 1, 2, tzinfo=UTC)
        last = _events("care.declared")[-1]
        assert last.outcome == "denied" and json.loads(last.details) == {"reason": "blocked"}


def test_a_block_without_a_statement_also_refuses_the_statement(app, demo_users):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        db.session.add(CareRelation(patient_id=patient.id, professional_id=doctor.id,
                                    blocked=True))
        db.session.commit()
        with pytest.raises(care.Blocked):
            care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        assert care.relation(db.session, patient.id, doctor.id).declared_at is None


def test_only_professionals_may_declare(app, demo_users):
    with app.app_context():
        people = _people()
        patient = people["camille.martin"]
        for who in (patient, people["conseil.durand"]):
            with pytest.raises(NotAllowed):
                care.declare(db.session, keys.ring, who, patient, ACTOR)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(CareRelation)) == 0
        assert [e.outcome for e in _events("care.declared")] == ["denied", "denied"]


def test_people_around_names_the_attending_doctor_listed_or_not(app, demo_users):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        other = professional("dr.autre")
        assert care.people_around(db.session, patient) == care.PeopleAround([], [], None)
        patient.attending_doctor_id = doctor.id
        db.session.commit()
        # Not listed (never accessed the space): read by id, read-only.
        alone = care.people_around(db.session, patient)
        assert (alone.active, alone.blocked) == ([], [])
        assert alone.attending.id == doctor.id and not isinstance(alone.attending, User)
        assert alone.attending.display_name == doctor.display_name
        # Listed: the very row of the list.
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        care.declare(db.session, keys.ring, other, patient, ACTOR)
        db.session.commit()
        listed = care.people_around(db.session, patient)
        assert {item.person.id for item in listed.active} == {doctor.id, other.id}
        assert any(item.person is listed.attending for item in listed.active)
        care.set_blocked(db.session, keys.ring, patient, other, True, ACTOR)
        db.session.commit()
        one_blocked = care.people_around(db.session, patient)
        assert [item.person.id for item in one_blocked.blocked] == [other.id]
        assert [item.person for item in one_blocked.active] == [one_blocked.attending]
        # Blocking the attending doctor withdraws the designation: nobody is named.
        care.set_blocked(db.session, keys.ring, patient, doctor, True, ACTOR)
        db.session.commit()
        both = care.people_around(db.session, patient)
        assert len(both.blocked) == 2 and both.attending is None


# --- facts and may_open ----------------------------------------------------------------------

def test_facts_and_may_open_follow_the_statement_and_the_block(app, demo_users):
    with app.app_context():
        people = _people()
        patient, doctor, pharmacist = (people["camille.martin"], people["dr.bernard"],
                                       people["pharma.petit"])
        known = care.facts(db.session, doctor, patient)
        assert known == policy.CareFacts(sector=Sector.CARE, profession=Profession.DOCTOR,
                                         declared=False, blocked=False)
        assert not care.may_open(db.session, doctor, patient)
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        assert care.facts(db.session, doctor, patient).declared
        assert care.may_open(db.session, doctor, patient)
        # One professional's statement opens nothing for another.
        assert not care.may_open(db.session, pharmacist, patient)
        # Nor for the same professional towards another patient.
        [child] = [user for user in db.session.scalars(select(User))
                   if user.given_name == "Léo"]  # names are sealed: compared in Python
        assert not care.may_open(db.session, doctor, child)
        care.relation(db.session, patient.id, doctor.id).blocked = True
        db.session.flush()
        assert care.facts(db.session, doctor, patient).blocked
        assert not care.may_open(db.session, doctor, patient)


# --- document_context ------------------------------------------------------------------------

def _allowed(viewer: User, document: Document, action=DocumentAction.READ) -> bool:
    context = care.document_context(db.session, viewer, document)
    return policy.document_allowed(action, viewer.role, context, hidden=document.hidden)


def test_document_context_for_the_patient(app, demo_users, tmp_path):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        mine = _document(patient, patient, Category.OTHER, hidden=True, tmp_path=tmp_path)
        theirs = _document(patient, doctor, Category.REPORTS, tmp_path=tmp_path)
        assert care.document_context(db.session, patient, mine) == policy.DocumentContext(
            is_owner=True, is_author=True)
        assert care.document_context(db.session, patient, theirs) == policy.DocumentContext(
            is_owner=True, is_author=False)
        assert all(_allowed(patient, mine, action) for action in DocumentAction)
        assert _allowed(patient, theirs, DocumentAction.HIDE)
        assert not _allowed(patient, theirs, DocumentAction.DELETE)
        assert not _allowed(patient, theirs, DocumentAction.EDIT)
        # Another patient is nobody to this document.
        other = User(role=Role.PATIENT, login="autre.patient", given_name="A", family_name="B")
        db.session.add(other)
        db.session.flush()
        assert care.document_context(db.session, other, mine) == policy.DocumentContext(
            is_owner=False, is_author=False)
        assert not any(_allowed(other, mine, action) for action in DocumentAction)


def test_document_context_for_a_doctor_declared_or_not(app, demo_users, tmp_path):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        shown = _document(patient, patient, Category.IMAGING, tmp_path=tmp_path)
        hidden = _document(patient, patient, Category.IMAGING, hidden=True, tmp_path=tmp_path)
        context = care.document_context(db.session, doctor, shown)
        assert context == policy.DocumentContext(is_owner=False, is_author=False,
                                                 sector=Sector.CARE)
        assert not context.has_grant and not _allowed(doctor, shown)
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        context = care.document_context(db.session, doctor, shown)
        assert context.has_grant and not context.is_attending_doctor and not context.blocked
        assert _allowed(doctor, shown) and _allowed(doctor, shown, DocumentAction.DOWNLOAD)
        for action in (DocumentAction.EDIT, DocumentAction.DELETE, DocumentAction.HIDE):
            assert not _allowed(doctor, shown, action)
        assert not _allowed(doctor, hidden)  # hidden, and not the attending doctor


def test_document_context_for_a_blocked_doctor(app, demo_users, tmp_path):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        shown = _document(patient, patient, Category.PRESCRIPTIONS, tmp_path=tmp_path)
        own = _document(patient, doctor, Category.PRESCRIPTIONS, tmp_path=tmp_path)
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        patient.attending_doctor_id = doctor.id
        care.relation(db.session, patient.id, doctor.id).blocked = True
        db.session.flush()
        context = care.document_context(db.session, doctor, shown)
        assert context.blocked and context.is_attending_doctor
        # Blocked wins over the grant, the attending doctor and even authorship.
        assert not _allowed(doctor, shown) and not _allowed(doctor, own)


def test_the_attending_doctor_sees_hidden_documents(app, demo_users, tmp_path):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        hidden = _document(patient, patient, Category.LAB_RESULTS, hidden=True,
                           tmp_path=tmp_path)
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        assert not _allowed(doctor, hidden)
        patient.attending_doctor_id = doctor.id
        db.session.flush()
        context = care.document_context(db.session, doctor, hidden)
        assert context.is_attending_doctor and context.has_grant
        assert _allowed(doctor, hidden) and _allowed(doctor, hidden, DocumentAction.DOWNLOAD)
        # The pharmacist, with a statement too, still does not see it.
        pharmacist = people["pharma.petit"]
        care.declare(db.session, keys.ring, pharmacist, patient, ACTOR)
        assert not care.document_context(db.session, pharmacist, hidden).is_attending_doctor
        assert not _allowed(pharmacist, hidden)


def test_the_pharmacist_outside_the_matrix_gets_no_grant(app, demo_users, tmp_path):
    with app.app_context():
        people = _people()
        patient, pharmacist = people["camille.martin"], people["pharma.petit"]
        care.declare(db.session, keys.ring, pharmacist, patient, ACTOR)
        for category in Category:
            document = _document(patient, patient, category, tmp_path=tmp_path)
            context = care.document_context(db.session, pharmacist, document)
            expected = category in {Category.SUMMARY, Category.PRESCRIPTIONS,
                                    Category.LAB_RESULTS, Category.PREVENTION}
            assert context.has_grant is expected, category
            assert _allowed(pharmacist, document) is expected, category
        # What they deposited themselves they read back, whatever the category.
        own = _document(patient, pharmacist, Category.IMAGING, hidden=True, tmp_path=tmp_path)
        context = care.document_context(db.session, pharmacist, own)
        assert context.is_author and not context.has_grant
        assert _allowed(pharmacist, own)


# --- open_patient, acting, deposit_choices ---------------------------------------------------

def test_open_patient_gathers_facts_once_and_audits_only_a_refusal(app, demo_users):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        stranger = professional("dr.inconnu")
        before = len(_events("care.patient_open"))
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        sent = []

        def count(_connection, _cursor, statement, *_rest):
            sent.append(statement)

        sql_event.listen(db.engine, "before_cursor_execute", count)
        try:
            opened = care.open_patient(db.session, keys.ring, doctor, patient.id, ACTOR)
        finally:
            sql_event.remove(db.engine, "before_cursor_execute", count)
        # The account and the standing in one statement (the declaration flushed first).
        assert len([statement for statement in sent if "FROM users" in statement]) == 1
        assert "care_relations" in sent[-1] and "FROM users" in sent[-1]
        assert (opened.patient.id, opened.actor) == (patient.id, ACTOR)
        # The account read without the ORM: the professional's pages never change it.
        assert isinstance(opened.patient, AccountRow)
        assert opened.patient.display_name == patient.display_name
        assert opened.facts.declared and not opened.facts.emergency
        for who, patient_id in ((stranger, patient.id), (doctor, "0" * 32),
                                (doctor, "x" * 200), (patient, patient.id)):
            with pytest.raises(NotAllowed):
                care.open_patient(db.session, keys.ring, who, patient_id, ACTOR,
                                  refusal="message.started")
        refused = _events("message.started")
        assert [event.outcome for event in refused] == ["denied"] * 4
        assert [event.subject_id for event in refused] == [patient.id, None, None, patient.id]
        assert len(_events("care.patient_open")) == before


def test_an_emergency_access_alone_is_recorded_as_such(app, demo_users):
    with app.app_context():
        people = _people()
        patient = people["camille.martin"]
        doctor = professional("dr.urgence")
        emergency.start(db.session, keys.ring, doctor, patient, "Patient inconscient aux "
                        "urgences", now=utcnow(), hours=2, actor=ACTOR)
        opened = care.open_patient(db.session, keys.ring, doctor, patient.id, ACTOR)
        assert opened.actor.acting_as == "professional_emergency"
        assert care.acting(db.session, doctor, patient, ACTOR) == opened.actor
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        assert care.open_patient(db.session, keys.ring, doctor, patient.id,
                                 ACTOR).actor == ACTOR
        assert care.acting(db.session, patient, patient, ACTOR) == ACTOR


def test_deposit_choices_follow_the_matrix_and_refusals_are_audited(app, demo_users):
    with app.app_context():
        people = _people()
        patient, doctor = people["camille.martin"], people["dr.bernard"]
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        opened = care.open_patient(db.session, keys.ring, doctor, patient.id, ACTOR)
        allowed, chosen = care.deposit_choices(db.session, keys.ring, doctor, opened,
                                               "prescriptions")
        assert chosen == Category.PRESCRIPTIONS and Category.ADVANCE_DIRECTIVES not in allowed
        assert list(allowed) == [category for category in Category if category in allowed]
        before = len(_events("document.deposit"))
        assert care.deposit_choices(db.session, keys.ring, doctor, opened,
                                    "directives")[1] is None
        assert care.deposit_choices(db.session, keys.ring, doctor, opened)[1] is None
        refused = _events("document.deposit")[before:]
        assert [(event.outcome, event.subject_id) for event in refused] == [
            ("denied", patient.id)]
