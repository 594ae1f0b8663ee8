"""The access matrix over HTTP (DESIGN.md §2-§3, SECURITY.md "Access control").

Roles (the owner, another patient, a doctor, the attending doctor, a pharmacist and every
other profession, a doctor who never declared the care relation, a blocked doctor, a doctor
in emergency — with and without the patient's "hidden documents too" setting —, an expired
emergency, an adviser, an operator, and the excluded categories: the health insurer's
staff, a mutuelle, occupational medicine, an employer, an account with no sector)
× resources of Camille's space (every document category, visible and hidden, added by
Camille or deposited by professionals; another patient's document; every profile section;
a locked vaccination; a measure; vaccinations; the history; the access settings; the
professional's patient page; conversations between Camille and Dr Bernard — one open, one
closed — and one with the doctor she blocked, each with an attachment; a new conversation;
an item of her agenda and one of another patient's, her agenda's lists, month, .ics file and
subscription settings, and the subscription feed at her private address, at a replaced one
and at a made-up one)
× actions (list, read, download, preview, deposit, edit, delete, hide, add, declare, break
the glass, open the patient page; for conversations: list in the inbox, read, reply,
download the attachment, save it to the vault, close, start; for the agenda: list (upcoming,
past, month), read, edit, delete, add (a form, a suggested vaccination), download the .ics
file, read the subscription settings, regenerate and stop the address, read the feed).

Each cell's expected answer is written down in this file — copied by hand from the rules
and from domain/data/access_matrix.json, never computed from domain/policy.py — and checked
through the real routes, signed in through the real forms. One test per role builds the
same world, signs in once, walks every cell and reports every wrong cell at once. A refused
cell must also not leak (404 for someone else's records, 403 for an area the role never
enters) and, where the code audits the decision (documents, profile entries, measures, the
patient page, agenda items), must land in the audit trail as a denial by that person. The
agenda's subscription feed is a capability address: it answers whoever holds it (no session
needed), so every role reads Camille's feed, and nobody reads a replaced or made-up one; each
read and refusal is audited with no actor. Routes of an area a role never enters (a
professional on /documents or /agenda, a patient on /pro, an adviser anywhere) are refused
before any id is read, so one id per route stands for every resource there (PATIENT_AREA,
PRO_PORTAL); everything decided per object is checked per object.

Every cell is checked: there is no list of known wrong cells to leave out. The bugs this
table found (measures never shown to professionals, a blocked doctor breaking the glass)
were fixed.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

import pyotp
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from domain import (
    agenda,
    agenda_export,
    audit,
    care,
    demo,
    measures,
    messaging,
    passwords,
    profile,
    vault,
)
from domain.auth import set_totp_secret
from domain.identifiers import rpps_valid
from domain.models import (
    AgendaItem,
    AuditEvent,
    Category,
    Conversation,
    Document,
    EmergencyAccess,
    Measure,
    Message,
    Profession,
    ProfileEntry,
    Role,
    SecondFactor,
    Sector,
    User,
)
from domain.models.base import utcnow
from extensions import blobs, db, keys
from tests import audit_trail
from tests.conftest import csrf_from
from tests.conftest import sign_in as sign_in_demo

PASSWORD = "Matrice-Acces-Essai-2026"
ACTOR = audit.Actor(ip="127.0.0.1")
CAMILLE = "camille.martin"
IDENTITY = {"nir": "288037510802150", "born_day": "14", "born_month": "3",
            "born_year": "1988"}
REASON = "Patiente inconsciente aux urgences, recherche d’allergies"
DOC_DATE = date(2026, 1, 5)

# --- the rules, written down -----------------------------------------------------------------
# Copied by hand from domain/data/access_matrix.json (which the patient reads in plain words
# on /acces/qui-voit-quoi). A change there must be reviewed here too.

ALL_CATEGORIES = ("summary", "prescriptions", "imaging", "lab_results", "reports",
                  "prevention", "certificates", "administrative", "other", "directives")
DOC_READ = {
    "doctor": set(ALL_CATEGORIES),
    "pharmacist": {"summary", "prescriptions", "lab_results", "prevention"},
    "nurse": {"summary", "prescriptions", "lab_results", "reports", "prevention",
              "directives"},
    "midwife": {"summary", "prescriptions", "imaging", "lab_results", "reports", "prevention",
                "certificates", "directives"},
    "biologist": {"summary", "prescriptions", "lab_results"},
    "physiotherapist": {"summary", "prescriptions", "imaging", "reports"},
    "dentist": {"summary", "prescriptions", "imaging", "lab_results", "reports"},
}
DOC_DEPOSIT = {
    "doctor": {"summary", "prescriptions", "imaging", "lab_results", "reports", "prevention",
               "certificates", "other"},
    "pharmacist": {"prescriptions", "prevention"},
    "nurse": {"reports", "prevention"},
    "midwife": {"prescriptions", "reports", "prevention", "certificates"},
    "biologist": {"lab_results"},
    "physiotherapist": {"reports"},
    "dentist": {"prescriptions", "imaging", "reports", "certificates"},
}
PROFILE_READ = {
    "doctor": {"conditions", "treatments", "hospitalisations", "disabilities", "blood_group",
               "allergies", "family_history", "lifestyle", "vaccinations", "measures",
               "emergency_contacts", "trusted_person", "directives"},
    "pharmacist": {"conditions", "treatments", "allergies", "vaccinations", "measures"},
    "nurse": {"conditions", "treatments", "hospitalisations", "disabilities", "blood_group",
              "allergies", "vaccinations", "measures", "emergency_contacts",
              "trusted_person", "directives"},
    "midwife": {"conditions", "treatments", "hospitalisations", "blood_group", "allergies",
                "family_history", "vaccinations", "measures", "emergency_contacts",
                "trusted_person", "directives"},
    "biologist": {"conditions", "treatments", "blood_group"},
    "physiotherapist": {"conditions", "treatments", "disabilities", "allergies", "measures"},
    "dentist": {"conditions", "treatments", "allergies", "vaccinations"},
}
VACCINATE = {"doctor", "pharmacist", "nurse", "midwife"}

# The professional's standing towards Camille: which ones open her page, which ones also
# see hidden documents (the attending doctor by law; an emergency access only if Camille's
# emergency settings include hidden documents).
GRANTED = {"declared", "attending", "emergency", "emergency_hidden"}
SEES_HIDDEN = {"attending", "emergency_hidden"}

# slug -> (a valid form with a marker only this entry shows, the marker)
ENTRY_FORMS = {
    "maladies": ({"condition": "asthma", "since_year": "2015", "note": "Marqueur-maladie"},
                 "Marqueur-maladie"),
    "traitements": ({"name": "Marqueur-traitement", "dose": "2 gélules le soir",
                     "since_year": "2019", "since_month": "4"}, "Marqueur-traitement"),
    "hospitalisations": ({"reason": "Marqueur-hospitalisation", "place": "Hôpital Nord",
                          "start_year": "2012", "start_month": "7", "start_day": "3"},
                         "Marqueur-hospitalisation"),
    "handicaps": ({"type": "hearing", "rate": "50", "human_help": "non",
                   "note": "Marqueur-handicap"}, "Marqueur-handicap"),
    "groupe-sanguin": ({"group": "AB-"}, "AB-"),
    "allergies": ({"substance": "penicillins", "reaction": "Marqueur-allergie",
                   "severity": "severe"}, "Marqueur-allergie"),
    "antecedents-familiaux": ({"relative": "mother", "condition": "breast_cancer"},
                              "Cancer du sein (Mère)"),
    "mode-de-vie": ({"topic": "activity", "description": "Marqueur-mode-de-vie"},
                    "Marqueur-mode-de-vie"),
    "vaccinations": ({"vaccine": "dtp", "given_on_day": "12", "given_on_month": "9",
                      "given_on_year": "2023", "dose": "1", "lot": "MARQUEURVAC"},
                     "MARQUEURVAC"),
    "contacts-urgence": ({"name": "Marqueur Contact", "relation": "Frère",
                          "phone": "06 12 34 56 78"}, "Marqueur Contact"),
    "personne-de-confiance": ({"name": "Marqueur Confiance", "relation": "Sœur",
                               "phone": "06 98 76 54 32", "consent_on_day": "1",
                               "consent_on_month": "2", "consent_on_year": "2024"},
                              "Marqueur Confiance"),
    "directives-anticipees": ({"resuscitation": "no_opinion",
                               "life_support": "Marqueur-directives",
                               "written_on_day": "3", "written_on_month": "3",
                               "written_on_year": "2024"}, "Marqueur-directives"),
}
LOCKED_FORM = {"vaccine": "dtp", "given_on_day": "2", "given_on_month": "2",
               "given_on_year": "2024", "dose": "2", "lot": "VERROU42"}
LOCKED_MARKER = "VERROU42"
WEIGHT = {"value": "71.3"}
WEIGHT_MARKERS = ("71,3", "71.3")


@dataclass(frozen=True)
class Who:
    kind: str             # owner | patient | professional | adviser | operator
    login: str
    profession: str | None = None
    sector: Sector | None = Sector.CARE
    standing: str = "none"  # none | declared | attending | blocked | emergency |
    #                         emergency_hidden | expired


ROLES = {
    "owner": Who("owner", CAMILLE),
    "other_patient": Who("patient", "autre.patiente"),
    "doctor": Who("professional", "dr.bernard", "doctor", standing="declared"),
    "attending_doctor": Who("professional", "dr.traitant", "doctor", standing="attending"),
    "pharmacist": Who("professional", "pharma.petit", "pharmacist", standing="declared"),
    "nurse": Who("professional", "inf.moreau", "nurse", standing="declared"),
    "midwife": Who("professional", "sf.lambert", "midwife", standing="declared"),
    "biologist": Who("professional", "labo.roux", "biologist", standing="declared"),
    "physiotherapist": Who("professional", "kine.faure", "physiotherapist",
                           standing="declared"),
    "dentist": Who("professional", "dent.girard", "dentist", standing="declared"),
    "undeclared_doctor": Who("professional", "dr.inconnu", "doctor"),
    "blocked_doctor": Who("professional", "dr.bloque", "doctor", standing="blocked"),
    "emergency_doctor": Who("professional", "dr.urgence", "doctor", standing="emergency"),
    "emergency_doctor_hidden_allowed": Who("professional", "dr.urgence", "doctor",
                                           standing="emergency_hidden"),
    "expired_emergency": Who("professional", "dr.urgence", "doctor", standing="expired"),
    "adviser": Who("adviser", "conseil.durand"),
    "operator": Who("operator", "operateur.service"),
    "health_insurer": Who("professional", "medecin.conseil", "doctor",
                          Sector.HEALTH_INSURER),
    "mutuelle": Who("professional", "agent.mutuelle", "doctor",
                    Sector.SUPPLEMENTARY_INSURER),
    "occupational_health": Who("professional", "dr.travail", "doctor",
                               Sector.OCCUPATIONAL_HEALTH),
    "employer": Who("professional", "rh.employeur", "doctor", Sector.EMPLOYER),
    "no_sector": Who("professional", "dr.sans.secteur", "doctor", None),
}

# Documents of Camille's vault: (author login, category, hidden). Camille added one visible
# and one hidden document of every category; three professionals deposited some.
DOCS = [(CAMILLE, category, hidden) for category in ALL_CATEGORIES for hidden in (False, True)]
DOCS += [(author, category, hidden)
         for author, category in (("dr.bernard", "reports"), ("pharma.petit", "prescriptions"),
                                  ("dr.bloque", "reports"))
         for hidden in (False, True)]


def title_of(author: str, category: str, hidden: bool) -> str:
    return f"Doc-{author}-{category}-{'masque' if hidden else 'visible'}"


STRANGER_DOC = "Doc-autre-patiente-summary"

# Conversations in Camille's space, each with one attachment: two Dr Bernard opened (the
# second he closed), and one the doctor she later blocked opened before the block.
CONV = "conversation Camille–Dr Bernard"
CONV_CLOSED = "conversation Camille–Dr Bernard (closed)"
CONV_BLOCKED = "conversation Camille–blocked doctor"
CONVERSATIONS = (CONV, CONV_CLOSED, CONV_BLOCKED)
NEW_CONV = "new conversation with Camille"
CONV_AUTHOR = {CONV: "dr.bernard", CONV_CLOSED: "dr.bernard", CONV_BLOCKED: "dr.bloque"}

# The agenda (patient-only): an appointment in Camille's agenda and one in the other
# patient's, three days ahead; Camille's subscription address, created then replaced (the
# first one is dead) — the feed answers whoever holds the current one.
AGENDA_ITEM = "agenda item"
AGENDA_STRANGER = "agenda item (another patient's)"
AGENDA_TITLE = "Marqueur-agenda-Camille"
AGENDA_NOTE = "Note-agenda-secrete"
AGENDA_STRANGER_TITLE = "Marqueur-agenda-autre"
FEED = "agenda feed, Camille's address"
FEED_REPLACED = "agenda feed, a replaced address of Camille's"
FEED_MADE_UP = "agenda feed, a made-up address"
FEED_BEFORE = "agenda feed, the address she then regenerates"
FEED_NEW = "agenda feed, the regenerated address"
FEED_STOPPED = "agenda feed, the address she then stops"
MADE_UP_TOKEN = "a" * 43
SUGGESTED_RULE = "adult_dtp_25"  # the dTP booster at 25 (domain/data/vaccination_schedule)


def agenda_form(title: str, note: str = "") -> dict:
    day = agenda.today() + timedelta(days=3)
    return {"kind": "appointment", "title": title, "time": "9h30", "place": "Cabinet des Lilas",
            "professional": "Dr Durand", "note": note, "date_day": str(day.day),
            "date_month": str(day.month), "date_year": str(day.year)}


# Cell values: an HTTP status, "listed"/"not listed" (a link in a list page), "shown"/"not
# shown" (on the professional's patient page), and "GET x, POST y" for pages with both.
def both(get: int, post: int) -> str:
    return f"GET {get}, POST {post}"


# --- the expected answers ----------------------------------------------------------------

def granted(who: Who) -> bool:
    return (who.kind == "professional" and who.sector == Sector.CARE
            and who.standing in GRANTED)


# Routes of an area a role never enters. The area is decided before any id is looked at
# (web/access.py enforce), so one id per route stands for all: (cell, method, path, form).
# Paths use {doc}, {entry}, {measure}, {camille}, {conv}, {att}, {item}, {month}.
PATIENT_AREA = (
    (("any document, patient area", "list"), "GET", "/documents", None),
    (("any document, patient area", "read"), "GET", "/documents/{doc}", None),
    (("any document, patient area", "download"), "GET", "/documents/{doc}/fichier", None),
    (("any document, patient area", "preview"), "GET", "/documents/{doc}/apercu", None),
    (("any document, patient area", "edit"), "GET+POST", "/documents/{doc}/modifier",
     "doc"),
    (("any document, patient area", "delete"), "GET+POST", "/documents/{doc}/supprimer",
     None),
    (("any document, patient area", "hide"), "POST", "/documents/{doc}/visibilite",
     "hide"),
    (("new document, patient area", "deposit"), "POST", "/documents/ajouter", "upload"),
    (("any profile entry, patient area", "list"), "GET", "/profil/maladies", None),
    (("any profile entry, patient area", "read"), "GET", "/profil/maladies/{entry}", None),
    (("any profile entry, patient area", "edit"), "GET+POST",
     "/profil/maladies/{entry}/modifier", "entry"),
    (("any profile entry, patient area", "delete"), "GET+POST",
     "/profil/maladies/{entry}/supprimer", None),
    (("any profile entry, patient area", "add"), "POST", "/profil/vaccinations",
     "vaccination"),
    (("any measure, patient area", "delete"), "GET+POST",
     "/profil/mesures/poids/{measure}/supprimer", None),
    (("history", "read"), "GET", "/acces/historique", None),
    (("history", "download"), "GET", "/acces/historique.csv", None),
    (("access settings", "read"), "GET", "/acces", None),
    (("access settings", "block"), "POST", "/acces/bloquer", "professional"),
    (("access settings", "attending doctor"), "POST", "/acces/medecin-traitant",
     "professional"),
    (("emergency settings", "read"), "GET", "/acces/urgence", None),
    (("emergency settings", "edit"), "POST", "/acces/urgence", "settings"),
    (("any conversation, patient area", "list"), "GET", "/messagerie", None),
    (("any conversation, patient area", "read"), "GET", "/messagerie/{conv}", None),
    (("any conversation, patient area", "reply"), "POST", "/messagerie/{conv}", "message"),
    (("any conversation, patient area", "download"), "GET",
     "/messagerie/{conv}/pieces/{att}", None),
    (("any conversation, patient area", "save"), "POST",
     "/messagerie/{conv}/pieces/{att}/enregistrer", None),
    (("any agenda item, patient area", "list"), "GET", "/agenda", None),
    (("any agenda item, patient area", "list past"), "GET", "/agenda/passes", None),
    (("any agenda item, patient area", "list month"), "GET", "/agenda/mois/{month}", None),
    (("any agenda item, patient area", "list this month"), "GET", "/agenda/mois", None),
    (("any agenda item, patient area", "read"), "GET", "/agenda/{item}", None),
    (("any agenda item, patient area", "edit"), "GET+POST", "/agenda/{item}/modifier",
     "agenda"),
    (("any agenda item, patient area", "delete"), "GET+POST", "/agenda/{item}/supprimer",
     None),
    (("new agenda item, patient area", "add"), "GET+POST", "/agenda/ajouter", "agenda"),
    (("agenda suggestion, patient area", "add"), "POST", "/agenda/a-prevoir", "suggestion"),
    (("agenda file, patient area", "download"), "GET", "/agenda/exporter/mon-agenda.ics",
     None),
    (("agenda subscription, patient area", "read"), "GET", "/agenda/exporter", None),
    (("agenda subscription, patient area", "regenerate"), "POST",
     "/agenda/exporter/abonnement", None),
    (("agenda subscription, patient area", "revoke"), "POST",
     "/agenda/exporter/abonnement/arreter", None),
)
PRO_PORTAL = (
    (("patient page", "open"), "GET", "/pro/patients/{camille}", None),
    (("any document, pro portal", "download"), "GET",
     "/pro/patients/{camille}/documents/{doc}", None),
    (("new document, pro portal", "deposit"), "POST", "/pro/patients/{camille}/deposer",
     "upload"),
    (("vaccinations, pro portal", "add"), "POST", "/pro/patients/{camille}/vaccinations",
     "vaccination"),
    (("care relation", "declare"), "POST", "/pro/patients", "search"),
    (("emergency access", "start"), "POST", "/pro/urgence", "emergency"),
    (("any conversation, pro portal", "list"), "GET", "/pro/messagerie", None),
    (("any conversation, pro portal", "read"), "GET", "/pro/messagerie/{conv}", None),
    (("any conversation, pro portal", "reply"), "POST", "/pro/messagerie/{conv}", "message"),
    (("any conversation, pro portal", "close"), "GET+POST", "/pro/messagerie/{conv}/clore",
     None),
    (("any conversation, pro portal", "download"), "GET",
     "/pro/messagerie/{conv}/pieces/{att}", None),
    (("new conversation, pro portal", "start"), "GET+POST",
     "/pro/patients/{camille}/ecrire", "new message"),
)


def _refused_area(cells: dict, routes) -> None:
    for cell, method, _path, _form in routes:
        cells[cell] = both(403, 403) if method == "GET+POST" else "403"


def expected_cells(role: str) -> dict[tuple[str, str], str]:
    who = ROLES[role]
    cells: dict[tuple[str, str], str] = {}
    if who.kind == "owner":
        _owner_cells(cells)
        _refused_area(cells, PRO_PORTAL)
        _conversation_cells(cells, who)
    elif who.kind == "patient":
        _other_patient_cells(cells)
        _refused_area(cells, PRO_PORTAL)
        _conversation_cells(cells, who)
    elif who.kind == "professional":
        _professional_cells(cells, who)
        _refused_area(cells, PATIENT_AREA)
        _conversation_cells(cells, who)
    else:  # advisers and operators: nothing of a patient in any area of theirs
        _refused_area(cells, PATIENT_AREA + PRO_PORTAL)
    _agenda_cells(cells, who)
    return cells


def _owner_cells(cells: dict) -> None:
    for author, category, hidden in DOCS:
        doc = f"document {title_of(author, category, hidden)}"
        mine = author == CAMILLE
        cells[doc, "list"] = "listed"
        cells[doc, "read"] = "200"
        cells[doc, "download"] = "200"
        cells[doc, "hide"] = "303"  # she hides everything, professionals' deposits included
        cells[doc, "edit"] = both(200, 303) if mine else both(404, 404)
        cells[doc, "delete"] = both(200, 303) if mine else both(404, 404)
    stranger = f"document {STRANGER_DOC} (another patient's)"
    cells[stranger, "list"] = "not listed"
    for action in ("read", "download", "preview", "hide"):
        cells[stranger, action] = "404"
    cells[stranger, "edit"] = cells[stranger, "delete"] = both(404, 404)
    for category in ALL_CATEGORIES:
        # Only the service files advance directives (from the profile's wishes page).
        cells[f"new document {category}", "deposit"] = ("422" if category == "directives"
                                                        else "303")
    for slug in ENTRY_FORMS:
        entry = f"profile {slug}"
        cells[entry, "list"] = "listed"
        cells[entry, "read"] = "200"
        cells[entry, "edit"] = both(200, 303)
        cells[entry, "delete"] = both(200, 303)
        cells[entry, "add"] = "303"
    locked = "profile vaccinations (locked, by a doctor)"
    cells[locked, "list"] = "listed"
    cells[locked, "read"] = "200"
    cells[locked, "edit"] = cells[locked, "delete"] = both(404, 404)
    stranger = "profile maladies (another patient's)"
    cells[stranger, "read"] = "404"
    cells[stranger, "edit"] = cells[stranger, "delete"] = both(404, 404)
    cells["measure weight", "list"] = "listed"
    cells["measure weight", "delete"] = both(200, 303)
    cells["measure weight (another patient's)", "delete"] = both(404, 404)
    cells["history", "read"] = cells["history", "download"] = "200"
    cells["access settings", "read"] = cells["emergency settings", "read"] = "200"


def _other_patient_cells(cells: dict) -> None:
    for author, category, hidden in DOCS:
        doc = f"document {title_of(author, category, hidden)}"
        cells[doc, "list"] = "not listed"
        for action in ("read", "download", "preview", "hide"):
            cells[doc, action] = "404"
        cells[doc, "edit"] = cells[doc, "delete"] = both(404, 404)
    for slug in ENTRY_FORMS:
        entry = f"profile {slug}"
        cells[entry, "list"] = "not listed"
        cells[entry, "read"] = "404"
        cells[entry, "edit"] = cells[entry, "delete"] = both(404, 404)
    locked = "profile vaccinations (locked, by a doctor)"
    cells[locked, "list"] = "not listed"
    cells[locked, "read"] = "404"
    cells[locked, "edit"] = cells[locked, "delete"] = both(404, 404)
    cells["measure weight", "list"] = "not listed"
    cells["measure weight", "delete"] = both(404, 404)
    # Her own history and settings, with nothing of Camille in them.
    cells["history", "read"] = "200, nothing of Camille"
    cells["history", "download"] = "200, nothing of Camille"
    cells["access settings", "read"] = cells["emergency settings", "read"] = "200"


def _professional_cells(cells: dict, who: Who) -> None:
    ok = granted(who)
    profession = who.profession
    for author, category, hidden in DOCS:
        doc = f"document {title_of(author, category, hidden)}"
        visible = ok and (author == who.login or (
            category in DOC_READ[profession] and (not hidden or who.standing in SEES_HIDDEN)))
        if ok:
            cells[doc, "list"] = "listed" if visible else "not listed"
            cells[doc, "read"] = "shown" if visible else "not shown"
        else:
            cells[doc, "list"] = cells[doc, "read"] = "404"
        cells[doc, "download"] = "200" if visible else "404"
    stranger = f"document {STRANGER_DOC} (another patient's)"
    cells[stranger, "list"] = "not listed" if ok else "404"
    cells[stranger, "download"] = "404"
    for category in ALL_CATEGORIES:
        new = f"new document {category}"
        if ok:
            cells[new, "deposit"] = "303" if category in DOC_DEPOSIT[profession] else "422"
        else:
            cells[new, "deposit"] = "404"
    for section in profile.SECTIONS:
        if ok:
            cells[f"profile {section.slug}", "read"] = (
                "shown" if section.key in PROFILE_READ[profession] else "not shown")
        else:
            cells[f"profile {section.slug}", "read"] = "404"
    locked = "profile vaccinations (locked, by a doctor)"
    if ok:
        cells[locked, "read"] = ("shown" if "vaccinations" in PROFILE_READ[profession]
                                 else "not shown")
        cells["measure weight", "read"] = ("shown" if "measures" in PROFILE_READ[profession]
                                           else "not shown")
    else:
        cells[locked, "read"] = cells["measure weight", "read"] = "404"
    allowed_vaccination = ok and profession in VACCINATE
    cells["vaccinations", "add"] = both(200, 303) if allowed_vaccination else both(404, 404)
    cells["patient page", "open"] = "200" if ok else "404"
    # The statement "the patient was informed and did not object" (the search form), and
    # breaking the glass.
    if who.sector != Sector.CARE:
        cells["care relation", "declare"] = "422, neutral"  # as if nobody had this NIR
        cells["emergency access", "start"] = "422, neutral"
    elif who.standing in ("declared", "attending", "none"):
        cells["care relation", "declare"] = "303"
    elif who.standing == "blocked":
        cells["care relation", "declare"] = "422, blocked"
        # "A blocked professional gets nothing": breaking the glass included.
        cells["emergency access", "start"] = "422"
    elif who.standing in ("emergency", "emergency_hidden", "expired"):
        cells["emergency access", "start"] = "303"  # (declaring would change the standing)


def _conversation_cells(cells: dict, who: Who) -> None:
    """DESIGN.md §2 "Messaging": only a care professional who may open the space starts
    a conversation; the patient reads all of hers and replies while it is open, never to a
    professional she blocked; the conversation's professional reads, replies and closes it
    until she blocks him. Nobody else gets anything (404 for the ids of others' records).
    Closing and starting are professional routes: patients get the area's 403 above."""
    if who.kind == "owner":
        for name in CONVERSATIONS:
            cells[name, "list"] = "listed"
            cells[name, "read"] = cells[name, "download"] = "200"
        cells[CONV, "reply"] = "303"
        cells[CONV_CLOSED, "reply"] = "422"   # refused, the typed text given back
        cells[CONV_BLOCKED, "reply"] = "422"  # she blocked him
        cells[CONV, "save"] = "303"           # the attachment, into her vault
        return
    if who.kind == "patient":
        for name in CONVERSATIONS:
            cells[name, "list"] = "not listed"
            for action in ("read", "reply", "download"):
                cells[name, action] = "404"
        cells[CONV, "save"] = "404"
        return
    for name in CONVERSATIONS:
        # Dr Bernard's own two; the blocked doctor's is his no more.
        theirs = who.login == CONV_AUTHOR[name] and name != CONV_BLOCKED
        cells[name, "list"] = "listed" if theirs else "not listed"
        cells[name, "read"] = cells[name, "download"] = "200" if theirs else "404"
        cells[name, "reply"] = ("303" if name == CONV else "422") if theirs else "404"
        cells[name, "close"] = ((both(200, 303) if name == CONV else both(303, 303))
                                if theirs else both(404, 404))
    cells[NEW_CONV, "start"] = both(200, 303) if granted(who) else both(404, 404)


def _agenda_cells(cells: dict, who: Who) -> None:
    """The agenda is the patient's own (DESIGN.md, SECURITY.md): only she lists, reads,
    changes and deletes her items, anyone else's id answers 404 (audited as the action
    tried); professionals, advisers and operators never enter it (the area's 403 above).
    The subscription feed is a capability address: Camille's current one answers anyone,
    a replaced, stopped or made-up one answers 404."""
    cells[FEED, "read"] = "200"
    cells[FEED_REPLACED, "read"] = cells[FEED_MADE_UP, "read"] = "404"
    if who.kind not in ("owner", "patient"):
        return
    owner = who.kind == "owner"
    cells[AGENDA_ITEM, "list"] = cells[AGENDA_ITEM, "list month"] = (
        "listed" if owner else "not listed")
    cells[AGENDA_ITEM, "download"] = "in the file" if owner else "not in the file"
    cells[AGENDA_ITEM, "read"] = "200" if owner else "404"
    cells[AGENDA_ITEM, "edit"] = both(200, 303) if owner else both(404, 404)
    cells[AGENDA_ITEM, "delete"] = both(200, 303) if owner else both(404, 404)
    # Her own agenda: the other patient's pages show nothing of Camille's.
    cells["own agenda", "list past"] = "200" if owner else "200, nothing of Camille"
    cells["own agenda subscription", "read"] = ("200, her address" if owner
                                                else "200, nothing of Camille")
    cells["new agenda item", "add"] = both(200, 303)
    # The suggested booster is read from her own vaccinations: due for the other patient
    # only (Camille's dTP of 2023), so only hers is added (to her own agenda).
    cells["agenda suggestion", "add"] = "303, not added" if owner else "303, added"
    cells["own agenda subscription", "regenerate"] = "303"
    cells["own agenda subscription", "revoke"] = "303"
    if owner:
        cells[AGENDA_STRANGER, "list"] = "not listed"
        cells[AGENDA_STRANGER, "read"] = "404"
        cells[AGENDA_STRANGER, "edit"] = cells[AGENDA_STRANGER, "delete"] = both(404, 404)
        cells[FEED_BEFORE, "read"] = cells[FEED_STOPPED, "read"] = "404"
        cells[FEED_NEW, "read"] = "200"




# --- the world -------------------------------------------------------------------------------

def _rpps() -> str:
    prefix = f"4{secrets.randbelow(10**9):09d}"
    return next(prefix + digit for digit in "0123456789" if rpps_valid(prefix + digit))


def _account(role: Role, login: str, *, profession: str | None = None,
             sector: Sector | None = None, birth_date: date | None = None) -> tuple[User, str]:
    """An account that signs in with PASSWORD and a TOTP secret (returned)."""
    secret = pyotp.random_base32()
    user = User(role=role, login=login, given_name="Essai",
                family_name=login.replace(".", " ").title(),
                password_hash=passwords.hash_password(PASSWORD, "fast"),
                second_factor=SecondFactor.TOTP, birth_date=birth_date,
                email=f"{login}@example.org")
    if role == Role.PROFESSIONAL:
        user.rpps, user.sector = _rpps(), sector
        user.profession = Profession(profession) if profession else None
    if role == Role.PATIENT:
        wrapped = keys.ring.new_patient_key()
        user.wrapped_key, user.kek_version = wrapped.wrapped, wrapped.kek_version
    db.session.add(user)
    db.session.flush()
    set_totp_secret(keys.ring, user, secret)
    return user, secret


def _by_login(login: str) -> User:
    return db.session.scalars(select(User).where(User.login == login)).one()


@dataclass
class World:
    camille_id: str
    stranger_id: str
    bernard_id: str
    me_id: str
    secret: str | None
    docs: dict[str, str] = field(default_factory=dict)      # title -> id
    entries: dict[str, str] = field(default_factory=dict)   # slug -> id
    locked_entry: str = ""
    stranger_doc: str = ""
    stranger_entry: str = ""
    measure: str = ""
    stranger_measure: str = ""
    conversations: dict[str, str] = field(default_factory=dict)  # name -> id
    attachments: dict[str, str] = field(default_factory=dict)    # conversation name -> id
    agenda_item: str = ""
    stranger_agenda_item: str = ""
    agenda_month: str = ""        # "2026-03": the month of both items
    feed_token: str = ""          # Camille's current subscription token
    replaced_token: str = ""      # the one it replaced


def _add_doc(tmp_path, patient: User, author: User, title: str, category: str,
             hidden: bool) -> str:
    path = tmp_path / secrets.token_hex(6)
    path.write_bytes(f"contenu de {title}".encode())
    document = vault.add_document(
        db.session, keys.ring, blobs.store, patient=patient, author=author, path=path,
        size=path.stat().st_size, kind="txt", mimetype="text/plain; charset=utf-8",
        file_name="document.txt", title=title, category=Category(category),
        document_date=DOC_DATE, hidden=hidden, source="test", actor=ACTOR)
    return document.id


def _add_entry(patient: User, author: User, slug: str, form: dict) -> str:
    section = profile.BY_SLUG[slug]
    reading = profile.validate(section, form, date.today(), patient.birth_date)
    assert reading.ok, (slug, reading.problems)
    return profile.add_entry(db.session, keys.ring, patient, section, reading.values,
                             author=author, actor=ACTOR).id


def _add_weight(patient: User, value: dict) -> str:
    kind = measures.BY_KEY["weight"]
    today = date.today()
    reading = measures.validate(kind, {**value, "measured_on_day": str(today.day),
                                       "measured_on_month": str(today.month),
                                       "measured_on_year": str(today.year)}, today)
    assert reading.ok, reading.problems
    return measures.add(db.session, keys.ring, patient, kind, reading.values, ACTOR).id


def _add_conversation(tmp_path, patient: User, professional: User, name: str):
    """A conversation the professional opened, with a file: (conversation, attachment)."""
    conversation, message = messaging.start(
        db.session, keys.ring, professional, patient, subject=f"Objet-{name}",
        body=f"Message-{name}", actor=ACTOR)
    path = tmp_path / secrets.token_hex(6)
    path.write_bytes(f"pièce jointe de {name}".encode())
    attachment = messaging.attach_file(
        db.session, keys.ring, blobs.store, message, patient, path=path,
        size=path.stat().st_size, kind="txt", mimetype="text/plain; charset=utf-8",
        file_name="piece.txt")
    return conversation, attachment


def _add_agenda_item(patient: User, title: str, note: str = "") -> str:
    reading = agenda.validate(agenda_form(title, note), agenda.today(), patient.birth_date)
    assert reading.ok, reading.problems
    return agenda.add(db.session, keys.ring, patient, reading.values, ACTOR).id


def build_world(app, tmp_path, role: str) -> World:
    """Camille's space, another patient's, the professionals who deposited documents (one
    of them declared then blocked), and the account of `role` if it is not a demo one."""
    who = ROLES[role]
    with app.app_context():
        demo.seed(db.session, keys.ring, "fast")
        camille = _by_login(CAMILLE)
        stranger, stranger_secret = _account(Role.PATIENT, "autre.patiente",
                                             birth_date=date(1990, 6, 1))
        blocked, blocked_secret = _account(Role.PROFESSIONAL, "dr.bloque",
                                           profession="doctor", sector=Sector.CARE)
        care.declare(db.session, keys.ring, blocked, camille, ACTOR)
        bernard = _by_login("dr.bernard")
        care.declare(db.session, keys.ring, bernard, camille, ACTOR)
        conversations = {name: _add_conversation(tmp_path, camille, {
            "dr.bernard": bernard, "dr.bloque": blocked}[CONV_AUTHOR[name]], name)
            for name in CONVERSATIONS}
        messaging.close(db.session, keys.ring, bernard, conversations[CONV_CLOSED][0],
                        ACTOR)
        care.set_blocked(db.session, keys.ring, camille, blocked, True, ACTOR)
        secrets_by_login = {"autre.patiente": stranger_secret, "dr.bloque": blocked_secret}
        if who.login not in secrets_by_login and who.login not in {
                account.login for account in demo.DEMO_ACCOUNTS}:
            kind = {"professional": Role.PROFESSIONAL, "operator": Role.OPERATOR}[who.kind]
            _user, secrets_by_login[who.login] = _account(
                kind, who.login, profession=who.profession,
                sector=who.sector if kind == Role.PROFESSIONAL else None)
        authors = {login: _by_login(login) for login in
                   (CAMILLE, "dr.bernard", "pharma.petit", "dr.bloque")}
        world = World(camille.id, stranger.id, authors["dr.bernard"].id,
                      _by_login(who.login).id,
                      secrets_by_login.get(who.login))
        for name, (conversation, attachment) in conversations.items():
            world.conversations[name] = conversation.id
            world.attachments[name] = attachment.id
        for author, category, hidden in DOCS:
            title = title_of(author, category, hidden)
            world.docs[title] = _add_doc(tmp_path, camille, authors[author], title, category,
                                         hidden)
        world.stranger_doc = _add_doc(tmp_path, stranger, stranger, STRANGER_DOC, "summary",
                                      False)
        for slug, (form, _marker) in ENTRY_FORMS.items():
            world.entries[slug] = _add_entry(camille, camille, slug, form)
        world.locked_entry = _add_entry(camille, authors["dr.bernard"], "vaccinations",
                                        LOCKED_FORM)
        world.stranger_entry = _add_entry(stranger, stranger, "maladies", {
            **ENTRY_FORMS["maladies"][0], "note": "Note de l’autre patiente"})
        world.measure = _add_weight(camille, WEIGHT)
        world.stranger_measure = _add_weight(stranger, {"value": "58.2"})
        world.agenda_item = _add_agenda_item(camille, AGENDA_TITLE, AGENDA_NOTE)
        world.stranger_agenda_item = _add_agenda_item(stranger, AGENDA_STRANGER_TITLE)
        world.agenda_month = (agenda.today() + timedelta(days=3)).strftime("%Y-%m")
        world.replaced_token = agenda_export.regenerate(db.session, keys.ring, camille, ACTOR)
        world.feed_token = agenda_export.regenerate(db.session, keys.ring, camille, ACTOR)
        # The booster is due for the other patient (no vaccination recorded), not for
        # Camille (her dTP of 2023 and 2024): a suggestion is read from one's own record.
        for patient, due in ((camille, False), (stranger, True)):
            rules = {item.due.rule for item in agenda.suggestions(
                db.session, keys.ring, patient, agenda.today())}
            assert (SUGGESTED_RULE in rules) == due, (patient.login, rules)
        db.session.commit()
        return world


def snapshot(app, patient_id: str) -> dict:
    """What must not change when someone is refused: every document (hidden flag, title,
    category) and every profile entry, measure and agenda item of the patient."""
    with app.app_context():
        docs = {row.id: (row.hidden, row.title_sealed, row.category, row.author_id)
                for row in db.session.scalars(select(Document).where(
                    Document.patient_id == patient_id))}
        entries = {row.id: (row.payload_sealed, row.locked) for row in db.session.scalars(
            select(ProfileEntry).where(ProfileEntry.patient_id == patient_id))}
        found = {row.id: row.value_sealed for row in db.session.scalars(
            select(Measure).where(Measure.patient_id == patient_id))}
        items = {row.id: (row.payload_sealed, row.day, row.at) for row in db.session.scalars(
            select(AgendaItem).where(AgendaItem.patient_id == patient_id))}
        return {"documents": docs, "entries": entries, "measures": found, "agenda": items}


# --- signing in and probing ----------------------------------------------------------------

DEMO_LOGINS = {account.login for account in demo.DEMO_ACCOUNTS}


def sign_in(app, login: str, secret: str | None):
    client = app.test_client()
    if login in DEMO_LOGINS:
        sign_in_demo(client, app, login)
        return client
    page = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={"csrf_token": csrf_from(page), "login": login,
                                               "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.post("/connexion/code", data={"csrf_token": csrf_from(page),
                                                    "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return client


def text(html: str) -> str:
    return " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())


class Probe:
    """A signed-in client that records every answer and checks the audit trail."""

    def __init__(self, app, client, world: World):
        self.app, self.client, self.world = app, client, world
        home = client.get("/", follow_redirects=True).get_data(as_text=True)
        match = re.search(r'name="csrf-token" content="([^"]+)"', home)
        assert match, "no CSRF token once signed in"
        self.token = match.group(1)
        self.actual: dict[tuple[str, str], str] = {}
        self.problems: list[str] = []

    def _seq(self) -> dict[int, int]:
        with self.app.app_context():
            return audit_trail.mark(db.session)

    def events_since(self, seq: dict[int, int], action: str | None = None) -> \
            list[AuditEvent]:
        with self.app.app_context():
            found = audit_trail.since(db.session, seq, action)
            db.session.expunge_all()
            return found

    def call(self, method: str, path: str, data: dict | None = None, *,
             audit: tuple[str, str | None, str | None] | None = None,
             cell: tuple[str, str] | None = None, files: bool = False,
             refusals_only: bool = False):
        """One request. `audit` = (action, target id, subject id) that the code records
        for this decision: an event by this person must be there, "denied" when the answer
        is 404, "success" otherwise (`refusals_only`: the code records only the refusal,
        as for a confirmation page)."""
        before = self._seq() if audit else {}
        if method == "GET":
            response = self.client.get(path)
        else:
            response = self.client.post(
                path, data={"csrf_token": self.token, **(data or {})},
                content_type="multipart/form-data" if files else None)
        if audit and not (refusals_only and response.status_code != 404):
            action, target, subject = audit
            denied = response.status_code == 404
            outcomes = [event.outcome for event in self.events_since(before, action)
                        if event.actor_id == self.world.me_id
                        and (target is None or event.target_id == target)
                        and event.subject_id == subject]
            # A refusal: exactly one denial. An access: its decision (a change may add a
            # second "success" row of the same name), never a denial.
            right = outcomes == ["denied"] if denied else (
                bool(outcomes) and set(outcomes) == {"success"})
            if not right:
                where = f"{cell[0]} × {cell[1]}" if cell else f"{method} {path}"
                self.problems.append(
                    f"{where}: {method} {path} answered {response.status_code}; expected "
                    f"{'one denied' if denied else 'a success'} {action!r} event by this "
                    f"person about the record's owner, found {outcomes}")
        return response

    def status(self, cell, method, path, data=None, **kwargs) -> int:
        code = self.call(method, path, data, cell=cell, **kwargs).status_code
        self.actual[cell] = str(code)
        return code

    def get_post(self, cell, path, data=None, *, audit_get=None, audit_post=None) -> None:
        get = self.call("GET", path, cell=cell, audit=audit_get).status_code
        post = self.call("POST", path, data, cell=cell, audit=audit_post).status_code
        self.actual[cell] = both(get, post)

    def record(self, cell, value: str) -> None:
        self.actual[cell] = value


# --- walking the cells, per kind of role ----------------------------------------------------

def _doc_audit(action: str, document_id: str, subject: str):
    return (f"document.{action}", document_id, subject)


def _doc_form(title: str, category: str) -> dict:
    return {"title": title, "category": category, "date_day": str(DOC_DATE.day),
            "date_month": str(DOC_DATE.month), "date_year": str(DOC_DATE.year)}


def _upload(title: str, category: str) -> dict:
    return {**_doc_form(title, category), "visibility": "visible",
            "file": (io.BytesIO(b"un compte rendu de consultation"), "compte-rendu.txt")}


def _area_form(kind: str | None, world: World) -> tuple[dict | None, bool]:
    """A form that would be accepted if the route let the role in: (data, has a file)."""
    forms = {
        "doc": _doc_form("Changé", "summary"),
        "hide": {"hidden": "0"},
        "entry": ENTRY_FORMS["maladies"][0],
        "vaccination": ENTRY_FORMS["vaccinations"][0],
        "professional": {"professional": world.bernard_id},
        "settings": {"samu": "non", "others": "non", "hidden": "oui"},
        "search": {**IDENTITY, "informed": "oui"},
        "emergency": {**IDENTITY, "reason": REASON},
        "message": {"body": "Message d’un intrus"},
        "new message": {"subject": "Intrus", "body": "Message d’un intrus"},
        "agenda": agenda_form("Intrus"),
        "suggestion": {"regle": SUGGESTED_RULE},
    }
    if kind == "upload":
        return _upload("Intrus", "summary"), True
    return (forms[kind] if kind else None), False


def walk_area(probe: Probe, world: World, routes) -> None:
    """Routes of an area the role never enters: one id stands for all (see PATIENT_AREA)."""
    ids = {"doc": world.docs[title_of(CAMILLE, "summary", True)],
           "entry": world.entries["maladies"], "measure": world.measure,
           "camille": world.camille_id, "conv": world.conversations[CONV],
           "att": world.attachments[CONV], "item": world.agenda_item,
           "month": world.agenda_month}
    for cell, method, path, form_kind in routes:
        path = path.format(**ids)
        data, files = _area_form(form_kind, world)
        if method == "GET+POST":
            probe.get_post(cell, path, data)
        else:
            probe.status(cell, method, path, data, files=files)


def _listed_in_vault(probe: Probe) -> set[str]:
    """Every document id the signed-in patient's vault lists, page after page."""
    found: set[str] = set()
    for page in range(1, 10):
        html = probe.client.get(f"/documents?page={page}").get_data(as_text=True)
        ids = set(re.findall(r'href="/documents/([0-9a-f]{32})"', html))
        if ids <= found:
            break
        found |= ids
    return found


def _entry_listed(page: str, entry_id: str, marker: str, owner: bool) -> str:
    """Whether the patient's section page lists the entry: its element with its marker for
    the owner; for anyone else, its id or (a marker too short to be only this entry's, like
    "AB-", is also a choice of the add form) its marker anywhere on the page."""
    shown = f'id="entry-{entry_id}"' in page
    if owner:
        return "listed" if shown and marker in text(page) else "not listed"
    leaks = shown or entry_id in page or (len(marker) > 4 and marker in text(page))
    return "listed" if leaks else "not listed"


def _section_html(html: str, slug: str) -> str | None:
    soup = BeautifulSoup(html, "html.parser")
    heading = soup.find(id=f"pro-section-{slug}")
    if heading is None:
        return None
    return " ".join(heading.find_parent("section").get_text(" ").split())


def _refused_document(probe: Probe, title: str, document_id: str, subject: str,
                      hidden: bool) -> None:
    """Every patient-area action on a document the signed-in patient may not touch."""
    doc = f"document {title}"
    probe.status((doc, "read"), "GET", f"/documents/{document_id}",
                 audit=_doc_audit("read", document_id, subject))
    probe.status((doc, "download"), "GET", f"/documents/{document_id}/fichier",
                 audit=_doc_audit("download", document_id, subject))
    probe.status((doc, "preview"), "GET", f"/documents/{document_id}/apercu",
                 audit=_doc_audit("download", document_id, subject))
    probe.status((doc, "hide"), "POST", f"/documents/{document_id}/visibilite",
                 {"hidden": "0" if hidden else "1"},
                 audit=_doc_audit("hide", document_id, subject))
    probe.get_post((doc, "edit"), f"/documents/{document_id}/modifier",
                   _doc_form("Changé", "summary"),
                   audit_get=_doc_audit("edit", document_id, subject),
                   audit_post=_doc_audit("edit", document_id, subject))
    probe.get_post((doc, "delete"), f"/documents/{document_id}/supprimer",
                   audit_get=_doc_audit("delete", document_id, subject),
                   audit_post=_doc_audit("delete", document_id, subject))


def _entry_actions(probe: Probe, cell: str, slug: str, entry_id: str, subject: str,
                   form: dict) -> None:
    """Read, edit and delete one profile entry through the patient's pages."""
    probe.status((cell, "read"), "GET", f"/profil/{slug}/{entry_id}",
                 audit=("profile.entry_read", entry_id, subject))
    probe.get_post((cell, "edit"), f"/profil/{slug}/{entry_id}/modifier", form,
                   audit_get=("profile.entry_edit", entry_id, subject),
                   audit_post=("profile.entry_edit", entry_id, subject))
    probe.get_post((cell, "delete"), f"/profil/{slug}/{entry_id}/supprimer",
                   audit_get=("profile.entry_delete", entry_id, subject),
                   audit_post=("profile.entry_delete", entry_id, subject))


def walk_owner(probe: Probe, world: World) -> None:
    camille, stranger = world.camille_id, world.stranger_id
    listed = _listed_in_vault(probe)
    for author, category, hidden in DOCS:
        title = title_of(author, category, hidden)
        document_id, doc = world.docs[title], f"document {title}"
        probe.record((doc, "list"), "listed" if document_id in listed else "not listed")
        response = probe.call("GET", f"/documents/{document_id}", cell=(doc, "read"),
                              audit=_doc_audit("read", document_id, camille))
        shown = response.status_code == 200 and title in text(response.get_data(as_text=True))
        probe.record((doc, "read"), "200" if shown else str(response.status_code))
        probe.status((doc, "download"), "GET", f"/documents/{document_id}/fichier",
                     audit=_doc_audit("download", document_id, camille))
        probe.get_post((doc, "edit"), f"/documents/{document_id}/modifier",
                       _doc_form(title, category),
                       audit_get=_doc_audit("edit", document_id, camille),
                       audit_post=_doc_audit("edit", document_id, camille))
        probe.status((doc, "hide"), "POST", f"/documents/{document_id}/visibilite",
                     {"hidden": "1" if hidden else "0"},  # as it is: the matrix stays put
                     audit=_doc_audit("hide", document_id, camille))
    cell = f"document {STRANGER_DOC} (another patient's)"
    probe.record((cell, "list"), "listed" if world.stranger_doc in listed else "not listed")
    _refused_document(probe, f"{STRANGER_DOC} (another patient's)", world.stranger_doc,
                      stranger, False)

    for slug, (form, marker) in ENTRY_FORMS.items():
        entry_id, cell = world.entries[slug], f"profile {slug}"
        page = probe.client.get(f"/profil/{slug}").get_data(as_text=True)
        probe.record((cell, "list"), _entry_listed(page, entry_id, marker, owner=True))
        probe.status((cell, "read"), "GET", f"/profil/{slug}/{entry_id}",
                     audit=("profile.entry_read", entry_id, camille))
        probe.get_post((cell, "edit"), f"/profil/{slug}/{entry_id}/modifier", form,
                       audit_get=("profile.entry_edit", entry_id, camille),
                       audit_post=("profile.entry_edit", entry_id, camille))
    locked, cell = world.locked_entry, "profile vaccinations (locked, by a doctor)"
    page = probe.client.get("/profil/vaccinations").get_data(as_text=True)
    probe.record((cell, "list"), _entry_listed(page, locked, LOCKED_MARKER, owner=True))
    _entry_actions(probe, cell, "vaccinations", locked, camille,
                   ENTRY_FORMS["vaccinations"][0])
    _entry_actions(probe, "profile maladies (another patient's)", "maladies",
                   world.stranger_entry, stranger, ENTRY_FORMS["maladies"][0])
    page = probe.client.get("/profil/mesures/poids").get_data(as_text=True)
    probe.record(("measure weight", "list"), "listed" if any(
        marker in text(page) for marker in WEIGHT_MARKERS) else "not listed")
    probe.get_post(("measure weight (another patient's)", "delete"),
                   f"/profil/mesures/poids/{world.stranger_measure}/supprimer",
                   audit_get=("profile.measure_delete", world.stranger_measure, stranger),
                   audit_post=("profile.measure_delete", world.stranger_measure, stranger))
    probe.status(("history", "read"), "GET", "/acces/historique")
    probe.status(("history", "download"), "GET", "/acces/historique.csv")
    probe.status(("access settings", "read"), "GET", "/acces")
    probe.status(("emergency settings", "read"), "GET", "/acces/urgence")
    walk_area(probe, world, PRO_PORTAL)

    # Writes last: deposits, deletions, then adding again to every section.
    for category in ALL_CATEGORIES:
        probe.status((f"new document {category}", "deposit"), "POST", "/documents/ajouter",
                     _upload(f"Nouveau-{category}", category), files=True)
    for author, category, hidden in DOCS:
        title = title_of(author, category, hidden)
        document_id = world.docs[title]
        probe.get_post((f"document {title}", "delete"), f"/documents/{document_id}/supprimer",
                       audit_get=_doc_audit("delete", document_id, camille),
                       audit_post=_doc_audit("delete", document_id, camille))
    for slug, (form, _marker) in ENTRY_FORMS.items():
        entry_id, cell = world.entries[slug], f"profile {slug}"
        probe.get_post((cell, "delete"), f"/profil/{slug}/{entry_id}/supprimer",
                       audit_get=("profile.entry_delete", entry_id, camille),
                       audit_post=("profile.entry_delete", entry_id, camille))
        probe.status((cell, "add"), "POST", f"/profil/{slug}", form)
    probe.get_post(("measure weight", "delete"),
                   f"/profil/mesures/poids/{world.measure}/supprimer",
                   audit_get=("profile.measure_delete", world.measure, camille),
                   audit_post=("profile.measure_delete", world.measure, camille))

    # What the answers say, the database confirms.
    with probe.app.app_context():
        left = set(db.session.scalars(select(Document.id).where(
            Document.id.in_(list(world.docs.values())))))
        for author, category, hidden in DOCS:
            title = title_of(author, category, hidden)
            if (world.docs[title] in left) != (author != CAMILLE):
                probe.problems.append(f"document {title}: "
                                      f"{'still there' if world.docs[title] in left else 'gone'}")
        new = {row.category.value for row in db.session.scalars(select(Document).where(
            Document.patient_id == camille, Document.author_id == camille,
            Document.id.notin_(list(world.docs.values()))))}
        if new != set(ALL_CATEGORIES) - {"directives"}:
            probe.problems.append(f"documents Camille added: {sorted(new)}")
        locked_row = db.session.get(ProfileEntry, locked)
        if locked_row is None or not locked_row.locked:
            probe.problems.append("the locked vaccination was changed or deleted")


def walk_other_patient(probe: Probe, world: World) -> None:
    camille = world.camille_id
    listed = _listed_in_vault(probe)
    if world.stranger_doc not in listed:
        probe.problems.append("the other patient's own document is not in her vault")
    for author, category, hidden in DOCS:
        title = title_of(author, category, hidden)
        document_id = world.docs[title]
        probe.record((f"document {title}", "list"),
                     "listed" if document_id in listed else "not listed")
        _refused_document(probe, title, document_id, camille, hidden)
    entries = [(slug, world.entries[slug], f"profile {slug}", ENTRY_FORMS[slug][1])
               for slug in ENTRY_FORMS]
    entries.append(("vaccinations", world.locked_entry,
                    "profile vaccinations (locked, by a doctor)", LOCKED_MARKER))
    for slug, entry_id, cell, marker in entries:
        page = probe.client.get(f"/profil/{slug}").get_data(as_text=True)
        probe.record((cell, "list"), _entry_listed(page, entry_id, marker, owner=False))
        _entry_actions(probe, cell, slug, entry_id, camille, ENTRY_FORMS[slug][0])
    weights = text(probe.client.get("/profil/mesures/poids").get_data(as_text=True))
    probe.record(("measure weight", "list"), "listed" if any(
        marker in weights for marker in WEIGHT_MARKERS) else "not listed")
    probe.get_post(("measure weight", "delete"),
                   f"/profil/mesures/poids/{world.measure}/supprimer",
                   audit_get=("profile.measure_delete", world.measure, camille),
                   audit_post=("profile.measure_delete", world.measure, camille))
    for cell, path in ((("history", "read"), "/acces/historique"),
                       (("history", "read"), "/acces/historique?onglet=moi"),
                       (("history", "download"), "/acces/historique.csv")):
        response = probe.client.get(path)
        body = response.get_data(as_text=True)
        body = body if path.endswith(".csv") else text(body)
        clean = not any(word in body for word in ("Camille", "Bernard", "Petit", "Bloque",
                                                   "Marqueur", "Doc-"))
        value = f"{response.status_code}, {'nothing of Camille' if clean else 'LEAKS Camille'}"
        if probe.actual.get(cell, value) != value:
            value = f"{probe.actual[cell]} / {value}"
        probe.record(cell, value)
    probe.status(("access settings", "read"), "GET", "/acces")
    probe.status(("emergency settings", "read"), "GET", "/acces/urgence")
    walk_area(probe, world, PRO_PORTAL)


def walk_professional(probe: Probe, world: World, who: Who) -> None:
    camille = world.camille_id
    base = f"/pro/patients/{camille}"
    ok = granted(who)
    page_refused = ("care.patient_open", None, camille)
    response = probe.call("GET", base, cell=("patient page", "open"),
                          audit=None if ok else page_refused)
    probe.record(("patient page", "open"), str(response.status_code))
    html = response.get_data(as_text=True) if response.status_code == 200 else ""
    page_status = str(response.status_code)
    if page_status == "200":
        events = [event for event in probe.events_since({})
                  if event.action == "profile.read_by_professional"
                  and event.actor_id == world.me_id]
        if not events or events[-1].outcome != "success":
            probe.problems.append("the patient page's profile reading is not audited")
    # The documents come 20 a page: every page is read, as the professional would.
    number, more = 1, html
    while 'rel="next"' in more:
        number += 1
        more = probe.client.get(f"{base}?page={number}").get_data(as_text=True)
        html += more
    page_text = text(html)
    listed = set(re.findall(rf"{base}/documents/([0-9a-f]{{32}})", html))
    for author, category, hidden in DOCS:
        title = title_of(author, category, hidden)
        document_id, doc = world.docs[title], f"document {title}"
        if page_status == "200":
            probe.record((doc, "list"), "listed" if document_id in listed else "not listed")
            probe.record((doc, "read"), "shown" if title in page_text else "not shown")
            audit_download = _doc_audit("download", document_id, camille)
        else:
            probe.record((doc, "list"), page_status)
            probe.record((doc, "read"), page_status)
            audit_download = page_refused
        probe.status((doc, "download"), "GET", f"{base}/documents/{document_id}",
                     audit=audit_download)
    cell = f"document {STRANGER_DOC} (another patient's)"
    probe.record((cell, "list"), page_status if page_status != "200" else (
        "listed" if world.stranger_doc in listed or STRANGER_DOC in page_text
        else "not listed"))
    probe.status((cell, "download"), "GET", f"{base}/documents/{world.stranger_doc}",
                 audit=("document.download", world.stranger_doc, world.stranger_id)
                 if page_status == "200" else page_refused)
    for section in profile.SECTIONS:
        slug, cell = section.slug, f"profile {section.slug}"
        marker = ENTRY_FORMS[slug][1]
        if page_status == "200":
            inside = _section_html(html, slug)
            if inside is None:
                value = "not shown"
                if marker in page_text and len(marker) > 4:
                    value = "not shown, but its entry is on the page"
            else:
                value = "shown" if marker in inside else "heading without its entry"
            probe.record((cell, "read"), value)
        else:
            probe.record((cell, "read"), page_status)
    if page_status == "200":
        probe.record(("profile vaccinations (locked, by a doctor)", "read"),
                     "shown" if LOCKED_MARKER in page_text else "not shown")
        probe.record(("measure weight", "read"), "shown" if any(
            marker in page_text for marker in WEIGHT_MARKERS) else "not shown")
    else:
        probe.record(("profile vaccinations (locked, by a doctor)", "read"), page_status)
        probe.record(("measure weight", "read"), page_status)
    walk_area(probe, world, PATIENT_AREA)

    # Writes: a vaccination, then a document of every category.
    refused_page = None if page_status == "200" else page_refused
    before = _count_entries(probe.app, camille, world.me_id)
    get = probe.call("GET", f"{base}/vaccinations", cell=("vaccinations", "add"),
                     audit=refused_page).status_code
    post = probe.call("POST", f"{base}/vaccinations", ENTRY_FORMS["vaccinations"][0],
                      cell=("vaccinations", "add"), audit=refused_page).status_code
    probe.record(("vaccinations", "add"), both(get, post))
    added = _count_entries(probe.app, camille, world.me_id) - before
    if added != (1 if post == 303 else 0):
        probe.problems.append(f"vaccinations × add: answered {post}, {added} entry added")
    for category in ALL_CATEGORIES:
        cell = f"new document {category}"
        before = _count_docs(probe.app, camille, world.me_id, category)
        code = probe.status((cell, "deposit"), "POST", f"{base}/deposer",
                            _upload(f"Depot-{category}", category), files=True,
                            audit=refused_page)
        added = _count_docs(probe.app, camille, world.me_id, category) - before
        if added != (1 if code == 303 else 0):
            probe.problems.append(f"{cell} × deposit: answered {code}, {added} added")


def _count_entries(app, patient_id: str, author_id: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ProfileEntry).where(
            ProfileEntry.patient_id == patient_id, ProfileEntry.author_id == author_id,
            ProfileEntry.locked.is_(True)))


def _count_docs(app, patient_id: str, author_id: str, category: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Document).where(
            Document.patient_id == patient_id, Document.author_id == author_id,
            Document.category == Category(category)))


