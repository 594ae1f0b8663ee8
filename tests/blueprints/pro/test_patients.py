"""The professional portal's patient pages over HTTP: the search with its statement, what a
doctor and a pharmacist see of Camille's documents and profile, refusals for everyone else
(audited), deposits (vault checks, e-mail without the title, hide but not delete), locked
vaccinations, the areas each role may enter, CSRF and escaping."""

from __future__ import annotations

import io
import json
import re
import secrets
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from domain import access_matrix, audit, care, profile, vault
from domain.models import (
    AuditEvent,
    AuthorKind,
    CareRelation,
    Category,
    Document,
    Profession,
    ProfileEntry,
    Role,
    Sector,
    User,
)
from domain.notify import Mailer
from extensions import blobs, db, keys
from tests.audit_trail import AUDIT_ORDER
from tests.blueprints.pro.test_exclusion import professional_account, sign_in_as
from tests.blueprints.profile.test_profile_pages import FORMS
from tests.conftest import csrf_from
from tests.html_checks import check_page

PATIENT, DOCTOR, PHARMACIST = "camille.martin", "dr.bernard", "pharma.petit"
NIR = "2 88 03 75 108 021 50"
UNKNOWN_NIR = "188037510802103"  # a valid key, nobody in the insurer's records
SEARCH = {"nir": NIR, "born_day": "14", "born_month": "3", "born_year": "1988",
          "informed": "oui"}
NEUTRAL = "Aucun espace santé ouvert ne correspond à ce numéro et à cette date de naissance."
ACTOR = audit.Actor(ip="127.0.0.1")
DOCUMENT_LINK = re.compile(r"/pro/patients/[0-9a-f]{32}/documents/([0-9a-f]{32})")


# --- helpers ---------------------------------------------------------------------------------

def uid(app, login: str = PATIENT) -> str:
    with app.app_context():
        return db.session.scalars(select(User.id).where(User.login == login)).one()


def count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.session.scalar(query)


def events(app, action: str, outcome: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action == action)
        if outcome:
            query = query.where(AuditEvent.outcome == outcome)
        found = list(db.session.scalars(query.order_by(*AUDIT_ORDER)))
        db.session.expunge_all()
        return found


def text(html: str) -> str:
    from bs4 import BeautifulSoup

    return " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())


def error_summary(html: str) -> str:
    from bs4 import BeautifulSoup

    found = BeautifulSoup(html, "html.parser").find(class_="error-summary")
    return " ".join(found.get_text(" ").split()) if found else ""


def search(client, form: dict | None = None, csrf: bool = True):
    data = dict(SEARCH if form is None else form)
    if csrf:
        data["csrf_token"] = csrf_from(client.get("/pro/patients").get_data(as_text=True))
    return client.post("/pro/patients", data=data)


def declare(client, app) -> str:
    response = search(client)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    patient_id = uid(app)
    assert response.headers["Location"] == f"/pro/patients/{patient_id}"
    return patient_id


def relation(app, login: str) -> CareRelation | None:
    with app.app_context():
        found = care.relation(db.session, uid(app), uid(app, login))
        if found is not None:
            db.session.expunge(found)
        return found


def set_user(app, login: str = PATIENT, **values) -> None:
    with app.app_context():
        person = db.session.scalars(select(User).where(User.login == login)).one()
        for name, value in values.items():
            setattr(person, name, value)
        db.session.commit()


def seed_documents(app, tmp_path, specs, login: str = PATIENT) -> dict[str, str]:
    """specs: (title, category, hidden, author login) -> {title: id} in `login`'s vault."""
    with app.app_context():
        people = {user.login: user for user in db.session.scalars(select(User))
                  if user.login}
        ids = {}
        for title, category, hidden, author in specs:
            path = tmp_path / secrets.token_hex(4)
            path.write_bytes(f"contenu de {title}".encode())
            document = vault.add_document(
                db.session, keys.ring, blobs.store, patient=people[login],
                author=people[author], path=path, size=path.stat().st_size, kind="txt",
                mimetype="text/plain; charset=utf-8", file_name="document.txt", title=title,
                category=category, document_date=date(2026, 1, 5), hidden=hidden,
                source="test", actor=ACTOR)
            ids[title] = document.id
        db.session.commit()
        return ids


def every_category(app, tmp_path) -> dict[str, str]:
    """One visible and one hidden document of every category, added by Camille."""
    specs = []
    for category in Category:
        specs.append((f"Visible-{category.value}", category, False, PATIENT))
        specs.append((f"Cache-{category.value}", category, True, PATIENT))
    return seed_documents(app, tmp_path, specs)


