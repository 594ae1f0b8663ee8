"""The vault's rules without HTTP: encryption at rest, policy, search, rotation, shredding,
crash consistency."""

from __future__ import annotations

import io
import secrets
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain import audit, intake, policy, uploads, vault
from domain.crypto import CryptoError, Keyring, add_kek_version
from domain.errors import NotAllowed
from domain.keys import rewrap_patient_keys
from domain.models import (
    EXCLUDED_SECTORS,
    AuditEvent,
    Category,
    Document,
    Profession,
    Role,
    Sector,
    User,
)
from domain.models.base import new_id, utcnow
from domain.storage import LocalBlobStore
from extensions import db, keys

ACTOR = audit.Actor(ip="127.0.0.1")


@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(tmp_path / "blobs")


def _users(app):
    users = {user.login: user for user in db.session.execute(select(User)).scalars()
             if user.login}
    return users["camille.martin"], users["dr.bernard"]


def _add(store, patient, author, tmp_path, content=b"%PDF-1.4 test", title="Ordonnance",
         category=Category.PRESCRIPTIONS, day=date(2026, 3, 3), hidden=False):
    path = tmp_path / secrets.token_hex(4)
    path.write_bytes(content)
    return vault.add_document(db.session, keys.ring, store, patient=patient, author=author,
                              path=path, size=len(content), kind="pdf",
                              mimetype="application/pdf", file_name="ordonnance-été.pdf",
                              title=title, category=category, document_date=day,
                              hidden=hidden, source="upload", actor=ACTOR)


def test_content_and_title_are_encrypted_at_rest(app, demo_users, store, tmp_path):
    with app.app_context():
        patient, _doctor = _users(app)
        content = b"CANARY-CONTENT-" + secrets.token_bytes(200_000)
        document = _add(store, patient, patient, tmp_path, content, title="Titre-Canari-77")
        db.session.commit()
        blob = b"".join(store.open(document.blob_key))
        assert b"CANARY-CONTENT-" not in blob and b"Titre-Canari-77" not in document.title_sealed
        assert b"".join(vault.open_content(keys.ring, store, patient, document)) == content
        assert vault.view(keys.ring, patient, document).file_name == "ordonnance-été.pdf"


def test_list_search_filter_and_pages(app, demo_users, store, tmp_path):
    with app.app_context():
        patient, _doctor = _users(app)
        for index in range(25):
            _add(store, patient, patient, tmp_path, title=f"Analyse sanguine {index}",
                 category=Category.LAB_RESULTS, day=date(2026, 1, 1 + index))
        _add(store, patient, patient, tmp_path, title="Radio du genou",
             category=Category.IMAGING)
        db.session.commit()
        first = vault.documents_page(db.session, keys.ring, patient)
        assert first.total == 26 and first.pages == 2 and len(first.items) == 20
        assert first.items[0].title == "Radio du genou"  # newest document date first
        assert first.counts[Category.LAB_RESULTS] == 25
        found = vault.documents_page(db.session, keys.ring, patient, query="GENOU")
        assert [item.title for item in found.items] == ["Radio du genou"]
        imaging = vault.documents_page(db.session, keys.ring, patient, category=Category.IMAGING)
        assert imaging.total == 1
        last = vault.documents_page(db.session, keys.ring, patient, page=99)
        assert last.page == 2 and len(last.items) == 6


def test_authors_names_the_depositing_professionals_and_reads_nothing_for_her_own(
        app, demo_users, store, tmp_path):
    """The pages name a document's depositing professional; one the patient added is
    "yours" on every page: a list of her own documents reads no account."""
    from sqlalchemy import event as sql_event

    with app.app_context():
        patient, doctor = _users(app)
        own = [_add(store, patient, patient, tmp_path, title=f"Mien {index}")
               for index in range(3)]
        deposited = _add(store, patient, doctor, tmp_path, title="Compte rendu")
        db.session.commit()
        page = vault.documents_page(db.session, keys.ring, patient)
        rows = {item.document.id: item.document for item in page.items}
        sent = []

        def seen(_connection, _cursor, statement, *_rest):
            sent.append(statement)

        sql_event.listen(db.engine, "before_cursor_execute", seen)
        try:
            mine_only = vault.authors(db.session, [rows[document.id] for document in own])
            assert (mine_only, sent) == ({}, [])
            named = vault.authors(db.session, list(rows.values()))
        finally:
            sql_event.remove(db.engine, "before_cursor_execute", seen)
        assert list(named) == [doctor.id] and len(sent) == 1
        assert named[doctor.id].display_name == doctor.display_name
        assert named[doctor.id].profession == doctor.profession
        # The ORM rows a change loads are named the same way.
        assert list(vault.authors(db.session, [*own, deposited])) == [doctor.id]


