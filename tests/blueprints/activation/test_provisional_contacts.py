"""A provisional code needs contact details the insurer already has: the form says so, and
what to do without them, before the form; no page shows a destination, even masked."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from sqlalchemy import select

from domain.models import InsuredPerson
from extensions import db
from tests.blueprints.activation.test_activate_flow import post

JEANNE_IDENTITY = {"nir": "254071305512392", "vitale": "34567890123", "birth_day": "02",
                   "birth_month": "07", "birth_year": "1954"}
MASKED = re.compile(r"\*{2,}|•{2,}|x{3,}@", re.IGNORECASE)


def _text(node) -> str:
    return " ".join(node.get_text(" ").split())


def test_the_form_says_first_which_contact_details_it_needs_and_what_to_do_without(
        client, app):
    html = client.get("/activation/code-provisoire").get_data(as_text=True)
    main = BeautifulSoup(html, "html.parser").find("main")
    form = main.find("form", action="/activation/code-provisoire")
    before = " ".join(_text(node) for node in form.find_all_previous(["p", "li"])
                      if node.find_parent("main") is main)
    assert "connaît déjà votre adresse e-mail ou votre numéro de téléphone" in before
    for way in ("attendez le courrier", "espace France Services",
                f"appelez le {app.config['OFFICIAL_PHONE']}"):
        assert way in before, way
    assert not MASKED.search(_text(main))


def test_nobody_on_file_gets_the_one_fixed_answer_without_a_destination(client, app,
                                                                        demo_users):
    with app.app_context():
        person = db.session.execute(select(InsuredPerson).where(
            InsuredPerson.given_names == "Jeanne Marie")).scalar_one()
        person.email_sealed = person.phone_sealed = None
        db.session.commit()
    response = post(client, "/activation/code-provisoire", JEANNE_IDENTITY)
    main = BeautifulSoup(response.get_data(as_text=True), "html.parser").find("main")
    text = _text(main)
    assert response.status_code == 200 and not MASKED.search(text) and "@" not in text
    assert "attendez le courrier" in text
    assert f"appelez le {app.config['OFFICIAL_PHONE']}" in text
