"""The page that says who may see what is the same for every person: made once per
language and space and kept (templates/access/matrix.html, web/links.py's layout_part);
its rows are worked out only when it is made."""

from __future__ import annotations

from blueprints.access import views
from web import links


def test_the_rules_page_is_made_once_per_language_and_kept(app, signed_in, monkeypatch):
    client = signed_in("camille.martin")
    app.extensions[links.PARTS].clear()
    made = []
    rows = views._matrix_rows
    monkeypatch.setattr(views, "_matrix_rows", lambda: made.append(1) or rows())
    french = client.get("/acces/qui-voit-quoi").get_data(as_text=True)
    again = client.get("/acces/qui-voit-quoi").get_data(as_text=True)
    assert made == [1]  # the second view used the kept part
    assert "Pharmaciens" in french and again.count("<section") == french.count("<section") > 5
    client.set_cookie("carnet_lang", "en")
    english = client.get("/acces/qui-voit-quoi").get_data(as_text=True)
    assert made == [1, 1] and "Pharmacists" in english and "Pharmaciens" not in english