MATRIX = [
    # role, owner, author, hidden, grant, attending, blocked, action, expected
    (Role.PATIENT, True, True, False, False, False, False, "delete", True),
    (Role.PATIENT, True, False, False, False, False, False, "delete", False),
    (Role.PATIENT, True, False, False, False, False, False, "edit", False),
    (Role.PATIENT, True, False, True, False, False, False, "read", True),
    (Role.PATIENT, True, False, False, False, False, False, "hide", True),
    (Role.PATIENT, False, False, False, False, False, False, "read", False),
    (Role.PROFESSIONAL, False, True, True, False, False, False, "read", True),
    (Role.PROFESSIONAL, False, False, False, True, False, False, "read", True),
    (Role.PROFESSIONAL, False, False, True, True, False, False, "read", False),
    (Role.PROFESSIONAL, False, False, True, True, True, False, "read", True),
    (Role.PROFESSIONAL, False, False, False, True, False, True, "read", False),
    (Role.PROFESSIONAL, False, False, False, False, False, False, "download", False),
    (Role.PROFESSIONAL, False, True, False, True, False, False, "delete", False),
    (Role.PROFESSIONAL, False, True, False, True, False, False, "hide", False),
    (Role.ADVISER, False, False, False, True, False, False, "read", False),
    (Role.OPERATOR, False, False, False, True, False, False, "read", False),
    (None, False, False, False, False, False, False, "list", False),
]


@pytest.mark.parametrize(("role", "owner", "author", "hidden", "grant", "attending",
                          "blocked", "action", "expected"), MATRIX)
def test_document_policy(role, owner, author, hidden, grant, attending, blocked, action,
                         expected):
    context = policy.DocumentContext(is_owner=owner, is_author=author, has_grant=grant,
                                     is_attending_doctor=attending, blocked=blocked,
                                     sector=Sector.CARE if role == Role.PROFESSIONAL else None)
    assert policy.document_allowed(policy.DocumentAction(action), role, context,
                                   hidden=hidden) is expected


@pytest.mark.parametrize("sector", [None, *sorted(EXCLUDED_SECTORS)])
@pytest.mark.parametrize("action", list(policy.DocumentAction))
def test_excluded_sectors_get_nothing_whatever_else_is_true(sector, action):
    """Insurers, mutuelles, occupational medicine, employers (and an unknown sector): no
    document, even as its author, attending doctor, with a grant, hidden or not."""
    context = policy.DocumentContext(is_owner=False, is_author=True, has_grant=True,
                                     is_attending_doctor=True, sector=sector)
    for hidden in (False, True):
        assert not policy.document_allowed(action, Role.PROFESSIONAL, context, hidden=hidden)


def test_another_persons_document_is_not_found_and_the_refusal_is_audited(
        app, demo_users, store, tmp_path):
    with app.app_context():
        patient, doctor = _users(app)
        document = _add(store, patient, patient, tmp_path)
        db.session.commit()
        for viewer in (doctor,):
            with pytest.raises(vault.DocumentNotFound):
                vault.get_document(db.session, keys.ring, viewer, document.id,
                                   policy.DocumentAction.READ, ACTOR)
        with pytest.raises(vault.DocumentNotFound):
            vault.get_document(db.session, keys.ring, patient, "../" + document.id,
                               policy.DocumentAction.READ, ACTOR)
        db.session.commit()  # as the view does: the refusals' audit rows are kept
        from domain.models import AuditEvent

        outcomes = db.session.execute(select(AuditEvent.outcome).where(
            AuditEvent.action == "document.read")).scalars().all()
        assert outcomes == ["denied", "denied"]


def test_rotation_keeps_every_document_readable(app, demo_users, store, tmp_path):
    with app.app_context():
        patient, _doctor = _users(app)
        document = _add(store, patient, patient, tmp_path, content=b"avant rotation")
        db.session.commit()
        blob_before = b"".join(store.open(document.blob_key))
        path = tmp_path / "keys.json"
        path.write_text(open(app.config["CARNET_KEY_FILE"]).read())
        version = add_kek_version(path)
        rotated = Keyring.from_file(path)
        assert rewrap_patient_keys(db.session, rotated) >= 1
        db.session.refresh(patient)
        assert patient.kek_version == version
        assert b"".join(store.open(document.blob_key)) == blob_before  # blobs untouched
        assert b"".join(vault.open_content(rotated, store, patient, document)) == (
            b"avant rotation")
        assert rewrap_patient_keys(db.session, rotated) == 0


