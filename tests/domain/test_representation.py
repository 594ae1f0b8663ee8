"""Acting in another person's space: which representations are in force, the operator's
changes, and the end at the 18th birthday (Europe/Paris)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from domain import audit, policy, representation
from domain.errors import NotAllowed
from domain.models import AuditEvent, InsuredPerson, Representation, Role, User
from domain.people import represented_by
from domain.policy import RepresentationKind
from extensions import db, keys

ACTOR = audit.Actor(acting_as="operator")
LEO_BORN = date(2019, 5, 14)


def _people():
    camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
    leo = db.session.get(User, db.session.scalars(select(Representation.represented_id).where(
        Representation.representative_id == camille.id)).one())
    others = {user.login: user for user in db.session.scalars(select(User)) if user.login}
    return camille, leo, others


def _events(action: str) -> list[AuditEvent]:
    """The action's events, in the order they happened, once the work so far is committed
    (as the view does: audit rows are written at commit)."""
    db.session.commit()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.occurred_at, AuditEvent.chain,
                                             AuditEvent.seq)))


@pytest.mark.parametrize(("born", "eighteen"), [
    (date(2019, 5, 14), date(2037, 5, 14)),
    (date(2008, 2, 29), date(2026, 3, 1)),   # no 29 February in 2026
    (date(2004, 2, 29), date(2022, 3, 1)),
    (date(2000, 2, 29), date(2018, 3, 1)),
])
def test_majority_day(born, eighteen):
    assert policy.majority_day(born) == eighteen


@pytest.mark.parametrize(("kind", "ended", "today", "expected"), [
    ("parent", False, date(2037, 5, 13), True),    # the day before the 18th birthday
    ("parent", False, date(2037, 5, 14), False),   # the birthday itself: an adult
    ("parent", True, date(2030, 1, 1), False),
    ("tutelle", False, date(2060, 1, 1), True),    # no end date
    ("curatelle", False, date(2060, 1, 1), True),
    ("curatelle", True, date(2030, 1, 1), False),
    ("voisin", False, date(2030, 1, 1), False),    # nothing else ever gives access
])
def test_representation_active(kind, ended, today, expected):
    assert policy.representation_active(kind, ended=ended, represented_born=LEO_BORN,
                                        today=today) is expected


def test_a_parent_acts_for_the_child_until_the_eighteenth_birthday(app, demo_users):
    with app.app_context():
        camille, leo, _others = _people()
        before = date(2037, 5, 13)
        assert [space.person.id for space in representation.spaces_for(
            db.session, camille, before)] == [leo.id]
        assert representation.acting_for(db.session, camille, leo.id, before).person == leo
        for today in (date(2037, 5, 14), date(2040, 1, 1)):
            assert representation.spaces_for(db.session, camille, today) == []
            with pytest.raises(NotAllowed):
                representation.acting_for(db.session, camille, leo.id, today)


def test_nobody_else_acts_for_the_child(app, demo_users):
    with app.app_context():
        camille, leo, others = _people()
        today = date(2026, 12, 3)
        for user in others.values():
            if user.id != camille.id:
                with pytest.raises(NotAllowed):
                    representation.acting_for(db.session, user, leo.id, today)
        for space_id in (camille.id, "0" * 32, "x" * 500, ""):
            with pytest.raises(NotAllowed):
                representation.acting_for(db.session, camille, space_id, today)


def test_the_operator_ends_and_adds_again_with_reasons_in_the_audit(app, demo_users):
    with app.app_context():
        camille, leo, _others = _people()
        today = date(2026, 12, 3)
        assert representation.end(db.session, keys.ring, camille, leo, "Jugement  RG 26/1",
                                  ACTOR)
        assert not representation.end(db.session, keys.ring, camille, leo, "again", ACTOR)
        assert representation.spaces_for(db.session, camille, today) == []
        assert represented_by(db.session, camille.id) == []
        representation.add(db.session, keys.ring, camille, leo, RepresentationKind.PARENT,
                           "Jugement RG 26/2", ACTOR, today)
        assert [space.person.id for space in representation.spaces_for(
            db.session, camille, today)] == [leo.id]
        ended, added = _events("representation.ended"), _events("representation.added")
        assert [json.loads(event.details)["reason"] for event in ended] == ["Jugement RG 26/1"]
        assert json.loads(added[-1].details) == {"kind": "parent", "reason": "Jugement RG 26/2"}
        assert added[-1].subject_id == leo.id and added[-1].target_id == camille.id


def test_the_kind_must_fit_the_age(app, demo_users):
    with app.app_context():
        camille, leo, others = _people()
        today = date(2026, 12, 3)
        adult = User(role=Role.PATIENT, login="paul.tuteur", given_name="Paul",
                     family_name="Tuteur", birth_date=date(1960, 1, 2))
        db.session.add(adult)
        db.session.flush()
        cases = [(camille, camille, RepresentationKind.PARENT, "self"),
                 (others["dr.bernard"], leo, RepresentationKind.PARENT, "not_patient"),
                 (adult, camille, RepresentationKind.PARENT, "not_minor"),
                 (adult, leo, RepresentationKind.GUARDIAN, "minor")]
        for holder, represented, kind, reason in cases:
            with pytest.raises(representation.InvalidRepresentation) as caught:
                representation.add(db.session, keys.ring, holder, represented, kind, "x",
                                   ACTOR, today)
            assert caught.value.reason == reason
        representation.add(db.session, keys.ring, adult, camille,
                           RepresentationKind.GUARDIAN, "Tutelle", ACTOR, today)
        assert [space.kind for space in representation.spaces_for(
            db.session, adult, date(2070, 1, 1))] == [RepresentationKind.GUARDIAN]


def test_majority_ends_each_parent_once_and_reports_it_once(app, demo_users):
    with app.app_context():
        camille, leo, _others = _people()
        assert representation.end_at_majority(db.session, keys.ring, date(2037, 5, 13),
                                              ACTOR) == []
        grown = representation.end_at_majority(db.session, keys.ring, date(2037, 5, 14),
                                               ACTOR)
        assert [(item.person, item.former) for item in grown] == [(leo, (camille,))]
        # A second run (or one running at the same time) finds nothing left to end.
        assert representation.end_at_majority(db.session, keys.ring, date(2037, 5, 15),
                                              ACTOR) == []
        row = db.session.scalars(select(Representation).where(
            Representation.represented_id == leo.id)).one()
        assert row.ended_reason == "majority" and row.ended_at is not None
        assert [json.loads(event.details) for event in _events("representation.ended")] == [
            {"ended_because": "majority"}]


def test_today_is_the_day_in_paris():
    assert representation.today_in_france(datetime(2037, 5, 13, 22, 30, tzinfo=UTC)) == (
        date(2037, 5, 14))


@pytest.mark.parametrize("action", list(policy.DocumentAction))
def test_the_minors_secret_in_the_document_policy(action):
    """Whoever acts for the patient never reaches a secret document; the patient (the
    minor, once they have their own access) and its author still do."""
    owner = policy.DocumentContext(is_owner=True, is_author=False)
    secret = replace(owner, secret_from_representatives=True)
    acting = replace(secret, for_representative=True)
    assert not policy.document_allowed(action, Role.PATIENT, acting, hidden=False)
    assert policy.document_allowed(action, Role.PATIENT, secret, hidden=False) == (
        policy.document_allowed(action, Role.PATIENT, owner, hidden=False))
    assert policy.document_allowed(
        action, Role.PATIENT, replace(owner, for_representative=True), hidden=False) == (
        policy.document_allowed(action, Role.PATIENT, owner, hidden=False))


@pytest.mark.parametrize(("today", "ends"), [
    (date(2038, 2, 28), False),   # born 29 February 2020: 18 on 1 March in a common year
    (date(2038, 3, 1), True),
])
def test_majority_of_a_child_born_on_29_february(app, demo_users, today, ends):
    """The job's SQL prefilter on the insurer's birth date keeps exactly the children whose
    18th birthday has come, as policy.majority_day counts it."""
    with app.app_context():
        _camille, leo, _others = _people()
        born = date(2020, 2, 29)
        record = db.session.scalars(select(InsuredPerson).where(
            InsuredPerson.user_id == leo.id)).one()
        record.birth_date = leo.birth_date = born
        db.session.flush()
        grown = representation.end_at_majority(db.session, keys.ring, today, ACTOR)
        assert bool(grown) is ends
        assert policy.majority_day(born) <= today if ends else policy.majority_day(born) > today


def test_majority_on_29_february_of_a_leap_year(app, demo_users):
    """Today 29 February 2044: there was none in 2026; born 28 February 2026 is 18 today,
    born 1 March 2026 is not."""
    with app.app_context():
        _camille, leo, _others = _people()
        record = db.session.scalars(select(InsuredPerson).where(
            InsuredPerson.user_id == leo.id)).one()
        record.birth_date = leo.birth_date = date(2026, 3, 1)
        db.session.flush()
        assert representation.end_at_majority(db.session, keys.ring, date(2044, 2, 29),
                                              ACTOR) == []
        record.birth_date = leo.birth_date = date(2026, 2, 28)
        db.session.flush()
        assert len(representation.end_at_majority(db.session, keys.ring, date(2044, 2, 29),
                                                  ACTOR)) == 1


def test_the_sessions_lookup_brings_the_spaces_to_switch_to(app, demo_users):
    """Each page of a parent names their children in the header: the session's lookup reads
    the representations not ended with it (domain/sessions.py), and spaces_among() gives
    from them what spaces_for() would read: in force today, by first name."""
    from domain import sessions

    with app.app_context():
        camille, leo, others = _people()
        today = date(2026, 12, 3)
        anna = User(role=Role.PATIENT, login=None, given_name="Anna", family_name="Martin",
                    birth_date=date(2024, 2, 1))
        db.session.add(anna)
        db.session.flush()
        representation.add(db.session, keys.ring, camille, anna, RepresentationKind.PARENT,
                           "Naissance", ACTOR, today)

        def switch(person, day=today):
            token, _ = sessions.create(db.session, {}, user_id=person.id)
            record, status = sessions.load(db.session, token, sessions.Lifetimes())
            assert status == sessions.Status.ACTIVE
            among = [space.person.id for space in representation.spaces_among(
                record.represented, day)]
            assert among == [space.person.id for space in representation.spaces_for(
                db.session, person, day)]
            return among

        assert switch(camille) == [anna.id, leo.id]  # by first name
        assert switch(camille, date(2037, 5, 14)) == [anna.id]  # Léo is 18
        representation.end(db.session, keys.ring, camille, anna, "Jugement", ACTOR)
        assert switch(camille) == [leo.id]  # ended: not even read
        assert switch(others["dr.bernard"]) == [] and switch(leo) == []
        db.session.rollback()


def test_a_space_is_opened_among_the_representations_the_session_brought(app, demo_users):
    """Each page of a represented space checks the representation again: from the rows the
    session's lookup brought with it (no query), with the same answer as the query."""
    from domain import sessions

    with app.app_context():
        camille, leo, others = _people()
        today = date(2026, 12, 3)

        def held(person):
            token, _ = sessions.create(db.session, {}, user_id=person.id)
            record, _status = sessions.load(db.session, token, sessions.Lifetimes())
            return record.represented

        def opened(person, space_id, day=today, brought=None):
            brought = held(person) if brought is None else brought
            try:
                space = representation.acting_for(db.session, person, space_id, day, brought)
            except NotAllowed:
                space = None
            try:
                asked = representation.acting_for(db.session, person, space_id, day)
            except NotAllowed:
                asked = None
            assert (space is None) == (asked is None)
            if space is not None:
                assert (space.person.id, space.kind) == (asked.person.id, asked.kind)
            return space

        space = opened(camille, leo.id)
        assert space.person.id == leo.id and space.kind == RepresentationKind.PARENT
        assert space.person.given_name == "Léo"  # read-only, from the lookup
        assert opened(camille, leo.id, date(2037, 5, 14)) is None  # Léo is 18
        assert opened(camille, others["dr.bernard"].id) is None  # nobody she represents
        assert opened(camille, "0" * 32) is None and opened(camille, "") is None
        assert opened(others["dr.bernard"], leo.id) is None  # holds none
        assert opened(leo, camille.id) is None  # not the other way round
        brought = held(camille)
        representation.end(db.session, keys.ring, camille, leo, "Jugement", ACTOR)
        assert opened(camille, leo.id) is None  # ended: the next lookup does not bring it
        assert brought and representation.acting_for(  # what the request had read
            db.session, camille, leo.id, today, brought).person.id == leo.id
        db.session.rollback()