def _conversation_state(app, world: World) -> dict:
    """Per conversation: (messages, closed); and how many conversations and documents
    saved from a message Camille has."""
    with app.app_context():
        state = {name: (db.session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id)),
            db.session.get(Conversation, conversation_id).closed_at is not None)
            for name, conversation_id in world.conversations.items()}
        state["conversations"] = db.session.scalar(select(func.count()).select_from(
            Conversation).where(Conversation.patient_id == world.camille_id))
        state["saved"] = db.session.scalar(select(func.count()).select_from(Document).where(
            Document.patient_id == world.camille_id, Document.source == "message"))
        return state


def walk_conversations(probe: Probe, world: World, who: Who) -> None:
    """Every conversation cell through the role's own routes (the other area's routes are
    in PATIENT_AREA / PRO_PORTAL), then what the database says happened."""
    camille = world.camille_id
    patient_side = who.kind in ("owner", "patient")
    prefix = "/messagerie" if patient_side else "/pro/messagerie"
    before = _conversation_state(probe.app, world)
    inbox = probe.client.get(prefix).get_data(as_text=True)
    for name in CONVERSATIONS:
        conversation = world.conversations[name]
        probe.record((name, "list"), "listed" if f'href="{prefix}/{conversation}"' in inbox
                     else "not listed")
        decision = ("message.read", conversation, camille)
        probe.status((name, "read"), "GET", f"{prefix}/{conversation}", audit=decision)
        probe.status((name, "download"), "GET",
                     f"{prefix}/{conversation}/pieces/{world.attachments[name]}",
                     audit=decision)
    for name in CONVERSATIONS:
        conversation = world.conversations[name]
        probe.status((name, "reply"), "POST", f"{prefix}/{conversation}",
                     {"body": f"Réponse de {who.login}"},
                     audit=("message.read", conversation, camille))
    if patient_side:
        conversation = world.conversations[CONV]
        probe.status((CONV, "save"), "POST", f"/messagerie/{conversation}/pieces/"
                     f"{world.attachments[CONV]}/enregistrer",
                     audit=("message.read", conversation, camille))
    else:
        new, decision = f"/pro/patients/{camille}/ecrire", ("message.started", None, camille)
        get = probe.call("GET", new, cell=(NEW_CONV, "start"), audit=decision,
                         refusals_only=True).status_code
        post = probe.call("POST", new, {"subject": f"Objet de {who.login}",
                                        "body": "Bonjour, un mot de votre professionnel."},
                          cell=(NEW_CONV, "start"), audit=decision).status_code
        probe.record((NEW_CONV, "start"), both(get, post))
        # Closing last: the open conversation after the closed ones.
        for name in (CONV_CLOSED, CONV_BLOCKED, CONV):
            path = f"{prefix}/{world.conversations[name]}/clore"
            decision = ("message.closed", world.conversations[name], camille)
            get = probe.call("GET", path, cell=(name, "close"), audit=decision,
                             refusals_only=True).status_code
            post = probe.call("POST", path, cell=(name, "close"), audit=decision,
                              refusals_only=name != CONV).status_code
            probe.record((name, "close"), both(get, post))
    after = _conversation_state(probe.app, world)
    for name in CONVERSATIONS:
        replied = probe.actual.get((name, "reply")) == "303"
        closed = before[name][1] or probe.actual.get((name, "close")) == both(200, 303)
        if after[name] != (before[name][0] + replied, closed):
            probe.problems.append(f"{name}: (messages, closed) went from {before[name]} to "
                                  f"{after[name]} for the answers given")
    started = probe.actual.get((NEW_CONV, "start"), "").endswith("303")
    if after["conversations"] != before["conversations"] + started:
        probe.problems.append(f"conversations went from {before['conversations']} to "
                              f"{after['conversations']}")
    saved = probe.actual.get((CONV, "save")) == "303"
    if after["saved"] != before["saved"] + saved:
        probe.problems.append(f"documents saved from a message: {after['saved']}")


