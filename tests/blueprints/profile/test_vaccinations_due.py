"""The vaccinations still to do follow every in-place change to the vaccinations (issue 17,
item 6): the htmx answers to add, change and delete carry the list out of band."""

from __future__ import annotations

import re
from datetime import date

from bs4 import BeautifulSoup

from tests.blueprints.profile.test_profile_pages import (
    HTMX,
    PATIENT,
    _fragment,
    set_birth_date,
    text,
    token,
    years_ago,
)

BOOSTER_DUE = "Diphtérie, tétanos, polio (rappel adulte) : à faire maintenant"
NOTHING_DUE = "Aucune vaccination n’est à faire dans les 3 prochains mois"


def _due(html: str) -> str:
    """The out-of-band list of an htmx answer, as a person reads it."""
    found = BeautifulSoup(html, "html.parser").select('[id="vaccinations-due"][hx-swap-oob]')
    assert len(found) == 1, html[-1500:]
    return text(str(found[0]))


def test_in_place_changes_carry_the_vaccinations_due(signed_in, app):
    set_birth_date(app, years_ago(45, days=10))  # the 45-year booster is due now
    client = signed_in(PATIENT)
    page = client.get("/profil/vaccinations").get_data(as_text=True)
    assert 'id="vaccinations-due"' in page and "hx-swap-oob" not in page.split(
        'id="vaccinations-due"')[1][:40]
    assert BOOSTER_DUE in text(page)
    csrf = {"X-CSRFToken": token(client)}
    section = {**HTMX, **csrf, "HX-Target": "section-content"}
    today = date.today()
    dose = {"vaccine": "dtp", "given_on_day": str(today.day),
            "given_on_month": str(today.month), "given_on_year": str(today.year)}

    added = client.post("/profil/vaccinations", data=dose, headers=section)
    assert added.status_code == 200
    html = _fragment(added)
    assert NOTHING_DUE in _due(html)
    entry_id = re.search(r'id="entry-([0-9a-f]{32})"', html).group(1)

    target = {**HTMX, **csrf, "HX-Target": f"entry-{entry_id}"}
    changed = client.post(f"/profil/vaccinations/{entry_id}/modifier",
                          data={**dose, "vaccine": "influenza"}, headers=target)
    assert changed.status_code == 200
    assert BOOSTER_DUE in _due(_fragment(changed))

    client.post(f"/profil/vaccinations/{entry_id}/modifier", data=dose, headers=target)
    gone = client.post(f"/profil/vaccinations/{entry_id}/supprimer", headers=section)
    assert gone.status_code == 200
    assert BOOSTER_DUE in _due(_fragment(gone))


def test_other_sections_carry_no_vaccinations_due(signed_in, app):
    set_birth_date(app, years_ago(45, days=10))
    client = signed_in(PATIENT)
    section = {**HTMX, "X-CSRFToken": token(client), "HX-Target": "section-content"}
    html = _fragment(client.post("/profil/allergies", data={"substance": "latex",
                                                           "severity": "mild"},
                                 headers=section))
    assert "vaccinations-due" not in html
