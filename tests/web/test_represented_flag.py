"""The session's query says whether the account represents anyone (domain/sessions.py):
pages of people who represent nobody never ask for the spaces they could switch to; once
a representation is in force, the next page shows it."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, select, update

from domain.models import Representation, User
from domain.models.base import utcnow
from extensions import db


@contextmanager
def _statements(app):
    seen: list[str] = []

    def _record(_connection, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _record)


def _represent(app, ended: bool) -> None:
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        db.session.execute(update(Representation).where(
            Representation.representative_id == camille.id).values(
            ended_at=utcnow() if ended else None, ended_reason="majority" if ended
            else None))
        db.session.commit()


def test_spaces_are_asked_for_only_when_someone_is_represented(app, signed_in):
    client = signed_in("camille.martin")
    _represent(app, ended=True)
    with _statements(app) as seen:
        page = client.get("/documents").get_data(as_text=True)
    assert 'class="space-switch"' not in page
    assert not [sql for sql in seen if sql.lstrip().startswith("SELECT representations.")]
    assert any("EXISTS" in sql and "representations" in sql for sql in seen)
    _represent(app, ended=False)
    with _statements(app) as seen:
        page = client.get("/documents").get_data(as_text=True)
    assert 'class="space-switch"' in page
    assert [sql for sql in seen if sql.lstrip().startswith("SELECT representations.")]
