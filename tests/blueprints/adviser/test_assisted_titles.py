"""In an assisted session every private page's title is one of a fixed list of generic
titles (issue 16): no document title, subject, entry, appointment or name, whatever the
page shows. Visited: every GET page of the person's space, and the pages of her documents,
conversations, agenda items and profile entries."""

from __future__ import annotations

from bs4 import BeautifulSoup
from sqlalchemy import select

from domain.models import AgendaItem, Conversation, Document, ProfileEntry, User
from extensions import db
from tests.blueprints.adviser.test_desk import handed_over
from tests.blueprints.documents.test_vault_pages import png, upload
from tests.conftest import sign_in
from web.labels import desk as labels

SITE = "Carnet santé"


def private_pages(app, patient_id: str) -> list[str]:
    """Every GET page of the patient areas: routes without arguments, and one of each
    kind of item with its id."""
    with app.app_context():
        ids = {
            "document_id": db.session.scalars(select(Document.id).where(
                Document.patient_id == patient_id)).first(),
            "conversation_id": db.session.scalars(select(Conversation.id).where(
                Conversation.patient_id == patient_id)).first(),
            "item_id": db.session.scalars(select(AgendaItem.id).where(
                AgendaItem.patient_id == patient_id)).first(),
            "entry_id": db.session.scalars(select(ProfileEntry.id).where(
                ProfileEntry.patient_id == patient_id)).first(),
        }
    assert all(ids.values()), ids  # the demo data has one of each
    paths = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        area = getattr(view, "carnet_area", None)
        if "GET" not in rule.methods or area is None or area.value not in (
                "patient_space", "account") or rule.rule.startswith("/espace/"):
            continue
        if set(rule.arguments) - set(ids) - {"slug"}:
            continue
        values = {name: ids[name] for name in rule.arguments if name in ids}
        if "slug" in rule.arguments:
            values["slug"] = "allergies" if "/profil/" in rule.rule and "mesures" not in (
                rule.rule) else "poids"
        paths.append(rule.build(values)[1])
    return sorted(set(paths))


def test_every_private_title_is_a_generic_one(app, signed_in):
    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0  # her content
    desk, _running = handed_over(app, signed_in)
    sign_in(desk, app, "camille.martin")
    assert upload(desk, png(), "bilan.png", title="Bilan sanguin décembre").status_code == 303
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        patient_id = camille.id
    allowed = {f"{title} – {SITE}" for title in map(str, labels.ASSISTED_TITLES.values())}
    allowed.add(f"{labels.ASSISTED_DEFAULT_TITLE} – {SITE}")
    seen = 0
    for path in private_pages(app, patient_id):
        response = desk.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            response.close()  # a file streamed (export, PDF): nothing to read here
            continue
        soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        if soup.title is None:
            continue
        title = soup.title.get_text()
        assert title in allowed, (path, title)
        assert soup.title.has_attr("data-generic"), path
        assert "Camille" not in title and "Martin" not in title
        seen += 1
    assert seen >= 25, seen
    # The pages themselves still show what they hold: only the titles are generic.
    with app.app_context():
        document_id = db.session.scalars(select(Document.id).where(
            Document.patient_id == patient_id)).one()
    page = desk.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "Bilan sanguin décembre" in page
    assert "Bilan sanguin" not in BeautifulSoup(page, "html.parser").title.get_text()
