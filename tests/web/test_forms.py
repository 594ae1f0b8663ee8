"""The one form reader as views use it (web/forms.py): a form declared once reads the
request, keeps what was typed, and says each problem with the form's own sentence, else
the one its field kind shares."""

from __future__ import annotations

import io
from datetime import date

from domain.forms import Field
from web.forms import Form

SEARCH = Form(
    Field("nir", "nir", required=True),
    Field("born", "past_date", required=True),
    Field("informed", "yes", required=True),
    Field("reason", "longtext", required=True, max_length=500),
    messages={
        ("nir", "required"): ("Saisissez le numéro de sécurité sociale du patient (15 "
                                "caractères), par exemple 2 88 03 75 108 021 50."),
        ("born", "required"): ("Saisissez la date de naissance du patient, par exemple "
                                 "14 3 1988."),
        "informed": ("Confirmez que le patient a été informé et ne s’est pas opposé à "
                       "votre accès."),
        ("reason", "too_long"): lambda problem: f"{problem.params['maximum']} au plus",
    },
    labels={"reason": "Raison"})


def test_each_problem_gets_the_form_sentence_or_the_shared_one(app):
    with app.test_request_context("/", method="POST", data={
            "nir": "288037510802151", "born_day": "31", "born_month": "2",
            "born_year": "1988", "reason": ""}):
        filled = SEARCH.read()
    assert not filled.ok
    assert filled.errors == [
        ("nir", "Ce numéro de sécurité sociale n’est pas valide : vérifiez les 15 caractères, "
                "y compris la clé (les 2 derniers chiffres)."),
        ("born", "Saisissez une date réelle, par exemple 14 3 1988 (jour, mois, année sur 4 "
                 "chiffres)."),
        ("informed", "Confirmez que le patient a été informé et ne s’est pas opposé à votre "
                     "accès."),
        ("reason", "Raison : ce champ est obligatoire."),
    ]
    assert filled.typed["born"] == {"day": "31", "month": "2", "year": "1988"}
    assert filled.error("informed")[0] == "informed" and filled.problem("nir").reason == (
        "nir_key")


def test_a_form_override_and_a_function_of_the_problem(app):
    with app.test_request_context("/", method="POST", data={"reason": "x" * 501}):
        filled = SEARCH.read()
    assert dict(filled.errors)["nir"] == ("Saisissez le numéro de sécurité sociale du "
                                          "patient (15 caractères), par exemple 2 88 03 75 "
                                          "108 021 50.")
    assert dict(filled.errors)["reason"] == "500 au plus"


def test_the_kind_sentence_when_the_form_says_nothing(app):
    form = Form(Field("nir", "nir", required=True))
    with app.test_request_context("/"):
        filled = form.read({"nir": ""})
    assert filled.errors == [("nir", "Saisissez votre numéro de sécurité sociale (15 "
                                     "caractères), par exemple 2 88 03 75 108 021 50.")]


def test_a_valid_form_gives_clean_values_and_the_file_itself(app):
    form = Form(Field("file", "file", required=True), Field("date", "past_date",
                                                               required=True))
    data = {"date_day": "3", "date_month": "3", "date_year": "2020",
            "file": (io.BytesIO(b"%PDF-1.7"), "directives.pdf")}
    with app.test_request_context("/", method="POST", data=data,
                                  content_type="multipart/form-data"):
        filled = form.read()
        assert filled.ok and filled.errors == []
        assert filled.values["date"] == date(2020, 3, 3)
        assert filled.values["file"].filename == "directives.pdf"
        assert filled.values["file"].read() == b"%PDF-1.7"
    with app.test_request_context("/", method="POST", data={"date_day": "3"}):
        missing = form.read()
    assert [field for field, _message in missing.errors] == ["file", "date"]


def test_blank_and_only(app):
    assert SEARCH.blank() == {"nir": "", "born": {"year": "", "month": "", "day": ""},
                              "informed": False, "reason": ""}
    with app.test_request_context("/", method="POST", data={"informed": "oui"}):
        filled = SEARCH.only("informed").read()
    assert filled.ok and filled.values == {"informed": True}
