"""The sign-in forms, read by the one form reader: the same sentences as always, and what
was typed comes back (never the password)."""

from __future__ import annotations

from tests.conftest import csrf_from
from tests.html_checks import check_page


def _post(client, path, data):
    page = client.get(path).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_from(page), **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and check_page(html) == [], check_page(html)
    return html


def test_login_sentences(client, app, demo_users):
    html = _post(client, "/connexion", {"login": " ", "password": "   "})
    assert "Saisissez votre identifiant, par exemple camille.martin" in html
    assert "Saisissez votre mot de passe" in html
    html = _post(client, "/connexion", {"login": "c" * 65, "password": "p" * 257})
    assert "L’identifiant fait au plus 64 caractères" in html
    assert "Le mot de passe fait au plus 256 caractères" in html
    html = _post(client, "/connexion", {"login": "camille.martin", "password": "secret"})
    assert 'value="camille.martin"' in html and 'value="secret"' not in html


def test_second_factor_sentences(client, app, demo_users):
    page = client.get("/connexion").get_data(as_text=True)
    client.post("/connexion", data={"csrf_token": csrf_from(page), "login": "camille.martin",
                                    "password": demo_users["camille.martin"].password})
    html = _post(client, "/connexion/code", {"code": ""})
    assert "Saisissez le code à 6 chiffres, par exemple 123456" in html
    html = _post(client, "/connexion/code", {"code": "12a456"})
    assert "Le code contient 6 chiffres, sans lettres, par exemple 123456" in html
    assert 'value="12a456"' in html