def _read_feed(probe: Probe, cell: tuple[str, str], token: str) -> int:
    """One read of the subscription feed at /agenda/abonnement/<token>.ics through the
    role's client (the session plays no part): its answer, what the file carries, and the
    audit (no actor: the reader has no account; Camille as subject when it answers)."""
    seq = probe._seq()
    response = probe.client.get(f"/agenda/abonnement/{token}.ics")
    code = response.status_code
    probe.record(cell, str(code))
    body = response.get_data(as_text=True)
    if code == 200 and (AGENDA_TITLE not in body or AGENDA_NOTE in body
                        or AGENDA_STRANGER_TITLE in body):
        probe.problems.append(f"{cell[0]}: the feed does not carry Camille's item alone, "
                              "without its note")
    if code != 200 and AGENDA_TITLE in body:
        probe.problems.append(f"{cell[0]}: the refusal shows Camille's item")
    found = [(event.outcome, event.actor_id, event.subject_id)
             for event in probe.events_since(seq, "agenda.feed_read")]
    wanted = [("success", None, probe.world.camille_id)] if code == 200 else [
        ("denied", None, None)]
    if found != wanted:
        probe.problems.append(f"{cell[0]}: answered {code}, audited as {found}")
    return code


def walk_feed(probe: Probe, world: World) -> None:
    """The subscription feed, for any role: Camille's address, a replaced one, a made-up one."""
    _read_feed(probe, (FEED, "read"), world.feed_token)
    _read_feed(probe, (FEED_REPLACED, "read"), world.replaced_token)
    _read_feed(probe, (FEED_MADE_UP, "read"), MADE_UP_TOKEN)


