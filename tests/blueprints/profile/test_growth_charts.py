"""A child's growth curves over HTTP (issue 15): Camille adds her son Léo's measures in his
space, and his chart shows them against the WHO centile lines for boys, with each measure's
centile band in words in the table and the source under the chart. An adult's chart has no
lines; head circumference has none after 5 years; without a known sex, none either and a
sentence says why. Also the two domain helpers the page uses (domain/growth.py)."""

from __future__ import annotations

from datetime import date, timedelta

from bs4 import BeautifulSoup
from sqlalchemy import select

from domain import growth
from domain.models import InsuredPerson, Representation, User
from extensions import db
from tests.conftest import csrf_from
from tests.html_checks import check_page

PARENT = "camille.martin"
SOURCE = "Courbes : standards de croissance de l’OMS (2006, 0–5 ans ; 2007, 5–19 ans)"
LABELS = ["3e", "15e", "50e", "85e", "97e"]


def leo(app) -> User:
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == PARENT)).one()
        child_id = db.session.scalars(select(Representation.represented_id).where(
            Representation.representative_id == camille.id)).one()
        child = db.session.get(User, child_id)
        db.session.expunge(child)
        return child


def add_measure(client, base: str, slug: str, day: date, value: str):
    token = csrf_from(client.get(f"{base}/profil/mesures/{slug}").get_data(as_text=True))
    return client.post(f"{base}/profil/mesures/{slug}", data={
        "csrf_token": token, "value": value, "measured_on_day": str(day.day),
        "measured_on_month": str(day.month), "measured_on_year": str(day.year)})


def words(band: tuple) -> str:
    """The band in French, written here independently of web/labels/growth.py."""
    if band[0] == "between":
        return f"entre le {band[1]}e et le {band[2]}e centile"
    return {"on": "sur le {}e centile", "above": "au-dessus du {}e centile",
            "below": "au-dessous du {}e centile"}[band[0]].format(band[1])


def page_of(client, path: str) -> tuple[str, BeautifulSoup]:
    response = client.get(path)
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    return html, BeautifulSoup(html, "html.parser")


def centile_column(soup: BeautifulSoup) -> list[str]:
    headers = [th.get_text(" ", strip=True) for th in soup.select("table.data-table thead th")]
    if "Centile (OMS)" not in headers:
        return []
    index = headers.index("Centile (OMS)")
    return [row.find_all(["th", "td"])[index].get_text(" ", strip=True)
            for row in soup.select("table.data-table tbody tr")]


def test_a_childs_weight_against_the_who_centiles(app, signed_in):
    client = signed_in(PARENT)
    child = leo(app)
    base = f"/espace/{child.id}"
    today = date.today()
    # Values placed on purpose (at the measure's age): between the 50th and 85th centiles,
    # above the 97th, on the 50th. Weight is typed to 2 decimals, as the form allows.
    wanted = [(today - timedelta(days=400), 70), (today - timedelta(days=200), 99.5),
              (today, 50)]
    typed = []
    for day, centile in wanted:
        age = growth.decimal_age(child.birth_date, day)
        value = round(growth.value_for_centile(growth.Sex.MALE, "weight", age, centile), 2)
        typed.append((day, value))
        response = add_measure(client, base, "poids", day, f"{value:.2f}".replace(".", ","))
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        assert response.headers["Location"] == f"{base}/profil/mesures/poids"

    html, soup = page_of(client, f"{base}/profil/mesures/poids")
    assert check_page(html) == []
    svg = soup.select_one("figure.chart > svg[role=img]")
    assert svg.title.get_text() == "Courbe de croissance : Poids selon l’âge"
    description = svg.desc.get_text()
    assert description.startswith("3 mesures, de ")
    assert ("Les lignes fines, sans points, sont les 3e, 15e, 50e, 85e et 97e centiles des "
            "standards de croissance de l’OMS pour les garçons.") in description
    lines = svg.select("g.chart__reference polyline")
    assert len(lines) == 5
    assert [line.get("stroke-dasharray") for line in lines] == ["5 3", None, None, None, "5 3"]
    assert [text.get_text() for text in svg.select("g.chart__reference-labels text")] == LABELS
    # The child's measures: one series (line and three markers), drawn over the lines.
    assert len(svg.select("g.chart__series")) == 1
    assert len(svg.select("g.chart__series .chart__marker")) == 3
    assert svg.find_all("g", recursive=False)[-1]["class"][0] == "chart__series"
    assert soup.select_one("figure.chart > p.chart__note").get_text() == SOURCE
    assert soup.select_one("figure.chart + div.table-scroll table") is not None

    expected = [words(growth.assess(growth.Sex.MALE, "weight", value,
                                    birth_date=child.birth_date, measured_on=day).band)
                for day, value in reversed(typed)]  # the table is newest first
    assert expected == ["sur le 50e centile", "au-dessus du 97e centile",
                        "entre le 50e et le 85e centile"]
    assert centile_column(soup) == expected


