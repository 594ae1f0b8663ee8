from __future__ import annotations

from app import create_app
from domain.policy import Area
from tests.html_checks import check_page


def test_a_crash_shows_a_generic_page_without_details(app):
    other = create_app({**app.config, "PROPAGATE_EXCEPTIONS": False},
                       instance_path=app.instance_path)

    def explode():
        raise RuntimeError("secret internal detail")

    explode.carnet_area = Area.PUBLIC
    other.add_url_rule("/panne", "test.explode", explode)
    response = other.test_client().get("/panne")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internal detail" not in html and "Traceback" not in html
    assert "Une erreur est survenue" in html
    assert check_page(html) == []


def test_the_language_choice_is_remembered(client):
    response = client.get("/langue/en?suivant=/aide")
    assert response.status_code == 303 and response.headers["Location"] == "/aide"
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    client.get("/langue/fr")
    assert 'lang="fr"' in client.get("/").get_data(as_text=True)


def test_the_browser_language_is_the_default(client):
    html = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert 'lang="en"' in html
    html = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert 'lang="fr"' in html
