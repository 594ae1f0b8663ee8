"""Activating a space through the web pages, as a person would (JavaScript off)."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from domain.demo import DEMO_ACTIVATION_CODE
from domain.models import AuditEvent, InsuredPerson, SpaceStatus, User
from domain.notify import Mailer
from extensions import db
from tests.conftest import csrf_from, last_sms_code
from tests.html_checks import check_page
from tests.qr_checks import check_qr

JEANNE = {"nir": "2 54 07 13 055 123 92", "birth_day": "2", "birth_month": "7",
          "birth_year": "1954"}


def post(client, path, data):
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.headers.get("Location"))
    html = page.get_data(as_text=True)
    assert check_page(html) == [], (path, check_page(html))
    return client.post(path, data={"csrf_token": csrf_from(html), **data})


def last_email_code(app) -> str:
    message = Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()[-1]
    return re.search(r"\b(\d{6})\b", message.get_body(("plain",)).get_content()).group(1)


def start(client, code=DEMO_ACTIVATION_CODE):
    response = post(client, "/activation", {"code": code.lower().replace("-", " ")})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert response.headers["Location"] == "/activation/identite"
    return response


def walk_to_credentials(client, app):
    start(client)
    assert post(client, "/activation/identite", JEANNE).headers["Location"] == (
        "/activation/conditions")
    assert post(client, "/activation/conditions", {"accept": "oui"}).status_code == 303
    response = post(client, "/activation/coordonnees", {"email": "jeanne.dupont@example.org",
                                                        "phone": "06 00 00 00 03"})
    assert response.headers["Location"] == "/activation/coordonnees/verification"
    response = post(client, "/activation/coordonnees/verification",
                    {"email_code": last_email_code(app), "phone_code": last_sms_code(app)})
    assert response.headers["Location"] == "/activation/identifiants", response.get_data(
        as_text=True)[:2000]


def walk_to_summary(client, app) -> str:
    """Every step up to the summary, with the login jeanne.dupont and an app's TOTP;
    returns the TOTP secret."""
    walk_to_credentials(client, app)
    response = post(client, "/activation/identifiants", {
        "login": "jeanne.dupont", "password": "Le chat dort sur le toit",
        "password_confirm": "Le chat dort sur le toit"})
    assert response.headers["Location"] == "/activation/second-facteur"
    page = client.get("/activation/second-facteur").get_data(as_text=True)
    secret = re.search(r'class="code-display">([A-Z2-7]{32})<', page).group(1)
    check_qr(client, page, secret, "jeanne.dupont")
    response = post(client, "/activation/second-facteur",
                    {"method": "totp", "code": pyotp.TOTP(secret).now(), "action": "confirm"})
    assert response.headers["Location"] == "/activation/recapitulatif"
    return secret


def test_a_person_activates_their_space_and_signs_in(client, app, demo_users):
    secret = walk_to_summary(client, app)
    summary = client.get("/activation/recapitulatif").get_data(as_text=True)
    assert "Étape 7 sur 8" in summary and "jeanne.dupont" in summary
    response = post(client, "/activation/recapitulatif", {})
    assert response.headers["Location"] == "/activation/termine"
    done = client.get("/activation/termine").get_data(as_text=True)
    assert "Votre espace santé est prêt" in done and check_page(done) == []

    with app.app_context():
        user = db.session.execute(select(User).where(User.login == "jeanne.dupont")).scalar_one()
        person = db.session.execute(select(InsuredPerson).where(
            InsuredPerson.user_id == user.id)).scalar_one()
        assert person.space_status == SpaceStatus.ACTIVE and user.wrapped_key
        actions = set(db.session.execute(select(AuditEvent.action)).scalars())
        assert {"activation.identity_confirmed", "activation.activated"} <= actions
    # The code is spent.
    response = post(client, "/activation", {"code": DEMO_ACTIVATION_CODE})
    assert response.status_code == 422
    assert "déjà été utilisé" in response.get_data(as_text=True)

    # And Jeanne can sign in with what she chose.
    other = app.test_client()
    page = other.get("/connexion").get_data(as_text=True)
    response = other.post("/connexion", data={"csrf_token": csrf_from(page),
                                              "login": "jeanne.dupont",
                                              "password": "Le chat dort sur le toit"})
    assert response.status_code == 303
    page = other.get("/connexion/code").get_data(as_text=True)
    step = int(__import__("time").time()) // 30 + 1
    response = other.post("/connexion/code", data={"csrf_token": csrf_from(page),
                                                   "code": pyotp.TOTP(secret).at(step * 30)})
    assert response.status_code == 303
    assert other.get("/mon-espace").status_code == 200


def test_each_step_page_is_titled_step_n_of_8(client, app, demo_users):
    start(client)
    page = client.get("/activation/identite").get_data(as_text=True)
    assert "<title>Étape 2 sur 8 – Confirmer votre identité" in page


def test_steps_cannot_be_skipped(client, app, demo_users):
    assert client.get("/activation/identifiants").headers["Location"] == (
        "/activation?avis=code-d-abord")
    start(client)
    assert client.get("/activation/recapitulatif").headers["Location"] == "/activation/identite"
    post(client, "/activation/identite", JEANNE)
    assert client.get("/activation/recapitulatif").headers["Location"] == (
        "/activation/conditions")


def test_stopping_and_coming_back_resumes_at_the_right_step(client, app, demo_users):
    walk_to_credentials(client, app)
    later = app.test_client()
    start(later)
    response = post(later, "/activation/identite", JEANNE)
    assert response.headers["Location"] == "/activation/identifiants"
    # Going back keeps what was typed.
    page = later.get("/activation/coordonnees").get_data(as_text=True)
    assert 'value="jeanne.dupont@example.org"' in page


def test_wrong_identity_five_times_blocks_the_code(client, app, demo_users):
    start(client)
    wrong = dict(JEANNE, birth_day="3")
    for attempt in range(4):
        response = post(client, "/activation/identite", wrong)
        assert response.status_code == 422
        assert f"Essais restants : {4 - attempt}" in response.get_data(as_text=True)
    response = post(client, "/activation/identite", wrong)
    assert response.headers["Location"] == "/activation/code-provisoire"
    response = post(app.test_client(), "/activation", {"code": DEMO_ACTIVATION_CODE})
    assert "bloqué" in response.get_data(as_text=True)


def test_wrong_codes_get_a_clear_message_and_keep_what_was_typed(client, demo_users):
    response = post(client, "/activation", {"code": "<script>x</script>"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<title>Erreur :" in html
    assert "&lt;script&gt;" in html and "<script>x" not in html
    assert check_page(html) == []


def test_password_rules_are_checked_on_submit(client, app, demo_users):
    walk_to_credentials(client, app)
    for password, message in (("court", "au moins 12 caractères"),
                              ("azertyuiop123", "trop courant"),
                              ("Jeanne-et-son-jardin", "votre nom")):
        response = post(client, "/activation/identifiants", {
            "login": "jeanne.dupont", "password": password, "password_confirm": password})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    # A login in use is not confirmed as such: one answer for every reason, with free logins.
    response = post(client, "/activation/identifiants", {
        "login": "camille.martin", "password": "Le chat dort sur le toit",
        "password_confirm": "Le chat dort sur le toit"})
    assert response.status_code == 422
    assert "ne peut pas être utilisé" in response.get_data(as_text=True)


def test_the_live_password_check_returns_the_rules(client, app, demo_users):
    walk_to_credentials(client, app)
    token = csrf_from(client.get("/activation/identifiants").get_data(as_text=True))
    response = client.post("/activation/identifiants/verifier", data={
        "login": "jeanne", "password": "court"}, headers={"X-CSRFToken": token,
                                                         "HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "2 règles ne sont pas encore respectées" not in html or "rule--ok" in html
    assert "data-password-status" in html and "<html" not in html


def test_sms_second_factor_during_activation(client, app, demo_users):
    walk_to_credentials(client, app)
    post(client, "/activation/identifiants", {"login": "jeanne.d", "password":
                                              "Le chat dort sur le toit",
                                              "password_confirm": "Le chat dort sur le toit"})
    response = post(client, "/activation/second-facteur", {"method": "sms", "action": "send-sms"})
    assert response.status_code == 303
    response = post(client, "/activation/second-facteur",
                    {"method": "sms", "code": last_sms_code(app), "action": "confirm"})
    assert response.headers["Location"] == "/activation/recapitulatif"


def test_a_legal_representative_activates_a_childs_space(client, app, signed_in):
    from datetime import UTC, date, datetime

    from stdnum.fr import nir as stdnum_nir

    from domain import activation, insured
    from extensions import keys

    child_nir = "2220375108021"
    child_nir += stdnum_nir.calc_check_digits(child_nir)
    parent = signed_in("camille.martin")
    with app.app_context():
        report = insured.import_csv(db.session, keys.ring,
                                    "nir,vitale_serial,birth_name,given_names,birth_date,sex,"
                                    "email,phone,address,representative_nirs\n"
                                    f"{child_nir},56789012345,Martin,Zoé,2022-03-01,2,,,,"
                                    "288037510802150\n", date.today())
        assert report.created == 1, report.errors
        person = insured.find_by_nir(db.session, keys.ring, child_nir)
        issued = activation.issue_code(db.session, keys.ring, person, datetime.now(UTC))
        db.session.commit()
        assert issued.recipient.given_names == "Camille"
    start(client, issued.code)
    response = post(client, "/activation/identite", {"nir": child_nir, "birth_day": "1",
                                                    "birth_month": "3", "birth_year": "2022"})
    assert response.headers["Location"] == "/activation/conditions"
    assert "Étape 3 sur 5" in client.get("/activation/conditions").get_data(as_text=True)
    response = post(client, "/activation/conditions", {"accept": "oui"})
    assert response.headers["Location"] == "/activation/recapitulatif"
    summary = client.get("/activation/recapitulatif").get_data(as_text=True)
    assert "Camille Martin" in summary
    assert post(client, "/activation/recapitulatif", {}).headers["Location"] == (
        "/activation/termine")
    assert "Zoé Martin" in parent.get("/mon-espace").get_data(as_text=True)


def test_codes_and_passwords_never_stored_or_logged_in_clear(client, app, demo_users, caplog):
    import logging

    from tests.blueprints.auth.test_canaries import _everything_stored

    caplog.set_level(logging.DEBUG)
    walk_to_credentials(client, app)
    post(client, "/activation/identifiants", {"login": "jeanne.dupont",
                                              "password": "Canari-Phrase-De-Passe-4419",
                                              "password_confirm": "Canari-Phrase-De-Passe-4419"})
    stored = _everything_stored(app)
    for secret in ("JEANNEDUPNTA", "JEAN-NEDU-PNTA", "Canari-Phrase-De-Passe-4419",
                   "254071305512392", "jeanne.dupont@example.org"):
        assert secret not in stored, secret
        assert secret not in caplog.text, secret


def test_a_login_taken_meanwhile_sends_the_person_back_without_an_error_page(client, app,
                                                                              demo_users):
    """Two people choose the same free login at the same time: the second one's summary
    answered 500. Now it says so and nothing is created."""
    walk_to_summary(client, app)
    with app.app_context():  # someone else activates with that login meanwhile
        other = db.session.execute(select(User).where(User.login == "pharma.petit")).scalar_one()
        other.login = "jeanne.dupont"
        db.session.commit()
    response = post(client, "/activation/recapitulatif", {})
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:500]
    assert "Quelqu’un vient de prendre cet identifiant" in html.replace("&#39;", "’")
    with app.app_context():
        jeanne = db.session.scalars(select(InsuredPerson).where(
            InsuredPerson.birth_name == "Dupont")).first()
        assert jeanne.space_status == SpaceStatus.PENDING


def test_an_activation_in_progress_stays_alive_while_the_person_works(client, app,
                                                                       demo_users):
    """Anonymous sessions were never marked active: a flow ended 15 minutes after its
    first step however busy the person was. Activity now keeps it alive."""
    from datetime import UTC, datetime, timedelta

    from freezegun import freeze_time

    start_at = datetime.now(UTC)
    with freeze_time(start_at) as clock:
        start(client)
        for _ in range(3):  # 30 minutes of work, never 15 idle
            clock.tick(timedelta(minutes=10))
            response = client.get("/activation/identite")
            assert response.status_code == 200, response.headers.get("Location")
        clock.tick(timedelta(minutes=16))  # then away for longer than the idle time
        assert client.get("/activation/identite").status_code == 303


def test_on_a_phone_the_authenticator_opens_from_a_link(client, app, demo_users):
    """Issue 17, item 13: a QR code cannot be scanned by the phone showing it; the step
    also offers the otpauth:// link with the same key, and the key to copy."""
    walk_to_credentials(client, app)
    post(client, "/activation/identifiants", {
        "login": "jeanne.dupont", "password": "Le chat dort sur le toit",
        "password_confirm": "Le chat dort sur le toit"})
    page = client.get("/activation/second-facteur").get_data(as_text=True)
    secret = re.search(r'class="code-display">([A-Z2-7]{32})<', page).group(1)
    link = re.search(r'href="(otpauth://totp/[^"]+)"', page)
    assert link is not None and f"secret={secret}" in link.group(1).replace("&amp;", "&")
    assert "jeanne.dupont" in link.group(1)