def test_shredding_the_patient_key_makes_every_blob_unreadable(app, demo_users, store,
                                                                tmp_path):
    with app.app_context():
        patient, _doctor = _users(app)
        document = _add(store, patient, patient, tmp_path)
        wrapped = patient.wrapped_key
        patient.wrapped_key = None
        with pytest.raises(CryptoError):
            b"".join(vault.open_content(keys.ring, store, patient, document))
        patient.wrapped_key = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
        with pytest.raises(CryptoError):
            b"".join(vault.open_content(keys.ring, store, patient, document))


def _kept_then_interrupted(app, store, tmp_path):
    """One document committed, then one whose process died before COMMIT: (patient, the
    kept document)."""
    patient, _doctor = _users(app)
    kept = _add(store, patient, patient, tmp_path, title="Gardé")
    db.session.commit()
    _add(store, patient, patient, tmp_path, title="Jamais validé")
    db.session.rollback()
    return patient, kept


def test_a_crash_between_blob_and_commit_leaves_only_an_orphan(app, demo_users, store,
                                                               tmp_path):
    with app.app_context():
        patient, kept = _kept_then_interrupted(app, store, tmp_path)
        assert vault.documents_page(db.session, keys.ring, patient).total == 1
        # just now, it may be an upload about to commit: reported, kept, not a failure
        report = vault.verify(db.session, store, repair=True)
        assert report.ok and len(report.recent) == 1 and report.repaired == 0
        (left,) = report.recent
        assert store.exists(left) and vault.sweep(db.session, store) == 0
        later = utcnow() + vault.ORPHAN_GRACE + timedelta(minutes=1)
        report = vault.verify(db.session, store, now=later)
        assert report.orphans == [left] and not report.ok
        assert not report.recent and not report.missing and not report.corrupt
        repaired = vault.verify(db.session, store, repair=True, now=later)
        assert repaired.repaired == 1 and not store.exists(left)
        assert vault.verify(db.session, store, now=later).ok
        assert store.exists(kept.blob_key)


def test_the_sweep_deletes_only_old_blobs_nobody_points_to(app, demo_users, store,
                                                          tmp_path):
    with app.app_context():
        _patient, kept = _kept_then_interrupted(app, store, tmp_path)
        (orphan,) = vault.verify(db.session, store).recent
        later = utcnow() + vault.ORPHAN_GRACE + timedelta(minutes=1)
        young = new_id()  # written after the sweep started: an upload committing
        store.put(young, [b"x"])
        assert vault.sweep(db.session, store, now=later - timedelta(hours=2)) == 0
        assert vault.sweep(db.session, store, now=later,
                           grace=later - utcnow() + timedelta(seconds=30)) == 0
        assert vault.sweep(db.session, store, now=later) == 2
        assert not store.exists(orphan) and not store.exists(young)
        assert store.exists(kept.blob_key)
        assert vault.verify(db.session, store, now=later).ok


def test_verify_finds_corrupt_and_missing_blobs(app, demo_users, store, tmp_path):
    with app.app_context():
        patient, _doctor = _users(app)
        first = _add(store, patient, patient, tmp_path, title="Un")
        second = _add(store, patient, patient, tmp_path, title="Deux")
        db.session.commit()
        blob = bytearray(b"".join(store.open(first.blob_key)))
        blob[-1] ^= 1
        store.put(first.blob_key, [bytes(blob)])
        store.delete(second.blob_key)
        report = vault.verify(db.session, store)
        assert report.corrupt == [first.id] and report.missing == [second.id]
        assert db.session.get(Document, first.id) is not None


# --- the use cases: deposit and download -----------------------------------------------------

LIMITS = intake.Limits(max_bytes=1024 * 1024, max_pixels=1_000_000)


def _deposit(store, patient, author, tmp_path, content=b"Compte rendu\n", name="cr.txt",
             category=Category.REPORTS):
    return vault.deposit(
        db.session, keys.ring, store, incoming=intake.Incoming(io.BytesIO(content), name),
        limits=LIMITS, workdir=tmp_path / "work", patient=patient, author=author,
        title="Compte rendu", category=category, document_date=date(2026, 3, 3),
        hidden=None, source="professional", actor=ACTOR)


