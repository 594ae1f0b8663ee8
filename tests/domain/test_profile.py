"""The medical profile without HTTP: sections, validation, sealed entries, "Non concerné",
limits, locked entries, the policy, and health content never in clear at rest."""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from domain import audit, measures, policy, profile
from domain.crypto import CryptoError, open_sealed
from domain.keys import patient_key
from domain.models import AuditEvent, AuthorKind, ProfileEntry, ProfileSection, Role, User
from domain.models.base import utcnow
from extensions import db, keys

TODAY = date(2026, 3, 10)
ACTOR = audit.Actor(ip="127.0.0.1")
Action = policy.ProfileAction


def valid_form(section: profile.Section, canary: str = "") -> dict:
    """A form every field of the section accepts; `canary` goes into every free text."""
    form: dict[str, str] = {}
    for spec in section.fields:
        text = f"{canary}-{section.key}-{spec.name}".upper()[:spec.max_length] if canary else (
            f"Texte {spec.name}")
        if spec.kind in ("text", "longtext"):
            form[spec.name] = text
        elif spec.kind == "coded":
            form[spec.name], form[f"{spec.name}_other"] = "other", text
        elif spec.kind == "choice":
            form[spec.name] = spec.choices[0]
        elif spec.kind == "yesno":
            form[spec.name] = "oui"
        elif spec.kind == "number":
            form[spec.name] = str(int(spec.minimum) + 1)
        elif spec.kind == "phone":
            form[spec.name] = "06 12 34 56 78"
        elif spec.kind == "date":
            form.update({f"{spec.name}_day": "15", f"{spec.name}_month": "1",
                         f"{spec.name}_year": "2020"})
        elif spec.kind == "partial_date":
            form[f"{spec.name}_year"] = "2015"
    return form


def _values(section: profile.Section, form: dict | None = None) -> dict:
    reading = profile.validate(section, form or valid_form(section), TODAY)
    assert reading.ok, (section.key, reading.problems)
    return reading.values


def _people():
    users = {user.login: user for user in db.session.execute(select(User)).scalars()
             if user.login}
    wrapped = keys.ring.new_patient_key()
    stranger = User(role=Role.PATIENT, login="autre.patient", given_name="Autre",
                    family_name="Patient", birth_date=date(1975, 6, 1),
                    wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)
    db.session.add(stranger)
    db.session.flush()
    return users["camille.martin"], stranger, users["dr.bernard"]


def _add(patient, section_key, *, author=None, form=None):
    section = profile.BY_KEY[section_key]
    return profile.add_entry(db.session, keys.ring, patient, section, _values(section, form),
                             author=author or patient, actor=ACTOR)


# --- the sections themselves -----------------------------------------------------------------

def test_sections_are_well_formed():
    assert len(profile.BY_KEY) == len(profile.BY_SLUG) == len(profile.SECTIONS) == 12
    assert {key: profile.BY_KEY[key].limit for key in (
        "emergency_contacts", "blood_group", "trusted_person", "directives")} == {
        "emergency_contacts": 3, "blood_group": 1, "trusted_person": 1, "directives": 1}
    assert [s.key for s in profile.SECTIONS if s.adults_only] == ["directives"]
    for section in profile.SECTIONS:
        names = [spec.name for spec in section.fields]
        assert len(set(names)) == len(names)
        assert section.fields[0].required
        for spec in section.fields:
            if spec.not_before:
                assert spec.not_before in names
            if spec.kind == "coded":
                assert section.coded[spec.name] in profile.codes()
        if section.sort_field:
            assert section.sort_field in names


@pytest.mark.parametrize("section", profile.SECTIONS, ids=lambda s: s.key)
def test_a_complete_form_is_valid_in_every_section(section):
    values = _values(section)
    assert set(values) == {spec.name for spec in section.fields}


@pytest.mark.parametrize("section", profile.SECTIONS, ids=lambda s: s.key)
def test_an_empty_form_names_every_required_field(section):
    reading = profile.validate(section, {}, TODAY)
    assert {p.field for p in reading.problems} == {
        spec.name for spec in section.fields if spec.required}
    assert {p.reason for p in reading.problems} == {"required"}


def test_a_vaccine_must_be_in_the_schedule():
    section = profile.BY_KEY["vaccinations"]
    form = {**valid_form(section), "vaccine": "snake_oil"}
    assert [(p.field, p.reason) for p in profile.validate(section, form, TODAY).problems] == [
        ("vaccine", "choice")]


