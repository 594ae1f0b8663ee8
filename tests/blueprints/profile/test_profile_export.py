"""The space export carries the medical profile: entries with their codes, vaccinations,
measures — and closing with deletion erases the profile rows with the account."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from domain import closing
from domain.demo import profile as demo_profile
from domain.models import Measure, ProfileEntry, User
from extensions import db, keys


def test_export_holds_the_profile_with_codes_and_measures(app, signed_in, demo_users):
    with app.app_context():
        demo_profile.seed_profile(db.session, keys.ring, "camille.martin", date(2026, 11, 26))
        db.session.commit()
    client = signed_in("camille.martin")
    archive = client.get("/mon-compte/export.zip")
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        data = json.loads(zipped.read("mon-espace/profil-medical.json"))
        summary = json.loads(zipped.read("mon-espace/ips.json"))
    allergy = data["sections"]["allergies"]["entries"][0]
    assert allergy["substance"] == {"key": "penicillins", "text": None,
                                    "system": "http://www.whocc.no/atc", "code": "J01C"}
    assert data["sections"]["conditions"]["entries"][0]["condition"]["code"] == "J45"
    assert {entry["vaccine"] for entry in data["sections"]["vaccinations"]["entries"]} == {
        "dtp", "influenza"}
    assert len(data["measures"]["weight"]) == 12
    assert set(data["measures"]["blood_pressure"][0]) == {"date", "systolic", "diastolic"}
    # The same profile in the International Patient Summary, with the same codes.
    resources = {entry["resource"]["resourceType"]: entry["resource"]
                 for entry in summary["entry"]}
    assert resources["AllergyIntolerance"]["code"]["coding"] == [
        {"system": "http://www.whocc.no/atc", "code": "J01C"}]
    assert resources["Condition"]["code"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/icd-10", "code": "J45"}]
    weights = [entry["resource"] for entry in summary["entry"]
               if entry["resource"].get("code", {}).get("coding", [{}])[0].get("code")
               == "29463-7"]
    assert len(weights) == 1  # the latest weight: a summary, not the history


def test_demo_profile_is_seeded_once(app, demo_users):
    with app.app_context():
        assert demo_profile.seed_profile(db.session, keys.ring, "camille.martin",
                                         date(2026, 11, 26))
        assert not demo_profile.seed_profile(db.session, keys.ring, "camille.martin",
                                             date(2026, 11, 26))


def test_purging_a_closed_space_erases_its_profile(app, demo_users):
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    with app.app_context():
        demo_profile.seed_profile(db.session, keys.ring, "camille.martin", now.date())
        user = db.session.scalars(select(User).where(User.login == "camille.martin")).one()
        user_id = user.id
        closing.erase_user(db.session, user_id)
        db.session.commit()
        for model in (ProfileEntry, Measure):
            assert db.session.scalar(select(func.count()).select_from(model).where(
                model.patient_id == user_id)) == 0
