"""Private page titles never carry health content (ACCESSIBILITY.md, item 2): browser
history, tab switchers and shared screens show the <title>. Camille fills her space (and
her son Léo's) with content carrying canary strings — a document, an appointment, an
allergy, a conversation with Dr Bernard and her reply, a weight — then every GET page of
the patient area, found in the URL map, is opened (whole, and as each htmx fragment), and
so are the failed forms and htmx answers that carry their own <title>: no canary in any
title, while the body does show it where it belongs. Dr Bernard's pages about Camille
never have her name in their title either."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pikepdf
from bs4 import BeautifulSoup
from sqlalchemy import select

from domain import agenda
from domain.models import MessageAttachment, Representation, User
from extensions import db
from tests.blueprints.documents.test_vault_pages import png
from tests.blueprints.pro.test_patients import declare
from tests.conftest import csrf_from
from tests.html_checks import check_page

PATIENT, DOCTOR = "camille.martin", "dr.bernard"
SITE = "Carnet santé"
DOC, RDV, ALLERGY = "CanariTitreDoc", "CanariRdv", "CanariAllergie"
SUBJECT, BODY, REPLY, TYPED = "CanariObjet", "CanariCorps", "CanariReponse", "CanariSaisi"
CANARIES = (DOC, RDV, ALLERGY, SUBJECT, BODY, REPLY, TYPED, "CanariLieu", "CanariNote",
            "CanariReaction")
PATIENT_NAMES = ("Camille", "Martin")
ID = re.compile(r"[0-9a-f]{32}")

PATIENT_BLUEPRINTS = {"space", "documents", "profile", "agenda", "messages", "access",
                      "account", "catalogue"}
# GET routes of those blueprints that are not pages of the patient's space.
NOT_PATIENT_PAGES = {
    "agenda.feed_read": "the calendar feed, read by calendar apps at its secret address",
    "account.contact_confirm": "the middle of a change of e-mail or phone (test_contact.py)",
}
# htmx targets a GET page may be asked for (web/render.py gives their fragment).
HTMX_TARGETS = ("section-content", "measure-content", "month-content", "document-list",
                "message-list", "entry-{entry_id}", "catalogue-results")
# Pages whose h1 names the item: a fixed generic title, marked data-generic.
GENERIC = {
    "documents.document_show": "Document",
    "messages.show": "Conversation",
    "agenda.item_show": "Rendez-vous ou rappel",
    "agenda.item_edit": "Modifier un rendez-vous ou un rappel",
    "agenda.item_delete": "Supprimer un rendez-vous ou un rappel",
    "profile.entry_show": "Entrée du profil médical",
    "profile.entry_edit": "Modifier une entrée",
    "profile.entry_delete": "Supprimer une entrée",
}
PRO_GENERIC = {"pro.patient_show": "Dossier patient", "messages.pro_new": "Nouveau message",
               "messages.pro_show": "Conversation"}
# Where each canary must show in the page, so that a title without it proves something.
SHOWN = {
    "documents.document_list": (DOC,), "documents.document_show": (DOC,),
    "documents.document_edit": (DOC,), "documents.document_delete": (DOC,),
    "agenda.index": (RDV,), "agenda.month_show": (RDV,), "agenda.item_show": (RDV,),
    "agenda.item_edit": (RDV,), "agenda.item_delete": (RDV,),
    "profile.section_show": (ALLERGY,), "profile.entry_show": (ALLERGY,),
    "profile.entry_edit": (ALLERGY,), "profile.entry_delete": (ALLERGY,),
    "profile.summary": (ALLERGY,),
    "messages.inbox": (SUBJECT,), "messages.show": (SUBJECT, BODY, REPLY),
}


# --- reading pages ---------------------------------------------------------------------------

def titles(html: str) -> list[str]:
    """Every page title in a page or an htmx fragment (htmx takes a fragment's own <title>);
    not the <title> of an SVG chart, which names the chart inside the page."""
    soup = BeautifulSoup(html, "html.parser")
    return [" ".join(tag.get_text(" ").split()) for tag in soup.find_all("title")
            if tag.find_parent("svg") is None]


def shown(html: str) -> str:
    """What the page shows besides its title."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all("title"):
        tag.decompose()
    return soup.get_text(" ") + " ".join(str(tag.get("value", "")) for tag in
                                         soup.find_all(["input", "textarea"]))


class Visits:
    """Every response looked at, and what went wrong."""

    def __init__(self, forbidden: tuple[str, ...]):
        self.forbidden = forbidden
        self.problems: list[str] = []
        self.seen: dict[str, int] = {}
        self.fragment_titles = 0  # fragments whose own title was compared with the page's

    def look(self, where: str, response, *, status: int | tuple[int, ...] = 200, show=(),
             generic: str | None = None, prefix: str = "") -> str:
        allowed = status if isinstance(status, tuple) else (status,)
        if response.status_code not in allowed:
            self.problems.append(f"{where}: {response.status_code}, not {status}")
            return ""
        if response.mimetype == "application/pdf":
            with pikepdf.open(io.BytesIO(response.data)) as pdf:
                with pdf.open_metadata() as meta:
                    found = [meta.get("dc:title") or "", str(pdf.docinfo.get("/Title", ""))]
            self._no_canary(where, found, canaries_only=True)
            return ""
        if response.mimetype != "text/html":
            return ""
        html = response.get_data(as_text=True)
        found = titles(html)
        self.seen[where] = len(found)
        self._no_canary(where, found)
        text = shown(html)
        self.problems += [f"{where}: {piece!r} is not on the page, so its absence from the "
                          f"title proves nothing" for piece in show if piece not in text]
        if generic is not None:
            soup = BeautifulSoup(html, "html.parser")
            wanted = f"{prefix}{generic} – {SITE}"
            if not (soup.title and soup.title.has_attr("data-generic")):
                self.problems.append(f"{where}: <title> not marked data-generic")
            if found[:1] != [wanted]:
                self.problems.append(f"{where}: title {found[:1]}, not {wanted!r}")
            # The page checks accept the generic title (tests/html_checks.py).
            self.problems += [f"{where}: {problem}" for problem in check_page(html)
                              if "title" in problem]
        return html

    def _no_canary(self, where: str, found: list[str], canaries_only: bool = False) -> None:
        for title in found:
            pieces = CANARIES if canaries_only else self.forbidden
            leaked = [piece for piece in pieces if piece in title]
            if leaked:
                self.problems.append(f"{where}: title {title!r} shows {leaked}")


# --- filling a space -------------------------------------------------------------------------

def _post(client, form_path: str, path: str, data: dict, **kwargs):
    token = csrf_from(client.get(form_path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def fill_space(client, base: str) -> dict[str, str]:
    """A document, an appointment, an allergy and a weight in the space at `base` ("" for
    one's own, /espace/<id> for a represented one); their ids for the URL map."""
    response = _post(client, f"{base}/documents/ajouter", f"{base}/documents/ajouter", {
        "file": (io.BytesIO(png()), "scanner.png"), "title": DOC, "category": "imaging",
        "visibility": "visible", "date_day": "3", "date_month": "3", "date_year": "2026"},
        content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    document_id = ID.findall(response.headers["Location"])[-1]

    day = agenda.today() + timedelta(days=3)
    response = _post(client, f"{base}/agenda/ajouter", f"{base}/agenda/ajouter", {
        "kind": "appointment", "title": RDV, "time": "9h30", "place": "CanariLieu",
        "professional": "Dr Durand", "note": "CanariNote", "date_day": str(day.day),
        "date_month": str(day.month), "date_year": str(day.year)})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    item_id = ID.findall(response.headers["Location"])[-1]

    response = _post(client, f"{base}/profil/allergies", f"{base}/profil/allergies", {
        "substance": "other", "substance_other": ALLERGY, "reaction": "CanariReaction",
        "severity": "severe"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    entry_id = ID.findall(response.headers["Location"])[-1]

    today = agenda.today()
    response = _post(client, f"{base}/profil/mesures/poids", f"{base}/profil/mesures/poids", {
        "value": "20,5", "measured_on_day": str(today.day),
        "measured_on_month": str(today.month), "measured_on_year": str(today.year)})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    history = client.get(f"{base}/profil/mesures/poids").get_data(as_text=True)
    measure_id = re.search(r"/profil/mesures/poids/([0-9a-f]{32})/supprimer", history).group(1)
    return {"document_id": document_id, "item_id": item_id, "entry_id": entry_id,
            "measure_id": measure_id, "month": f"{day:%Y-%m}"}


def start_conversation(app, doctor) -> dict[str, str]:
    """Dr Bernard writes to Camille, with a file; the ids for the URL map."""
    patient_id = declare(doctor, app)
    response = _post(doctor, f"/pro/patients/{patient_id}/ecrire",
                     f"/pro/patients/{patient_id}/ecrire",
                     {"subject": SUBJECT, "body": BODY,
                      "files": [(io.BytesIO(png()), "analyse.png")]},
                     content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    conversation_id = ID.findall(response.headers["Location"])[-1]
    with app.app_context():
        attachment_id = db.session.scalars(select(MessageAttachment.id)).one()
    return {"patient_id": patient_id, "conversation_id": conversation_id,
            "attachment_id": attachment_id}


def leo_id(app) -> str:
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == PATIENT)).one()
        return db.session.scalars(select(Representation.represented_id).where(
            Representation.representative_id == camille.id)).one()


# --- the routes ------------------------------------------------------------------------------

def patient_pages(app, ids: dict[str, str], *, represented: bool):
    """(endpoint, path) of every GET route of the patient area, own space or represented
    one; the routes whose arguments `ids` cannot fill are given apart."""
    pages, unfilled = [], []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if ("GET" not in rule.methods or blueprint not in PATIENT_BLUEPRINTS
                or rule.endpoint.startswith("messages.pro_")
                or rule.endpoint in NOT_PATIENT_PAGES
                or ("space_id" in rule.arguments) != represented):
            continue
        values = {name: ids.get(name) for name in rule.arguments}
        if "slug" in rule.arguments:
            values["slug"] = ("exemple-balance" if rule.endpoint.startswith("catalogue.")
                              else "poids" if "/mesures/" in rule.rule else "allergies")
        if any(value is None for value in values.values()):
            unfilled.append(rule.endpoint)
            continue
        pages.append((rule.endpoint, rule.build(values)[1]))
    return sorted(pages), sorted(unfilled)


def title_of(html: str) -> tuple[str, bool] | None:
    """The page title htmx would show (its words, and whether it is marked data-generic)."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all("title"):
        if tag.find_parent("svg") is None:
            return " ".join(tag.get_text(" ").split()), tag.has_attr("data-generic")
    return None


def same_title(visits: Visits, where: str, whole: str, fragment: str) -> None:
    """A fragment that brings its own <title> brings its page's: the same words (the
    represented person's first name, "Erreur :") and the same data-generic mark."""
    if not fragment or title_of(fragment) is None:
        return
    if title_of(fragment) != title_of(whole):
        visits.problems.append(f"{where}: the fragment's title {title_of(fragment)} is not "
                               f"the page's {title_of(whole)}")
    visits.fragment_titles += 1


def visit(client, visits: Visits, pages, ids, *, prefix: str = "", elsewhere=(),
          shows=SHOWN) -> None:
    """Each page whole and as each htmx fragment; `elsewhere`: pages not for this person,
    which send them elsewhere or answer 404."""
    for endpoint, path in pages:
        status = (302, 303, 404) if endpoint in elsewhere else 200
        where = f"{endpoint} {path}"
        whole = visits.look(where, client.get(path), status=status,
                            show=shows.get(endpoint, ()) if status == 200 else (),
                            generic=GENERIC.get(endpoint) if status == 200 else None,
                            prefix=prefix)
        for target in HTMX_TARGETS:
            fragment = visits.look(f"{where} (htmx, #{target})", client.get(path, headers={
                "HX-Request": "true", "HX-Target": target.format(**ids)}), status=status)
            same_title(visits, f"{where} (htmx, #{target})", whole, fragment)


# --- the tests -------------------------------------------------------------------------------

def test_no_private_title_shows_health_content(app, signed_in):
    doctor = signed_in(DOCTOR)
    ids = start_conversation(app, doctor)
    camille = signed_in(PATIENT)
    ids |= fill_space(camille, "")
    conversation = f"/messagerie/{ids['conversation_id']}"
    response = _post(camille, conversation, conversation, {"body": REPLY},
                     content_type="multipart/form-data")
    assert response.status_code == 303

    visits = Visits(CANARIES)
    pages, unfilled = patient_pages(app, ids, represented=False)
    assert unfilled == [] and len(pages) >= 35, (unfilled, len(pages))
    # The BMI-for-age page is a child's: not for an adult.
    visit(camille, visits, pages, ids, elsewhere={"profile.bmi_history"})

    # Failed forms and htmx answers that carry their own title, with a canary typed in.
    base = f"/profil/allergies/{ids['entry_id']}"
    htmx_entry = {"HX-Request": "true", "HX-Target": f"entry-{ids['entry_id']}"}
    for headers, status in ((None, 422), (htmx_entry, 422)):
        visits.look(f"profile edit refused (htmx: {bool(headers)})", _post(
            camille, f"{base}/modifier", f"{base}/modifier",
            {"substance": "other", "substance_other": ALLERGY, "reaction": TYPED},
            headers=headers), status=status, show=(ALLERGY, TYPED),
            generic=None if headers else "Modifier une entrée", prefix="Erreur : ")
    visits.look("profile edit saved (htmx)", _post(
        camille, f"{base}/modifier", f"{base}/modifier",
        {"substance": "other", "substance_other": ALLERGY, "reaction": "CanariReaction",
         "severity": "mild"}, headers=htmx_entry), show=(ALLERGY,))
    visits.look("profile add refused (htmx)", _post(
        camille, "/profil/allergies", "/profil/allergies",
        {"substance": "other", "substance_other": TYPED},
        headers={"HX-Request": "true", "HX-Target": "section-content"}), status=422,
        show=(TYPED, ALLERGY))
    agenda_edit = f"/agenda/{ids['item_id']}/modifier"
    visits.look("agenda edit refused", _post(camille, agenda_edit, agenda_edit, {
        "kind": "appointment", "title": RDV, "note": TYPED, "date_day": "31",
        "date_month": "2", "date_year": "2026"}), status=422, show=(RDV, TYPED),
        generic="Modifier un rendez-vous ou un rappel", prefix="Erreur : ")
    document_edit = f"/documents/{ids['document_id']}/modifier"
    visits.look("document edit refused", _post(camille, document_edit, document_edit, {
        "title": TYPED, "category": "imaging", "date_day": "31", "date_month": "2",
        "date_year": "2026"}), status=422, show=(TYPED,))
    htmx_reply = {"HX-Request": "true", "HX-Target": "message-list"}
    refused = []
    for data, headers, status, show, generic in (
            ({"body": TYPED * 1000}, None, 422, (SUBJECT, TYPED), "Conversation"),
            ({"body": TYPED * 1000}, htmx_reply, 422, (TYPED,), None),
            ({"body": f"{REPLY} {TYPED}"}, htmx_reply, 200, (TYPED,), None)):
        refused.append(visits.look(f"reply ({status}, htmx: {bool(headers)})", _post(
            camille, conversation, conversation, data, headers=headers,
            content_type="multipart/form-data"), status=status, show=show, generic=generic,
            prefix="Erreur : " if status == 422 else ""))
    same_title(visits, "reply refused", refused[0], refused[1])
    assert visits.seen["reply (200, htmx: True)"] == 1  # _sent.html's own title
    assert visits.seen["reply (422, htmx: True)"] == 1  # _reply.html's own title
    assert visits.seen["profile add refused (htmx)"] == 1  # _section_content.html's
    assert not visits.problems, "\n".join(visits.problems)


def test_no_title_in_a_represented_space_shows_health_content(app, signed_in):
    """The same in Léo's space, where Camille acts as his parent (the title starts with his
    given name, which says whose space is open: no health content)."""
    camille = signed_in(PATIENT)
    leo = leo_id(app)
    base = f"/espace/{leo}"
    ids = fill_space(camille, base) | {"space_id": leo}
    visits = Visits(CANARIES)
    pages, unfilled = patient_pages(app, ids, represented=True)
    # Léo has no conversation: nothing fills those two routes.
    assert unfilled == ["messages.attachment", "messages.show"], unfilled
    assert len(pages) >= 35, len(pages)
    # Advance directives are for adults: not for a child.
    visit(camille, visits, pages, ids, prefix="Léo – ",
          elsewhere={"profile.directives_document"},
          shows={endpoint: pieces for endpoint, pieces in SHOWN.items()
                 if not endpoint.startswith("messages.")})
    # Failed forms in his space: the htmx answer's own title is the whole page's, his
    # first name included.
    edit = f"{base}/profil/allergies/{ids['entry_id']}/modifier"
    for what, form, path, data, target in (
            ("profile edit", edit, edit,
             {"substance": "other", "substance_other": ALLERGY, "reaction": TYPED},
             f"entry-{ids['entry_id']}"),
            ("profile add", f"{base}/profil/allergies", f"{base}/profil/allergies",
             {"substance": "other", "substance_other": TYPED}, "section-content"),
            ("measure add", f"{base}/profil/mesures/poids", f"{base}/profil/mesures/poids",
             {"value": "vingt", "measured_on_day": "31", "measured_on_month": "2",
              "measured_on_year": "2026"}, "measure-content")):
        answers = [_post(camille, form, path, data, headers=headers) for headers in
                   (None, {"HX-Request": "true", "HX-Target": target})]
        assert [answer.status_code for answer in answers] == [422, 422], what
        whole, fragment = (answer.get_data(as_text=True) for answer in answers)
        assert title_of(whole)[0].startswith("Erreur : Léo – "), (what, title_of(whole))
        same_title(visits, f"{what} refused", whole, fragment)
    assert visits.fragment_titles >= 8, visits.fragment_titles
    assert not visits.problems, "\n".join(visits.problems)


def test_the_professionals_pages_about_a_patient_do_not_name_her_in_the_title(app,
                                                                              signed_in):
    doctor = signed_in(DOCTOR)
    ids = start_conversation(app, doctor)
    camille = signed_in(PATIENT)
    ids |= fill_space(camille, "")
    visits = Visits(CANARIES + PATIENT_NAMES)
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and (rule.rule == "/pro" or rule.rule.startswith("/pro/")):
            values = {name: ids[name] for name in rule.arguments}
            pages.append((rule.endpoint, rule.build(values)[1]))
    assert len(pages) >= 10
    shows = {"pro.patient_show": ("Camille Martin",), "messages.pro_new": ("Camille Martin",),
             "messages.pro_show": ("Camille Martin", SUBJECT, BODY),
             "messages.pro_inbox": ("Camille Martin", SUBJECT)}
    for endpoint, path in sorted(pages):
        visits.look(f"{endpoint} {path}", doctor.get(path),
                    show=shows.get(endpoint, ()), generic=PRO_GENERIC.get(endpoint))
    new = f"/pro/patients/{ids['patient_id']}/ecrire"
    visits.look("new message refused", _post(doctor, new, new, {"subject": TYPED, "body": ""},
                                              content_type="multipart/form-data"),
                status=422, show=(TYPED, "Camille Martin"), generic="Nouveau message",
                prefix="Erreur : ")
    assert not visits.problems, "\n".join(visits.problems)
