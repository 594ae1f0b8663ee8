"""The authorisation matrix (data/access_matrix.json), the sector exclusion and the
representative roles (issue 15), through the policy functions every view calls."""

from __future__ import annotations

import json
from datetime import date

import pytest

from domain import access_matrix, policy, profile, representation
from domain.errors import NotAllowed
from domain.models import (
    EXCLUDED_SECTORS,
    Category,
    Profession,
    Representation,
    Role,
    Sector,
    User,
)
from domain.models.base import utcnow
from extensions import db, keys


def test_the_file_names_its_source_and_only_known_words():
    data = access_matrix.matrix()
    assert "DMP" in data["source"]
    assert set(data["documents"]) == {profession.value for profession in Profession}
    assert set(data["profile"]) == {profession.value for profession in Profession}
    sections = {section.key for section in profile.SECTIONS} | {"measures"}
    for readable in data["profile"].values():
        assert set(readable) <= sections
    assert set(data["vaccinations_add"]) <= {profession.value for profession in Profession}


def test_a_bad_file_is_refused(tmp_path, monkeypatch):
    broken = json.loads(access_matrix.MATRIX_FILE.read_text(encoding="utf-8"))
    broken["documents"]["doctor"]["read"].append("bank_statements")
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    monkeypatch.setattr(access_matrix, "MATRIX_FILE", path)
    access_matrix.matrix.cache_clear()
    try:
        with pytest.raises(ValueError):
            access_matrix.matrix()
    finally:
        monkeypatch.undo()
        access_matrix.matrix.cache_clear()


@pytest.mark.parametrize(("profession", "category", "action", "expected"), [
    (Profession.DOCTOR, Category.IMAGING, "read", True),
    (Profession.DOCTOR, Category.ADVANCE_DIRECTIVES, "read", True),
    (Profession.DOCTOR, Category.ADVANCE_DIRECTIVES, "deposit", False),  # system only
    (Profession.PHARMACIST, Category.PRESCRIPTIONS, "read", True),
    (Profession.PHARMACIST, Category.IMAGING, "read", False),
    (Profession.PHARMACIST, Category.PREVENTION, "deposit", True),
    (Profession.BIOLOGIST, Category.LAB_RESULTS, "deposit", True),
    (Profession.BIOLOGIST, Category.REPORTS, "read", False),
    (Profession.PHYSIOTHERAPIST, Category.ADMINISTRATIVE, "read", False),
    (Profession.NURSE, Category.ADVANCE_DIRECTIVES, "read", True),
    (None, Category.SUMMARY, "read", False),
])
def test_the_matrix_for_care(profession, category, action, expected):
    assert policy.matrix_allows(profession, Sector.CARE, category, action) is expected


@pytest.mark.parametrize("sector", [None, *sorted(EXCLUDED_SECTORS)])
@pytest.mark.parametrize("profession", list(Profession))
def test_excluded_sectors_get_nothing_from_the_matrix(sector, profession):
    """An occupational doctor is a doctor with an RPPS number: the sector still wins."""
    for category in Category:
        for action in ("read", "deposit"):
            assert not policy.matrix_allows(profession, sector, category, action)
    for section in profile.SECTIONS:
        assert not policy.profile_section_readable(profession, sector, section.key)


def test_profile_sections_per_profession():
    assert policy.profile_section_readable(Profession.PHARMACIST, Sector.CARE, "allergies")
    assert not policy.profile_section_readable(Profession.PHARMACIST, Sector.CARE,
                                               "family_history")
    assert access_matrix.may_add_vaccination(Profession.PHARMACIST)
    assert not access_matrix.may_add_vaccination(Profession.BIOLOGIST)


# --- the representative roles ----------------------------------------------------------------
# Someone acting in another person's space passes two gates: representation.acting_for (is
# there a representation in force today for this very space?) and then the owner's rule of
# each resource, with `for_representative` set, which keeps the minor's secret from them.

TODAY = date(2026, 12, 3)
ACTORS = ("parent_of_this_child", "parent_of_another_child", "guardian", "curator",
          "former_after_18", "after_18_before_the_job", "operator_ended")
MAY_ACT = {"parent_of_this_child", "guardian", "curator"}


def _user(given: str, born: date) -> User:
    wrapped = keys.ring.new_patient_key()
    user = User(role=Role.PATIENT, given_name=given, family_name="Essai", birth_date=born,
                wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)
    db.session.add(user)
    db.session.flush()
    return user


def _scenario(name: str) -> tuple[User, User]:
    """(holder, the space they try to act in), with the rows the name says."""
    holder, child = _user("Parent", date(1985, 1, 1)), _user("Enfant", date(2019, 5, 14))
    other = _user("Autre", date(2020, 6, 1))
    adult = _user("Majeur", date(1950, 2, 2))
    grown = _user("Emma", date(2008, 12, 3))  # 18 today, TODAY
    rows = {
        "parent_of_this_child": [(child, "parent", None)],
        "parent_of_another_child": [(other, "parent", None)],
        "guardian": [(adult, "tutelle", None)],
        "curator": [(adult, "curatelle", None)],
        "former_after_18": [(grown, "parent", "majority")],
        "after_18_before_the_job": [(grown, "parent", None)],
        "operator_ended": [(child, "parent", "court_decision")],
    }[name]
    for person, kind, ended in rows:
        db.session.add(Representation(
            representative_id=holder.id, represented_id=person.id, relationship=kind,
            ended_at=utcnow() if ended else None, ended_reason=ended))
    db.session.flush()
    target = {"parent_of_another_child": child, "guardian": adult, "curator": adult,
              "former_after_18": grown, "after_18_before_the_job": grown}.get(name, child)
    return holder, target