def _agenda_count(app, patient_id: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AgendaItem).where(
            AgendaItem.patient_id == patient_id))


def walk_agenda(probe: Probe, world: World, who: Who) -> None:
    """A patient's agenda (the owner's, or the other patient's own): Camille's item in her
    lists, month and file, its pages by id, adding, the subscription settings; then the
    feed; for the owner, regenerating and stopping the address, deleting last."""
    owner = who.kind == "owner"
    camille, item = world.camille_id, world.agenda_item
    me = world.me_id

    def get(path: str) -> tuple[int, str]:
        response = probe.client.get(path)
        return response.status_code, response.get_data(as_text=True)

    def shows(html: str, item_id: str, title: str) -> bool:
        return item_id in html or title in html or title in text(html)

    def about_camille(code: int, html: str) -> str:
        leaks = shows(html, item, AGENDA_TITLE) or world.feed_token in html
        return f"{code}, {'LEAKS Camille' if leaks else 'nothing of Camille'}"

    pages = {"list": get("/agenda"), "list month": get(f"/agenda/mois/{world.agenda_month}")}
    for action, (code, html) in pages.items():
        probe.record((AGENDA_ITEM, action), str(code) if code != 200 else (
            "listed" if shows(html, item, AGENDA_TITLE) else "not listed"))
    code, ics = get("/agenda/exporter/mon-agenda.ics")
    probe.record((AGENDA_ITEM, "download"), str(code) if code != 200 else (
        "in the file" if AGENDA_TITLE in ics else "not in the file"))
    if owner:
        probe.record((AGENDA_STRANGER, "list"), "listed" if any(
            shows(html, world.stranger_agenda_item, AGENDA_STRANGER_TITLE)
            for _code, html in (*pages.values(), (code, ics))) else "not listed")
    code, html = get("/agenda/passes")
    probe.record(("own agenda", "list past"), str(code) if owner else about_camille(code, html))
    code, html = get("/agenda/exporter")
    probe.record(("own agenda subscription", "read"), (
        f"{code}, {'her address' if world.feed_token in html else 'no address'}" if owner
        else about_camille(code, html)))

    # Camille's item by id; for the owner, the other patient's too.
    targets = [(AGENDA_ITEM, item, camille, AGENDA_TITLE)]
    if owner:
        targets.append((AGENDA_STRANGER, world.stranger_agenda_item, world.stranger_id,
                        AGENDA_STRANGER_TITLE))
    for cell, item_id, subject, title in targets:
        mine = subject == me
        response = probe.call("GET", f"/agenda/{item_id}", cell=(cell, "read"),
                              audit=("agenda.read", item_id, subject))
        shown = response.status_code == 200 and title in text(response.get_data(as_text=True))
        probe.record((cell, "read"), "200" if shown else str(response.status_code))
        if response.status_code != 200 and title in response.get_data(as_text=True):
            probe.problems.append(f"{cell} × read: the refusal shows the item")
        # A refusal is audited under the action tried; an access, as a read then a change.
        probe.get_post((cell, "edit"), f"/agenda/{item_id}/modifier",
                       agenda_form(title, AGENDA_NOTE if mine else "Changé"),
                       audit_get=("agenda.read" if mine else "agenda.updated", item_id,
                                  subject),
                       audit_post=("agenda.updated", item_id, subject))
        if not mine:
            probe.get_post((cell, "delete"), f"/agenda/{item_id}/supprimer",
                           audit_get=("agenda.deleted", item_id, subject),
                           audit_post=("agenda.deleted", item_id, subject))

    # Her own writes: an item, a suggested vaccination, her subscription address.
    before = _agenda_count(probe.app, me)
    probe.get_post(("new agenda item", "add"), "/agenda/ajouter",
                   agenda_form(f"Ajout de {who.login}"))
    code = probe.call("POST", "/agenda/a-prevoir", {"regle": SUGGESTED_RULE}).status_code
    added = _agenda_count(probe.app, me) - before
    if added not in (1, 2):
        probe.problems.append(f"adding to her own agenda: {added} item(s) added")
    probe.record(("agenda suggestion", "add"),
                 f"{code}, {'added' if added == 2 else 'not added'}")
    if not owner:
        probe.status(("own agenda subscription", "regenerate"), "POST",
                     "/agenda/exporter/abonnement",
                     audit=("agenda.feed_regenerated", None, me))
        probe.status(("own agenda subscription", "revoke"), "POST",
                     "/agenda/exporter/abonnement/arreter",
                     audit=("agenda.feed_revoked", None, me))
        walk_feed(probe, world)  # hers made and stopped, Camille's still answers
        return

    walk_feed(probe, world)
    probe.status(("own agenda subscription", "regenerate"), "POST",
                 "/agenda/exporter/abonnement", audit=("agenda.feed_regenerated", None, me))
    _read_feed(probe, (FEED_BEFORE, "read"), world.feed_token)
    shown = BeautifulSoup(probe.client.get("/agenda/exporter").get_data(as_text=True),
                          "html.parser").select_one("#feed-url")
    new_token = (shown["value"].rsplit("/", 1)[-1].removesuffix(".ics") if shown is not None
                 else "")
    if new_token in ("", world.feed_token):
        probe.problems.append("regenerating did not show a new address")
    _read_feed(probe, (FEED_NEW, "read"), new_token)
    probe.status(("own agenda subscription", "revoke"), "POST",
                 "/agenda/exporter/abonnement/arreter", audit=("agenda.feed_revoked", None, me))
    _read_feed(probe, (FEED_STOPPED, "read"), new_token)
    probe.get_post((AGENDA_ITEM, "delete"), f"/agenda/{item}/supprimer",
                   audit_get=("agenda.read", item, camille),
                   audit_post=("agenda.deleted", item, camille))
    with probe.app.app_context():
        if db.session.get(AgendaItem, item) is not None:
            probe.problems.append("Camille's agenda item is still there")
        if db.session.get(AgendaItem, world.stranger_agenda_item) is None:
            probe.problems.append("the other patient's agenda item is gone")


