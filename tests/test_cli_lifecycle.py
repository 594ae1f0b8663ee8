"""Operator commands of the life cycle, with e-mail through a real SMTP server on loopback."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain.models import ActivationCode, InsuredPerson, SpaceStatus
from extensions import db
from tests.domain.test_activation import ADULT, CHILD, CSV_HEADER, PARENT
from tests.fake_services import SmtpRelay

NO_EMAIL = "167089201234508,45678901234,Lefèvre,Paul,1967-08-21,1,,,12 rue des Lilas,\n"


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback; the app sends to it while the test runs."""
    relay = SmtpRelay().start()
    previous = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = relay.url
    yield relay
    app.config["SMTP_URL"] = previous
    relay.stop()


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_import_then_issue_codes_by_smtp_and_by_post(app, smtp, tmp_path):
    source = tmp_path / "assures.csv"
    source.write_text(CSV_HEADER + ADULT + PARENT + CHILD + NO_EMAIL + "bad,row\n")
    result = _run(app, "insured", "import", str(source))
    assert "4 created, 0 updated, 0 unchanged, 1 rejected." in result.output
    assert result.exit_code == 2 and "line 6: nir_format" in result.output
    assert "4 created" not in _run(app, "insured", "import", str(source)).output

    letters = tmp_path / "courriers.pdf"
    result = _run(app, "codes", "issue", "--all-pending", "--letters", str(letters))
    assert result.exit_code == 0, result.output
    assert "1 code(s) sent by e-mail, 3 by post." in result.output

    # The e-mail, received by a real SMTP server and parsed back.
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "jeanne@example.org"
    body = message.get_body(("plain",)).get_content()
    code = re.search(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})", body).group(1)
    assert "/arnaques" in body and "3646" in body
    assert not re.search(r"https?://\S*" + code.replace("-", ""), body)
    assert not re.search(r"https?://\S*" + code, body)
    with app.app_context():
        stored = db.session.execute(select(ActivationCode.code_hash)).scalars().all()
        assert all(code not in value for value in stored)

    # The letters: one page each, tagged, with the fraud warning.
    assert letters.stat().st_mode & 0o777 == 0o600  # the codes are in clear in the letters
    reader = PdfReader(io.BytesIO(letters.read_bytes()))
    assert len(reader.pages) == 3
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert all("arnaques" in text.lower() for text in texts)
    assert any("Lefèvre" in text and "12 rue des Lilas" in text for text in texts)
    assert any("représentant légal" in text for text in texts)  # Léo's code goes to Camille
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "fr" and "/StructTreeRoot" in root

    # Issuing again gives nobody a second code.
    assert "0 code(s) sent by e-mail, 0 by post." in _run(app, "codes", "issue",
                                                          "--all-pending").output


def test_issue_for_one_nir(app, tmp_path):
    source = tmp_path / "a.csv"
    source.write_text(CSV_HEADER + ADULT)
    _run(app, "insured", "import", str(source))
    result = _run(app, "codes", "issue", "--nir", "2 54 07 13 055 123 92")
    assert "1 code(s) sent by e-mail" in result.output
    assert _run(app, "codes", "issue", "--nir", "123").exit_code != 0


def test_expire_and_purge_commands(app, tmp_path):
    source = tmp_path / "a.csv"
    source.write_text(CSV_HEADER + ADULT)
    _run(app, "insured", "import", str(source))
    _run(app, "codes", "issue", "--all-pending")
    assert "0 space(s) created" in _run(app, "activation", "expire").output
    with app.app_context():
        from datetime import timedelta

        record = db.session.execute(select(ActivationCode)).scalar_one()
        record.sent_at -= timedelta(weeks=6, seconds=1)
        db.session.commit()
    assert "1 space(s) created" in _run(app, "activation", "expire").output
    assert "0 space(s) created" in _run(app, "activation", "expire").output
    with app.app_context():
        person = db.session.execute(select(InsuredPerson)).scalar_one()
        assert person.space_status == SpaceStatus.AUTO_CREATED and person.user_id
    assert "0 closed space(s) erased." in _run(app, "accounts", "purge").output