def test_deposit_takes_a_plain_stream_and_leaves_nothing_in_clear(app, demo_users, store,
                                                                   tmp_path):
    with app.app_context():
        patient, doctor = _users(app)
        document = _deposit(store, patient, doctor, tmp_path)
        db.session.commit()
        assert (document.kind, document.author_id) == ("txt", doctor.id)
        assert list((tmp_path / "work").iterdir()) == []
        download = vault.download(db.session, keys.ring, store, patient, document.id, ACTOR)
        assert (download.name, download.size) == ("cr.txt", len(b"Compte rendu\n"))
        assert b"".join(download.chunks) == b"Compte rendu\n"
        with pytest.raises(uploads.UploadRejected):
            _deposit(store, patient, patient, tmp_path, content=b"MZ\x90\x00" + bytes(100),
                     name="virus.txt")
        assert list((tmp_path / "work").iterdir()) == []


def test_a_professional_deposits_only_what_the_matrix_gives(app, demo_users, store,
                                                            tmp_path):
    with app.app_context():
        patient, doctor = _users(app)
        doctor.profession = Profession.PHARMACIST  # deposits prescriptions and prevention
        with pytest.raises(NotAllowed):
            _deposit(store, patient, doctor, tmp_path, category=Category.REPORTS)
        db.session.commit()  # as the view does: the refusal's audit row is kept
        refused = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "document.deposit")).all()
        assert [(event.outcome, event.subject_id) for event in refused] == [
            ("denied", patient.id)]
        assert list(store.keys()) == []


