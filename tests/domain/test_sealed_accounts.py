"""Names, birth dates, e-mail addresses and phone numbers of accounts are sealed in `users`
(issue 13, item 11): bound to their row and column, opened only when read, found by blind
index when a lookup needs them — and everything that used them still works."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text

from domain import audit, care, closing, exports
from domain.crypto import CryptoError, Keyring
from domain.models import (
    InsuredPerson,
    Profession,
    Representation,
    Role,
    Sector,
    User,
)
from domain.people import notification_addresses
from extensions import db, keys

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
CAMILLE = {"given_name": "Camille", "family_name": "Martin", "email": "camille.martin@example.org",
           "phone": "+33600000001", "birth_date": "1988-03-14"}
FIELDS = ("given_name", "family_name", "birth_date", "email", "phone")


def _raw(app, table: str = "users") -> list[dict]:
    """Every row of `table` as the database holds it (plain SQL, no model)."""
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 - ours
        return [dict(row._mapping) for row in rows]


def _bytes_of(rows: list[dict]) -> bytes:
    """Every value of these rows as bytes, lower-cased, for a search of clear text."""
    return b"\x00".join(value if isinstance(value, bytes) else str(value).encode()
                        for row in rows for value in row.values()).lower()


def _user(login: str) -> User:
    return db.session.scalars(select(User).where(User.login == login)).one()


def _child() -> User:
    return db.session.scalars(select(User).join(
        Representation, Representation.represented_id == User.id)).one()


def test_the_users_rows_hold_no_name_birth_date_email_or_phone_in_clear(app, demo_users):
    rows = _raw(app)
    # The login stays in clear (sign-in looks it up); the demo's is made of the names.
    found = _bytes_of([{key: value for key, value in row.items() if key != "login"}
                       for row in rows])
    for value in (*CAMILLE.values(), "14/03/1988", "Julien", "Bernard",
                  "julien.bernard@example.org", "Léo", "2019-05-14"):
        assert value.lower().encode() not in found, value
    camille = next(row for row in rows if row["login"] == "camille.martin")
    assert all(isinstance(camille[f"{name}_sealed"], bytes) for name in FIELDS)
    assert not {"given_name", "family_name", "birth_date", "email", "phone"} & set(camille)
    # The name index holds keyed hashes only.
    assert b"bern" not in _bytes_of(_raw(app, "family_name_prefixes"))
    with app.app_context():  # and the model reads them back in clear
        user = _user("camille.martin")
        assert (user.given_name, user.family_name, user.email, user.phone,
                user.birth_date) == ("Camille", "Martin", CAMILLE["email"], CAMILLE["phone"],
                                     date(1988, 3, 14))
        assert user.display_name == "Camille Martin"


def test_a_value_moved_to_another_row_or_column_does_not_open(app, demo_users):
    with app.app_context():
        camille, bernard = _user("camille.martin"), _user("dr.bernard")
        ids = camille.id, bernard.id
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text(
            "UPDATE users SET email_sealed = (SELECT email_sealed FROM users WHERE id = :from_), "
            "given_name_sealed = (SELECT family_name_sealed FROM users WHERE id = :to) "
            "WHERE id = :to"), {"from_": ids[0], "to": ids[1]})
    with app.app_context():
        moved = db.session.get(User, ids[1])
        with pytest.raises(CryptoError):
            moved.email  # noqa: B018 - reading it is the test
        with pytest.raises(CryptoError):
            moved.given_name  # noqa: B018
        assert moved.family_name == "Bernard"  # what was not moved still opens
        assert db.session.get(User, ids[0]).email == CAMILLE["email"]


def test_sealed_values_are_opened_when_read_and_once(app, demo_users, monkeypatch):
    opened: list[str] = []
    real = Keyring.open_server

    def counting(self, sealed, associated):
        opened.append(associated.rsplit(".", 1)[0])
        return real(self, sealed, associated)

    monkeypatch.setattr(Keyring, "open_server", counting)
    with app.app_context():
        people = list(db.session.scalars(select(User).where(User.role == Role.PROFESSIONAL)))
        assert opened == []  # loading rows opens nothing
        for _ in range(3):
            names = sorted(person.display_name for person in people)
        assert names == ["Julien Bernard", "Sophie Petit"]
        assert sorted(opened) == ["users.family_name"] * 2 + ["users.given_name"] * 2
    with app.app_context():  # SQL cannot be asked to compare a sealed value
        with pytest.raises(TypeError, match="sealed"):
            select(User).where(User.email == CAMILLE["email"])
        with pytest.raises(TypeError, match="sealed"):
            select(User).order_by(User.family_name)


def _professional(family_name: str, sector: Sector = Sector.CARE, login: str | None = None,
                  given_name: str = "Claire") -> User:
    person = User(role=Role.PROFESSIONAL, login=login, given_name=given_name,
                  family_name=family_name, profession=Profession.DOCTOR, sector=sector,
                  email=f"{given_name.lower()}@cabinet.example.org")
    db.session.add(person)
    db.session.flush()
    return person


def test_the_doctor_search_finds_bernard_by_the_start_of_his_family_name_only(app, demo_users):
    with app.app_context():
        bernard = _user("dr.bernard")
        for typed in ("be", "bern", "BERNARD", "  Bernard ", "bérn"):
            assert care.search_professionals(db.session, typed) == [bernard], typed
        # Never by another field, nor by the middle of the name, nor a longer one.
        for typed in ("julien", "ernard", "bernardo", "julien.bernard", "example.org",
                      "cabinet", "tilleuls", "lyon", "médecine", "camille", "martin", "b r"):
            assert care.search_professionals(db.session, typed) == [], typed
        assert care.search_professionals(db.session, "10001234565") == [bernard]
        # Several matches come sorted by name; outside care, nobody is found.
        others = [_professional("Bernardin"), _professional("Bérnier", given_name="Anne"),
                  _professional("Bernadette", sector=Sector.OCCUPATIONAL_HEALTH)]
        found = care.search_professionals(db.session, "bern")
        assert [person.family_name for person in found] == ["Bernard", "Bernardin", "Bérnier"]
        assert care.search_professionals(db.session, "bern", limit=2) == found[:2]
        assert others[2] not in care.search_professionals(db.session, "bernadette")
        # Only professionals are in the index: a patient never, whatever their name.
        db.session.commit()
        indexed = {row["user_id"] for row in _raw(app, "family_name_prefixes")}
        assert indexed == {person.id for person in (bernard, _user("pharma.petit"), *others)}
        # A new family name is found at once, the old one no longer.
        bernard.family_name = "Berger"
        db.session.flush()
        assert care.search_professionals(db.session, "berg") == [bernard]
        assert bernard not in care.search_professionals(db.session, "bern")
        bernard.role = Role.ADVISER  # not a professional any more: out of the index
        db.session.flush()
        assert care.search_professionals(db.session, "berg") == []


def test_the_search_page_still_finds_dr_bernard_with_or_without_accents(signed_in):
    camille = signed_in("camille.martin")
    for typed in ("Bern", "BÉRN"):
        page = camille.get("/acces", query_string={"q": typed}).get_data(as_text=True)
        assert "Désigner Julien Bernard comme médecin traitant" in page, typed
    page = camille.get("/acces?q=Julien").get_data(as_text=True)
    assert "Aucun professionnel de santé ne correspond" in page


def test_notification_emails_go_to_the_right_sealed_address(app, demo_users):
    rows = {row["login"]: row for row in _raw(app)}
    assert CAMILLE["email"].encode() not in _bytes_of([rows["camille.martin"]])
    with app.app_context():
        camille, child = _user("camille.martin"), _child()
        assert child.email is None
        assert notification_addresses(db.session, camille) == [CAMILLE["email"]]
        assert notification_addresses(db.session, child) == [CAMILLE["email"]]
        # A second representative: both addresses, each once; one without an address adds none.
        for email in ("autre.parent@example.org", CAMILLE["email"], None):
            other = User(role=Role.PATIENT, given_name="Autre", family_name="Parent",
                         email=email)
            db.session.add(other)
            db.session.flush()
            db.session.add(Representation(representative_id=other.id,
                                          represented_id=child.id, relationship="parent"))
        db.session.flush()
        assert notification_addresses(db.session, child) == [
            "autre.parent@example.org", CAMILLE["email"]]
        db.session.rollback()


def test_the_export_still_has_the_identity(app, demo_users):
    camille_row = next(row for row in _raw(app) if row["login"] == "camille.martin")
    assert isinstance(camille_row["given_name_sealed"], bytes)
    with app.app_context():
        archive = b"".join(exports.space_archive_stream(db.session, _user("camille.martin")))
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        identity = json.loads(zipped.read("mon-espace/identite.json"))
    assert {name: identity[name] for name in FIELDS} == CAMILLE
    assert identity["managed_spaces"] == ["Léo Martin"]


def test_an_erased_space_leaves_none_of_its_values(app, demo_users):
    with app.app_context():
        camille = _user("camille.martin")
        user_id = camille.id
    before = next(row for row in _raw(app) if row["id"] == user_id)
    sealed = [before[f"{name}_sealed"] for name in FIELDS]
    with app.app_context():
        camille = _user("camille.martin")
        closing.close_space(db.session, keys.ring, camille, delete_now=True, now=NOW,
                            actor=audit.Actor())
        assert closing.purge(db.session, keys.ring, NOW) == 1
        db.session.commit()
        insured = {row.id for row in db.session.scalars(select(InsuredPerson))}
    with app.app_context(), db.engine.connect() as connection:
        tables = [name for (name,) in connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if db.engine.dialect.name == "sqlite" else
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))]
    everything = b"\x00".join(_bytes_of(_raw(app, table)) for table in tables
                              if table != "insured_people")  # the insurer's register
    assert not [value for value in sealed if value.lower() in everything]
    for value in (CAMILLE["email"], CAMILLE["phone"], "camille", "1988-03-14"):
        assert value.encode() not in everything, value
    assert not [row for row in _raw(app) if row["id"] == user_id]
    assert not [row for row in _raw(app, "family_name_prefixes") if row["user_id"] == user_id]
    assert insured  # the insurer's records stay (their contact data sealed on their side)


def test_the_migration_seals_accounts_already_there_and_refuses_without_the_keys(
        app, tmp_path, monkeypatch):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.orm import Session

    from domain import crypto
    from domain.db import make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config("alembic.ini")
    config.attributes["database_url"] = url
    command.upgrade(config, "0010")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (id, role, sector, given_name, family_name, birth_date, email, "
            "phone, last_totp_step, failed_logins, created_at, samu, emergency_samu, "
            "emergency_others, emergency_hidden, hide_new_documents, enabled) VALUES "
            "('doctor', 'professional', 'care', 'Julien', 'Bernard', NULL, "
            "'julien@example.org', NULL, 0, 0, '2026-01-01 00:00:00', 0, 1, 1, 0, 0, 1), "
            "('patient', 'patient', NULL, 'Camille', 'Martin', '1988-03-14', "
            "'camille.martin@example.org', '+33600000001', 0, 0, '2026-01-01 00:00:00', "
            "0, 1, 1, 0, 0, 1)"))

    def clear_rows():
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT given_name, family_name, birth_date, email, phone FROM users "
                "ORDER BY id")).all()

    before = clear_rows()
    # Alembic alone: no key file (raising=False: the test also runs on the code before).
    monkeypatch.setattr(crypto, "_process_keyring", None, raising=False)
    with pytest.raises(RuntimeError, match="flask --app app db upgrade"):
        command.upgrade(config, "head")
    assert clear_rows() == before  # refused before changing anything
    monkeypatch.undo()
    with app.app_context():  # as `flask db upgrade` runs it: with the app's keyring
        command.upgrade(config, "head")
        with engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(
                text("SELECT * FROM users"))]
            indexed = connection.execute(text(
                "SELECT DISTINCT user_id FROM family_name_prefixes")).scalars().all()
        found = _bytes_of(rows)
        for value in ("julien", "bernard", "camille", "martin", "1988-03-14", "+336",
                      "example.org"):
            assert value.encode() not in found, value
        assert indexed == ["doctor"]
        with Session(engine) as session:
            doctor, patient = session.get(User, "doctor"), session.get(User, "patient")
            assert (doctor.display_name, doctor.email, doctor.birth_date) == (
                "Julien Bernard", "julien@example.org", None)
            assert (patient.display_name, patient.birth_date, patient.phone) == (
                "Camille Martin", date(1988, 3, 14), "+33600000001")
            assert care.search_professionals(session, "bern") == [doctor]
        command.downgrade(config, "0010")
        assert clear_rows() == before
    engine.dispose()