def test_the_htmx_add_swaps_in_the_chart_with_its_lines(app, signed_in):
    client = signed_in(PARENT)
    child = leo(app)
    base = f"/espace/{child.id}"
    token = csrf_from(client.get(f"{base}/profil/mesures/taille").get_data(as_text=True))
    today = date.today()
    response = client.post(f"{base}/profil/mesures/taille", data={
        "value": "124", "measured_on_day": str(today.day), "measured_on_month": str(today.month),
        "measured_on_year": str(today.year)}, headers={
        "HX-Request": "true", "HX-Target": "measure-content", "X-CSRFToken": token})
    assert response.status_code == 200
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert len(soup.select("g.chart__reference polyline")) == 5  # one measure: lines around it
    assert len(centile_column(soup)) == 1 and SOURCE in soup.get_text(" ")


def test_an_adults_weight_chart_has_no_centile_lines(app, signed_in):
    client = signed_in(PARENT)
    today = date.today()
    for day, value in ((today - timedelta(days=60), "64,5"), (today, "63")):
        assert add_measure(client, "", "poids", day, value).status_code == 303
    html, soup = page_of(client, "/profil/mesures/poids")
    assert check_page(html) == []
    assert soup.select_one("figure.chart > svg") is not None
    assert soup.select(".chart__reference") == [] and "centile" not in html.lower()
    assert centile_column(soup) == [] and SOURCE not in soup.get_text(" ")


def test_head_circumference_has_no_lines_after_5_years(app, signed_in):
    client = signed_in(PARENT)
    child = leo(app)
    base = f"/espace/{child.id}"
    today = date.today()
    assert growth.decimal_age(child.birth_date, today - timedelta(days=100)) > 5
    for day, value in ((today - timedelta(days=100), "51,5"), (today, "51,8")):
        assert add_measure(client, base, "perimetre-cranien", day, value).status_code == 303
    html, soup = page_of(client, f"{base}/profil/mesures/perimetre-cranien")
    assert check_page(html) == []
    assert soup.select_one("figure.chart > svg") is not None
    assert soup.select(".chart__reference") == [] and SOURCE not in soup.get_text(" ")
    assert "centiles des standards" not in soup.svg.desc.get_text()
    assert centile_column(soup) == ["hors des standards de l’OMS à cet âge"] * 2

    # One measure before the 5th birthday: lines up to 5 years, a band for that one only.
    before = child.birth_date.replace(year=child.birth_date.year + 4)
    assert add_measure(client, base, "perimetre-cranien", before, "50,2").status_code == 303
    html, soup = page_of(client, f"{base}/profil/mesures/perimetre-cranien")
    assert check_page(html) == []
    lines = soup.select("g.chart__reference polyline")
    assert len(lines) == 5 and SOURCE in soup.get_text(" ")
    last_x = max(float(pair.split(",")[0]) for pair in lines[2]["points"].split())
    markers = [float(g["transform"].split("(")[1].split()[0])
               for g in soup.select("g.chart__series .chart__marker")]
    assert markers[0] < last_x < markers[1]  # the lines stop at 60 months
    band = growth.assess("male", "head_circumference", 50.2, birth_date=child.birth_date,
                         measured_on=before).band
    assert centile_column(soup) == ["hors des standards de l’OMS à cet âge"] * 2 + [words(band)]


def test_without_a_known_sex_no_lines_and_a_sentence_says_why(app, signed_in):
    client = signed_in(PARENT)
    child = leo(app)
    with app.app_context():
        record = db.session.scalars(select(InsuredPerson).where(
            InsuredPerson.user_id == child.id)).one()
        record.user_id = None
        db.session.commit()
    base = f"/espace/{child.id}"
    assert add_measure(client, base, "poids", date.today(), "24").status_code == 303
    html, soup = page_of(client, f"{base}/profil/mesures/poids")
    assert check_page(html) == []
    assert soup.select(".chart__reference") == [] and centile_column(soup) == []
    assert ("Le sexe de l’enfant n’est pas connu : les courbes de l’OMS, qui diffèrent pour "
            "les filles et les garçons, ne peuvent pas être tracées.") in soup.get_text(" ")
    assert SOURCE not in soup.get_text(" ")


# --- the domain helpers ----------------------------------------------------------------------

