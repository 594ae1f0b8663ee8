"""`suivant` (after sign-in, a language change, "stay signed in") is never an open redirect:
only a same-site path that a GET view of the application answers is followed (issue 13,
items 1 and 5)."""

from __future__ import annotations

import string
import unicodedata
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO, csrf_from, next_totp
from web.access import NEXT_MAX_LENGTH, safe_next

CONTROL = {chr(code) for code in [*range(0x20), *range(0x7F, 0xA0)]}
EVIL = "/%09/evil.example/x"
HOSTILE = [
    "/\t/evil.example", "/\t/evil", "/\n/evil", "/\r\n/evil", "/\x00/evil", "//evil",
    "///evil", "/\\evil", "\\\\evil", "/\\/evil", "https://evil", "http:/evil", "HTTPS://evil",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "/javascript:alert(1)", "data:text/html,x",
    "/%09/evil.example", "/%0a/evil", "/%0D%0A/evil", "/%2F%2Fevil", "/%2f/evil", "/%5Cevil",
    "/%5C%5Cevil", "/ /evil", "/%20/evil", "/\x7f/evil", "/aide\x7f", "/\u0085/evil",
    "/aide\u0085", "/\u2028/evil", "/\u00a0/evil", "/\u200b/evil", " /aide", "/aide ",
    "/./aide", "/../aide", "/%2E%2E/aide", "/aide/..", "/.//evil", "/%2E//evil",
    "//user:pass@evil/", "/\t/user@evil", "evil.example", "aide", "", "?/aide", "#/aide",
    "/" + "a" * (NEXT_MAX_LENGTH + 10), "/aide?" + "q=1&" * NEXT_MAX_LENGTH,
    "/page-qui-n-existe-pas", "/aide/", "/documents/x/y/z/w", "/langue/de",
    "/deconnexion", "/session/prolonger", "/acces/bloquer", "/%ff%fe",
]
SAME_SITE = {
    "/aide": "/aide",
    "/documents?categorie=imaging&page=2": "/documents?categorie=imaging&page=2",
    "/documents?q=radio%0Athorax": "/documents?q=radio%0Athorax",
    "/mon-espace#top": "/mon-espace",
    "/documents/caf%C3%A9": "/documents/caf%C3%A9",
    "/documents/café": "/documents/caf%C3%A9",
    "/acces/historique?du=2026-01-01&au=9999-12-31": "/acces/historique?du=2026-01-01&au"
                                                     "=9999-12-31",
    "/documents?q=été": "/documents?q=%C3%A9t%C3%A9",
}


def assert_same_site(result: str | None) -> None:
    if result is None:
        return
    assert result.startswith("/") and not result.startswith("//"), result
    assert not set(result) & CONTROL and "\\" not in result, result
    parts = urlsplit(result)
    assert not parts.scheme and not parts.netloc, result
    assert result.isascii() and " " not in result, result


@pytest.mark.parametrize("target", HOSTILE, ids=repr)
def test_hostile_targets_are_refused(app, target):
    with app.test_request_context():
        assert safe_next(target) is None


@pytest.mark.parametrize(("target", "expected"), SAME_SITE.items(), ids=repr)
def test_same_site_targets_are_kept(app, target, expected):
    with app.test_request_context():
        assert safe_next(target) == expected


def test_no_target_is_none(app):
    with app.test_request_context():
        assert safe_next(None) is None


URLISH = st.one_of(
    st.from_regex(r"\A[/\\\t\n\r %.:?#@a-z0-9\x00\x7f\x85\u2028]{0,30}\Z"),
    st.from_regex(r"\A(/|//|/\\|\\|https?:|javascript:)?[\t\n ]*(/|%2[fF]|%5[cC]|%0[9aAdD])*"
                  r"(evil\.example|aide|documents|mon-espace)(/[a-z0-9%]*)*(\?[^#]*)?(#.*)?\Z"),
    st.builds(lambda path, noise: path + noise,
              st.sampled_from(["/aide", "/documents", "/documents/abc", "/langue/en", "/"]),
              st.text(max_size=20)),
)


@settings(deadline=None)
@given(target=st.one_of(st.text(), st.text(alphabet=st.characters(codec=None)), URLISH))
def test_any_string_gives_a_same_site_path_or_none(app, target):
    with app.test_request_context():
        assert_same_site(safe_next(target))


@settings(deadline=None)
@given(target=st.text(alphabet=st.sampled_from(sorted(CONTROL | set("/\\:@.%?#")
                                                   | set(string.ascii_lowercase[:5])))))
def test_control_characters_never_survive(app, target):
    with app.test_request_context():
        result = safe_next(target)
    assert_same_site(result)
    if result is not None:
        assert not any(unicodedata.category(char).startswith("C") for char in target)


# Over HTTP: the three reproductions of the issue, and the line break that was a 500.

@pytest.mark.parametrize("target", [EVIL, "/%0A/evil.example/x", "/%0D%0ALocation:%20//evil"])
def test_language_change_stays_on_the_site(client, target):
    response = client.get(f"/langue/en?suivant={target}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_language_change_goes_back_to_the_page(client):
    response = client.get("/langue/en?suivant=/documents%3Fcategorie%3Dimaging")
    assert response.headers["Location"] == "/documents?categorie=imaging"


@pytest.mark.parametrize("target", ["/%09/evil.example/fake-login", "/%0A/evil.example/x"])
def test_sign_in_with_a_hostile_target_goes_to_the_home_page(client, app, demo_users, target):
    page = client.get(f"/connexion?suivant={target}").get_data(as_text=True)
    assert 'name="suivant"' not in page  # the form does not carry it on
    response = client.post(f"/connexion?suivant={target}", data={
        "csrf_token": csrf_from(page), "login": "camille.martin",
        "password": DEMO["camille.martin"].password})
    assert response.status_code == 303 and "evil" not in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.post(f"/connexion/code?suivant={target}", data={
        "csrf_token": csrf_from(page), "code": next_totp(app, "camille.martin")})
    assert response.status_code == 303
    assert response.headers["Location"] == "/mon-espace"


def test_sign_in_still_goes_back_to_the_wanted_page(client, app, demo_users):
    response = client.get("/documents?categorie=imaging")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.post(response.headers["Location"], data={
        "csrf_token": csrf_from(page), "login": "camille.martin",
        "password": DEMO["camille.martin"].password})
    location = response.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    response = client.post(location, data={"csrf_token": csrf_from(page),
                                           "code": next_totp(app, "camille.martin")})
    assert response.headers["Location"] == "/documents?categorie=imaging"


@pytest.mark.parametrize("target", ["/\t/evil.example/x", "/\n/evil.example/x", "//evil",
                                    "/deconnexion", "/page-qui-n-existe-pas"])
def test_stay_signed_in_with_a_hostile_target_goes_home(signed_in, target):
    browser = signed_in("camille.martin")
    token = csrf_from(browser.get("/mon-compte/sessions").get_data(as_text=True))
    response = browser.post("/session/prolonger", data={"csrf_token": token,
                                                        "suivant": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/mon-espace"


@pytest.mark.parametrize(("path", "expected"), [
    ("/documents?q=%0A", "/documents?q=%0A"),
    ("/documents?categorie=imaging", "/documents?categorie=imaging"),
    ("/documents/%0A", None),
    ("/documents/%09evil.example", None),
])
def test_the_access_gate_sends_a_same_site_target_to_sign_in(client, path, expected):
    response = client.get(path)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/connexion"
    assert dict(parse_qsl(location.query)).get("suivant") == expected
