"""An empty required field of the medical profile says which field and what to type or
choose, with an example (issue 17, item 9) — never only "ce champ est obligatoire"."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from domain import measures, profile
from tests.blueprints.profile.test_profile_pages import PATIENT, post, set_birth_date, years_ago


def _errors(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    summary = soup.select_one("[data-error-summary]")
    assert summary is not None, html[:2000]
    return [" ".join(link.get_text().split()) for link in summary.select("li a")]


@pytest.mark.parametrize("slug", [section.slug for section in profile.SECTIONS])
def test_empty_required_fields_say_what_to_type(signed_in, app, slug):
    set_birth_date(app, years_ago(40))
    client = signed_in(PATIENT)
    response = post(client, f"/profil/{slug}", {})
    assert response.status_code == 422
    errors = _errors(response.get_data(as_text=True))
    section = profile.BY_SLUG[slug]
    required = [spec for spec in section.fields if spec.required]
    assert len(errors) == len(required), errors
    for error in errors:
        assert "obligatoire" not in error, error
        assert " : " in error and error.endswith("."), error
        assert "par exemple" in error or "choisissez" in error or "répondez" in error, error


@pytest.mark.parametrize("slug", [kind.slug for kind in measures.KINDS
                                  if not kind.children_only])
def test_empty_measures_say_what_to_type(signed_in, app, slug):
    set_birth_date(app, years_ago(40))
    client = signed_in(PATIENT)
    response = post(client, f"/profil/mesures/{slug}", {})
    assert response.status_code == 422
    for error in _errors(response.get_data(as_text=True)):
        assert "obligatoire" not in error, error
        assert " : saisissez " in error, error


def test_an_other_choice_left_empty_says_what_to_write(signed_in):
    client = signed_in(PATIENT)
    response = post(client, "/profil/maladies", {"condition": "other", "condition_other": ""})
    assert _errors(response.get_data(as_text=True)) == [
        "Autre maladie ou sujet de santé : écrivez-le, par exemple Rhinite allergique."]