# --- standing: how each professional comes to stand where the table says -------------------

NEUTRAL = "Aucun espace santé ouvert ne correspond à ce numéro"
BLOCKED_MESSAGE = "ne vous permet pas"


def _declare(probe: Probe) -> str:
    response = probe.client.post("/pro/patients", data={
        "csrf_token": probe.token, **IDENTITY, "informed": "oui"})
    page = text(response.get_data(as_text=True))
    if response.status_code == 422 and NEUTRAL in page:
        return "422, neutral"
    if response.status_code == 422 and BLOCKED_MESSAGE in page:
        return "422, blocked"
    return str(response.status_code)


def _break_glass(probe: Probe) -> str:
    response = probe.client.post("/pro/urgence", data={
        "csrf_token": probe.token, **IDENTITY, "reason": REASON})
    if response.status_code == 422 and NEUTRAL in text(response.get_data(as_text=True)):
        return "422, neutral"
    return str(response.status_code)


def _set_camille(app, **values) -> None:
    with app.app_context():
        camille = _by_login(CAMILLE)
        for name, value in values.items():
            setattr(camille, name, value)
        db.session.commit()


def _set_blocked(app, login: str, blocked: bool) -> None:
    with app.app_context():
        care.set_blocked(db.session, keys.ring, _by_login(CAMILLE), _by_login(login), blocked,
                         ACTOR)
        db.session.commit()


