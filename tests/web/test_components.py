"""The shared macros of templates/components/: what ACCESSIBILITY.md asks of every field
(a visible label, hint and error tied with aria-describedby, a hidden "Erreur :"), the
banner and the pagination."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup

from domain import profile
from domain.forms import Field


def _render(app, source: str, **context) -> BeautifulSoup:
    with app.test_request_context("/"):
        app.preprocess_request()  # the locale, as in a request
        html = app.jinja_env.from_string(source).render(**context)
    return BeautifulSoup(html, "html.parser")


FORMS = '{% from "components/forms.html" import text_field, textarea, select, file %}'


@pytest.mark.parametrize("call", [
    'text_field("f", "f", "Nom", error="Nom : saisissez un nom.", hint="Par exemple : Dupont")',
    'textarea("f", "f", "Nom", error="Nom : saisissez un nom.", hint="Par exemple : Dupont")',
    'select("f", "f", "Nom", [("a", "A")], error="Nom : saisissez un nom.", '
    'hint="Par exemple : Dupont", empty="Choisir…")',
    'file("f", "f", "Nom", error="Nom : saisissez un nom.", hint="Par exemple : Dupont")',
])
def test_a_field_ties_its_label_hint_and_error(app, call):
    soup = _render(app, FORMS + "{{ " + call + " }}")
    control = soup.find(id="f")
    assert soup.find("label", attrs={"for": "f"}).get_text(" ", strip=True) == (
        "Nom (obligatoire)")
    assert control["aria-describedby"].split() == ["f-hint", "f-error"]
    assert control["aria-invalid"] == "true"
    error = soup.find(id="f-error")
    assert error.find(class_="visually-hidden").get_text() == "Erreur : "
    assert "field--error" in soup.find(class_="field")["class"]


def test_an_optional_field_can_say_so_and_a_plain_one_has_no_empty_attributes(app):
    soup = _render(app, FORMS + '{{ text_field("f", "f", "Lieu", required=False, '
                                'mark_optional=True) }}{{ textarea("g", "g", "Note", '
                                'maximum=1000|number, required=False) }}')
    assert soup.find("label", attrs={"for": "f"}).get_text(" ", strip=True) == (
        "Lieu (facultatif)")
    field = soup.find(id="f")
    assert not field.has_attr("aria-describedby") and not field.has_attr("aria-required")
    assert soup.find(id="g")["aria-describedby"] == "g-hint"
    assert soup.find(id="g-hint").get_text() == "1\u202f000 caractères au plus."


def test_a_file_input_and_a_select_keep_their_options(app):
    soup = _render(app, FORMS + '{{ file("doc", "doc", "Fichier", accept=".pdf", multiple='
                                'True) }}{{ select("c", "c", "Catégorie", [("a", "A"), '
                                '("b", "B")], selected="b", empty="Choisir…") }}')
    upload = soup.find(id="doc")
    assert upload["type"] == "file" and upload["accept"] == ".pdf"
    assert upload.has_attr("multiple")
    options = soup.find(id="c").find_all("option")
    assert [option["value"] for option in options] == ["", "a", "b"]
    assert options[2].has_attr("selected") and not options[1].has_attr("selected")


def test_a_banner_says_its_role_only_when_asked(app):
    source = ('{% from "components/banner.html" import banner %}{{ banner("Fait.", '
              '"success", "status") }}{{ banner("Bientôt.") }}'
              '{% call banner(kind="error", role="alert") %}<p>Riche</p>{% endcall %}')
    first, second, third = _render(app, source).find_all(class_="banner")
    assert first["class"] == ["banner", "banner--success"] and first["role"] == "status"
    assert first.p.get_text() == "Fait."
    assert second["class"] == ["banner", "banner--info"] and not second.has_attr("role")
    assert third["role"] == "alert" and third.p.get_text() == "Riche"


def test_the_pagination_skips_missing_links_and_can_swap_with_htmx(app):
    source = ('{% from "components/pagination.html" import pagination %}'
              '{{ pagination("Pages", [none, dict(current="Page 1 sur 2"), dict(href="/l?page=2",'
              ' text="Suivante", rel="next", hidden=" : page 2")], hx_target="liste") }}')
    nav = _render(app, source).nav
    assert nav["aria-label"] == "Pages" and "pagination" in nav["class"]
    current, following = nav.find_all("li")
    assert current.span["aria-current"] == "page"
    link = following.a
    assert link["href"] == link["hx-get"] == "/l?page=2" and link["rel"] == ["next"]
    assert link["hx-target"] == "#liste" and link["hx-push-url"] == "true"
    assert link.get_text() == "Suivante : page 2"


def test_declared_fields_pick_a_macro_by_kind_and_prefix_their_ids(app):
    form = SimpleNamespace(key="allergies", coded={"substance": "allergens"}, fields=(
        Field("substance", "coded", required=True), Field("severity", "choice",
                                                          required=True),
        Field("since", "partial_date"), Field("note", "longtext", max_length=500)))
    source = ('{% from "components/declared_form.html" import declared_fields %}'
              '{{ declared_fields(form, typed, errors, "add-") }}')
    soup = _render(app, source, form=form, typed={"substance": "other"},
                   errors=[("since", "Depuis : saisissez une date réelle.")])
    substance = soup.find(id="add-substance")
    assert substance.name == "select" and substance["name"] == "substance"
    assert substance.find("option", selected=True)["value"] == "other"
    assert soup.find(id="add-substance_other")["name"] == "substance_other"
    assert soup.find(id="add-severity")["type"] == "radio"
    assert soup.find(id="add-severity-moderate")["name"] == "severity"
    since = soup.find(id="add-since")
    assert since["name"] == "since_day" and since["aria-describedby"] == "add-since-error"
    assert soup.find(id="add-since-year")["name"] == "since_year"
    assert "(facultatif)" in soup.find(id="add-since").find_parent("fieldset").legend.text
    assert soup.find(id="add-note").name == "textarea"


def test_the_wording_filters_read_the_tables(app):
    section = profile.BY_KEY["treatments"]
    source = ('{{ section.key|section_title }}|{{ section.key|field_label("name") }}|'
              '{{ section|main_text(values) }}|{{ "hpv"|vaccine_name }}|'
              '{{ "weight"|measure_label }}|{{ 1500|human_size }}')
    with app.test_request_context("/"):
        app.preprocess_request()
        text = app.jinja_env.from_string(source).render(section=section,
                                                        values={"name": "Doliprane"})
    assert text.split("|") == ["Traitements", "Nom du traitement", "Doliprane",
                               "Papillomavirus (HPV)", "Poids", "2 Ko"]
