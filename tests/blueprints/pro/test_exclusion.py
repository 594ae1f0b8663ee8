"""Insurers, mutuelles, occupational medicine, employers — and an account whose sector is
unknown — never reach a space (DESIGN.md §2 "Ownership"): this tries every path to a grant
with such an account, an occupational physician with a valid RPPS number and the profession
"doctor" being the most plausible one. The statement, a row written straight into the
database (insert or update, ORM or Core), moving a care professional who has a relation,
the attending-doctor link, the HTTP search and every policy function all refuse."""

from __future__ import annotations

import re
import secrets
from datetime import date

import pyotp
import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from domain import audit, care, passwords, policy, profile, vault
from domain.auth import set_totp_secret
from domain.errors import NotAllowed
from domain.identifiers import rpps_valid
from domain.models import (
    EXCLUDED_SECTORS,
    AuditEvent,
    CareRelation,
    Category,
    Document,
    Profession,
    Role,
    SecondFactor,
    Sector,
    User,
)
from domain.models.base import utcnow
from domain.policy import DocumentAction, ProfileAction
from extensions import blobs, db, keys
from tests.conftest import csrf_from

EXCLUDED = [Sector.HEALTH_INSURER, Sector.SUPPLEMENTARY_INSURER, Sector.OCCUPATIONAL_HEALTH,
            Sector.EMPLOYER, None]
IDS = ["health_insurer", "insurer", "occupational_health", "employer", "no_sector"]
PASSWORD = "Carnet-Exclu-Essai-2026"
ACTOR = audit.Actor(ip="127.0.0.1")
CAMILLE_NIR = "2 88 03 75 108 021 50"
NEUTRAL = "Aucun espace santé ouvert ne correspond à ce numéro et à cette date de naissance."


def test_the_list_here_is_every_excluded_sector():
    """A sector added later must be added here too (and so be thought about)."""
    assert set(EXCLUDED) - {None} == set(EXCLUDED_SECTORS)
    assert set(Sector) - EXCLUDED_SECTORS == {Sector.CARE}


# --- helpers ---------------------------------------------------------------------------------

def _rpps() -> str:
    prefix = f"3{secrets.randbelow(10**9):09d}"
    return next(prefix + digit for digit in "0123456789" if rpps_valid(prefix + digit))


def professional_account(app, sector: Sector | None, profession=Profession.DOCTOR,
                         login: str = "dr.travail") -> tuple[str, str]:
    """A professional account that signs in with PASSWORD and TOTP: (id, TOTP secret)."""
    secret = pyotp.random_base32()
    with app.app_context():
        user = User(role=Role.PROFESSIONAL, login=login, given_name="Claire",
                    family_name=login.partition(".")[2].capitalize(),
                    password_hash=passwords.hash_password(PASSWORD, "fast"),
                    second_factor=SecondFactor.TOTP, rpps=_rpps(), profession=profession,
                    sector=sector)
        db.session.add(user)
        db.session.flush()
        set_totp_secret(keys.ring, user, secret)
        db.session.commit()
        return user.id, secret


def sign_in_as(app, login: str, secret: str):
    client = app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={"csrf_token": csrf_from(page), "login": login,
                                               "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.post("/connexion/code", data={"csrf_token": csrf_from(page),
                                                    "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return client


def _user(login: str) -> User:
    return db.session.scalars(select(User).where(User.login == login)).one()


def _relations() -> int:
    return db.session.scalar(select(func.count()).select_from(CareRelation))


def _document(app, tmp_path, hidden=False) -> str:
    with app.app_context():
        patient = _user("camille.martin")
        path = tmp_path / secrets.token_hex(4)
        path.write_bytes(b"contenu")
        document = vault.add_document(
            db.session, keys.ring, blobs.store, patient=patient, author=patient, path=path,
            size=7, kind="txt", mimetype="text/plain; charset=utf-8", file_name="note.txt",
            title="Bilan confidentiel", category=Category.SUMMARY,
            document_date=date(2026, 1, 5), hidden=hidden, source="test", actor=ACTOR)
        db.session.commit()
        return document.id


# How SQLite and PostgreSQL word each refusal (the tests run on both).
FOREIGN_KEY = re.compile(r"foreign key", re.IGNORECASE)
CHECK = re.compile(r"check constraint", re.IGNORECASE)
NOT_NULL = re.compile(r"not[ -]null", re.IGNORECASE)
KEY_OR_CHECK = re.compile(r"foreign key|check constraint", re.IGNORECASE)


def _refused_flush(reason: re.Pattern) -> None:
    """The pending change must fail in the database, for this reason; the session is then
    usable again."""
    with pytest.raises(IntegrityError, match=reason):
        db.session.flush()
    db.session.rollback()


def _refused(statement, reason: re.Pattern) -> None:
    with pytest.raises(IntegrityError, match=reason):
        db.session.execute(statement)
    db.session.rollback()


# --- the statement ---------------------------------------------------------------------------

@pytest.mark.parametrize("sector", EXCLUDED, ids=IDS)
def test_the_statement_is_refused(app, demo_users, sector):
    outsider_id, _secret = professional_account(app, sector)
    with app.app_context():
        patient, account = _user("camille.martin"), db.session.get(User, outsider_id)
        with pytest.raises(NotAllowed):
            care.declare(db.session, keys.ring, account, patient, ACTOR)
        db.session.commit()
        assert _relations() == 0
        assert not care.may_open(db.session, account, patient)
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "care.declared")).one()
        assert event.outcome == "denied" and event.subject_id == patient.id


