"""The access history's first page names its actors and lists the professionals its
filter offers (those with a care relation or an emergency access to the space) with one
read of the accounts; a later page, or the CSV, reads its actors only."""

from __future__ import annotations

from sqlalchemy import event, select

from domain import audit, care, emergency, history
from domain.models import User
from domain.models.base import utcnow
from extensions import db, keys
from tests.domain.test_care import professional


def _user(login: str) -> User:
    return db.session.scalars(select(User).where(User.login == login)).one()


def test_the_first_page_reads_its_actors_and_the_filters_people_at_once(app, demo_users):
    sent = []

    def counted(_connection, _cursor, statement, *_rest):
        sent.append(statement)

    with app.app_context():
        camille, bernard, pharmacist = (_user("camille.martin"), _user("dr.bernard"),
                                        _user("pharma.petit"))
        passing = professional("dr.passant")  # acted once, no relation, no emergency
        care.declare(db.session, keys.ring, bernard, camille, audit.Actor(bernard.id))
        camille.emergency_others = True
        emergency.start(db.session, keys.ring, pharmacist, camille, "Malaise à l’officine",
                        now=utcnow(), hours=4, actor=audit.Actor(pharmacist.id))
        audit.record(db.session, keys.ring, "document.read", subject_id=camille.id,
                     actor=audit.Actor(passing.id, acting_as="professional"),
                     target_type="document", target_id="0" * 32)
        db.session.commit()
        around = sorted((bernard, pharmacist), key=lambda person: (person.name_order,
                                                                   person.id))

        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            rows, _before, people = history.page(db.session, camille, history.Filters(),
                                                 with_people=True)
            first_page = len(sent)
            sent.clear()
            later_rows, _before, nobody = history.page(db.session, camille,
                                                       history.Filters())
            later_page = len(sent)
            sent.clear()
            _rows, _before, alone = history.page(
                db.session, camille, history.Filters(person_id="f" * 32), with_people=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)

        assert [person.id for person in people] == [person.id for person in around]
        assert passing.id not in {person.id for person in people}
        # An actor outside the filter's people is named all the same.
        assert [row.actor.id for row in rows if row.actor] == [passing.id]
        assert [(row.event.seq, row.actor and row.actor.id) for row in later_rows] == [
            (row.event.seq, row.actor and row.actor.id) for row in rows]
        assert (first_page, later_page, nobody) == (2, 2, [])
        # A page without an event still lists them (no actor to read with them).
        assert _rows == [] and [person.id for person in alone] == [
            person.id for person in around]