def test_download_unwraps_the_patient_key_once_and_keeps_to_its_space(
        app, demo_users, store, tmp_path, monkeypatch):
    with app.app_context():
        patient, doctor = _users(app)
        document = _add(store, patient, patient, tmp_path, content=b"%PDF-1.4 x")
        db.session.commit()
        calls = []
        real = vault.patient_key
        monkeypatch.setattr(vault, "patient_key", lambda *a: calls.append(a) or real(*a))
        download = vault.download(db.session, keys.ring, store, patient, document.id, ACTOR,
                                  patient=patient, preview=True)
        assert len(calls) == 1 and download.mimetype == "application/pdf"
        assert b"".join(download.chunks) == b"%PDF-1.4 x"
        # Under another space's address, or by a stranger: refused and audited.
        for viewer, space in ((doctor, patient), (patient, doctor)):
            with pytest.raises(vault.DocumentNotFound):
                vault.download(db.session, keys.ring, store, viewer, document.id, ACTOR,
                               patient=space)
        db.session.commit()  # as the view does: the refusals' audit rows are kept
        # Each person's events are in their own chain: counted, not ordered across chains.
        outcomes = Counter((event.outcome, event.subject_id) for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document.download")))
        assert outcomes == {("success", patient.id): 1, ("denied", patient.id): 2}


def test_a_document_its_patient_and_the_standing_come_in_one_statement(
        app, demo_users, store, tmp_path):
    """get_document reads the document, its patient and (for a professional) the standing
    the policy decides on in one statement, then audits; the decision is the policy's:
    the patient and a doctor she declared read it, the doctor once blocked does not."""
    from sqlalchemy import event as sql_event

    from domain import care

    with app.app_context():
        patient, doctor = _users(app)
        document = _add(store, patient, doctor, tmp_path)
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        db.session.commit()
        reads = []

        def seen(_connection, _cursor, statement, *_rest):
            if statement.lstrip().startswith("SELECT"):
                reads.append(statement)

        for viewer in (patient, doctor):
            db.session.expunge_all()  # nothing known before the document is opened
            reads.clear()
            sql_event.listen(db.engine, "before_cursor_execute", seen)
            try:
                owner, found = vault.get_document(db.session, keys.ring, viewer, document.id,
                                                  policy.DocumentAction.READ, ACTOR)
            finally:
                sql_event.remove(db.engine, "before_cursor_execute", seen)
            assert (owner.id, found.id) == (patient.id, document.id)
            assert len(reads) == 1 and "FROM documents" in reads[0]
            assert ("care_relations" in reads[0]) == (viewer.role == Role.PROFESSIONAL)
        # In a space the professional opened (care.open_patient() read the patient and the
        # standing), the document alone; one of another patient's under it is refused.
        db.session.expunge_all()
        patient, doctor = _users(app)
        opened = care.open_patient(db.session, keys.ring, doctor, patient.id, ACTOR)
        someone_else = db.session.scalars(select(User).where(
            User.role == Role.PATIENT, User.id != patient.id)).first()
        other = _add(store, someone_else, doctor, tmp_path)
        reads.clear()
        sql_event.listen(db.engine, "before_cursor_execute", seen)
        try:
            owner, found = vault.get_document(db.session, keys.ring, doctor, document.id,
                                              policy.DocumentAction.DOWNLOAD, ACTOR,
                                              opened=opened)
        finally:
            sql_event.remove(db.engine, "before_cursor_execute", seen)
        assert (owner, found.id) == (opened.patient, document.id)
        assert len(reads) == 1 and "FROM documents" in reads[0]
        assert "care_relations" not in reads[0] and "users" not in reads[0]
        with pytest.raises(vault.DocumentNotFound):
            vault.get_document(db.session, keys.ring, doctor, other.id,
                               policy.DocumentAction.DOWNLOAD, ACTOR, opened=opened)
        db.session.rollback()
        patient, doctor = _users(app)
        care.set_blocked(db.session, keys.ring, patient, doctor, True, ACTOR)
        db.session.commit()
        with pytest.raises(vault.DocumentNotFound):
            vault.get_document(db.session, keys.ring, doctor, document.id,
                               policy.DocumentAction.READ, ACTOR)


def test_only_pdf_and_images_are_previewed(app, demo_users, store, tmp_path):
    with app.app_context():
        patient, _doctor = _users(app)
        document = _deposit(store, patient, patient, tmp_path)
        with pytest.raises(vault.NotPreviewable):
            vault.download(db.session, keys.ring, store, patient, document.id, ACTOR,
                           preview=True)


def test_a_blob_gone_since_the_row_was_read_is_not_found(app, demo_users, store, tmp_path):
    with app.app_context():
        patient, _doctor = _users(app)
        document = _add(store, patient, patient, tmp_path)
        store.delete(document.blob_key)
        with pytest.raises(vault.DocumentNotFound):
            vault.download(db.session, keys.ring, store, patient, document.id, ACTOR)


def test_a_professional_reads_the_documents_a_page_at_a_time(app, demo_users, store,
                                                             tmp_path, monkeypatch):
    """The patient page's list: newest first, the policy's choice only, 20 a page, and
    only the shown titles opened (the first page costs the same whatever the total)."""
    with app.app_context():
        patient, doctor = _users(app)
        for index in range(45):
            _add(store, patient, patient, tmp_path, title=f"Ordonnance {index:02}",
                 day=date(2026, 1, 1) + timedelta(days=index))
        for index in range(5):  # hidden by the patient: never listed to this doctor
            _add(store, patient, patient, tmp_path, title=f"Masquée {index}",
                 day=date(2026, 6, 1), hidden=True)
        db.session.commit()
        known = policy.CareFacts(sector=doctor.sector, profession=doctor.profession,
                                 declared=True, blocked=False)
        opened = []
        real_title_of = vault.title_of
        monkeypatch.setattr(vault, "title_of",
                            lambda *a: opened.append(a[1].id) or real_title_of(*a))
        pages = [vault.documents_for_professional(db.session, keys.ring, doctor, patient,
                                                  known, page=number)
                 for number in (1, 2, 3, 4)]
        titles = [[item.title for item in page.items] for page in pages]
        assert titles[0] == [f"Ordonnance {index:02}" for index in range(44, 24, -1)]
        assert titles[1][0] == "Ordonnance 24" and titles[2] == [
            f"Ordonnance {index:02}" for index in range(4, -1, -1)]
        assert [page.more for page in pages] == [True, True, False, False]
        assert titles[3] == [] and len(opened) == 45


@pytest.mark.parametrize("action", [policy.DocumentAction.EDIT, policy.DocumentAction.DELETE,
                                    policy.DocumentAction.HIDE])
def test_a_space_a_professional_opened_is_only_read(app, action):
    """get_document(opened=…) reads the document as a row: a change through it is a
    programming error, refused before anything is read or recorded."""
    from domain.care import OpenPatient

    opened = OpenPatient(patient=None, facts=None, actor=audit.Actor())
    with app.app_context(), pytest.raises(ValueError, match="only read"):
        vault.get_document(db.session, keys.ring, None, "a" * 32, action, audit.Actor(),
                           opened=opened)