# --- the database itself ---------------------------------------------------------------------

@pytest.mark.parametrize("sector", EXCLUDED, ids=IDS)
def test_an_orm_insert_claiming_care_fails_on_the_composite_key(app, demo_users, sector):
    outsider_id, _secret = professional_account(app, sector)
    with app.app_context():
        patient_id = _user("camille.martin").id
        db.session.add(CareRelation(patient_id=patient_id, professional_id=outsider_id,
                                    professional_sector="care", declared_at=utcnow()))
        _refused_flush(FOREIGN_KEY)
        _refused(insert(CareRelation).values(patient_id=patient_id,
                                             professional_id=outsider_id,
                                             professional_sector="care", blocked=False,
                                             created_at=utcnow()), FOREIGN_KEY)
        assert _relations() == 0
        assert db.session.get(User, outsider_id).sector == sector  # session usable again


@pytest.mark.parametrize("sector", EXCLUDED, ids=IDS)
def test_an_orm_insert_with_the_real_sector_fails_on_the_check(app, demo_users, sector):
    """With the account's own sector the composite key holds, so the CHECK must refuse.
    A NULL sector: the ORM falls back on the column default "care" (refused by the key),
    a Core insert writes NULL (refused by NOT NULL)."""
    outsider_id, _secret = professional_account(app, sector)
    with app.app_context():
        patient_id = _user("camille.martin").id
        real = sector.value if sector else None
        orm_reason, core_reason = (CHECK, CHECK) if sector else (FOREIGN_KEY, NOT_NULL)
        db.session.add(CareRelation(patient_id=patient_id, professional_id=outsider_id,
                                    professional_sector=real, declared_at=utcnow()))
        _refused_flush(orm_reason)
        _refused(insert(CareRelation).values(patient_id=patient_id,
                                             professional_id=outsider_id,
                                             professional_sector=real, blocked=False,
                                             created_at=utcnow()), core_reason)
        assert _relations() == 0


@pytest.mark.parametrize("sector", EXCLUDED, ids=IDS)
def test_an_existing_relation_cannot_be_moved_to_an_outsider(app, demo_users, sector):
    outsider_id, _secret = professional_account(app, sector)
    with app.app_context():
        patient, doctor = _user("camille.martin"), _user("dr.bernard")
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        db.session.commit()
        found = care.relation(db.session, patient.id, doctor.id)
        relation_id = found.id
        found.professional_id = outsider_id           # hand it over
        _refused_flush(FOREIGN_KEY)
        if sector is not None:
            found = db.session.get(CareRelation, relation_id)
            found.professional_sector = sector.value  # relabel it
            _refused_flush(KEY_OR_CHECK)
            _refused(update(CareRelation).where(CareRelation.id == relation_id).values(
                professional_id=outsider_id, professional_sector=sector.value), CHECK)
        _refused(update(CareRelation).where(CareRelation.id == relation_id).values(
            professional_id=outsider_id), FOREIGN_KEY)
        found = db.session.get(CareRelation, relation_id)
        assert (found.professional_id, found.professional_sector) == (doctor.id, "care")


@pytest.mark.parametrize("sector", EXCLUDED, ids=IDS)
def test_a_care_professional_with_a_relation_cannot_change_sector(app, demo_users, sector):
    with app.app_context():
        patient, doctor = _user("camille.martin"), _user("dr.bernard")
        care.declare(db.session, keys.ring, doctor, patient, ACTOR)
        db.session.commit()
        doctor.sector = sector
        _refused_flush(FOREIGN_KEY)
        _refused(update(User).where(User.id == doctor.id).values(sector=sector), FOREIGN_KEY)
        doctor = _user("dr.bernard")
        assert doctor.sector == Sector.CARE
        assert care.may_open(db.session, doctor, _user("camille.martin"))
        # Without a relation the move is possible — and then the statement is refused.
        pharmacist = _user("pharma.petit")
        pharmacist.sector = sector
        db.session.commit()
        with pytest.raises(NotAllowed):
            care.declare(db.session, keys.ring, pharmacist, patient, ACTOR)
        db.session.rollback()
        assert _relations() == 1