def listed(client, patient_id: str) -> set[str]:
    """The titles the patient page lists."""
    response = client.get(f"/pro/patients/{patient_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return set(re.findall(r"(?:Visible|Cache)-[a-z_]+", html))


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 10, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def deposit(client, patient_id: str, csrf: bool = True, data: bytes | None = None,
            filename: str = "compte-rendu.png", **fields):
    form = {"title": "Compte rendu de consultation", "category": "reports",
            "date_day": "3", "date_month": "3", "date_year": "2026", **fields}
    if csrf:
        page = client.get(f"/pro/patients/{patient_id}/deposer").get_data(as_text=True)
        form["csrf_token"] = csrf_from(page)
    form["file"] = (io.BytesIO(png() if data is None else data), filename)
    return client.post(f"/pro/patients/{patient_id}/deposer", data=form,
                       content_type="multipart/form-data")


def emails(app):
    """The "new document" e-mails in the outbox (sign-in may send others)."""
    return [message for message in Mailer("", app.config["OUTBOX_DIR"], "x@y").sent()
            if "Un nouveau document" in message["Subject"]]


VACCINATION = FORMS["vaccinations"][0]


def vaccinate(client, patient_id: str, form: dict | None = None, csrf: bool = True):
    data = dict(VACCINATION if form is None else form)
    if csrf:
        data["csrf_token"] = csrf_from(client.get("/pro/patients").get_data(as_text=True))
    return client.post(f"/pro/patients/{patient_id}/vaccinations", data=data)


def biologist(app):
    """A care biologist (no demo account has this profession), signed in."""
    _id, secret = professional_account(app, Sector.CARE, Profession.BIOLOGIST,
                                       login="labo.roux")
    return sign_in_as(app, "labo.roux", secret)


# --- the search ------------------------------------------------------------------------------

def test_the_search_page_passes_the_checks(signed_in):
    response = signed_in(DOCTOR).get("/pro/patients")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and check_page(html) == []
    assert 'name="informed"' in html and 'name="born_day"' in html
    assert "no-store" in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize(("changes", "message"), [
    ({"informed": ""}, "Confirmez que le patient a été informé et ne s’est pas opposé"),
    ({"nir": "12345"}, "Le numéro de sécurité sociale a 15 caractères"),
    ({"nir": "2 88 03 75 108 021 51"}, "n’est pas valide"),  # wrong key
    ({"nir": ""}, "numéro de sécurité sociale du patient (15 caractères)"),
    ({"born_day": "", "born_month": "", "born_year": ""}, "Saisissez la date de naissance"),
    ({"born_day": "31", "born_month": "2"}, "Saisissez une date réelle"),
], ids=["no-statement", "short-nir", "nir-key", "no-nir", "no-date", "impossible-date"])
def test_search_errors_are_stated_and_nothing_is_recorded(signed_in, app, changes, message):
    client = signed_in(DOCTOR)
    form = {key: value for key, value in {**SEARCH, **changes}.items() if value}
    response = search(client, form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html, error_summary(html)
    assert check_page(html) == [] and "<title>Erreur :" in html
    assert relation(app, DOCTOR) is None
    assert events(app, "care.patient_search") == []  # nobody was looked up


def test_unknown_person_and_wrong_birth_date_get_the_same_neutral_answer(signed_in, app):
    client = signed_in(DOCTOR)
    answers = []
    for changes in ({"nir": UNKNOWN_NIR}, {"born_day": "15"}, {"born_year": "1989"},
                    {"nir": "254071305512392", "born_day": "2", "born_month": "7",
                     "born_year": "1954"}):  # Jeanne: a code sent, no space yet
        response = search(client, {**SEARCH, **changes})
        assert response.status_code == 422
        answers.append(error_summary(response.get_data(as_text=True)))
    assert NEUTRAL in answers[0]
    assert len(set(answers)) == 1, answers
    assert count(app, CareRelation) == 0
    found = events(app, "care.patient_search")
    assert [(event.outcome, event.subject_id) for event in found] == [("denied", None)] * 4
    with app.app_context():  # the numbers typed are in no audit row
        for event in db.session.scalars(select(AuditEvent)):
            row = "".join(str(getattr(event, column.key)) for column in
                          AuditEvent.__table__.columns)
            for nir in (NIR.replace(" ", ""), UNKNOWN_NIR, "254071305512392"):
                assert nir not in row and nir[:13] not in row, event.action


def test_a_closed_or_opposed_space_is_not_found(signed_in, app):
    from domain.models import InsuredPerson, SpaceStatus

    client = signed_in(DOCTOR)
    for status in (SpaceStatus.CLOSED, SpaceStatus.OPPOSED):
        with app.app_context():
            person = db.session.scalars(select(InsuredPerson).where(
                InsuredPerson.user_id == uid(app))).one()
            person.space_status = status
            db.session.commit()
        response = search(client)
        assert response.status_code == 422 and NEUTRAL in response.get_data(as_text=True)
    assert count(app, CareRelation) == 0


def test_finding_the_patient_records_the_statement_and_opens_the_page(signed_in, app):
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    found = relation(app, DOCTOR)
    assert found.declared_at is not None and found.professional_sector == "care"
    assert not found.blocked
    doctor_id = uid(app, DOCTOR)
    assert [(e.outcome, e.subject_id, e.actor_id) for e in events(
        app, "care.patient_search")] == [("success", patient_id, doctor_id)]
    assert [(e.outcome, e.target_id) for e in events(app, "care.declared")] == [
        ("success", doctor_id)]
    response = client.get(f"/pro/patients/{patient_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and check_page(html) == []
    assert "Camille Martin" in html and "Né(e) le 14 mars 1988" in html
    assert "no-store" in response.headers.get("Cache-Control", "")
    # The page is audited, with the profile sections it opened.
    assert events(app, "profile.read_by_professional")[-1].subject_id == patient_id
    # Searching again refreshes the statement; still one relation.
    declare(client, app)
    assert count(app, CareRelation) == 1
    assert relation(app, DOCTOR).declared_at >= found.declared_at


def test_a_blocked_professional_is_told_so_and_loses_the_page_at_once(signed_in, app):
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    assert client.get(f"/pro/patients/{patient_id}").status_code == 200
    with app.app_context():
        care.relation(db.session, patient_id, uid(app, DOCTOR)).blocked = True
        db.session.commit()
    assert client.get(f"/pro/patients/{patient_id}").status_code == 404  # next request
    response = search(client)
    assert response.status_code == 422
    assert "ne vous permet pas d’accéder" in response.get_data(as_text=True)
    assert relation(app, DOCTOR).blocked


# --- what each profession sees ---------------------------------------------------------------

def test_the_doctor_sees_every_matrix_category_and_hidden_ones_only_when_attending(
        signed_in, app, tmp_path):
    ids = every_category(app, tmp_path)
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    readable = access_matrix.document_rights(Profession.DOCTOR, "read")
    assert listed(client, patient_id) == {f"Visible-{c.value}" for c in readable}
    base = f"/pro/patients/{patient_id}/documents"
    visible = client.get(f"{base}/{ids['Visible-imaging']}")
    assert visible.status_code == 200 and visible.data == b"contenu de Visible-imaging"
    assert visible.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(f"{base}/{ids['Cache-imaging']}").status_code == 404
    denied = events(app, "document.download", "denied")
    assert [event.target_id for event in denied] == [ids["Cache-imaging"]]

    set_user(app, attending_doctor_id=uid(app, DOCTOR))
    assert listed(client, patient_id) == {f"{kind}-{c.value}" for c in readable
                                          for kind in ("Visible", "Cache")}
    assert "Masqué par le patient" in client.get(f"/pro/patients/{patient_id}").get_data(
        as_text=True)
    hidden = client.get(f"{base}/{ids['Cache-imaging']}")
    assert hidden.status_code == 200 and hidden.data == b"contenu de Cache-imaging"


def test_the_pharmacist_sees_only_the_matrix_categories_and_nothing_hidden(
        signed_in, app, tmp_path):
    ids = every_category(app, tmp_path)
    set_user(app, attending_doctor_id=uid(app, DOCTOR))  # someone else's privilege
    client = signed_in(PHARMACIST)
    patient_id = declare(client, app)
    expected = {Category.PRESCRIPTIONS, Category.LAB_RESULTS, Category.PREVENTION,
                Category.SUMMARY}
    assert access_matrix.document_rights(Profession.PHARMACIST, "read") == expected
    assert listed(client, patient_id) == {f"Visible-{c.value}" for c in expected}
    base = f"/pro/patients/{patient_id}/documents"
    for title, document_id in ids.items():
        response = client.get(f"{base}/{document_id}")
        allowed = title.startswith("Visible-") and Category(title[8:]) in expected
        assert response.status_code == (200 if allowed else 404), title
    assert len(events(app, "document.download", "denied")) == len(ids) - len(expected)


def _fill_profile(app) -> None:
    """One entry in every section of Camille's profile."""
    with app.app_context():
        patient = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        for section in profile.SECTIONS:
            reading = profile.validate(section, FORMS[section.slug][0], date.today())
            assert reading.ok, (section.key, reading.problems)
            profile.add_entry(db.session, keys.ring, patient, section, reading.values,
                              author=patient, actor=ACTOR)
        db.session.commit()


@pytest.mark.parametrize("login", [DOCTOR, PHARMACIST, "labo.roux"])
def test_profile_sections_follow_the_matrix(signed_in, app, login):
    _fill_profile(app)
    if login == "labo.roux":
        client, profession = biologist(app), Profession.BIOLOGIST
    else:
        client = signed_in(login)
        profession = Profession.DOCTOR if login == DOCTOR else Profession.PHARMACIST
    patient_id = declare(client, app)
    html = client.get(f"/pro/patients/{patient_id}").get_data(as_text=True)
    readable = access_matrix.profile_sections(profession)
    for section in profile.SECTIONS:
        shown = f'id="pro-section-{section.slug}"' in html
        assert shown is (section.key in readable), (login, section.key)
        for clue in FORMS[section.slug][1]:
            if section.key not in readable and not any(
                    clue in FORMS[other.slug][1] for other in profile.SECTIONS
                    if other.key in readable):
                assert clue not in text(html), (login, section.key, clue)
    opened = events(app, "profile.read_by_professional")[-1]
    assert opened.outcome == "success"
    assert sorted(json.loads(opened.details)["sections"]) == sorted(
        section.key for section in profile.SECTIONS if section.key in readable)


def test_the_pharmacist_does_not_see_family_history(signed_in, app):
    _fill_profile(app)
    client = signed_in(PHARMACIST)
    patient_id = declare(client, app)
    page = text(client.get(f"/pro/patients/{patient_id}").get_data(as_text=True))
    assert "Antécédents familiaux" not in page and "Cancer du sein" not in page
    assert "Allergies" in page and "Pénicillines" in page
    assert "Personne de confiance" not in page and "Anne Martin" not in page


# --- refusals --------------------------------------------------------------------------------

def test_without_a_statement_every_patient_route_answers_404_and_is_audited(
        signed_in, app, tmp_path):
    ids = seed_documents(app, tmp_path, [("Ordonnance", Category.PRESCRIPTIONS, False,
                                          PATIENT)])
    patient_id = uid(app)
    client = signed_in(DOCTOR)
    token = csrf_from(client.get("/pro/patients").get_data(as_text=True))
    base = f"/pro/patients/{patient_id}"
    gets = [base, f"{base}/documents/{ids['Ordonnance']}", f"{base}/deposer",
            f"{base}/vaccinations"]
    for path in gets:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Ordonnance" not in response.get_data(as_text=True)
    assert deposit(client, patient_id, csrf=False, csrf_token=token).status_code == 404
    assert vaccinate(client, patient_id, {**VACCINATION, "csrf_token": token},
                     csrf=False).status_code == 404
    refused = events(app, "care.patient_open", "denied")
    assert len(refused) == len(gets) + 2
    assert {(event.subject_id, event.actor_id) for event in refused} == {
        (patient_id, uid(app, DOCTOR))}
    assert count(app, Document) == 1 and count(app, ProfileEntry) == 0
    assert emails(app) == []
    # An id that is nobody's, or far too long, is refused the same way.
    for bad in ("0" * 32, "x" * 300):
        assert client.get(f"/pro/patients/{bad}").status_code == 404
    assert [event.subject_id for event in events(app, "care.patient_open")][-2:] == [
        None, None]


def test_another_patients_document_through_camilles_page_answers_404(signed_in, app,
                                                                     tmp_path):
    with app.app_context():
        wrapped = keys.ring.new_patient_key()
        stranger = User(role=Role.PATIENT, login="autre.patient", given_name="Autre",
                        family_name="Patient", birth_date=date(1990, 1, 1),
                        wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)
        db.session.add(stranger)
        db.session.commit()
        stranger_id = stranger.id
    theirs = seed_documents(app, tmp_path, [("Leur ordonnance", Category.PRESCRIPTIONS,
                                             False, "autre.patient")],
                            login="autre.patient")["Leur ordonnance"]
    mine = seed_documents(app, tmp_path, [("Mon ordonnance", Category.PRESCRIPTIONS, False,
                                           PATIENT)])["Mon ordonnance"]
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    assert client.get(f"/pro/patients/{patient_id}/documents/{theirs}").status_code == 404
    assert client.get(f"/pro/patients/{stranger_id}/documents/{mine}").status_code == 404
    # Even with a statement for both, a document answers only under its own patient.
    with app.app_context():
        care.declare(db.session, keys.ring, db.session.get(User, uid(app, DOCTOR)),
                     db.session.get(User, stranger_id), ACTOR)
        db.session.commit()
    assert client.get(f"/pro/patients/{patient_id}/documents/{theirs}").status_code == 404
    assert client.get(f"/pro/patients/{stranger_id}/documents/{mine}").status_code == 404
    assert client.get(f"/pro/patients/{stranger_id}/documents/{theirs}").status_code == 200
    assert "Leur ordonnance" not in client.get(f"/pro/patients/{patient_id}").get_data(
        as_text=True)


# --- deposit ---------------------------------------------------------------------------------

def test_the_deposit_form_offers_only_the_matrix_categories(signed_in, app):
    client = signed_in(PHARMACIST)
    patient_id = declare(client, app)
    response = client.get(f"/pro/patients/{patient_id}/deposer")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and check_page(html) == []
    offered = set(re.findall(r'<option value="([a-z_]+)"', html))
    assert offered == {c.value for c in access_matrix.document_rights(
        Profession.PHARMACIST, "deposit")} == {"prescriptions", "prevention"}


@pytest.mark.parametrize(("login", "category"), [
    (PHARMACIST, "imaging"), (PHARMACIST, "reports"), (DOCTOR, "administrative"),
    (DOCTOR, "directives"), (DOCTOR, "bank_statements"), (DOCTOR, ""),
])
def test_a_category_outside_the_matrix_is_refused(signed_in, app, login, category):
    client = signed_in(login)
    patient_id = declare(client, app)
    response = deposit(client, patient_id, category=category)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:2000]
    assert "Choisissez une catégorie que votre profession peut déposer." in html
    assert count(app, Document) == 0 and emails(app) == []
    with app.app_context():
        assert list(blobs.store.keys()) == []


@pytest.mark.parametrize(("fields", "data", "message"), [
    ({"date_year": str(date.today().year + 1)}, None, "ne peut pas être dans le futur"),
    ({"title": "   "}, None, "Donnez un titre au document"),
    ({"title": "x" * 201}, None, "Donnez un titre au document"),
    ({}, b"", "Ce fichier est vide"),
    ({"filename": "rapport.pdf"}, None, "ne correspond pas"),  # a PNG named .pdf
])
def test_a_bad_deposit_says_why_and_stores_nothing(signed_in, app, fields, data, message):
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    response = deposit(client, patient_id, data=data, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html, error_summary(html)
    assert count(app, Document) == 0 and emails(app) == []


def test_a_good_deposit_lands_in_camilles_vault_and_she_is_told_without_the_title(
        signed_in, app):
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    response = deposit(client, patient_id, title="Compte rendu cardiologie Lyon")
    assert response.status_code == 303, error_summary(response.get_data(as_text=True))
    assert response.headers["Location"] == f"/pro/patients/{patient_id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Le document est déposé" in page and "Compte rendu cardiologie Lyon" in page
    with app.app_context():
        document = db.session.scalars(select(Document)).one()
        assert document.patient_id == patient_id and document.author_id == uid(app, DOCTOR)
        assert document.author_kind == AuthorKind.PROFESSIONAL
        assert document.source == "professional" and document.category == Category.REPORTS
        assert document.kind == "png" and document.document_date == date(2026, 3, 3)
        assert not document.hidden
        document_id = document.id
    added = events(app, "document.added")
    assert [(e.actor_id, e.subject_id) for e in added] == [(uid(app, DOCTOR), patient_id)]
    sent = emails(app)
    assert len(sent) == 1 and sent[0]["To"] == "camille.martin@example.org"
    body = sent[0].get_body(("plain",)).get_content()
    assert "/documents" in body
    for secret in ("cardiologie", "Compte rendu", "compte-rendu.png", "Bernard"):
        assert secret not in body and secret not in sent[0]["Subject"], secret

    camille = signed_in(PATIENT)
    assert "Compte rendu cardiologie Lyon" in camille.get("/documents").get_data(as_text=True)
    shown = camille.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "vous pouvez le masquer, mais pas le supprimer" in shown
    token = csrf_from(shown)
    assert camille.get(f"/documents/{document_id}/supprimer").status_code == 404
    assert camille.post(f"/documents/{document_id}/supprimer",
                        data={"csrf_token": token}).status_code == 404
    assert camille.get(f"/documents/{document_id}/modifier").status_code == 404
    assert count(app, Document) == 1
    response = camille.post(f"/documents/{document_id}/visibilite",
                            data={"csrf_token": token, "hidden": "1"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Document, document_id).hidden
    # Hidden from others, still listed for its author.
    assert "Compte rendu cardiologie Lyon" in client.get(
        f"/pro/patients/{patient_id}").get_data(as_text=True)


def test_a_deposit_is_hidden_by_default_when_camille_asked_for_it(signed_in, app):
    set_user(app, hide_new_documents=True)
    client = signed_in(PHARMACIST)
    patient_id = declare(client, app)
    response = deposit(client, patient_id, category="prescriptions", title="Délivrance")
    assert response.status_code == 303, error_summary(response.get_data(as_text=True))
    with app.app_context():
        document = db.session.scalars(select(Document)).one()
        assert document.hidden and document.category == Category.PRESCRIPTIONS
        document_id = document.id
    assert len(emails(app)) == 1
    # The author still reads it; the (non-attending) doctor does not.
    base = f"/pro/patients/{patient_id}/documents/{document_id}"
    assert client.get(base).status_code == 200
    doctor = signed_in(DOCTOR)
    declare(doctor, app)
    assert doctor.get(base).status_code == 404
    assert "Délivrance" not in doctor.get(f"/pro/patients/{patient_id}").get_data(
        as_text=True)


def test_script_in_a_deposit_title_is_escaped_everywhere(signed_in, app):
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    title = '<script>alert(1)</script> "><img src=x onerror=alert(2)>'
    assert deposit(client, patient_id, title=title).status_code == 303
    with app.app_context():
        document_id = db.session.scalars(select(Document.id)).one()
    camille = signed_in(PATIENT)
    pages = [camille.get(f"/documents/{document_id}").get_data(as_text=True),
             camille.get("/documents").get_data(as_text=True),
             client.get(f"/pro/patients/{patient_id}").get_data(as_text=True)]
    for html in pages:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html and "<img src=x" not in html
    # A refused deposit echoes the typed title escaped too.
    response = deposit(client, patient_id, title=title, category="directives")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- vaccinations ----------------------------------------------------------------------------

def test_a_vaccination_is_recorded_locked_and_camille_cannot_change_it(signed_in, app):
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    form = client.get(f"/pro/patients/{patient_id}/vaccinations")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and check_page(html) == []
    assert "Julien Bernard" in html  # the vaccinator is suggested
    response = vaccinate(client, patient_id)
    assert response.status_code == 303, error_summary(response.get_data(as_text=True))
    assert response.headers["Location"] == f"/pro/patients/{patient_id}"
    with app.app_context():
        entry = db.session.scalars(select(ProfileEntry)).one()
        assert entry.section == "vaccinations" and entry.locked
        assert entry.author_kind == AuthorKind.PROFESSIONAL
        assert entry.author_id == uid(app, DOCTOR) and entry.patient_id == patient_id
        entry_id, sealed = entry.id, entry.payload_sealed
    assert [e.actor_id for e in events(app, "profile.entry_added")] == [uid(app, DOCTOR)]
    page = text(client.get(f"/pro/patients/{patient_id}").get_data(as_text=True))
    assert "AB1234" in page

    camille = signed_in(PATIENT)
    listing = camille.get("/profil/vaccinations").get_data(as_text=True)
    assert "AB1234" in text(listing)
    token = csrf_from(listing)
    base = f"/profil/vaccinations/{entry_id}"
    for path in (f"{base}/modifier", f"{base}/supprimer"):
        assert camille.get(path).status_code == 404, path
        assert camille.post(path, data={"csrf_token": token, **VACCINATION,
                                        "lot": "ZZ9999"}).status_code == 404, path
    with app.app_context():
        assert db.session.get(ProfileEntry, entry_id).payload_sealed == sealed


def test_a_bad_vaccination_says_why_and_records_nothing(signed_in, app):
    client = signed_in(PHARMACIST)
    patient_id = declare(client, app)
    future = date.today() + timedelta(days=40)
    response = vaccinate(client, patient_id, {**VACCINATION, "given_on_day": str(future.day),
                                              "given_on_month": str(future.month),
                                              "given_on_year": str(future.year)})
    assert response.status_code == 422
    assert "ne peut pas être dans le futur" in response.get_data(as_text=True)
    response = vaccinate(client, patient_id, {**VACCINATION, "vaccine": "potion"})
    assert response.status_code == 422
    assert count(app, ProfileEntry) == 0


def test_the_biologist_cannot_reach_the_vaccination_form(app, demo_users):
    client = biologist(app)
    patient_id = declare(client, app)
    page = client.get(f"/pro/patients/{patient_id}").get_data(as_text=True)
    assert "Inscrire une vaccination" not in page and "Déposer un document" in page
    assert client.get(f"/pro/patients/{patient_id}/vaccinations").status_code == 404
    token = csrf_from(client.get(f"/pro/patients/{patient_id}/deposer").get_data(
        as_text=True))
    assert client.post(f"/pro/patients/{patient_id}/vaccinations",
                       data={"csrf_token": token, **VACCINATION}).status_code == 404
    assert count(app, ProfileEntry) == 0


# --- areas -----------------------------------------------------------------------------------

def test_patients_cannot_reach_the_portal_and_professionals_not_the_patient_pages(
        signed_in, app, tmp_path):
    document_id = seed_documents(app, tmp_path, [("Ordonnance", Category.PRESCRIPTIONS,
                                                  False, PATIENT)])["Ordonnance"]
    patient_id = uid(app)
    camille = signed_in(PATIENT)
    token = csrf_from(camille.get("/documents").get_data(as_text=True))
    base = f"/pro/patients/{patient_id}"
    for path in ("/pro", "/pro/patients", base, f"{base}/documents/{document_id}",
                 f"{base}/deposer", f"{base}/vaccinations"):
        assert camille.get(path).status_code == 403, path
    for path in ("/pro/patients", f"{base}/deposer", f"{base}/vaccinations"):
        assert camille.post(path, data={"csrf_token": token, **SEARCH}).status_code == 403
    assert count(app, CareRelation) == 0
    assert camille.get("/acces/qui-voit-quoi").status_code == 200
    for login in (DOCTOR, PHARMACIST):
        professional = signed_in(login)
        for path in ("/acces/qui-voit-quoi", "/profil", "/profil/vaccinations",
                     "/documents", f"/documents/{document_id}"):
            assert professional.get(path).status_code == 403, (login, path)


# --- CSRF ------------------------------------------------------------------------------------

@pytest.mark.parametrize("forged", [None, "forged-token"])
def test_every_post_without_a_valid_csrf_token_is_refused_and_writes_nothing(
        signed_in, app, forged):
    client = signed_in(DOCTOR)
    extra = {"csrf_token": forged} if forged else {}
    response = search(client, {**SEARCH, **extra}, csrf=False)
    assert response.status_code == 400
    assert "La demande n’a pas pu être traitée" in response.get_data(as_text=True)
    assert count(app, CareRelation) == 0 and events(app, "care.patient_search") == []
    patient_id = declare(client, app)
    before = len(events(app, "care.declared"))
    assert deposit(client, patient_id, csrf=False, **extra).status_code == 400
    assert vaccinate(client, patient_id, {**VACCINATION, **extra}, csrf=False
                     ).status_code == 400
    htmx = client.post(f"/pro/patients/{patient_id}/vaccinations", data=VACCINATION,
                       headers={"HX-Request": "true", "X-CSRFToken": forged or ""})
    assert htmx.status_code == 400
    assert count(app, Document) == 0 and count(app, ProfileEntry) == 0
    assert emails(app) == [] and len(events(app, "care.declared")) == before
    with app.app_context():
        assert list(blobs.store.keys()) == []


# --- probes: states the happy path does not visit --------------------------------------------

def test_a_full_vaccination_record_gets_a_message_not_a_crash(signed_in, app):
    section = profile.BY_KEY["vaccinations"]
    with app.app_context():
        patient = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        reading = profile.validate(section, VACCINATION, date.today())
        for _index in range(section.limit):
            profile.add_entry(db.session, keys.ring, patient, section, reading.values,
                              author=patient, actor=ACTOR)
        db.session.commit()
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    response = vaccinate(client, patient_id)
    assert response.status_code == 422, response.status_code
    assert count(app, ProfileEntry) == section.limit


def test_a_closed_space_is_closed_to_professionals_who_declared_before(signed_in, app,
                                                                       tmp_path):
    from domain.closing import close_space
    from domain.models.base import utcnow

    ids = seed_documents(app, tmp_path, [("Ordonnance", Category.PRESCRIPTIONS, False,
                                          PATIENT)])
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    assert client.get(f"/pro/patients/{patient_id}").status_code == 200
    with app.app_context():
        close_space(db.session, keys.ring, db.session.get(User, patient_id), delete_now=False,
                    now=utcnow(), actor=ACTOR)
        db.session.commit()
    base = f"/pro/patients/{patient_id}"
    for path in (base, f"{base}/documents/{ids['Ordonnance']}", f"{base}/deposer",
                 f"{base}/vaccinations"):
        assert client.get(path).status_code == 404, path


def test_a_shredded_space_answers_404_not_a_server_error(signed_in, app):
    from domain.closing import close_space
    from domain.models.base import utcnow

    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    with app.app_context():
        close_space(db.session, keys.ring, db.session.get(User, patient_id), delete_now=True,
                    now=utcnow(), actor=ACTOR)
        db.session.commit()
    assert client.get(f"/pro/patients/{patient_id}").status_code == 404


def test_a_deposit_in_a_childs_space_is_told_to_the_representative(signed_in, app):
    client = signed_in(DOCTOR)
    response = search(client, {**SEARCH, "nir": "119056912345674", "born_day": "14",
                               "born_month": "5", "born_year": "2019"})
    assert response.status_code == 303
    child_id = response.headers["Location"].rsplit("/", 1)[1]
    assert deposit(client, child_id).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Document.patient_id)).one() == child_id
    sent = emails(app)
    assert [message["To"] for message in sent] == ["camille.martin@example.org"]


def test_a_refused_cross_patient_download_is_audited(signed_in, app, tmp_path):
    """Declared for both patients: the document of one under the other's address is
    refused (404) — and, like every refusal, recorded."""
    with app.app_context():
        wrapped = keys.ring.new_patient_key()
        stranger = User(role=Role.PATIENT, login="autre.patient", given_name="Autre",
                        family_name="Patient", wrapped_key=wrapped.wrapped,
                        kek_version=wrapped.kek_version)
        db.session.add(stranger)
        db.session.commit()
        stranger_id = stranger.id
    theirs = seed_documents(app, tmp_path, [("Leur ordonnance", Category.PRESCRIPTIONS,
                                             False, "autre.patient")],
                            login="autre.patient")["Leur ordonnance"]
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    with app.app_context():
        care.declare(db.session, keys.ring, db.session.get(User, uid(app, DOCTOR)),
                     db.session.get(User, stranger_id), ACTOR)
        db.session.commit()
    assert client.get(f"/pro/patients/{patient_id}/documents/{theirs}").status_code == 404
    decisions = [(e.action, e.outcome) for e in events(app, "document.download")]
    assert decisions and decisions[-1][1] == "denied", decisions


def test_the_patient_page_lists_documents_twenty_at_a_time(signed_in, app, tmp_path):
    seed_documents(app, tmp_path, [(f"Visible-n{index:02}", Category.PRESCRIPTIONS, False,
                                    PATIENT) for index in range(23)])
    client = signed_in(DOCTOR)
    patient_id = declare(client, app)
    first = client.get(f"/pro/patients/{patient_id}").get_data(as_text=True)
    assert check_page(first) == [] and len(re.findall(r"Visible-n\d\d</h3>", first)) == 20
    older = f'href="/pro/patients/{patient_id}?page=2#documents" rel="next"'
    assert older in first and 'rel="prev"' not in first
    second = client.get(f"/pro/patients/{patient_id}?page=2").get_data(as_text=True)
    assert check_page(second) == [] and len(re.findall(r"Visible-n\d\d</h3>", second)) == 3
    assert f'href="/pro/patients/{patient_id}#documents" rel="prev"' in second
    assert 'rel="next"' not in second and 'aria-current="page">Page 2<' in second
    # Every page number the address may hold lands on a page.
    for number in ("0", "-3", "abc", "9" * 50, "99"):
        response = client.get(f"/pro/patients/{patient_id}?page={number}")
        assert response.status_code == 200
    assert "Pas d’autre document plus ancien." in client.get(
        f"/pro/patients/{patient_id}?page=99").get_data(as_text=True)
