"""An accompaniment at the desk over HTTP (issue 16): the adviser starts it and hands the
tablet over (their session parked on the server), the person acts in a session marked as
assisted (banner, end button, audit "assisted by"), the end clears the device, and only the
adviser's desk PIN or password gives the desk back; then the outcome, the day's counts and
the month's CSV, with no person in them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from domain.models import Accompaniment, AuditEvent, User, WebSession
from extensions import db
from tests.conftest import csrf_from, sign_in
from tests.html_checks import check_page

ADVISER = "conseil.durand"
PIN = "402817"  # the demo adviser's desk PIN (domain/demo)


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def start(client, purpose: str = "documents"):
    page = client.get("/conseiller").get_data(as_text=True)
    assert check_page(page) == []
    return client.post("/conseiller/accompagnement",
                       data={"csrf_token": csrf_from(page), "purpose": purpose})


def handed_over(app, signed_in, purpose: str = "documents"):
    desk = signed_in(ADVISER)
    response = start(desk, purpose)
    assert response.status_code == 303 and response.headers["Location"] == "/accompagnement"
    with app.app_context():
        running = db.session.scalars(select(Accompaniment)).one()
        return desk, running.id


def end(client) -> str:
    page = client.get("/accompagnement").get_data(as_text=True)
    response = client.post("/accompagnement/terminer", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    return response.headers["Location"]


def test_the_hand_over_parks_the_desk_and_the_person_cannot_reach_it(app, signed_in):
    desk, running_id = handed_over(app, signed_in)
    welcome = desk.get("/accompagnement")
    html = welcome.get_data(as_text=True)
    assert welcome.status_code == 200 and check_page(html) == []
    bar = soup_of(welcome).select_one(".assist-bar")
    assert "Accompagnement par Nadia Durand (France Services Lyon 8e)" in bar.get_text(" ")
    assert bar.find("button", string="Terminer l’accompagnement") is not None
    # Without JavaScript the page leaves the screen by itself after 5 minutes.
    assert ('<noscript><link rel="stylesheet" href="/accompagnement/inactivite.css?'
            'seconds=300"></noscript>') in html
    panel = soup_of(welcome).select_one("#fin-inactivite a")
    assert panel["href"] == f"/accompagnement/fin/{running_id}?raison=inactivite"
    css = desk.get("/accompagnement/inactivite.css?seconds=300").get_data(as_text=True)
    assert "animation: assist-idle-show 0s linear 300s forwards" in css
    assert "http-equiv" not in html
    # The same browser is no longer the adviser's: every desk page asks for a sign-in.
    for path in ("/conseiller", "/conseiller/code-guichet", "/conseiller/bilan.csv",
                 "/conseiller/fiches/activer"):
        response = desk.get(path)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    with app.app_context():
        parked = db.session.scalars(select(WebSession).where(
            WebSession.parked_at.is_not(None))).one()
        adviser_id = db.session.scalars(select(User.id).where(User.login == ADVISER)).one()
        assert parked.user_id == adviser_id
        person = db.session.scalars(select(WebSession).where(
            WebSession.assisted_by_id == adviser_id)).one()
        assert person.user_id is None and running_id in person.data


def test_the_person_signs_in_and_acts_assisted(app, signed_in):
    desk, running_id = handed_over(app, signed_in)
    sign_in(desk, app, "camille.martin")  # the person, on the tablet, herself
    documents = desk.get("/documents")
    assert documents.status_code == 200
    title = soup_of(documents).title
    assert title.get_text() == "Documents – Carnet santé" and title.has_attr("data-generic")
    assert soup_of(documents).select_one(".assist-bar") is not None
    with app.app_context():
        adviser_id = db.session.scalars(select(User.id).where(User.login == ADVISER)).one()
        camille = db.session.scalars(select(User.id).where(
            User.login == "camille.martin")).one()
        assisted = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor_id == camille, AuditEvent.assisted_by_id == adviser_id)).all()
        assert "auth.login" in assisted
    history = desk.get("/acces/historique?onglet=moi").get_data(as_text=True)
    assert "Accompagné par un conseiller" in history
    location = end(desk)
    assert location == f"/accompagnement/fin/{running_id}"
    assert desk.get("/documents").status_code == 302  # signed out on the server
    with app.app_context():
        assert db.session.scalars(select(WebSession).where(
            WebSession.user_id == camille)).all() == []


def test_an_adviser_or_professional_cannot_sign_in_during_an_accompaniment(app, signed_in):
    desk, _running = handed_over(app, signed_in)
    page = desk.get("/connexion").get_data(as_text=True)
    response = desk.post("/connexion", data={"csrf_token": csrf_from(page),
                                             "login": "dr.bernard",
                                             "password": "Stethoscope-Azur-2026"})
    assert response.status_code == 422
    assert "seule la personne accompagnée se connecte" in response.get_data(as_text=True)


def test_the_desk_resumes_only_with_the_pin_or_the_password(app, signed_in):
    desk, running_id = handed_over(app, signed_in)
    ended = end(desk)
    page = desk.get(ended)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and check_page(html) == []
    assert "Rien de vous ne reste sur cette tablette" in html
    token = csrf_from(html)
    resume = f"/accompagnement/fin/{running_id}/reprendre"
    wrong = desk.post(resume, data={"csrf_token": token, "pin": "111112"})
    assert wrong.status_code == 422 and "Encore 4 essais" in wrong.get_data(as_text=True)
    assert desk.get("/conseiller").status_code == 302
    bad_password = desk.post(resume, data={"csrf_token": token, "password": "pas le bon"})
    assert bad_password.status_code == 422
    right = desk.post(resume, data={"csrf_token": token, "pin": PIN})
    assert right.status_code == 303 and right.headers["Location"] == "/conseiller"
    home = desk.get("/conseiller")
    assert home.status_code == 200
    # The outcome, then the counts: never a name.
    html = home.get_data(as_text=True)
    form = soup_of(home).find("form", action=f"/conseiller/accompagnement/{running_id}/resultat")
    assert form is not None
    response = desk.post(form["action"], data={"csrf_token": csrf_from(html),
                                               "outcome": "help_only"})
    assert response.status_code == 303
    home = desk.get("/conseiller").get_data(as_text=True)
    assert "1 accompagnement aujourd’hui." in home and "Aide seulement" in home
    assert "Camille" not in home and "Martin" not in home
    # The parked desk is gone: the end page cannot resume it twice.
    again = desk.post(resume, data={"csrf_token": csrf_from(home), "pin": PIN})
    assert again.status_code == 303 and "/connexion" in again.headers["Location"]


def test_five_wrong_pins_drop_the_desk(app, signed_in):
    desk, running_id = handed_over(app, signed_in)
    token = csrf_from(desk.get(end(desk)).get_data(as_text=True))
    resume = f"/accompagnement/fin/{running_id}/reprendre"
    for left in (4, 3, 2, 1):
        response = desk.post(resume, data={"csrf_token": token, "pin": "111112"})
        assert f"Encore {left} essai" in response.get_data(as_text=True)
    fifth = desk.post(resume, data={"csrf_token": token, "pin": "111112"})
    assert fifth.status_code == 303 and fifth.headers["Location"] == "/connexion"
    assert desk.post(resume, data={"csrf_token": token, "pin": PIN}).headers[
        "Location"] == "/connexion"  # even the right PIN: a full sign-in now
    with app.app_context():
        assert db.session.scalars(select(WebSession).where(
            WebSession.parked_at.is_not(None))).all() == []


def test_the_password_resumes_too(app, signed_in):
    desk, running_id = handed_over(app, signed_in)
    token = csrf_from(desk.get(end(desk)).get_data(as_text=True))
    response = desk.post(f"/accompagnement/fin/{running_id}/reprendre",
                         data={"csrf_token": token, "password": "Guichet-Solidaire-2026"})
    assert response.headers["Location"] == "/conseiller"
    assert desk.get("/conseiller").status_code == 200


def test_idle_end_lands_on_the_end_page_and_clears(app, signed_in):
    desk, running_id = handed_over(app, signed_in)
    response = desk.get(f"/accompagnement/fin/{running_id}?raison=inactivite")
    assert response.status_code == 303
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    page = desk.get(response.headers["Location"]).get_data(as_text=True)
    assert "Après 5 minutes sans action" in page
    with app.app_context():
        assert db.session.get(Accompaniment, running_id).ended_reason == "idle"


def test_no_person_is_chosen_by_the_adviser(app, signed_in):
    """Extra fields naming a person are ignored: the assisted session is nobody's until the
    person signs in herself."""
    desk = signed_in(ADVISER)
    page = desk.get("/conseiller").get_data(as_text=True)
    desk.post("/conseiller/accompagnement", data={
        "csrf_token": csrf_from(page), "purpose": "documents", "login": "camille.martin",
        "user_id": "x" * 32, "nir": "288037510802150"})
    assert desk.get("/documents").status_code == 302
    assert desk.get("/mon-espace").status_code == 302


@pytest.mark.parametrize("pin", ["12345", "1234567", "abcdef", "111111", "123456", "987654"])
def test_a_weak_or_malformed_pin_is_refused(signed_in, pin):
    desk = signed_in(ADVISER)
    page = desk.get("/conseiller/code-guichet").get_data(as_text=True)
    response = desk.post("/conseiller/code-guichet", data={
        "csrf_token": csrf_from(page), "pin": pin, "password": "Guichet-Solidaire-2026"})
    assert response.status_code == 422
    assert check_page(response.get_data(as_text=True)) == []


def test_the_month_csv_names_nobody(app, signed_in):
    desk, running_id = handed_over(app, signed_in, "activate")
    token = csrf_from(desk.get(end(desk)).get_data(as_text=True))
    desk.post(f"/accompagnement/fin/{running_id}/reprendre",
              data={"csrf_token": token, "pin": PIN})
    response = desk.get("/conseiller/bilan.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=";"))
    assert rows[0] == ["Jour", "Motif", "Résultat", "Fin", "Durée (minutes)"]
    assert rows[1][1:4] == ["Activer mon espace santé", "Résultat pas encore noté",
                            "terminé par le bouton"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", rows[1][0])


def test_help_sheets_print(signed_in):
    desk = signed_in(ADVISER)
    for slug in ("activer", "refuser", "arnaques", "a-la-maison"):
        response = desk.get(f"/conseiller/fiches/{slug}")
        assert response.status_code == 200 and check_page(response.get_data(as_text=True)) == []
    assert desk.get("/conseiller/fiches/autre").status_code == 404


def test_idle_end_after_the_server_expired_the_session(app, signed_in):
    """The person left: the session idled out on the server before the page's refresh came;
    the refresh still ends the accompaniment and clears the browser."""
    from datetime import timedelta

    desk, running_id = handed_over(app, signed_in)
    with app.app_context():
        person = db.session.scalars(select(WebSession).where(
            WebSession.assisted_by_id.is_not(None))).one()
        person.last_seen -= timedelta(minutes=6)
        db.session.commit()
    response = desk.get(f"/accompagnement/fin/{running_id}?raison=inactivite")
    assert response.status_code == 303
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert "Après 5 minutes sans action" in desk.get(response.headers["Location"]).get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get(Accompaniment, running_id).ended_reason == "idle"
        assert db.session.scalars(select(WebSession).where(
            WebSession.assisted_by_id.is_not(None))).all() == []


def test_a_person_still_acting_is_not_ended_by_someone_elses_refresh(app, signed_in, client):
    desk, running_id = handed_over(app, signed_in)
    response = client.get(f"/accompagnement/fin/{running_id}?raison=inactivite")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Accompaniment, running_id).ended_at is None
    assert desk.get("/accompagnement").status_code == 200


def test_documents_open_inline_and_fields_are_not_remembered(app, signed_in):
    from tests.blueprints.documents.test_vault_pages import png, upload

    desk, _running = handed_over(app, signed_in)
    login = soup_of(desk.get("/connexion"))
    assert [field["autocomplete"] for field in login.select("#login, #password")] == [
        "off", "off"]
    sign_in(desk, app, "camille.martin")
    response = upload(desk, png(), "radio.png", title="Radio du genou")
    document_url = response.headers["Location"].split("?")[0]
    listing = soup_of(desk.get("/documents"))
    assert listing.find("a", href=f"{document_url}/fichier") is None
    shown = listing.find("a", href=f"{document_url}/apercu")
    assert shown is not None and "sans le télécharger" in shown.get_text()
    detail = soup_of(desk.get(document_url))
    assert detail.find("a", href=f"{document_url}/fichier") is None
    assert detail.select_one("figure.preview img")["src"] == f"{document_url}/apercu"
    # Outside an accompaniment, the same pages offer the download.
    own = signed_in("camille.martin")
    assert soup_of(own.get(document_url)).find("a", href=f"{document_url}/fichier")
    assert [field["autocomplete"] for field in soup_of(app.test_client().get(
        "/connexion")).select("#login, #password")] == ["username", "current-password"]