# --- over HTTP -------------------------------------------------------------------------------

@pytest.mark.parametrize("sector", EXCLUDED, ids=IDS)
def test_the_search_finds_no_one_and_records_no_relation(app, demo_users, sector, tmp_path):
    outsider_id, secret = professional_account(app, sector)
    document_id = _document(app, tmp_path)
    client = sign_in_as(app, "dr.travail", secret)
    page = client.get("/pro/patients").get_data(as_text=True)
    response = client.post("/pro/patients", data={
        "csrf_token": csrf_from(page), "nir": CAMILLE_NIR, "born_day": "14",
        "born_month": "3", "born_year": "1988", "informed": "oui"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and NEUTRAL in html
    assert "Camille" not in html and "Location" not in response.headers
    with app.app_context():
        patient_id = _user("camille.martin").id
        assert _relations() == 0
        search = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "care.patient_search")).one()
        assert (search.outcome, search.subject_id, search.actor_id) == (
            "denied", None, outsider_id)
        assert not db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "care.declared", AuditEvent.outcome == "success")).all()
    token = csrf_from(page)
    base = f"/pro/patients/{patient_id}"
    for path in (base, f"{base}/deposer", f"{base}/vaccinations",
                 f"{base}/documents/{document_id}"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"{base}/vaccinations", data={
        "csrf_token": token, "vaccine": "dtp", "given_on_day": "1", "given_on_month": "1",
        "given_on_year": "2024"}).status_code == 404
    assert client.get("/documents").status_code == 403  # the patient area is not theirs
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Document)) == 1
        assert _relations() == 0


@pytest.mark.parametrize("sector", EXCLUDED, ids=IDS)
def test_named_attending_doctor_in_the_database_still_gets_nothing(app, demo_users, sector,
                                                                   tmp_path):
    """The attending-doctor column only points at a user: even written there directly, an
    outsider sees neither the page nor a hidden document."""
    outsider_id, secret = professional_account(app, sector)
    shown, hidden = _document(app, tmp_path), _document(app, tmp_path, hidden=True)
    with app.app_context():
        patient = _user("camille.martin")
        patient.attending_doctor_id = outsider_id
        db.session.commit()
        patient_id = patient.id
        account = db.session.get(User, outsider_id)
        for document_id in (shown, hidden):
            document = db.session.get(Document, document_id)
            context = care.document_context(db.session, account, document)
            assert context.is_attending_doctor and not context.has_grant
            for action in DocumentAction:
                assert not policy.document_allowed(action, account.role, context,
                                                   hidden=document.hidden), action
    client = sign_in_as(app, "dr.travail", secret)
    base = f"/pro/patients/{patient_id}"
    for path in (base, f"{base}/documents/{shown}", f"{base}/documents/{hidden}"):
        assert client.get(path).status_code == 404, path


# --- the policy functions --------------------------------------------------------------------

@pytest.mark.parametrize("sector", EXCLUDED, ids=IDS)
def test_every_policy_function_says_no(sector):
    for profession in [*Profession, None]:
        for category in Category:
            for action in ("read", "deposit"):
                assert not policy.matrix_allows(profession, sector, category, action)
        for section in [*(item.key for item in profile.SECTIONS), "measures"]:
            assert not policy.profile_section_readable(profession, sector, section)
            best = policy.CareFacts(sector=sector, profession=profession, declared=True,
                                    blocked=False)
            for action in ProfileAction:
                for locked in (False, True):
                    assert not policy.profile_allowed(
                        action, Role.PROFESSIONAL, is_owner=False, locked=locked,
                        section=section, care=best), (profession, section, action)
    every_fact = policy.DocumentContext(is_owner=False, is_author=True,
                                        is_attending_doctor=True, has_grant=True,
                                        blocked=False, sector=sector)
    for action in DocumentAction:
        for hidden in (False, True):
            assert not policy.document_allowed(action, Role.PROFESSIONAL, every_fact,
                                               hidden=hidden), action


def test_the_same_facts_in_care_do_open_the_door():
    """The control: what is refused above is refused because of the sector alone."""
    assert policy.matrix_allows(Profession.DOCTOR, Sector.CARE, Category.SUMMARY, "read")
    assert policy.profile_allowed(ProfileAction.READ, Role.PROFESSIONAL, is_owner=False,
                                  locked=False, section="allergies", care=policy.CareFacts(
                                      Sector.CARE, Profession.DOCTOR, True, False))
    assert policy.document_allowed(DocumentAction.READ, Role.PROFESSIONAL,
                                   policy.DocumentContext(False, True, True, True, False,
                                                          Sector.CARE), hidden=True)
