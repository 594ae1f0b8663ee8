"""A conversation page asked for messages before a number no database integer holds, or a
page number out of any range, answers a page, not a server error (issue 13, item 5)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.demo import messages as demo_messages
from domain.models import Conversation
from extensions import db, keys

HUGE = ["99999999999999999999999999", str(2**31), str(2**63), str(-2**63 - 1), "-1", "0",
        "1e9", "12abc", "", "٣"]


@pytest.fixture
def conversation_id(app, demo_users):
    with app.app_context():
        assert demo_messages.seed_messages(db.session, keys.ring, "camille.martin", "dr.bernard")
        db.session.commit()
        return db.session.scalars(select(Conversation.id)).one()


@pytest.mark.parametrize("value", HUGE)
def test_a_huge_before_number_shows_the_conversation(signed_in, conversation_id, value):
    patient = signed_in("camille.martin")
    response = patient.get(f"/messagerie/{conversation_id}?avant={value}")
    assert response.status_code in (200, 404), response.status_code
    doctor = signed_in("dr.bernard")
    response = doctor.get(f"/pro/messagerie/{conversation_id}?avant={value}")
    assert response.status_code in (200, 404), response.status_code


def test_out_of_range_before_number_shows_the_newest_messages(signed_in, conversation_id):
    patient = signed_in("camille.martin")
    html = patient.get(f"/messagerie/{conversation_id}?avant={2**63}").get_data(as_text=True)
    assert "salbutamol" in html


@pytest.mark.parametrize("value", HUGE)
def test_a_huge_inbox_page_shows_a_page(signed_in, conversation_id, value):
    for login, path in (("camille.martin", "/messagerie"), ("dr.bernard", "/pro/messagerie")):
        response = signed_in(login).get(f"{path}?page={value}")
        assert response.status_code == 200, (login, value)