@pytest.mark.parametrize(("born", "minor"), [
    (date(2008, 3, 10), False), (date(2008, 3, 11), True), (date(2016, 3, 10), True),
    (date(1950, 1, 1), False), (None, False)])
def test_is_minor(born, minor):
    person = User(role=Role.PATIENT, given_name="A", family_name="B", birth_date=born)
    assert profile.is_minor(person, TODAY) is minor


# --- entries -----------------------------------------------------------------------------------

def test_add_load_update_and_delete(app, demo_users):
    with app.app_context():
        patient, stranger, _doctor = _people()
        section = profile.BY_KEY["treatments"]
        older = _add(patient, "treatments", form={"name": "Ancien", "since_year": "2010"})
        newer = _add(patient, "treatments", form={"name": "Récent", "since_year": "2020",
                                                  "since_month": "2"})
        undated = _add(patient, "treatments", form={"name": "Sans date"})
        _add(stranger, "treatments", form={"name": "Pas à moi"})
        db.session.commit()
        view = profile.load(db.session, keys.ring, patient, (section,))["treatments"]
        assert [item.values["name"] for item in view.entries] == ["Récent", "Ancien",
                                                                  "Sans date"]
        assert view.count == 3 and not view.full and view.updated_at is not None
        assert {item.id for item in view.entries} == {older.id, newer.id, undated.id}
        assert all(entry.author_kind == AuthorKind.PATIENT and not entry.locked
                   for entry in (older, newer, undated))

        item = profile.get_entry(db.session, keys.ring, patient, patient, section, newer.id,
                                 Action.EDIT, ACTOR)
        profile.update_entry(db.session, keys.ring, patient, item,
                             _values(section, {"name": "Modifié", "since_year": "2021"}), ACTOR)
        db.session.commit()
        again = profile.get_entry(db.session, keys.ring, patient, patient, section, newer.id,
                                  Action.READ, ACTOR)
        assert again.values == {"name": "Modifié", "since": "2021"}

        profile.delete_entry(db.session, keys.ring, patient, again, ACTOR)
        db.session.commit()
        assert db.session.get(ProfileEntry, newer.id) is None
        everything = profile.load(db.session, keys.ring, patient)
        assert everything["treatments"].count == 2
        assert all(view.count == 0 for key, view in everything.items() if key != "treatments")
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_id == patient.id)).all()
        assert actions.count("profile.entry_added") == 3
        assert "profile.entry_edit" in actions and "profile.entry_delete" in actions


def test_loading_every_section_or_some_gives_the_same_views(app, demo_users):
    """Asked for every section, load() reads without a list of sections; the views are
    the ones asked for the same sections one list at a time, and a row of a section the
    code no longer has (an old one) is passed over either way."""
    with app.app_context():
        patient, stranger, _doctor = _people()
        _add(patient, "treatments", form={"name": "Lévothyrox", "since_year": "2019"})
        _add(patient, "allergies")
        _add(stranger, "treatments", form={"name": "Pas à moi"})
        retired = profile.add_entry(db.session, keys.ring, patient, profile.BY_KEY["allergies"],
                                    _values(profile.BY_KEY["allergies"]), author=patient,
                                    actor=ACTOR)
        retired.section = "retired_section"
        db.session.commit()

        def shown(views):
            return {key: (view.count, view.updated_at, [item.values for item in view.entries])
                    for key, view in views.items()}

        for first in (None, 2):
            every = profile.load(db.session, keys.ring, patient, first=first)
            assert set(every) == {section.key for section in profile.SECTIONS}
            one_by_one = {}
            for section in profile.SECTIONS:
                one_by_one |= profile.load(db.session, keys.ring, patient, (section,),
                                           first=first)
            assert shown(every) == shown(one_by_one)
            assert every["treatments"].count == 1 and every["allergies"].count == 1
            # Two sections, and two read only as asked (a professional's reading).
            two = profile.BY_KEY["treatments"], profile.BY_KEY["allergies"]
            for only_asked in (False, True):
                some = profile.load(db.session, keys.ring, patient, two, first=first,
                                    only_asked=only_asked)
                assert shown(some) == {key: shown(every)[key] for key in some}
        db.session.rollback()