def _acts(holder: User, space: User) -> bool:
    try:
        representation.acting_for(db.session, holder, space.id, TODAY)
    except NotAllowed:
        return False
    return True


# (resource, action, facts) -> what someone acting in the space may do, as the owner would,
# except a document the minor keeps secret from the representatives.
DOCUMENT_CASES = [(action, author, secret, hidden)
                  for action in policy.DocumentAction for author in (False, True)
                  for secret in (False, True) for hidden in (False, True)]


def _document_expected(action, author, secret) -> bool:
    if secret:
        return False
    if action in (policy.DocumentAction.EDIT, policy.DocumentAction.DELETE):
        return author
    return True


@pytest.mark.parametrize("who", ACTORS)
def test_representative_roles_against_every_resource_and_action(app, demo_users, who):
    with app.app_context():
        holder, space = _scenario(who)
        acts = _acts(holder, space)
        assert acts is (who in MAY_ACT), who
        for action, author, secret, hidden in DOCUMENT_CASES:
            context = policy.DocumentContext(is_owner=acts, is_author=author,
                                             for_representative=True,
                                             secret_from_representatives=secret)
            allowed = policy.document_allowed(action, Role.PATIENT, context, hidden=hidden)
            assert allowed is (acts and _document_expected(action, author, secret)), (
                who, action, author, secret, hidden)
        for action in policy.ProfileAction:
            for locked in (False, True):
                allowed = policy.profile_allowed(action, Role.PATIENT, is_owner=acts,
                                                 locked=locked, section="vaccinations")
                owner_may = action in (policy.ProfileAction.READ, policy.ProfileAction.ADD) or (
                    action in (policy.ProfileAction.EDIT, policy.ProfileAction.DELETE)
                    and not locked)
                assert allowed is (acts and owner_may), (who, action, locked)
        for action in policy.MessageAction:
            for closed in (False, True):
                allowed = policy.conversation_allowed(action, Role.PATIENT, is_patient=acts,
                                                      is_professional=False, closed=closed)
                owner_may = action == policy.MessageAction.READ or (
                    action == policy.MessageAction.REPLY and not closed)
                assert allowed is (acts and owner_may), (who, action, closed)
        assert policy.agenda_allowed(Role.PATIENT, is_owner=acts) is acts
        db.session.rollback()


def test_a_closed_space_is_open_to_no_representative(app, demo_users):
    with app.app_context():
        holder, child = _scenario("parent_of_this_child")
        child.enabled = False
        db.session.flush()
        assert not _acts(holder, child)
        db.session.rollback()


def test_curatelle_and_tutelle_act_alike_with_no_end_date():
    for kind in (policy.RepresentationKind.GUARDIAN, policy.RepresentationKind.CURATOR):
        for today in (TODAY, date(2090, 1, 1)):
            assert policy.representation_active(kind, ended=False,
                                                represented_born=date(1950, 2, 2), today=today)
        assert not policy.representation_active(kind, ended=True,
                                                 represented_born=date(1950, 2, 2), today=TODAY)


# --- advisers (issue 16) -------------------------------------------------------------------

def test_an_adviser_never_reads_health_data_whatever_the_facts():
    """In or out of an accompaniment, the adviser's role gets nothing from any policy: the
    person acts in their own session, never the adviser in theirs."""
    for owner in (False, True):
        for author in (False, True):
            for grant in (False, True):
                context = policy.DocumentContext(is_owner=owner, is_author=author,
                                                 has_grant=grant, sector=Sector.CARE)
                for action in policy.DocumentAction:
                    for hidden in (False, True):
                        assert not policy.document_allowed(action, Role.ADVISER, context,
                                                           hidden=hidden)
        care = policy.CareFacts(sector=Sector.CARE, profession=Profession.DOCTOR,
                                declared=True, blocked=False, emergency=True)
        for action in policy.ProfileAction:
            assert not policy.profile_allowed(action, Role.ADVISER, is_owner=owner,
                                              locked=False, section="allergies", care=care)
        for action in policy.MessageAction:
            assert not policy.conversation_allowed(action, Role.ADVISER, is_patient=owner,
                                                   is_professional=owner, care=care)
        assert not policy.agenda_allowed(Role.ADVISER, is_owner=owner)
        assert not policy.patient_open_allowed(Role.ADVISER, care)
    for area in policy.Area:
        assert policy.may_enter(Role.ADVISER, area) is (area in (
            policy.Area.PUBLIC, policy.Area.SIGN_IN, policy.Area.ACCOUNT,
            policy.Area.ADVISER_DESK, policy.Area.APP_API))  # the API reads no session
    # A person (a patient, or nobody yet signed in) never enters the desk.
    assert not policy.may_enter(Role.PATIENT, policy.Area.ADVISER_DESK)
    assert not policy.may_enter(None, policy.Area.ADVISER_DESK)
