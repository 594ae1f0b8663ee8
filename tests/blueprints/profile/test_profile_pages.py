"""The medical profile over HTTP, as the demo patient: sections, add / change / delete with
and without htmx, "Non concerné", limits, vaccinations, entourage and wishes, measures and the
printable summary."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import func, select

from domain import audit, profile
from domain.models import Category, Document, Measure, ProfileEntry, ProfileSection, User
from extensions import blobs, db, keys
from tests.audit_trail import AUDIT_ORDER
from tests.blueprints.profile.summary_client import fetch_pdf
from tests.conftest import csrf_from
from tests.html_checks import check_page

PATIENT = "camille.martin"
HTMX = {"HX-Request": "true"}

# slug -> (a valid form, texts the section page then shows)
FORMS = {
    "maladies": ({"condition": "asthma", "since_year": "2015", "note": "Sous traitement de fond"},
                 ["Asthme", "2015", "Sous traitement de fond"]),
    "traitements": ({"name": "Lévothyrox", "dose": "2 gélules le soir", "since_year": "2019",
                     "since_month": "4"}, ["Lévothyrox", "2 gélules le soir", "avril 2019"]),
    "hospitalisations": ({"reason": "Appendicite", "place": "Hôpital Édouard-Herriot",
                          "start_year": "2012", "start_month": "7", "start_day": "3"},
                         ["Appendicite", "Hôpital Édouard-Herriot", "3 juillet 2012"]),
    "handicaps": ({"type": "hearing", "rate": "50", "human_help": "non"},
                  ["Auditif", "50 %", "Non"]),
    "groupe-sanguin": ({"group": "O-"}, ["O-"]),
    "allergies": ({"substance": "penicillins", "reaction": "Urticaire géante",
                   "severity": "severe"}, ["Pénicillines", "Urticaire géante", "Grave"]),
    "antecedents-familiaux": ({"relative": "mother", "condition": "breast_cancer"},
                              ["Cancer du sein (Mère)"]),
    "mode-de-vie": ({"topic": "activity", "description": "Marche 30 minutes par jour"},
                    ["Activité physique", "Marche 30 minutes par jour"]),
    "vaccinations": ({"vaccine": "dtp", "given_on_day": "12", "given_on_month": "9",
                      "given_on_year": "2023", "dose": "1", "lot": "AB1234"},
                     ["Diphtérie, tétanos, polio (rappel adulte)", "AB1234",
                      "12 septembre 2023"]),
    "contacts-urgence": ({"name": "Paul Martin", "relation": "Frère",
                          "phone": "06 12 34 56 78"}, ["Paul Martin", "Frère", "0612345678"]),
    "personne-de-confiance": ({"name": "Anne Martin", "relation": "Sœur",
                               "phone": "+32 470 12 34 56", "consent_on_day": "1",
                               "consent_on_month": "2", "consent_on_year": "2024"},
                              ["Anne Martin", "+32470123456", "1 février 2024"]),
    "directives-anticipees": ({"resuscitation": "no_opinion",
                               "life_support": "Pas d’acharnement thérapeutique",
                               "written_on_day": "3", "written_on_month": "3",
                               "written_on_year": "2024"},
                              ["Directives rédigées le 3 mars 2024",
                               "Pas d’acharnement thérapeutique"]),
}
ENTRY_RE = re.compile(r"#entry-([0-9a-f]{32})$")


# --- helpers ---------------------------------------------------------------------------------

def user(app, login: str = PATIENT) -> User:
    with app.app_context():
        return db.session.execute(select(User).where(User.login == login)).scalar_one()


def set_birth_date(app, born: date | None, login: str = PATIENT) -> None:
    with app.app_context():
        person = db.session.execute(select(User).where(User.login == login)).scalar_one()
        person.birth_date = born
        db.session.commit()


def years_ago(years: int, days: int = 0) -> date:
    today = date.today()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day - timedelta(days=days)


def count(app, model=ProfileEntry, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.session.execute(query).scalar_one()


def token(client, path: str = "/profil") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def post(client, path: str, form: dict | None = None, headers=None, csrf=True):
    data = dict(form or {})
    if csrf:
        data["csrf_token"] = token(client)
    return client.post(path, data=data, headers=headers or {})


def add(client, slug: str, form: dict | None = None, headers=None):
    return post(client, f"/profil/{slug}", FORMS[slug][0] if form is None else form,
                headers)


def add_ok(client, slug: str, form: dict | None = None) -> str:
    """Add an entry and return its id."""
    response = add(client, slug, form)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    return ENTRY_RE.search(response.headers["Location"]).group(1)


def text(html: str) -> str:
    """The page as a person reads it: tags dropped, entities and spaces normalised."""
    from bs4 import BeautifulSoup

    return " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())


def add_entry_as(app, author_login: str, section_key: str, form: dict) -> str:
    with app.app_context():
        people = {person.login: person for person in db.session.scalars(select(User))
                  if person.login}
        section = profile.BY_KEY[section_key]
        reading = profile.validate(section, form, date.today())
        assert reading.ok, reading.problems
        entry = profile.add_entry(db.session, keys.ring, people[PATIENT], section,
                                  reading.values, author=people[author_login],
                                  actor=audit.Actor())
        db.session.commit()
        return entry.id


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 10)).save(buffer, "PNG")
    return buffer.getvalue()


# --- sections --------------------------------------------------------------------------------

def test_every_profile_page_answers_and_passes_the_checks(signed_in):
    client = signed_in(PATIENT)
    paths = ["/profil", "/profil/mesures", "/profil/entourage", "/profil/resume",
             "/profil/entourage/document-directives"]
    paths += [f"/profil/{slug}" for slug in FORMS]
    paths += ["/profil/mesures/poids", "/profil/mesures/tension"]
    for path in paths:
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert check_page(html) == [], (path, check_page(html))
        assert "no-store" in response.headers.get("Cache-Control", ""), path
    overview = text(client.get("/profil").get_data(as_text=True))
    assert overview.count("Non renseigné") == len(profile.HEALTH_SECTIONS)


@pytest.mark.parametrize("slug", list(FORMS))
def test_adding_a_valid_entry_shows_it(signed_in, app, slug):
    client = signed_in(PATIENT)
    response = add(client, slug)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    location = response.headers["Location"]
    assert location.startswith(f"/profil/{slug}#entry-")
    html = client.get(location).get_data(as_text=True)
    assert check_page(html) == []
    page = text(html)
    assert "C’est enregistré." in page and "1 entrée" in page
    for shown in FORMS[slug][1]:
        assert shown in page, shown
    assert f'id="entry-{ENTRY_RE.search(location).group(1)}"' in html
    assert count(app) == 1


@pytest.mark.parametrize(("slug", "form", "messages", "echoed"), [
    ("traitements", {"name": "Lévothyrox", "since_year": "2020", "until_year": "2019"},
     ["Fin du traitement : cette date doit être après « Début du traitement »."],
     ['value="Lévothyrox"', 'name="until_year" type="text" inputmode="numeric" '
      'autocomplete="off" value="2019"']),
    ("maladies", {"condition": "", "condition_other": "", "since_year": "2031",
                  "note": "Mon texte à garder"},
     ["Maladie ou sujet de santé : choisissez-le dans la liste, ou choisissez « Autre » "
      "pour l’écrire vous-même.",
      "Depuis : la date ne peut pas être dans le futur."],
     ["Mon texte à garder", 'value="2031"']),
    ("hospitalisations", {"reason": "Chute", "start_day": "31", "start_month": "2",
                          "start_year": "2020"},
     ["Date d’entrée : saisissez une date réelle"], ['value="31"', 'value="Chute"']),
    ("handicaps", {"type": "motor", "rate": "150", "human_help": "oui"},
     ["Taux d’incapacité (en %) : vérifiez la valeur, elle doit être entre 0 et 100 %."],
     ['value="150"', 'value="oui" checked']),
    ("contacts-urgence", {"name": "Paul", "phone": "12 34"},
     ["Téléphone : saisissez un numéro de téléphone"], ['value="12 34"', 'value="Paul"']),
    ("allergies", {"substance": "other", "substance_other": "", "severity": "mild"},
     ["Autre substance : écrivez-la, par exemple Pollen de bouleau."],
     ['value="other" selected']),
    ("groupe-sanguin", {"group": "Z+"},
     ["Groupe sanguin : choisissez une des réponses proposées."], []),
    ("mode-de-vie", {"topic": "sleep", "description": "x" * 1001},
     ["Description : 1000 caractères au plus (vous en avez saisi 1001)."], ["x" * 1001]),
    ("vaccinations", {"vaccine": "dtp", "given_on_year": "2020"},
     ["Date de la vaccination : indiquez au moins l’année"], ['value="2020"']),
])
def test_errors_keep_what_was_typed_and_save_nothing(signed_in, app, slug, form, messages,
                                                      echoed):
    client = signed_in(PATIENT)
    response = add(client, slug, form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert check_page(html) == [], check_page(html)
    assert "Il y a un problème" in html and 'aria-invalid="true"' in html
    page = text(html)
    for message in messages:
        assert message in page, (message, page[:3000])
    for typed in echoed:
        assert typed in html, typed
    assert count(app) == 0 and count(app, ProfileSection) == 0
    # Every link of the error summary leads to a field of the form.
    for target in re.findall(r'<li><a href="#([^"]+)">', html):
        assert f'id="{target}"' in html, target


def test_a_date_in_error_passes_the_html_checks_and_titles_the_error(signed_in):
    client = signed_in(PATIENT)
    html = add(client, "traitements", {"name": "X", "since_year": "3000"}).get_data(
        as_text=True)
    assert check_page(html) == []
    assert "<title>Erreur :" in html


def test_editing_an_entry(signed_in, app):
    client = signed_in(PATIENT)
    entry_id = add_ok(client, "traitements")
    path = f"/profil/traitements/{entry_id}/modifier"
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and check_page(html) == []
    assert 'value="Lévothyrox"' in html and 'value="2 gélules le soir"' in html
    assert 'name="since_month" type="text" inputmode="numeric" autocomplete="off" value="4"' in (
        html)
    bad = post(client, path, {"name": "Lévothyrox 75", "since_year": "2019",
                              "until_year": "2018"})
    assert bad.status_code == 422 and 'value="Lévothyrox 75"' in bad.get_data(as_text=True)
    # The entry is named in the h1 only: the title is generic (ACCESSIBILITY.md, item 2).
    assert "<title data-generic>Erreur : Modifier une entrée – " in bad.get_data(as_text=True)
    assert check_page(bad.get_data(as_text=True)) == []
    assert "cette date doit être après" in text(bad.get_data(as_text=True))
    good = post(client, path, {"name": "Lévothyrox 75", "since_year": "2019",
                               "until_year": "2024"})
    assert good.status_code == 303
    assert good.headers["Location"] == f"/profil/traitements#entry-{entry_id}"
    page = text(client.get("/profil/traitements").get_data(as_text=True))
    assert "C’est modifié." in page and "Lévothyrox 75" in page and "2024" in page
    assert "2 gélules le soir" not in page  # the whole entry is replaced
    assert count(app) == 1


def test_deleting_asks_first(signed_in, app):
    client = signed_in(PATIENT)
    entry_id = add_ok(client, "allergies")
    path = f"/profil/allergies/{entry_id}/supprimer"
    confirm = client.get(path)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and check_page(html) == []
    assert "Supprimer : Pénicillines" in text(html) and "C’est définitif." in text(html)
    assert count(app) == 1  # a GET changes nothing
    response = post(client, path)
    assert response.status_code == 303 and response.headers["Location"] == "/profil/allergies"
    page = text(client.get("/profil/allergies").get_data(as_text=True))
    assert "C’est supprimé." in page and "Pénicillines" not in page.split("Substance")[0]
    assert count(app) == 0
    assert client.get(f"/profil/allergies/{entry_id}").status_code == 404


def test_not_concerned(signed_in, app):
    client = signed_in(PATIENT)
    section = client.get("/profil/allergies").get_data(as_text=True)
    assert "Je ne suis pas concerné" in section
    response = post(client, "/profil/allergies/non-concerne", {"non_concerne": "oui"})
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Vous avez indiqué ne pas être concerné." in page
    assert "Non concerné : vous avez indiqué que cette rubrique ne vous concerne pas." in page
    assert "Ajouter une entrée retire la mention « Non concerné »." in page
    overview = client.get("/profil").get_data(as_text=True)
    allergies = overview.split('id="section-allergies"')[1].split("</section>")[0]
    assert "Non concerné" in allergies
    assert text(overview).count("Non concerné") == 1

    # Adding an entry withdraws it.
    add_ok(client, "allergies")
    page = text(client.get("/profil/allergies").get_data(as_text=True))
    assert "Non concerné" not in page.replace("« Non concerné »", "")
    overview = client.get("/profil").get_data(as_text=True)
    allergies = overview.split('id="section-allergies"')[1].split("</section>")[0]
    assert "Non concerné" not in allergies and "1 entrée" in allergies

    # Refused while the section has entries.
    response = post(client, "/profil/allergies/non-concerne", {"non_concerne": "oui"})
    assert response.status_code == 303
    page = text(client.get("/profil/allergies").get_data(as_text=True))
    assert "Supprimez d’abord les entrées de cette rubrique." in page
    assert "Non concerné :" not in page

    # Said, then taken back, on another section.
    post(client, "/profil/mode-de-vie/non-concerne", {"non_concerne": "oui"})
    response = post(client, "/profil/mode-de-vie/non-concerne", {"non_concerne": "non"})
    page = text(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "La mention « Non concerné » est retirée." in page
    assert "Je ne suis pas concerné" in page


@pytest.mark.parametrize(("slug", "limit"), [("contacts-urgence", 3), ("groupe-sanguin", 1)])
def test_a_full_section_refuses_one_more_with_a_clear_message(signed_in, app, slug, limit):
    client = signed_in(PATIENT)
    for _ in range(limit):
        add_ok(client, slug)
    page = text(client.get(f"/profil/{slug}").get_data(as_text=True))
    assert "Cette rubrique est complète" in page
    response = add(client, slug, {**FORMS[slug][0], "name": "Quatrième Personne"}
                   if slug == "contacts-urgence" else {"group": "A+"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Cette rubrique est complète" in text(html)
    assert count(app) == limit


def test_the_refusal_of_one_too_many_is_an_error_summary(signed_in):
    client = signed_in(PATIENT)
    for _ in range(3):
        add_ok(client, "contacts-urgence")
    response = add(client, "contacts-urgence", {**FORMS["contacts-urgence"][0],
                                                "name": "Quatrième Personne"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and check_page(html) == []
    assert "Il y a un problème" in html and "<title>Erreur :" in html
    assert "modifiez ou supprimez une entrée avant d’en ajouter une" in text(html)
    for target in re.findall(r'<li><a href="#([^"]+)">', html):
        assert f'id="{target}"' in html, target


# --- htmx ------------------------------------------------------------------------------------

def _fragment(response) -> str:
    html = response.get_data(as_text=True)
    assert "<html" not in html and "<body" not in html, html[:300]
    assert "no-store" in response.headers.get("Cache-Control", "")
    return html


def _untitled(html: str) -> str:
    """The fragment without the <title> htmx puts on the page."""
    return re.sub(r"^\s*<title[^>]*>[^<]*</title>\s*", "", html)


def test_htmx_add_edit_and_delete_swap_fragments_and_announce(signed_in, app):
    client = signed_in(PATIENT)
    csrf = {"X-CSRFToken": token(client)}
    section = {**HTMX, **csrf, "HX-Target": "section-content"}

    response = client.post("/profil/allergies", data=FORMS["allergies"][0], headers=section)
    html = _fragment(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<title>Allergies – Carnet santé</title>\n'
                                    '<div id="section-content">')
    assert '<div id="live-region" hx-swap-oob="innerHTML">Ajouté.</div>' in html
    entry_id = re.search(r'id="entry-([0-9a-f]{32})"', html).group(1)
    assert "data-focus-after-swap" in html.split(f'id="entry-{entry_id}"')[1][:100]

    bad = client.post("/profil/allergies", data={"severity": "mild"}, headers=section)
    html = _fragment(bad)
    assert bad.status_code == 422 and "Il y a un problème" in html
    assert count(app) == 1

    target = {**HTMX, **csrf, "HX-Target": f"entry-{entry_id}"}
    form = _fragment(client.get(f"/profil/allergies/{entry_id}/modifier", headers=target))
    assert _untitled(form).startswith(f'<li id="entry-{entry_id}" class="entry entry--editing">')
    assert 'value="penicillins" selected' in form
    invalid = client.post(f"/profil/allergies/{entry_id}/modifier",
                          data={"substance": "unicorn", "severity": "mild"}, headers=target)
    html = _fragment(invalid)
    assert invalid.status_code == 422 and _untitled(html).startswith(f'<li id="entry-{entry_id}"')
    # The edit page's own title (generic: the h1 names the entry), as without htmx.
    assert "<title data-generic>Erreur : Modifier une entrée – Carnet santé</title>" in html
    assert "Substance : choisissez une des réponses proposées." in text(html)
    saved = client.post(f"/profil/allergies/{entry_id}/modifier",
                        data={"substance": "latex", "severity": "mild"}, headers=target)
    html = _fragment(saved)
    assert saved.status_code == 200 and "Latex" in html
    assert '<div id="live-region" hx-swap-oob="innerHTML">Modifié.</div>' in html
    cancel = _fragment(client.get(f"/profil/allergies/{entry_id}", headers=target))
    assert _untitled(cancel).startswith(f'<li id="entry-{entry_id}" class="entry"')

    confirm = _fragment(client.get(f"/profil/allergies/{entry_id}/supprimer", headers=target))
    assert "Oui, supprimer" in confirm and "Non, garder" in confirm
    assert count(app) == 1
    gone = client.post(f"/profil/allergies/{entry_id}/supprimer", headers=section)
    html = _fragment(gone)
    assert '<div id="live-region" hx-swap-oob="innerHTML">Supprimé.</div>' in html
    assert count(app) == 0


def test_htmx_aimed_elsewhere_gets_the_whole_page(signed_in):
    client = signed_in(PATIENT)
    for headers in ({**HTMX, "HX-Target": "somewhere-else"}, HTMX,
                    {**HTMX, "HX-Target": "section-content", "HX-Boosted": "true"}):
        html = client.get("/profil/allergies", headers=headers).get_data(as_text=True)
        assert "<html" in html, headers


# --- vaccinations ----------------------------------------------------------------------------

def test_vaccinations_show_what_is_due_and_say_it_is_not_medical_advice(signed_in, app):
    set_birth_date(app, years_ago(45, days=10))  # the 45-year booster is due now
    client = signed_in(PATIENT)
    page = text(client.get("/profil/vaccinations").get_data(as_text=True))
    assert "Vaccinations à faire" in page
    assert "Ce n’est pas un avis médical" in page
    assert re.search(r"Diphtérie, tétanos, polio \(rappel adulte\) : à faire maintenant "
                     r"\(depuis le \d+ \w+ \d{4}\)", page), page[:4000]
    today = date.today()
    add_ok(client, "vaccinations", {"vaccine": "dtp", "given_on_day": str(today.day),
                                    "given_on_month": str(today.month),
                                    "given_on_year": str(today.year)})
    page = text(client.get("/profil/vaccinations").get_data(as_text=True))
    assert "Aucune vaccination n’est à faire dans les 3 prochains mois" in page
    assert "Ce n’est pas un avis médical" in page


def test_a_vaccination_entered_by_a_professional_is_locked(signed_in, app, demo_users):
    entry_id = add_entry_as(app, "dr.bernard", "vaccinations", FORMS["vaccinations"][0])
    client = signed_in(PATIENT)
    html = client.get("/profil/vaccinations").get_data(as_text=True)
    entry = html.split(f'id="entry-{entry_id}"')[1].split("</li>")[0]
    assert "Saisie par un professionnel de santé" in entry
    assert "Vous ne pouvez pas la modifier." in entry and "/modifier" not in entry
    assert client.get(f"/profil/vaccinations/{entry_id}").status_code == 200
    for path in ("/modifier", "/supprimer"):
        assert client.get(f"/profil/vaccinations/{entry_id}{path}").status_code == 404, path
        response = post(client, f"/profil/vaccinations/{entry_id}{path}",
                        FORMS["vaccinations"][0])
        assert response.status_code == 404, path
    assert count(app) == 1
    summary = text(client.get("/profil/resume").get_data(as_text=True))
    assert "saisie par un professionnel de santé" in summary


# --- entourage and wishes --------------------------------------------------------------------

def test_directives_are_not_offered_to_minors(signed_in, app):
    set_birth_date(app, years_ago(10))
    client = signed_in(PATIENT)
    page = text(client.get("/profil/entourage").get_data(as_text=True))
    assert "cette partie n’est pas proposée aux mineurs" in page
    assert "Rédiger ou modifier mes directives" not in page
    assert client.get("/profil/directives-anticipees").status_code == 404
    assert client.get("/profil/entourage/document-directives").status_code == 404
    for path, form in (("/profil/directives-anticipees", FORMS["directives-anticipees"][0]),
                       ("/profil/directives-anticipees/non-concerne", {"non_concerne": "oui"}),
                       ("/profil/entourage/document-directives", {})):
        assert post(client, path, form).status_code == 404, path
    assert count(app) == 0 and count(app, ProfileSection) == 0
    # The rest of the entourage stays open to them.
    assert client.get("/profil/contacts-urgence").status_code == 200
    assert client.get("/profil/personne-de-confiance").status_code == 200


def test_an_adult_sees_directives_and_organ_donation(signed_in):
    client = signed_in(PATIENT)
    page = text(client.get("/profil/entourage").get_data(as_text=True))
    assert "Rédiger ou modifier mes directives avec le formulaire guidé" in page
    assert "Vous n’avez pas enregistré de directives anticipées." in page
    assert "registre national des refus" in page
    add_ok(client, "directives-anticipees")
    add_ok(client, "contacts-urgence")
    page = text(client.get("/profil/entourage").get_data(as_text=True))
    assert "Directives rédigées le 3 mars 2024" in page and "Paul Martin" in page


def _upload_directives(client, day: str):
    page = client.get("/profil/entourage/document-directives").get_data(as_text=True)
    return client.post("/profil/entourage/document-directives", data={
        "csrf_token": csrf_from(page), "file": (io.BytesIO(png()), "directives.png"),
        "date_day": day, "date_month": "2", "date_year": "2024"},
        content_type="multipart/form-data")


def test_a_new_directives_document_replaces_the_previous_one(signed_in, app):
    client = signed_in(PATIENT)
    for day in ("1", "2"):
        response = _upload_directives(client, day)
        assert response.status_code == 303, response.get_data(as_text=True)[:3000]
        assert response.headers["Location"] == "/profil/entourage"
    assert count(app, Document, category=Category.ADVANCE_DIRECTIVES) == 1
    assert count(app, Document) == 1
    with app.app_context():
        assert len(list(blobs.store.keys())) == 1  # the previous file is gone too
    with app.app_context():
        document = db.session.scalars(select(Document)).one()
        assert document.document_date == date(2024, 2, 2)
    page = text(client.get("/profil/entourage").get_data(as_text=True))
    assert "Document de directives anticipées du 2 février 2024" in page
    assert "1 février 2024" not in page


def test_a_directives_upload_with_problems_says_so(signed_in, app):
    client = signed_in(PATIENT)
    page = client.get("/profil/entourage/document-directives").get_data(as_text=True)
    response = client.post("/profil/entourage/document-directives", data={
        "csrf_token": csrf_from(page), "date_day": "30", "date_month": "2",
        "date_year": "2024"}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and check_page(html) == []
    assert "Choisissez le fichier de vos directives anticipées." in text(html)
    assert "<title>Erreur :" in html
    assert count(app, Document) == 0


# --- measures --------------------------------------------------------------------------------

def add_measure(client, slug: str, day: date, **values):
    return post(client, f"/profil/mesures/{slug}", {
        "measured_on_day": str(day.day), "measured_on_month": str(day.month),
        "measured_on_year": str(day.year), **values})


def test_adding_a_measure_then_its_chart_and_table(signed_in, app):
    client = signed_in(PATIENT)
    today = date.today()
    response = add_measure(client, "poids", today - timedelta(days=30), value="72,5")
    assert response.status_code == 303 and response.headers["Location"] == "/profil/mesures/poids"
    add_measure(client, "poids", today, value="71", time="7h30")
    html = client.get("/profil/mesures/poids").get_data(as_text=True)
    assert check_page(html) == []
    page = text(html)
    assert "La mesure est enregistrée." in page and "2 mesures enregistrées." in page
    assert "72,5 kg" in page and "71 kg" in page and "07:30" in page
    svg = re.search(r'<svg class="chart__svg" role="img" aria-labelledby="chart-title '
                    r'chart-desc"[^>]*>\s*<title id="chart-title">([^<]+)</title>\s*'
                    r'<desc id="chart-desc">([^<]+)</desc>', html)
    assert svg, html[:5000]
    assert svg.group(1) == "Poids : évolution"
    assert "2 mesures, de 72,5 kg" in svg.group(2) and "à 71 kg" in svg.group(2)
    assert '<caption id="measures-caption">Poids : les mesures du graphique</caption>' in html
    overview = text(client.get("/profil/mesures").get_data(as_text=True))
    assert "Poids : 71 kg" in overview and "Indice de masse corporelle" not in overview
    add_measure(client, "taille", today, value="168")
    overview = text(client.get("/profil/mesures").get_data(as_text=True))
    assert "Indice de masse corporelle (IMC) 25,2" in overview
    assert count(app, Measure) == 3


@pytest.mark.parametrize(("slug", "values", "message"), [
    ("poids", {"value": "700"}, "Poids en kg : vérifiez la valeur, elle doit être entre 0,3 et "
                                "350 kg."),
    ("temperature", {"value": "20"}, "Température en °C : vérifiez la valeur, elle doit être "
                                     "entre 34 et 43 °C."),
    ("tension", {"systolic": "80", "diastolic": "120"},
     "Tension diastolique (le chiffre du bas) en mmHg : le chiffre du bas doit être plus petit"),
    ("frequence-cardiaque", {"value": "70", "time": "25:00"},
     "Heure : saisissez une heure, par exemple 8:30."),
    ("glycemie", {"value": "abc"}, "Glycémie en g/L : saisissez un nombre, par exemple 72,5."),
])
def test_an_implausible_measure_is_refused_with_the_range(signed_in, app, slug, values, message):
    client = signed_in(PATIENT)
    response = add_measure(client, slug, date.today(), **values)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and check_page(html) == []
    assert message in text(html), text(html)[:3000]
    assert "<title>Erreur :" in html and "Il y a un problème" in html
    for value in values.values():
        assert f'value="{value}"' in html
    assert count(app, Measure) == 0


def test_measures_come_twenty_a_page(signed_in, app, demo_users):
    client = signed_in(PATIENT)
    start = date.today() - timedelta(days=100)
    for index in range(21):
        assert add_measure(client, "frequence-cardiaque", start + timedelta(days=index * 3),
                           value=str(60 + index)).status_code == 303
    html = client.get("/profil/mesures/frequence-cardiaque").get_data(as_text=True)
    page = text(html)
    assert "21 mesures enregistrées. Page 1 sur 2, les plus récentes d’abord." in page
    assert html.count("<tr>") == 1 + 20
    assert "80 battements par minute" in page and "60 battements par minute" not in page
    assert 'href="/profil/mesures/frequence-cardiaque?page=2"' in html
    second = client.get("/profil/mesures/frequence-cardiaque?page=2").get_data(as_text=True)
    assert second.count("<tr>") == 1 + 1 and "60 battements par minute" in text(second)
    assert "Mesures plus récentes" in text(second)
    for page_arg in ("0", "-3", "99", "abc", "1e9"):
        response = client.get(f"/profil/mesures/frequence-cardiaque?page={page_arg}")
        assert response.status_code == 200, page_arg


def test_deleting_a_measure_asks_first(signed_in, app):
    client = signed_in(PATIENT)
    add_measure(client, "tension", date.today(), systolic="128", diastolic="82")
    html = client.get("/profil/mesures/tension").get_data(as_text=True)
    assert "128/82 mmHg" in text(html)
    path = re.search(r'href="(/profil/mesures/tension/[0-9a-f]{32}/supprimer)"', html).group(1)
    confirm = client.get(path)
    assert confirm.status_code == 200 and check_page(confirm.get_data(as_text=True)) == []
    assert "Voulez-vous vraiment supprimer la mesure « 128/82 mmHg »" in text(
        confirm.get_data(as_text=True))
    assert count(app, Measure) == 1
    response = post(client, path)
    assert response.status_code == 303
    assert "La mesure est supprimée." in text(client.get("/profil/mesures/tension").get_data(
        as_text=True))
    assert count(app, Measure) == 0


def test_htmx_measure_add_announces(signed_in, app):
    client = signed_in(PATIENT)
    today = date.today()
    response = client.post("/profil/mesures/douleur", data={
        "value": "4", "measured_on_day": str(today.day), "measured_on_month": str(today.month),
        "measured_on_year": str(today.year)}, headers={
        **HTMX, "HX-Target": "measure-content", "X-CSRFToken": token(client)})
    html = _fragment(response)
    assert re.match(r'\s*<title>[^<]+</title>\s*<div id="measure-content">', html)
    assert '<div id="live-region" hx-swap-oob="innerHTML">Mesure enregistrée.</div>' in html
    assert "4 sur 10" in text(html)


def test_a_child_has_growth_charts(signed_in, app):
    set_birth_date(app, years_ago(10))
    client = signed_in(PATIENT)
    assert client.get("/profil/mesures/perimetre-cranien").status_code == 200
    add_measure(client, "taille", date.today() - timedelta(days=400), value="130")
    add_measure(client, "taille", date.today(), value="138,5")
    html = client.get("/profil/mesures/taille").get_data(as_text=True)
    assert check_page(html) == []
    page = text(html)
    assert "Courbe de croissance : la mesure selon l’âge de l’enfant, en mois." in page
    assert "Courbe de croissance : Taille selon l’âge" in page
    assert "Âge" in page and re.search(r"\b1[12]\d mois\b", page)
    overview = text(client.get("/profil/mesures").get_data(as_text=True))
    # A child's BMI is read on the BMI-for-age curve, not as an adult's single value.
    assert "Périmètre crânien" in overview and "Voir la courbe de corpulence" in overview
    assert "calculé avec votre dernier poids" not in overview


def test_a_measure_before_birth_is_refused(signed_in, app):
    set_birth_date(app, years_ago(2))
    client = signed_in(PATIENT)
    response = add_measure(client, "taille", date(2010, 1, 1), value="80")
    assert response.status_code == 422
    assert count(app, Measure) == 0


def test_an_adult_has_no_head_circumference(signed_in):
    client = signed_in(PATIENT)
    assert client.get("/profil/mesures/perimetre-cranien").status_code == 404
    assert "Périmètre crânien" not in text(client.get("/profil/mesures").get_data(as_text=True))


# --- summary ---------------------------------------------------------------------------------

def _fill(client):
    for slug in ("groupe-sanguin", "allergies", "traitements", "vaccinations",
                 "contacts-urgence"):
        add_ok(client, slug)
    post(client, "/profil/handicaps/non-concerne", {"non_concerne": "oui"})
    add_measure(client, "poids", date.today(), value="64,2")


def test_the_summary_page(signed_in):
    client = signed_in(PATIENT)
    _fill(client)
    response = client.get("/profil/resume")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and check_page(html) == []
    page = text(html)
    for shown in ("Camille Martin", "14 mars 1988", "O-", "Pénicillines", "Urticaire géante",
                  "Lévothyrox", "Paul Martin", "64,2 kg", "Non concerné", "Non renseigné"):
        assert shown in page, shown
    assert "Télécharger le résumé (PDF)" in page
    assert "Directives" not in page  # not part of the summary


def test_long_sections_are_cut_on_the_overview_and_summary_but_allergies_never(
        signed_in, app):
    for index in range(17):
        add_entry_as(app, PATIENT, "treatments", {"name": f"Traitement n°{index}"})
        add_entry_as(app, PATIENT, "allergies", {"substance": "other",
                                                  "substance_other": f"Allergène n°{index}",
                                                  "severity": "mild"})
    client = signed_in(PATIENT)
    overview = text(client.get("/profil").get_data(as_text=True))
    assert "17 entrées" in overview and "et 7 autres" in overview
    assert "Traitement n°16" in overview and "Traitement n°6 " not in overview
    summary = text(client.get("/profil/resume").get_data(as_text=True))
    assert "Et 2 autres entrées plus anciennes, à voir dans le profil." in summary
    assert "Traitement n°16" in summary and "Traitement n°1 " not in summary
    assert all(f"Allergène n°{index}" in summary for index in range(17))
    section = text(client.get("/profil/traitements").get_data(as_text=True))
    assert all(f"Traitement n°{index}" in section for index in range(17))


def _pdf_checks(data: bytes, lang: str, title_words: str) -> None:
    assert data.startswith(b"%PDF")  # the catalog sits in a compressed object stream
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert str(pdf.Root.Lang).startswith(lang)
        assert bool(pdf.Root.MarkInfo.Marked) is True
        assert "/StructTreeRoot" in pdf.Root
        with pdf.open_metadata() as meta:
            title = meta.get("dc:title") or str(pdf.docinfo.get("/Title", ""))
        assert title_words in title, title
        assert pdf.Root.ViewerPreferences.DisplayDocTitle


def test_each_printed_summary_is_audited_with_its_output(signed_in, app):
    from domain.models import AuditEvent

    client = signed_in(PATIENT)
    assert client.get("/profil/resume").status_code == 200
    assert fetch_pdf(client).status_code == 200
    with app.app_context():
        patient = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "profile.summary").order_by(*AUDIT_ORDER)).all()
        assert [(event.subject_id, event.actor_id, event.outcome, json.loads(event.details))
                for event in events] == [
            (patient.id, patient.id, "success", {"output": "html"}),
            (patient.id, patient.id, "success", {"output": "pdf"})]


def test_the_summary_pdf_is_tagged_with_its_language_and_title(signed_in):
    client = signed_in(PATIENT)
    _fill(client)
    response = fetch_pdf(client)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers.get("Cache-Control", "")
    _pdf_checks(response.data, "fr", "Résumé du profil médical de Camille Martin")


def test_the_summary_in_english(signed_in):
    client = signed_in(PATIENT)
    _fill(client)
    client.get("/langue/en")
    html = client.get("/profil/resume").get_data(as_text=True)
    assert 'lang="en"' in html and "Summary of my medical profile" in html
    assert "Not applicable" in text(html)
    assert check_page(html, expected_lang="en") == []
    _pdf_checks(fetch_pdf(client).data, "en",
                "Medical profile summary for Camille Martin")
