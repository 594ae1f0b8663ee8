"""The vault's rules without HTTP: encryption at rest, policy, search, rotation, shredding,
crash consistency."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from sqlalchemy import select

from domain import audit, policy, vault
from domain.crypto import CryptoError, Keyring, add_kek_version
from domain.keys import rewrap_patient_keys
from domain.models import EXCLUDED_SECTORS, Category, Document, Role, Sector, User
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


def test_a_crash_between_blob_and_commit_leaves_only_an_orphan(app, demo_users, store,
                                                               tmp_path):
    with app.app_context():
        patient, _doctor = _users(app)
        kept = _add(store, patient, patient, tmp_path, title="Gardé")
        db.session.commit()
        _add(store, patient, patient, tmp_path, title="Jamais validé")
        db.session.rollback()  # the process died before COMMIT
        assert vault.documents_page(db.session, keys.ring, patient).total == 1
        report = vault.verify(db.session, store)
        assert len(report.orphans) == 1 and not report.missing and not report.corrupt
        repaired = vault.verify(db.session, store, repair=True)
        assert repaired.repaired == 1
        assert vault.verify(db.session, store).ok
        assert store.exists(kept.blob_key)


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
