"""`flask professionals add`: an RPPS number with its check digit, a profession, a sector;
a one-time set-up password printed once, which leads to the first sign-in."""

from __future__ import annotations

import re

from sqlalchemy import select

from domain.models import AuditEvent, Sector, User
from extensions import db
from tests.conftest import csrf_from

ARGS = ["professionals", "add", "--login", "dr.garnier", "--given-name", "Inès",
        "--family-name", "Garnier", "--rpps", "1000 3456 786", "--profession", "doctor",
        "--workplace", "Cabinet des Lilas, Lyon", "--email", "ines.garnier@example.org"]


def test_an_operator_creates_a_professional_with_a_set_up_password_only(app, demo_users):
    """The operator is shown a one-time set-up password and no second-factor secret: the
    professional chooses both at the first sign-in (tests/blueprints/auth/
    test_first_sign_in.py), so the operator never knows a working password."""
    result = app.test_cli_runner().invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    password = re.search(r"set-up password: (\S+)", result.output).group(1)
    assert "TOTP" not in result.output and "72 hours" in result.output
    with app.app_context():
        user = db.session.scalars(select(User).where(User.login == "dr.garnier")).one()
        assert user.rpps == "10003456786" and user.sector == Sector.CARE
        assert password not in (user.password_hash or "")
        assert user.second_factor is None and user.totp_secret_sealed is None
        assert user.setup_expires_at is not None
        for action in ("account.professional_created", "account.setup_issued"):
            event = db.session.scalars(select(AuditEvent).where(
                AuditEvent.action == action)).one()
            assert password not in event.details
    client = app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={"csrf_token": csrf_from(page),
                                               "login": "dr.garnier", "password": password})
    assert response.headers["Location"] == "/connexion/premiere-fois"


def test_bad_rpps_duplicates_and_sectors(app, demo_users):
    runner = app.test_cli_runner()
    bad = [*ARGS]
    bad[bad.index("1000 3456 786")] = "10003456787"
    result = runner.invoke(args=bad)
    assert result.exit_code != 0 and "not valid" in result.output
    assert runner.invoke(args=ARGS).exit_code == 0
    again = runner.invoke(args=[*ARGS[:3], "dr.autre", *ARGS[4:]])
    assert again.exit_code != 0 and "already has this RPPS" in again.output
    employer = runner.invoke(args=["professionals", "add", "--login", "rh.dupuis",
                                   "--given-name", "Marc", "--family-name", "Dupuis",
                                   "--rpps", "10009999995", "--profession", "doctor",
                                   "--sector", "employer"])
    assert employer.exit_code == 0
    with app.app_context():
        assert db.session.scalars(select(User.sector).where(
            User.login == "rh.dupuis")).one() == Sector.EMPLOYER


def test_names_that_a_spreadsheet_would_run_are_refused(app, demo_users):
    """A professional named `=HYPERLINK(...)` would be a live formula in a patient's
    access-history CSV: names are letters with spaces, hyphens, apostrophes and dots."""
    runner = app.test_cli_runner()
    for field, name in (("--family-name", '=HYPERLINK("https://evil.example","Voir")'),
                        ("--given-name", "+33 6 00 00 00 00"), ("--given-name", "@SUM(A1)"),
                        ("--family-name", "Garnier\r\nX"), ("--family-name", "G" * 81)):
        bad = [*ARGS]
        bad[bad.index(field) + 1] = name
        result = runner.invoke(args=bad)
        assert result.exit_code != 0 and "names are letters" in result.output, name
    with app.app_context():
        assert db.session.scalars(select(User.id).where(User.login == "dr.garnier")).first() \
            is None
    good = [*ARGS]
    good[good.index("--family-name") + 1] = "D’Arc-Le Goff"
    assert runner.invoke(args=good).exit_code == 0