def stand(probe: Probe, who: Who) -> None:
    """Bring the signed-in professional to its standing through the real forms, checking
    on the way that a change of standing takes effect on the next request."""
    app, world = probe.app, probe.world
    page = f"/pro/patients/{world.camille_id}"
    if who.sector != Sector.CARE:
        probe.record(("care relation", "declare"), _declare(probe))
        probe.record(("emergency access", "start"), _break_glass(probe))
        return
    if who.standing in ("declared", "attending"):
        probe.record(("care relation", "declare"), _declare(probe))
        # In the other patient's care too: her document is readable to this professional,
        # but never under Camille's address (and that refusal is audited).
        with app.app_context():
            care.declare(db.session, keys.ring, _by_login(who.login),
                         db.session.get(User, world.stranger_id), ACTOR)
            db.session.commit()
        if who.standing == "attending":
            with app.app_context():
                care.set_attending(db.session, keys.ring, _by_login(CAMILLE),
                                   _by_login(who.login), ACTOR)
                db.session.commit()
    elif who.standing == "blocked":
        # Unblocked, the page opens; blocked, the very next request answers 404.
        _set_blocked(app, who.login, False)
        if probe.client.get(page).status_code != 200:
            probe.problems.append("blocked doctor: the page did not open before the block")
        _set_blocked(app, who.login, True)
        probe.record(("care relation", "declare"), _declare(probe))
    elif who.standing in ("emergency", "emergency_hidden", "expired"):
        _set_camille(app, emergency_hidden=who.standing == "emergency_hidden")
        probe.record(("emergency access", "start"), _break_glass(probe))
        if who.standing == "expired":
            if probe.client.get(page).status_code != 200:
                probe.problems.append("expired emergency: the page did not open at first")
            with app.app_context():
                access = db.session.scalars(select(EmergencyAccess).where(
                    EmergencyAccess.professional_id == world.me_id)).one()
                access.started_at = utcnow() - timedelta(hours=30)
                access.ends_at = utcnow() - timedelta(minutes=1)
                db.session.commit()


