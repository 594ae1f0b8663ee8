"""The life-cycle rules, without HTTP: codes, states, the 6-week boundary, the jobs."""

from __future__ import annotations

import math
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import activation, audit, closing, insured
from domain.models import (
    ActivationCode,
    AuditEvent,
    InsuredPerson,
    Representation,
    Role,
    SpaceStatus,
    User,
)
from extensions import db, keys

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ACTOR = audit.Actor(ip="127.0.0.1")
CSV_HEADER = "nir,vitale_serial,birth_name,given_names,birth_date,sex,email,phone,address," \
             "representative_nirs\n"
ADULT = "254071305512392,34567890123,Dupont,Jeanne,1954-07-02,2,jeanne@example.org,,,\n"
PARENT = "288037510802150,12345678901,Martin,Camille,14/03/1988,2,,0600000001,1 rue A,\n"
CHILD = "119056912345674,23456789012,Martin,Léo,2019-05-14,1,,,,288037510802150\n"


def _import(text: str, today=date(2026, 11, 26)):
    report = insured.import_csv(db.session, keys.ring, CSV_HEADER + text, today)
    db.session.commit()
    return report


def _person(nir: str) -> InsuredPerson:
    return insured.find_by_nir(db.session, keys.ring, nir)


def test_codes_are_12_unambiguous_characters_with_at_least_60_bits():
    codes = {activation.generate_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == 12 and set(code) <= set(activation.ALPHABET) for code in codes)
    assert not set("IO01") & set(activation.ALPHABET)
    assert 12 * math.log2(len(activation.ALPHABET)) >= 60
    assert activation.normalise_code(" abcd-efgh jkmn ") == "ABCDEFGHJKMN"
    assert activation.format_code("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"


def test_codes_are_stored_hashed(app):
    with app.app_context():
        _import(ADULT)
        issued = activation.issue_code(db.session, keys.ring, _person("254071305512392"), NOW)
        db.session.commit()
        stored = db.session.execute(select(ActivationCode)).scalar_one()
        assert issued.code not in stored.code_hash and stored.code_hash != issued.code
        assert issued.channel.value == "email" and issued.expires_at == NOW + timedelta(weeks=6)


def test_the_six_week_boundary_to_the_second(app):
    with app.app_context():
        _import(ADULT)
        issued = activation.issue_code(db.session, keys.ring, _person("254071305512392"), NOW)
        db.session.commit()
        deadline = NOW + timedelta(weeks=6)
        assert activation.find_code(db.session, keys.ring, issued.code,
                                    deadline - timedelta(seconds=1))
        with pytest.raises(activation.CodeProblem) as problem:
            activation.find_code(db.session, keys.ring, issued.code, deadline)
        assert problem.value.reason == "expired"
        assert activation.create_expired_spaces(db.session, keys.ring,
                                                deadline - timedelta(seconds=1)) == 0
        assert activation.create_expired_spaces(db.session, keys.ring, deadline) == 1
        assert _person("254071305512392").space_status == SpaceStatus.AUTO_CREATED


STATES = ["valid", "wrong", "used", "expired", "blocked", "opposed", "minor"]


def _code_in_state(state: str) -> tuple[str, InsuredPerson]:
    _import(ADULT + PARENT + CHILD)
    person = _person("119056912345674" if state == "minor" else "254071305512392")
    issued = activation.issue_code(db.session, keys.ring, person, NOW)
    record = db.session.execute(select(ActivationCode).where(
        ActivationCode.insured_id == person.id)).scalar_one()
    if state == "used":
        record.used_at, record.spent_reason = NOW, "activated"
    elif state == "blocked":
        record.blocked_at = NOW
    elif state == "opposed":
        activation.oppose(db.session, keys.ring, person, NOW, ACTOR, record)
    db.session.commit()
    if state == "wrong":
        return "ABCDEFGHJKMN", person
    return issued.code, person


@pytest.mark.parametrize("state", STATES)
def test_entering_a_code_in_each_state(app, state):
    expected = {"valid": None, "wrong": "unknown", "used": "used", "expired": "expired",
                "blocked": "blocked", "opposed": "used", "minor": None}[state]
    with app.app_context():
        code, person = _code_in_state(state)
        when = NOW + (timedelta(weeks=7) if state == "expired" else timedelta(hours=1))
        if expected is None:
            assert activation.find_code(db.session, keys.ring, code, when).insured_id == person.id
        else:
            with pytest.raises(activation.CodeProblem) as problem:
                activation.find_code(db.session, keys.ring, code, when)
            assert problem.value.reason == expected


@pytest.mark.parametrize("state", ["valid", "used", "blocked", "opposed"])
def test_opposing_in_each_state(app, state):
    with app.app_context():
        code, person = _code_in_state(state)
        record = db.session.execute(select(ActivationCode).where(
            ActivationCode.insured_id == person.id)).scalar_one()
        if state == "valid":
            reference = activation.oppose(db.session, keys.ring, person, NOW, ACTOR, record)
            assert reference.startswith("OPP-") and person.space_status == SpaceStatus.OPPOSED
        elif state == "opposed":
            # Already refused: the same reference stays (no second space, no new proof).
            assert activation.oppose(db.session, keys.ring, person, NOW,
                                     ACTOR) == person.opposition_reference
        else:
            with pytest.raises(activation.CodeProblem):
                activation.oppose(db.session, keys.ring, person, NOW, ACTOR, record)


def test_a_minors_code_goes_to_the_legal_representative(app):
    with app.app_context():
        _import(PARENT + CHILD)
        child = _person("119056912345674")
        issued = activation.issue_code(db.session, keys.ring, child, NOW)
        assert issued.recipient.given_names == "Camille" and issued.for_representative
        assert issued.channel.value == "post"  # Camille has no e-mail on file
        assert issued.address == "1 rue A"


def test_five_identity_failures_block_the_code(app):
    with app.app_context():
        code, person = _code_in_state("valid")
        record = activation.find_code(db.session, keys.ring, code, NOW)
        for attempt in range(5):
            with pytest.raises(activation.CodeProblem) as problem:
                activation.confirm_identity(db.session, keys.ring, record, "254071305512392",
                                            date(1954, 7, 3), NOW, ACTOR)
            assert problem.value.reason == ("blocked" if attempt == 4 else "identity")
        with pytest.raises(activation.CodeProblem):
            activation.find_code(db.session, keys.ring, code, NOW)


def test_the_expire_job_run_twice_at_once_creates_each_space_once(app):
    with app.app_context():
        rows = "".join(f"{nir},{serial},Nom,Prénom,1954-07-02,2,,,,\n" for nir, serial in (
            ("254071305512392", "34567890123"), ("254072A05512352", "34567890124")))
        nir2 = "254072A055123"
        from stdnum.fr import nir as stdnum_nir
        rows = rows.replace("254072A05512352", nir2 + stdnum_nir.calc_check_digits(nir2))
        assert _import(rows).created == 2
        for person in db.session.execute(select(InsuredPerson)).scalars():
            activation.issue_code(db.session, keys.ring, person, NOW)
        db.session.commit()
        engine = db.engine
    later = NOW + timedelta(weeks=6, seconds=1)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with app.app_context(), Session(engine) as session:
                barrier.wait()
                results.append(activation.create_expired_spaces(session, app.extensions[
                    "carnet_keys"], later))
                session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(results) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 2
        assert audit.verify(db.session, keys.ring).ok


def test_close_archive_purge_and_delete_now(app):
    with app.app_context():
        code, person = _code_in_state("valid")
        record = activation.find_code(db.session, keys.ring, code, NOW)
        user = activation.activate(db.session, keys.ring, record, None, NOW, ACTOR).user
        db.session.commit()
        closing.close_space(db.session, keys.ring, user, delete_now=False, now=NOW,
                               actor=ACTOR)
        assert closing.purge(db.session, keys.ring, NOW + timedelta(days=365 * 9)) == 0
        assert closing.purge(db.session, keys.ring, NOW + timedelta(days=365 * 10 + 3)) == 1
        assert person.space_status == SpaceStatus.DELETED and person.user_id is None
        assert db.session.get(User, user.id) is None


def test_delete_now_shreds_the_key_at_once_and_the_data_on_the_next_purge(app):
    with app.app_context():
        code, person = _code_in_state("valid")
        record = activation.find_code(db.session, keys.ring, code, NOW)
        user = activation.activate(db.session, keys.ring, record, None, NOW, ACTOR).user
        closing.close_space(db.session, keys.ring, user, delete_now=True, now=NOW,
                               actor=ACTOR)
        assert user.wrapped_key is None
        assert closing.purge(db.session, keys.ring, NOW) == 1


HOSTILE = [
    ("254071305512393,34567890123,Dupont,Jeanne,1954-07-02,2,,,,\n", "nir_key"),
    ("25407130551239,34567890123,Dupont,Jeanne,1954-07-02,2,,,,\n", "nir_format"),
    ("254071305512392,02071954,Dupont,Jeanne,1954-07-02,2,,,,\n", "vitale_is_date"),
    ("254071305512392,2540713055123,Dupont,Jeanne,1954-07-02,2,,,,\n", "vitale_is_nir"),
    ("254071305512392,34567890123,,Jeanne,1954-07-02,2,,,,\n", "birth_name_missing"),
    ("254071305512392,34567890123,Dupont,Jeanne,2054-07-02,2,,,,\n", "birth_date_range"),
    ("254071305512392,34567890123,Dupont,Jeanne,1954-07-02,1,,,,\n", "sex_mismatch"),
    ("254071305512392,34567890123,Dupont,Jeanne,1954-07-02,2,pas-un-email,,,\n", "email_format"),
    ("254071305512392,34567890123,Dupont,Jeanne,1954-07-02,2,,12,,\n", "phone_format"),
    ("254071305512392,34567890123,Du\x07pont,Jeanne,1954-07-02,2,,,,\n", "control_characters"),
    ("254071305512392,34567890123,Dupont,Jeanne,02/07/54,2,,,,\n", "date_format"),
    ("119056912345674,23456789012,Martin,Léo,2019-05-14,1,,,,167089201234508\n",
     "representative_unknown"),
]


@pytest.mark.parametrize(("row", "reason"), HOSTILE)
def test_hostile_rows_are_reported_and_skipped(app, row, reason):
    with app.app_context():
        report = _import(PARENT + row)
        assert report.errors == [(3, reason)]
        assert report.created == 1
        assert db.session.scalar(select(func.count()).select_from(InsuredPerson)) == 1


def test_reimporting_the_same_file_changes_nothing_and_changes_update(app):
    with app.app_context():
        first = _import(ADULT + PARENT + CHILD)
        assert (first.created, first.errors) == (3, [])
        again = _import(ADULT + PARENT + CHILD)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
        changed = _import(ADULT.replace("jeanne@example.org", "j.dupont@example.org"))
        assert changed.updated == 1
        person = _person("254071305512392")
        assert insured.read_field(keys.ring, person, "email") == "j.dupont@example.org"
        assert b"j.dupont" not in person.email_sealed


def test_script_in_names_is_stored_as_text(app):
    with app.app_context():
        report = _import(ADULT.replace("Dupont", "<script>alert(1)</script>"))
        assert report.created == 1


def test_a_login_is_refused_the_same_way_when_taken_or_reserved_but_not_ones_own(app):
    with app.app_context():
        _import(ADULT)
        person = _person("254071305512392")
        other = User(role=Role.PATIENT, login="jeanne.dupont", given_name="J", family_name="D")
        db.session.add(other)
        db.session.flush()
        refusals = []
        for login in ("jeanne.dupont", "administrateur"):
            with pytest.raises(activation.LoginUnavailable) as refused:
                activation.choose_login(db.session, person, login, "x" * 12, "fast")
            refusals.append(refused.value)
        assert [str(refusal) for refusal in refusals] == ["login unavailable"] * 2
        for refusal in refusals:
            assert len(refusal.suggestions) == 3
            assert all(suggestion.startswith(("jeanne.dupont", "jdupont", "dupont.jeanne"))
                       and suggestion != "jeanne.dupont" for suggestion in refusal.suggestions)
        assert activation.choose_login(db.session, person, "jeanne.d", "x" * 12,
                                       "fast").startswith("$argon2id$")
        # A closed space being reopened keeps its own login.
        person.user_id = other.id
        assert activation.choose_login(db.session, person, "jeanne.dupont", "x" * 12, "fast")


def test_an_opposition_without_code_is_recorded_for_a_pending_space_only(app):
    with app.app_context():
        _import(ADULT)
        person = _person("254071305512392")
        args = (db.session, keys.ring, "254071305512392", "34567890123", date(1954, 7, 2), NOW,
                ACTOR)
        assert activation.oppose_without_code(
            db.session, keys.ring, "254071305512392", "34567890124", date(1954, 7, 2), NOW,
            ACTOR).outcome is None
        first = activation.oppose_without_code(*args)
        assert (first.outcome, first.repeated, first.email) == ("opposed", False,
                                                                "jeanne@example.org")
        assert person.space_status == SpaceStatus.OPPOSED
        again = activation.oppose_without_code(*args)
        assert (again.outcome, again.repeated) == ("opposed", True)
        assert person.opposition_reference == first.person.opposition_reference
        person.space_status = SpaceStatus.ACTIVE
        assert activation.oppose_without_code(*args).outcome == "not_opposable"
        assert person.space_status == SpaceStatus.ACTIVE
        # One audit row on every path, the unknown person's included.
        db.session.commit()
        actions = Counter(db.session.execute(select(AuditEvent.action).where(
            AuditEvent.action.like("activation.oppos%"))).scalars())
        assert actions == {"activation.opposition_refused": 2, "activation.opposed": 1,
                           "activation.opposition_repeated": 1}


def _nir(prefix13: str) -> str:
    from stdnum.fr import nir as stdnum_nir
    return prefix13 + stdnum_nir.calc_check_digits(prefix13)


def _open(nir: str, representative: User | None = None) -> User:
    person = _person(nir)
    issued = activation.issue_code(db.session, keys.ring, person, NOW)
    record = activation.find_code(db.session, keys.ring, issued.code, NOW)
    return activation.activate(db.session, keys.ring, record, None, NOW, ACTOR,
                               representative_user=representative).user


def test_both_parents_act_for_the_child_whoever_opens_a_space_first(app):
    """The insurer's two legal representatives: the one who activates the child's space
    and the other one, whether their own space opens before or after the child's."""
    with app.app_context():
        second, third = _nir("1870675108123"), _nir("1900275108456")
        son, daughter = _nir("1190569123457"), _nir("2210369123458")
        _import(PARENT
                + f"{second},45678901234,Martin,Alex,1987-06-01,1,,,,\n"
                + f"{third},56789012345,Durand,Sam,1990-02-01,1,,,,\n"
                + f"{son},23456789012,Martin,Léo,2019-05-14,1,,,,288037510802150;{second}\n"
                + f"{daughter},67890123456,Martin,Lou,2021-03-01,2,,,,"
                  f"288037510802150;{third}\n")
        camille, alex = _open("288037510802150"), _open(second)
        leo = _open(son, representative=camille)   # Alex's space existed already
        lou = _open(daughter, representative=camille)
        sam = _open(third)                         # Sam's space opens after Lou's
        db.session.commit()
        links = set(db.session.execute(select(Representation.representative_id,
                                              Representation.represented_id)).all())
        assert links == {(camille.id, leo.id), (alex.id, leo.id), (camille.id, lou.id),
                         (sam.id, lou.id)}