def test_a_professionals_reading_asks_the_database_for_the_readable_sections_only(
        app, demo_users):
    """The sections a professional may not read are not even read from the database."""
    sent = []

    def listen(_connection, _cursor, statement, parameters, *_rest):
        sent.append((statement, parameters))

    with app.app_context():
        patient, _stranger, _doctor = _people()
        _add(patient, "treatments", form={"name": "Lévothyrox", "since_year": "2019"})
        readable = (profile.BY_KEY["treatments"],)
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            profile.load(db.session, keys.ring, patient, readable, first=3, only_asked=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        entries = [(statement, parameters) for statement, parameters in sent
                   if "FROM profile_entries" in statement
                   or "FROM (SELECT profile_entries" in statement]
        # One statement: the newest entries with their sections' counts, then the
        # sections' states.
        assert len(entries) == 1 and len(sent) == 1
        for statement, parameters in entries:
            assert "profile_entries.section" in statement.split("WHERE", 1)[1]
            assert "profile_sections.section" in statement.split("UNION ALL", 1)[1]
            values = parameters.values() if isinstance(parameters, dict) else parameters
            assert "treatments" in values and "allergies" not in values
        db.session.rollback()


@pytest.mark.parametrize(("section_key", "limit"), [
    ("blood_group", 1), ("emergency_contacts", 3), ("trusted_person", 1), ("directives", 1)])
def test_a_section_holds_no_more_than_its_limit(app, demo_users, section_key, limit):
    with app.app_context():
        patient, stranger, _doctor = _people()
        for _ in range(limit):
            _add(patient, section_key)
        with pytest.raises(profile.SectionFull):
            _add(patient, section_key)
        _add(stranger, section_key)  # the limit is per person
        db.session.commit()
        view = profile.load(db.session, keys.ring, patient, (profile.BY_KEY[section_key],))
        assert view[section_key].count == limit and view[section_key].full


def test_not_concerned_is_only_for_an_empty_section_and_goes_with_the_first_entry(
        app, demo_users):
    with app.app_context():
        patient, _stranger, _doctor = _people()
        allergies = profile.BY_KEY["allergies"]
        profile.set_not_concerned(db.session, keys.ring, patient, allergies, True, ACTOR)
        db.session.commit()
        view = profile.load(db.session, keys.ring, patient, (allergies,))["allergies"]
        assert view.not_concerned and view.count == 0 and view.updated_at is not None
        entry = _add(patient, "allergies")
        db.session.commit()
        view = profile.load(db.session, keys.ring, patient, (allergies,))["allergies"]
        assert not view.not_concerned and view.count == 1
        with pytest.raises(profile.SectionFull):
            profile.set_not_concerned(db.session, keys.ring, patient, allergies, True, ACTOR)
        item = profile.get_entry(db.session, keys.ring, patient, patient, allergies, entry.id,
                                 Action.DELETE, ACTOR)
        profile.delete_entry(db.session, keys.ring, patient, item, ACTOR)
        profile.set_not_concerned(db.session, keys.ring, patient, allergies, True, ACTOR)
        profile.set_not_concerned(db.session, keys.ring, patient, allergies, False, ACTOR)
        db.session.commit()
        view = profile.load(db.session, keys.ring, patient, (allergies,))["allergies"]
        assert not view.not_concerned
        state = db.session.get(ProfileSection, (patient.id, "allergies"))
        assert b"not_concerned" not in state.state_sealed


def test_an_entry_by_a_professional_is_locked_for_the_patient(app, demo_users):
    with app.app_context():
        patient, _stranger, doctor = _people()
        section = profile.BY_KEY["vaccinations"]
        entry = _add(patient, "vaccinations", author=doctor)
        db.session.commit()
        assert entry.locked and entry.author_kind == AuthorKind.PROFESSIONAL
        item = profile.get_entry(db.session, keys.ring, patient, patient, section, entry.id,
                                 Action.READ, ACTOR)
        assert item.values["vaccine"] == section.fields[0].choices[0]
        for action in (Action.EDIT, Action.DELETE):
            with pytest.raises(profile.EntryNotFound):
                profile.get_entry(db.session, keys.ring, patient, patient, section, entry.id,
                                  action, ACTOR)


def test_nobody_else_reaches_an_entry_and_every_refusal_is_audited(app, demo_users):
    with app.app_context():
        patient, stranger, doctor = _people()
        allergies, conditions = profile.BY_KEY["allergies"], profile.BY_KEY["conditions"]
        theirs = _add(stranger, "allergies")
        mine = _add(patient, "allergies")
        db.session.commit()
        attempts = [
            (patient, patient, allergies, theirs.id),   # another patient's entry
            (patient, stranger, allergies, theirs.id),  # another patient's profile
            (doctor, patient, allergies, mine.id),      # a professional (no grant yet)
            (patient, patient, conditions, mine.id),    # my entry under the wrong section
            (patient, patient, allergies, "0" * 32),    # no such entry
            (patient, patient, allergies, "é" * 300),   # absurd id
        ]
        for viewer, owner, section, entry_id in attempts:
            for action in Action:
                with pytest.raises(profile.EntryNotFound):
                    profile.get_entry(db.session, keys.ring, viewer, owner, section, entry_id,
                                      action, audit.Actor(user_id=viewer.id))
        db.session.commit()
        refused = db.session.scalars(select(AuditEvent).where(
            AuditEvent.outcome == "denied")).all()
        assert len(refused) == len(attempts) * len(Action)
        assert {event.action for event in refused} == {f"profile.entry_{a.value}"
                                                      for a in Action}
        assert all(event.target_type == "profile_entry" and len(event.target_id) <= 32
                   for event in refused)
        assert {e.subject_id for e in refused if e.target_id == theirs.id} == {stranger.id}


@pytest.mark.parametrize(("role", "owner", "locked", "allowed"), [
    (Role.PATIENT, True, False, {Action.READ, Action.ADD, Action.EDIT, Action.DELETE}),
    (Role.PATIENT, True, True, {Action.READ, Action.ADD}),
    (Role.PATIENT, False, False, set()),
    (Role.PATIENT, False, True, set()),
    (Role.PROFESSIONAL, False, False, set()),
    (Role.PROFESSIONAL, True, False, set()),
    (Role.ADVISER, False, False, set()),
    (Role.ADVISER, True, False, set()),
    (Role.OPERATOR, True, False, set()),
    (None, True, False, set()),
])
def test_profile_policy(role, owner, locked, allowed):
    assert {action for action in Action if policy.profile_allowed(
        action, role, is_owner=owner, locked=locked)} == allowed


# --- encryption at rest ----------------------------------------------------------------------

def _database_bytes(app) -> bytes:
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("reads the SQLite file; this run uses another database")
    db.session.commit()
    db.session.close()
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    path = Path(url.database)
    data = path.read_bytes()
    wal = Path(f"{path}-wal")
    if wal.exists():
        data += wal.read_bytes()
    return data


MEASURE_VALUES = {
    "weight": {"value": "287,63"}, "height": {"value": "213,7"}, "waist": {"value": "187,3"},
    "temperature": {"value": "41,7"}, "glucose": {"value": "4,93"},
    "blood_pressure": {"systolic": "187", "diastolic": "113"},
    "heart_rate": {"value": "173"}, "pain": {"value": "9"},
    "head_circumference": {"value": "57,3"},
}


def test_no_health_content_is_stored_in_clear(app, demo_users):
    canary = f"canary-{secrets.token_hex(4)}"
    with app.app_context():
        patient, stranger, _doctor = _people()
        # Proves the check reads what is stored (a column kept in clear: names are sealed).
        stranger.workplace = f"{canary}-in-clear"
        profile.set_not_concerned(db.session, keys.ring, patient, profile.BY_KEY["lifestyle"],
                                  True, ACTOR)  # sealed too; the entry below withdraws it
        planted = []
        for section in profile.SECTIONS:
            form = valid_form(section, canary)
            _add(patient, section.key, form=form)
            planted += [text for name, text in form.items()
                        if text.startswith(canary.upper())]
        json_fragments = []
        for kind in measures.KINDS:
            reading = measures.validate(kind, {
                **MEASURE_VALUES[kind.key], "measured_on_day": "2",
                "measured_on_month": "3", "measured_on_year": "2026", "time": "6:47"}, TODAY)
            assert reading.ok, reading.problems
            measures.add(db.session, keys.ring, patient, kind, dict(reading.values), ACTOR)
            json_fragments += [json.dumps({name: reading.values[name]})[1:-1]
                               for name in reading.values if name != "measured_on"]
        assert len(planted) >= 20 and '"time": "06:47"' in json_fragments
        stored = _database_bytes(app)
        assert f"{canary}-in-clear".encode() in stored
        assert canary.upper().encode() not in stored
        for text in planted:
            assert text.encode() not in stored, text
        for fragment in json_fragments:
            assert fragment.encode() not in stored, fragment
        assert b'{"not_concerned": ' not in stored
        # Audit details name the section, never the content.
        details = " ".join(db.session.scalars(select(AuditEvent.details)))
        assert canary.upper() not in details
        # And everything still opens with the patient's key.
        views = profile.load(db.session, keys.ring, patient)
        assert all(view.count == 1 for view in views.values())
        assert views["allergies"].entries[0].values["substance"]["text"] == (
            f"{canary}-allergies-substance".upper())


def test_a_sealed_payload_moved_elsewhere_does_not_open(app, demo_users):
    with app.app_context():
        patient, stranger, _doctor = _people()
        section = profile.BY_KEY["allergies"]
        first = _add(patient, "allergies")
        second = _add(patient, "allergies")
        theirs = _add(stranger, "allergies")
        db.session.commit()
        # Another row of the same patient.
        second.payload_sealed = first.payload_sealed
        db.session.commit()
        with pytest.raises(CryptoError):
            profile.load(db.session, keys.ring, patient, (section,))
        with pytest.raises(CryptoError):
            profile.get_entry(db.session, keys.ring, patient, patient, section, second.id,
                              Action.READ, ACTOR)
        # Another patient's payload, moved under one of mine.
        second.payload_sealed = theirs.payload_sealed
        db.session.commit()
        with pytest.raises(CryptoError):
            profile.load(db.session, keys.ring, patient, (section,))
        # Their payload re-labelled as mine but opened with their key: the associated data
        # names the patient, so it fails too.
        with pytest.raises(CryptoError):
            open_sealed(patient_key(keys.ring, stranger), theirs.payload_sealed,
                        f"profile_entries.payload.{theirs.id}.{patient.id}")
        # A section's sealed "Non concerné" moved to another section does not open either.
        profile.set_not_concerned(db.session, keys.ring, patient, profile.BY_KEY["lifestyle"],
                                  True, ACTOR)
        profile.set_not_concerned(db.session, keys.ring, patient, profile.BY_KEY["disabilities"],
                                  False, ACTOR)
        db.session.commit()
        lifestyle = db.session.get(ProfileSection, (patient.id, "lifestyle"))
        disabilities = db.session.get(ProfileSection, (patient.id, "disabilities"))
        disabilities.state_sealed = lifestyle.state_sealed
        db.session.commit()
        with pytest.raises(CryptoError):
            profile.load(db.session, keys.ring, patient, (profile.BY_KEY["disabilities"],))
        # A flipped bit.
        tampered = bytearray(first.payload_sealed)
        tampered[-1] ^= 1
        with pytest.raises(CryptoError):
            open_sealed(patient_key(keys.ring, patient), bytes(tampered),
                        f"profile_entries.payload.{first.id}.{patient.id}")


def test_loading_only_the_newest_entries_keeps_counts_and_last_change(app, demo_users):
    with app.app_context():
        patient, stranger, _doctor = _people()
        conditions = profile.BY_KEY["conditions"]
        added = [_add(patient, "conditions", form={"condition": "other",
                                                   "condition_other": f"Sujet {index}",
                                                   "since_year": str(2000 + index)})
                 for index in range(12)]
        _add(patient, "allergies")
        _add(stranger, "conditions")
        profile.set_not_concerned(db.session, keys.ring, patient,
                                  profile.BY_KEY["lifestyle"], True, ACTOR)
        # The oldest entry, which the first ten leave out, is the last one changed.
        changed = added[0].updated_at = utcnow() + timedelta(days=1)
        db.session.commit()
        sections = (conditions, profile.BY_KEY["allergies"], profile.BY_KEY["lifestyle"],
                    profile.BY_KEY["treatments"])
        whole = profile.load(db.session, keys.ring, patient, sections)
        first = profile.load(db.session, keys.ring, patient, sections, first=10)
        view = first["conditions"]
        assert view.count == 12 and len(view.entries) == 10 and view.more == 2
        assert {item.id for item in view.entries} == {entry.id for entry in added[2:]}
        assert [item.values["since"] for item in view.entries] == [
            str(year) for year in range(2011, 2001, -1)]  # still sorted by their date
        assert view.updated_at == whole["conditions"].updated_at == changed
        assert first["allergies"].count == 1 and first["allergies"].more == 0
        assert first["lifestyle"].not_concerned and first["lifestyle"].count == 0
        assert first["treatments"].count == 0 and first["treatments"].updated_at is None
        assert whole["conditions"].count == 12 and whole["conditions"].more == 0