def finish(probe: Probe, who: Who) -> None:
    """Actions that change the standing, done after every other cell."""
    page = f"/pro/patients/{probe.world.camille_id}"
    if who.sector == Sector.CARE and who.standing == "none":
        probe.record(("care relation", "declare"), _declare(probe))
        if probe.client.get(page).status_code != 200:
            probe.problems.append("undeclared doctor: declaring did not open the page")
    if who.sector == Sector.CARE and who.standing == "blocked":
        probe.record(("emergency access", "start"), _break_glass(probe))
        if probe.client.get(page).status_code != 404:
            probe.problems.append("blocked doctor: the page opened after breaking the glass")


# --- running one role -------------------------------------------------------------------

def run_role(app, tmp_path, role: str) -> tuple[dict, dict, list[str]]:
    who = ROLES[role]
    world = build_world(app, tmp_path, role)
    before = snapshot(app, world.camille_id)
    probe = Probe(app, sign_in(app, who.login, world.secret), world)
    if who.kind == "owner":
        walk_owner(probe, world)
    elif who.kind == "patient":
        walk_other_patient(probe, world)
    elif who.kind == "professional":
        stand(probe, who)
        walk_professional(probe, world, who)
        walk_conversations(probe, world, who)
        finish(probe, who)
    else:
        walk_area(probe, world, PATIENT_AREA + PRO_PORTAL)
    if who.kind in ("owner", "patient"):
        walk_conversations(probe, world, who)
        walk_agenda(probe, world, who)
    else:
        walk_feed(probe, world)
    if who.kind != "owner":
        after = snapshot(app, world.camille_id)
        added_docs = set(after["documents"]) - set(before["documents"])
        added_entries = set(after["entries"]) - set(before["entries"])
        for name in ("documents", "entries", "measures", "agenda"):
            kept = {key: value for key, value in after[name].items() if key in before[name]}
            if kept != before[name]:
                probe.problems.append(f"Camille's {name} changed or disappeared")
        if added_docs and not granted(who):
            probe.problems.append(f"{len(added_docs)} document(s) added by a refused role")
        if added_entries and not granted(who):
            probe.problems.append(f"{len(added_entries)} entry(ies) added by a refused role")
        if set(after["agenda"]) - set(before["agenda"]):
            probe.problems.append("an agenda item was added to Camille's agenda")
        if who.standing in ("emergency", "emergency_hidden"):
            with app.app_context():
                modes = {event.acting_as for event in db.session.scalars(select(
                    AuditEvent).where(AuditEvent.actor_id == world.me_id, AuditEvent.action.in_(
                        ("document.download", "profile.read_by_professional"))))}
                # Writing to the patient only an emergency lets him reach.
                started = {event.acting_as for event in db.session.scalars(select(
                    AuditEvent).where(AuditEvent.actor_id == world.me_id,
                                      AuditEvent.action == "message.started",
                                      AuditEvent.outcome == "success"))}
            if modes != {"professional_emergency"}:
                probe.problems.append(f"emergency reads audited as {sorted(modes)}")
            if started != {"professional_emergency"}:
                probe.problems.append(f"a conversation started in an emergency audited as "
                                      f"{sorted(started)}")
        stranger = snapshot(app, world.stranger_id)
        if len(stranger["documents"]) != 1 or len(stranger["entries"]) != 1 or (
                world.stranger_agenda_item not in stranger["agenda"]):
            probe.problems.append("the other patient's space changed")
    return expected_cells(role), probe.actual, probe.problems