def test_sex_of_reads_the_insurers_record(app, demo_users):
    child = leo(app)
    with app.app_context():
        camille = db.session.scalars(select(User).where(User.login == PARENT)).one()
        assert growth.sex_of(db.session, child) == growth.Sex.MALE
        assert growth.sex_of(db.session, camille) == growth.Sex.FEMALE
        record = db.session.scalars(select(InsuredPerson).where(
            InsuredPerson.user_id == camille.id)).one()
        record.sex = "9"
        assert growth.sex_of(db.session, camille) is None
        nobody = db.session.scalars(select(User).where(User.login == "dr.bernard")).one()
        assert growth.sex_of(db.session, nobody) is None
        db.session.rollback()


def test_child_chart_lines_are_the_whole_reference_when_the_measures_meet_it():
    """The lines are the reference's own, the same objects for every child (the chart cuts
    them to its span): none is computed again for a child or a new measure."""
    born = date(2019, 5, 14)
    measured = [(date(2023, 5, 14), 50.0), (date(2024, 11, 14), 51.0)]
    chart = growth.child_chart("male", "head_circumference", born, measured)
    assert [line.centile for line in chart.lines] == [3, 15, 50, 85, 97]
    assert chart.lines is growth.reference_lines("male", "head_circumference")
    ages = [age for age, _ in chart.lines[0].points]
    assert ages[0] == 0 and abs(ages[-1] - growth.age_range("head_circumference")[1]) < 0.01
    other = growth.child_chart("male", "head_circumference", date(2022, 1, 3),
                               [(date(2022, 2, 1), 38.0)])
    assert other.lines is chart.lines
    # Within a month after the reference's end, the lines still come (the chart shows
    # where they stop); beyond it, none.
    assert growth.child_chart("male", "head_circumference", born,
                              [(date(2024, 5, 30), 51.0)]).lines is chart.lines
    assert chart.assessments[0] is not None and chart.assessments[1] is None
    later = growth.child_chart("male", "head_circumference", born, measured[1:])
    assert later.lines == () and later.assessments == (None,)
    assert growth.child_chart("female", "weight", born, []) == growth.ChildChart((), ())


def test_a_childs_bmi_curve_from_weights_and_heights(app, signed_in):
    """The BMI page pairs each weight with the height measured closest to it, draws the
    WHO BMI-for-age lines and names each BMI's centile; an adult has no such page."""
    client = signed_in(PARENT)
    child = leo(app)
    base = f"/espace/{child.id}"
    html, soup = page_of(client, f"{base}/profil/mesures")
    link = soup.find("a", string="Voir la courbe de corpulence")
    assert link is not None and link["href"] == f"{base}/profil/mesures/imc"
    html, soup = page_of(client, f"{base}/profil/mesures/imc")
    assert check_page(html) == [] and soup.select_one("figure.chart") is None
    assert "Aucun IMC pour l’instant" in soup.get_text(" ")

    today = date.today()
    visits = [(today - timedelta(days=300), today - timedelta(days=290), 60),
              (today, today, 92)]  # (weight's day, height's day, centile wanted)
    expected = []
    for weight_day, height_day, centile in visits:
        height = 115.0 if weight_day == today else 110.0
        bmi = growth.value_for_centile(growth.Sex.MALE, "bmi",
                                       growth.decimal_age(child.birth_date, weight_day), centile)
        weight = round(bmi * (height / 100) ** 2, 2)
        assert add_measure(client, base, "taille", height_day,
                           f"{height:.1f}".replace(".", ",")).status_code == 303
        assert add_measure(client, base, "poids", weight_day,
                           f"{weight:.2f}".replace(".", ",")).status_code == 303
        value = round(weight / (height / 100) ** 2, 1)
        expected.append((value, words(growth.assess(
            growth.Sex.MALE, "bmi", value, birth_date=child.birth_date,
            measured_on=weight_day).band)))
    assert [band for _value, band in expected] == ["entre le 50e et le 85e centile",
                                                   "entre le 85e et le 97e centile"]
    html, soup = page_of(client, f"{base}/profil/mesures/imc")
    assert check_page(html) == []
    assert soup.title.get_text().startswith("Léo – Indice de masse corporelle (IMC)")
    assert len(soup.select("g.chart__reference polyline")) == 5
    assert soup.select_one("figure.chart > p.chart__note").get_text() == SOURCE
    rows = [[cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])]
            for row in soup.select("table.data-table tbody tr")]
    assert [row[2] for row in rows] == [f"{value:g}".replace(".", ",")
                                        for value, _band in reversed(expected)]
    assert centile_column(soup) == [band for _value, band in reversed(expected)]
    assert "taille du" in rows[1][3] and "taille du" not in rows[0][3]
    adult = client.get("/profil/mesures/imc")  # Camille is an adult: her BMI is there
    assert adult.status_code == 302 and adult.headers["Location"] == "/profil/mesures"
