"""domain.people.by_id: the accounts a page names, read-only, in one query."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from domain import people
from domain.models import AccountRow, User
from extensions import db


def _users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.id)))


def _statements(run) -> tuple[object, list[str]]:
    seen: list[str] = []

    def count(_connection, _cursor, statement, *_rest):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        return run(), seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _as_seen(found: dict[str, AccountRow]) -> dict[str, tuple]:
    return {user_id: (row.login, row.role, row.display_name, row.birth_date)
            for user_id, row in found.items()}


def test_the_accounts_asked_for_each_once_and_no_query_for_none(app, demo_users):
    with app.app_context():
        users = _users()
        assert len(users) >= 3
        expected = {user.id: (user.login, user.role, user.display_name, user.birth_date)
                    for user in users}
        for size in range(1, len(users) + 1):
            ids = [user.id for user in users[:size]]
            found = people.by_id(db.session, ids + ids[:1] + ["0" * 32])  # twice, unknown
            assert all(isinstance(row, AccountRow) for row in found.values())
            assert _as_seen(found) == {user_id: expected[user_id] for user_id in ids}
        found, statements = _statements(lambda: people.by_id(db.session, []))
        assert found == {} and statements == []


def test_a_longer_list_takes_the_expanding_query_with_the_same_answer(app, demo_users,
                                                                      monkeypatch):
    with app.app_context():
        ids = [user.id for user in _users()]
        prepared, statements = _statements(lambda: people.by_id(db.session, ids))
        assert len(statements) == 1
        monkeypatch.setattr(people, "BY_ID_PREPARED", len(ids) - 1)
        expanding, statements = _statements(lambda: people.by_id(db.session, ids))
        assert len(statements) == 1
        assert _as_seen(expanding) == _as_seen(prepared)
        assert set(expanding) == set(ids)


def test_one_statement_per_number_of_ids_built_once(app, demo_users):
    with app.app_context():
        first, second = _users()[:2]
        people.by_id(db.session, [first.id, second.id])
        built = people._BY_IDS[2]
        people.by_id(db.session, [second.id, first.id])
        assert people._BY_IDS[2] is built
        people.by_id(db.session, [first.id])
        assert people._BY_IDS[1] is not people._BY_IDS[2]
        assert max(people._BY_IDS) <= people.BY_ID_PREPARED


@pytest.mark.parametrize("size", [1, 2])
def test_changes_not_yet_flushed_are_seen(app, demo_users, size):
    with app.app_context():
        users = _users()[:size]
        users[0].family_name = "Nouveau-Nom"  # pending, as a use case leaves it
        found = people.by_id(db.session, [user.id for user in users])
        assert found[users[0].id].family_name == "Nouveau-Nom"
        db.session.rollback()