def differences(expected: dict, actual: dict, cells) -> list[str]:
    wrong = []
    for cell in sorted(cells):
        got = actual.get(cell, "(not checked)")
        if got != expected[cell]:
            wrong.append(f"  {cell[0]} × {cell[1]}: expected {expected[cell]!r}, got {got!r}")
    return wrong


@pytest.mark.parametrize("role", list(ROLES))
def test_every_cell_of_the_role(app, tmp_path, role):
    expected, actual, problems = run_role(app, tmp_path, role)
    cells = list(expected)
    unexpected = sorted(set(actual) - set(expected))
    wrong = differences(expected, actual, cells)
    report = wrong + [f"  unexpected cell checked: {cell}" for cell in unexpected] + [
        f"  {problem}" for problem in problems]
    assert not report, (f"{role}: {len(report)} wrong of {len(expected)} cells\n"
                        + "\n".join(report))


def test_the_matrix_covers_every_role_resource_and_action(app):
    """The table is the whole matrix: every role, every category visible and hidden, every
    profile section, every action the issue names, every agenda route."""
    total = {role: expected_cells(role) for role in ROLES}
    actions = {action.split(" ")[0] for cells in total.values() for _r, action in cells}
    assert {"list", "read", "download", "deposit", "edit", "delete", "hide", "add",
            "declare", "open", "reply", "close", "start", "save", "regenerate",
            "revoke"} <= actions
    owner_resources = {resource for resource, _a in total["owner"]}
    for author, category, hidden in DOCS:
        assert f"document {title_of(author, category, hidden)}" in owner_resources
    for role in ROLES:  # every role has an answer for every conversation and the new one
        resources = {resource for resource, _a in total[role]}
        assert {"any conversation, patient area", "any conversation, pro portal",
                "new conversation, pro portal"} & resources, role
        if ROLES[role].kind in ("owner", "patient", "professional"):
            assert set(CONVERSATIONS) <= resources, role
            for name in CONVERSATIONS:
                assert {"read", "reply", "download"} <= {
                    action for resource, action in total[role] if resource == name}, role
        if ROLES[role].kind == "professional":
            assert (NEW_CONV, "start") in total[role]
            assert all((name, "close") in total[role] for name in CONVERSATIONS)
        # The agenda: the feed for everyone; the item by id for both patients; the area's
        # every route for everyone else.
        assert {(FEED, "read"), (FEED_REPLACED, "read"), (FEED_MADE_UP, "read")} <= set(
            total[role]), role
        if ROLES[role].kind in ("owner", "patient"):
            assert {(AGENDA_ITEM, action) for action in (
                "list", "list month", "read", "edit", "delete", "download")} <= set(
                total[role]), role
        else:
            assert {cell for cell, _m, path, _f in PATIENT_AREA
                    if path.startswith("/agenda")} <= set(total[role]), role
    assert {(FEED_BEFORE, "read"), (FEED_NEW, "read"), (FEED_STOPPED, "read"),
            (AGENDA_STRANGER, "read")} <= set(total["owner"])
    # Every agenda route and method (but the public feed's) is in the patient area's list;
    # their twins in a represented space (/espace/<id>/…) are tests/blueprints/space's.
    routes = {(re.sub(r"<[^>]+>", "{}", rule.rule), method)
              for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("agenda.") and rule.endpoint != "agenda.feed_read"
              and not rule.rule.startswith("/espace/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(re.sub(r"\{[^}]+\}", "{}", path), one)
              for _c, method, path, _f in PATIENT_AREA for one in method.split("+")}
    assert routes <= listed, routes - listed
    assert {category.value for category in Category} == set(ALL_CATEGORIES)
    assert {slug for slug in ENTRY_FORMS} == {section.slug for section in profile.SECTIONS}
    assert set(PROFILE_READ) == set(DOC_READ) == set(DOC_DEPOSIT) == {
        profession.value for profession in Profession}
    assert sum(len(cells) for cells in total.values()) > 2000
