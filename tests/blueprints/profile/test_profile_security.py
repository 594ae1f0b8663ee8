"""Attacks on the medical profile, made as an outsider would make them: other people's ids,
the wrong role, no CSRF token, script in every field, overlong input, made-up slugs, and
health content looked for in clear in the database files and the logs."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from domain import audit, measures, profile
from domain.models import AuditEvent, Measure, ProfileEntry, ProfileSection, Role, User
from domain.policy import ProfileAction
from extensions import db, keys
from tests.blueprints.profile.summary_client import fetch_pdf
from tests.blueprints.profile.test_profile_pages import (
    FORMS,
    PATIENT,
    add,
    add_ok,
    count,
    post,
    text,
    token,
    user,
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
MEASURE_FORMS = {
    "weight": {"value": "70"}, "height": {"value": "170"}, "waist": {"value": "80"},
    "temperature": {"value": "37"}, "glucose": {"value": "1"},
    "blood_pressure": {"systolic": "120", "diastolic": "80"}, "heart_rate": {"value": "60"},
    "pain": {"value": "2"}, "head_circumference": {"value": "50"},
}


def _day(day: date | None = None) -> dict:
    day = day or date.today()
    return {"measured_on_day": str(day.day), "measured_on_month": str(day.month),
            "measured_on_year": str(day.year)}


def _stranger(app) -> str:
    """Another patient, with a key and something in every section and every measure."""
    with app.app_context():
        wrapped = keys.ring.new_patient_key()
        stranger = User(role=Role.PATIENT, login="autre.patient", given_name="Autre",
                        family_name="Patient", birth_date=date(2015, 1, 1),
                        wrapped_key=wrapped.wrapped, kek_version=wrapped.kek_version)
        db.session.add(stranger)
        db.session.flush()
        for section in profile.SECTIONS:
            reading = profile.validate(section, FORMS[section.slug][0], date.today())
            profile.add_entry(db.session, keys.ring, stranger, section, reading.values,
                              author=stranger, actor=audit.Actor())
        for kind in measures.KINDS:
            reading = measures.validate(kind, {**MEASURE_FORMS[kind.key], **_day()},
                                        date.today())
            measures.add(db.session, keys.ring, stranger, kind, reading.values, audit.Actor())
        db.session.commit()
        return stranger.id


def _theirs(app, patient_id: str):
    with app.app_context():
        entries = {entry.id: (profile.BY_KEY[entry.section].slug, entry.payload_sealed)
                   for entry in db.session.scalars(select(ProfileEntry).where(
                       ProfileEntry.patient_id == patient_id))}
        found = {item.id: (measures.BY_KEY[item.kind].slug, item.value_sealed)
                 for item in db.session.scalars(select(Measure).where(
                     Measure.patient_id == patient_id))}
        return entries, found


def _refusals(app, target_id: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.outcome == "denied")
        if target_id:
            query = query.where(AuditEvent.target_id == target_id)
        return list(db.session.scalars(query))


# --- other people's ids ----------------------------------------------------------------------

def test_another_patients_entries_and_measures_answer_404_everywhere(signed_in, app):
    client = signed_in(PATIENT)
    stranger_id = _stranger(app)
    entries, found = _theirs(app, stranger_id)
    assert len(entries) == len(profile.SECTIONS) and len(found) == len(measures.KINDS)
    me = user(app).id
    for entry_id, (slug, _sealed) in entries.items():
        base = f"/profil/{slug}/{entry_id}"
        for path in (base, f"{base}/modifier", f"{base}/supprimer"):
            assert client.get(path).status_code == 404, path
        for path in (f"{base}/modifier", f"{base}/supprimer"):
            assert post(client, path, FORMS[slug][0]).status_code == 404, path
        events = _refusals(app, entry_id)
        assert len(events) == 5, slug
        assert {event.action for event in events} == {
            "profile.entry_read", "profile.entry_edit", "profile.entry_delete"}
        assert all(event.actor_id == me and event.subject_id == stranger_id
                   and event.target_type == "profile_entry" for event in events)
    for measure_id, (slug, _sealed) in found.items():
        path = f"/profil/mesures/{slug}/{measure_id}/supprimer"
        if slug == "perimetre-cranien":  # not a kind for an adult: refused before any lookup
            assert client.get(path).status_code == 404
            continue
        assert client.get(path).status_code == 404, path
        assert post(client, path).status_code == 404, path
        events = _refusals(app, measure_id)
        assert [event.action for event in events] == ["profile.measure_delete"] * 2
        assert all(event.subject_id == stranger_id for event in events)
    # Nothing of theirs changed.
    assert _theirs(app, stranger_id) == (entries, found)
    # And nothing of theirs shows on my pages.
    for slug in FORMS:
        assert "Paul Martin" not in client.get(f"/profil/{slug}").get_data(as_text=True)
    assert "Non renseigné" in text(client.get("/profil/resume").get_data(as_text=True))


def test_my_entry_under_another_sections_slug_answers_404(signed_in, app):
    client = signed_in(PATIENT)
    entry_id = add_ok(client, "allergies")
    with app.app_context():
        before = db.session.get(ProfileEntry, entry_id).payload_sealed
    for slug in ("maladies", "vaccinations", "directives-anticipees"):
        base = f"/profil/{slug}/{entry_id}"
        for path in (base, f"{base}/modifier", f"{base}/supprimer"):
            assert client.get(path).status_code == 404, path
        for path in (f"{base}/modifier", f"{base}/supprimer"):
            assert post(client, path, FORMS[slug][0]).status_code == 404, path
    assert len(_refusals(app, entry_id)) == 15
    with app.app_context():
        assert db.session.get(ProfileEntry, entry_id).payload_sealed == before
    # A measure under another kind's slug.
    post(client, "/profil/mesures/poids", {"value": "70", **_day()})
    with app.app_context():
        measure_id = db.session.scalars(select(Measure.id)).one()
    for path in (f"/profil/mesures/taille/{measure_id}/supprimer",
                 f"/profil/mesures/tension/{measure_id}/supprimer"):
        assert client.get(path).status_code == 404
        assert post(client, path).status_code == 404
    assert count(app, Measure) == 1


@pytest.mark.parametrize("path", [
    "/profil/inconnu", "/profil/MALADIES", "/profil/maladies%00", "/profil/..%2F..%2Fadmin",
    "/profil/inconnu/0123456789abcdef0123456789abcdef",
    "/profil/inconnu/0123456789abcdef0123456789abcdef/modifier",
    "/profil/inconnu/0123456789abcdef0123456789abcdef/supprimer",
    "/profil/mesures/inconnu", "/profil/mesures/inconnu/0123456789abcdef0123456789abcdef/"
                               "supprimer",
])
def test_a_made_up_slug_answers_404(signed_in, app, path):
    client = signed_in(PATIENT)
    assert client.get(path).status_code == 404
    assert post(client, path, {"name": "x"}).status_code in (404, 405)
    assert post(client, "/profil/inconnu/non-concerne", {"non_concerne": "oui"}).status_code == 404
    assert count(app) == 0 and count(app, ProfileSection) == 0 and count(app, Measure) == 0


@pytest.mark.parametrize("entry_id", [
    "x" * 1000, "' OR 1=1 --", "%2e%2e", "é" * 40, "0" * 32, "<script>", "1;DROP TABLE users"])
def test_absurd_entry_ids_answer_404_and_are_audited_short(signed_in, app, entry_id):
    client = signed_in(PATIENT)
    for path in (f"/profil/allergies/{entry_id}", f"/profil/allergies/{entry_id}/modifier",
                 f"/profil/allergies/{entry_id}/supprimer",
                 f"/profil/mesures/poids/{entry_id}/supprimer"):
        assert client.get(path).status_code == 404, path
    events = _refusals(app)
    assert len(events) == 4 and all(len(event.target_id) <= 32 for event in events)


def test_an_allowed_read_of_an_entry_is_audited_too(signed_in, app):
    client = signed_in(PATIENT)
    entry_id = add_ok(client, "allergies")
    assert client.get(f"/profil/allergies/{entry_id}").status_code == 200
    with app.app_context():
        reads = db.session.scalars(select(AuditEvent).where(
            AuditEvent.target_id == entry_id, AuditEvent.action == "profile.entry_read")).all()
    assert [event.outcome for event in reads] == ["success"]


# --- the wrong role --------------------------------------------------------------------------

def _profile_paths(app, entry_id: str, measure_id: str) -> list[tuple[str, str]]:
    values = {"slug": "allergies", "entry_id": entry_id, "measure_id": measure_id,
              "space_id": "0" * 32}
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("profile."):
            continue
        args = {name: values[name] for name in rule.arguments}
        if "measure_id" in args:
            args["slug"] = "poids"
        path = rule.build(args)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.append((method, path))
    return paths


@pytest.mark.parametrize("login", ["dr.bernard", "conseil.durand"])
def test_professionals_and_advisers_never_enter_the_profile(signed_in, app, login):
    patient = signed_in(PATIENT)
    entry_id = add_ok(patient, "allergies")
    post(patient, "/profil/mesures/poids", {"value": "70", **_day()})
    with app.app_context():
        measure_id = db.session.scalars(select(Measure.id)).one()
    paths = _profile_paths(app, entry_id, measure_id)
    assert len(paths) >= 18
    other = signed_in(login)
    csrf = csrf_token_of(other)
    for method, path in paths:
        if method == "GET":
            response = other.get(path)
        else:
            response = other.post(path, data={"csrf_token": csrf, **FORMS["allergies"][0]})
        assert response.status_code == 403, (login, method, path, response.status_code)
        assert "Pénicillines" not in response.get_data(as_text=True)
    assert count(app) == 1 and count(app, Measure) == 1


def csrf_token_of(client) -> str:
    from tests.conftest import csrf_from

    return csrf_from(client.get("/mon-compte/sessions").get_data(as_text=True))


def test_signed_out_visitors_go_to_sign_in(client, app, demo_users):
    for path in ("/profil", "/profil/allergies", "/profil/mesures/poids", "/profil/resume.pdf"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/connexion"), path


# --- CSRF ------------------------------------------------------------------------------------

def test_a_post_without_csrf_token_is_refused_and_changes_nothing(signed_in, app):
    client = signed_in(PATIENT)
    entry_id = add_ok(client, "allergies")
    post(client, "/profil/mesures/poids", {"value": "70", **_day()})
    with app.app_context():
        measure_id = db.session.scalars(select(Measure.id)).one()
        before = db.session.get(ProfileEntry, entry_id).payload_sealed
    attempts = [(f"/profil/{slug}", form) for slug, (form, _shown) in FORMS.items()] + [
        (f"/profil/allergies/{entry_id}/modifier", {"substance": "latex", "severity": "mild"}),
        (f"/profil/allergies/{entry_id}/supprimer", {}),
        ("/profil/maladies/non-concerne", {"non_concerne": "oui"}),
        ("/profil/mesures/poids", {"value": "71", **_day()}),
        (f"/profil/mesures/poids/{measure_id}/supprimer", {}),
        ("/profil/entourage/document-directives", {"date_day": "1", "date_month": "1",
                                                   "date_year": "2024"}),
    ]
    for forged in (None, "forged-token", token(signed_in(PATIENT))):  # another session's
        for path, form in attempts:
            data = dict(form)
            if forged:
                data["csrf_token"] = forged
            response = client.post(path, data=data)
            assert response.status_code == 400, (path, forged, response.status_code)
            assert "La demande n’a pas pu être traitée" in response.get_data(as_text=True)
            htmx = client.post(path, data=form, headers={"HX-Request": "true",
                                                         "X-CSRFToken": forged or ""})
            assert htmx.status_code == 400, path
    assert count(app) == 1 and count(app, Measure) == 1 and count(app, ProfileSection) == 0
    with app.app_context():
        assert db.session.get(ProfileEntry, entry_id).payload_sealed == before
        assert db.session.scalars(select(ProfileEntry.patient_id)).one() == user(app).id


def test_extra_form_fields_cannot_set_owner_author_or_lock(signed_in, app):
    client = signed_in(PATIENT)
    stranger_id = _stranger(app)
    response = add(client, "maladies", {**FORMS["maladies"][0], "patient_id": stranger_id,
                                        "author_id": stranger_id, "locked": "1", "id": "0" * 32,
                                        "section": "directives", "is_admin": "1"})
    assert response.status_code == 303
    entry_id = re.search(r"#entry-([0-9a-f]{32})$", response.headers["Location"]).group(1)
    me = user(app).id
    with app.app_context():
        entry = db.session.get(ProfileEntry, entry_id)
        assert (entry.patient_id, entry.author_id, entry.locked, entry.section) == (
            me, me, False, "conditions")
        owner = db.session.get(User, me)
        item = profile.get_entry(db.session, keys.ring, owner, owner,
                                 profile.BY_KEY["conditions"], entry_id, ProfileAction.READ,
                                 audit.Actor())
        assert set(item.values) == {"condition", "since", "note"}


# --- script in every field -------------------------------------------------------------------

def _hostile_form(slug: str, payload: str) -> dict:
    section = profile.BY_SLUG[slug]
    form = dict(FORMS[slug][0])
    for spec in section.fields:
        if spec.kind in ("text", "longtext"):
            form[spec.name] = payload
        elif spec.kind == "coded":
            form[spec.name], form[f"{spec.name}_other"] = "other", payload
    return form


HOSTILE_SLUGS = [slug for slug, (form, _shown) in FORMS.items()
                 if any(spec.kind in ("text", "longtext", "coded")
                        for spec in profile.BY_SLUG[slug].fields)]


def _escaped(html: str, payload: str, where: str, shown: bool = True) -> None:
    assert "<script>alert(1)" not in html, where
    assert "<img src=x" not in html, where
    if not shown:
        return
    if payload == SCRIPT:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, where
    else:
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, where


@pytest.mark.parametrize("payload", [SCRIPT, IMG], ids=["script", "img"])
def test_script_in_every_text_field_is_escaped_everywhere(signed_in, app, payload):
    client = signed_in(PATIENT)
    ids = {}
    for slug in HOSTILE_SLUGS:
        response = add(client, slug, _hostile_form(slug, payload))
        assert response.status_code == 303, (slug, response.get_data(as_text=True)[:2000])
        ids[slug] = re.search(r"#entry-([0-9a-f]{32})$", response.headers["Location"]).group(1)
    fragment = {"HX-Request": "true"}
    for slug, entry_id in ids.items():
        section = client.get(f"/profil/{slug}").get_data(as_text=True)
        _escaped(section, payload, slug)
        base = f"/profil/{slug}/{entry_id}"
        for path, shown in ((base, True), (f"{base}/modifier", True),
                            (f"{base}/supprimer", False)):  # the title may be a choice
            _escaped(client.get(path).get_data(as_text=True), payload, path, shown)
            html = client.get(path, headers={**fragment, "HX-Target": f"entry-{entry_id}"})
            _escaped(html.get_data(as_text=True), payload, f"{path} (htmx)", shown)
    for path in ("/profil", "/profil/resume", "/profil/entourage"):
        _escaped(client.get(path).get_data(as_text=True), payload, path)
    pdf = fetch_pdf(client)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # Typed back after an error, still escaped.
    failed = add(client, "traitements", {"name": payload, "dose": payload,
                                         "since_year": "3000"})
    assert failed.status_code == 422
    _escaped(failed.get_data(as_text=True), payload, "422")


# --- overlong input --------------------------------------------------------------------------

LONG_FIELDS = [(section.slug, spec) for section in profile.SECTIONS for spec in section.fields
               if spec.kind in ("text", "longtext", "coded")]


@pytest.mark.parametrize(("slug", "spec"), LONG_FIELDS,
                         ids=[f"{slug}.{spec.name}" for slug, spec in LONG_FIELDS])
def test_overlong_text_is_refused_with_a_message_not_truncated(signed_in, app, slug, spec):
    client = signed_in(PATIENT)
    typed = "é" * (spec.max_length + 1)
    form = dict(FORMS[slug][0])
    if spec.kind == "coded":
        form[spec.name], form[f"{spec.name}_other"] = "other", typed
    else:
        form[spec.name] = typed
    response = add(client, slug, form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (f"{spec.max_length} caractères au plus (vous en avez saisi "
            f"{spec.max_length + 1})") in text(html)
    assert typed in html  # given back whole, to shorten
    assert count(app) == 0


def test_the_length_reported_is_the_length_typed(signed_in, app):
    client = signed_in(PATIENT)
    typed = "a" * 5000
    response = add(client, "mode-de-vie", {"topic": "food", "description": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "1000 caractères au plus (vous en avez saisi 5000)" in text(html)
    assert typed in html  # given back whole
    assert count(app) == 0


# --- nothing in clear at rest, nothing in the logs -------------------------------------------

def _database_bytes(app) -> bytes:
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("reads the SQLite file; this run uses another database")
    with app.app_context():
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    path = Path(url.database)
    data = path.read_bytes()
    wal = Path(f"{path}-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def test_canaries_typed_over_http_are_never_in_clear(signed_in, app, caplog):
    caplog.set_level(logging.DEBUG)
    client = signed_in(PATIENT)
    tag = secrets.token_hex(4).upper()
    planted = []
    for section in profile.SECTIONS:
        form = dict(FORMS[section.slug][0])
        for spec in section.fields:
            canary = f"CANARY-{section.key.upper()}-{spec.name.upper()}-{tag}"[:spec.max_length]
            if spec.kind in ("text", "longtext"):
                form[spec.name] = canary
            elif spec.kind == "coded":
                form[spec.name], form[f"{spec.name}_other"] = "other", canary
            else:
                continue
            planted.append(canary)
        assert add(client, section.slug, form).status_code == 303, section.key
        # A refused attempt (too long) with its own canary is not kept anywhere either.
        text_field = next((spec for spec in section.fields
                           if spec.kind in ("text", "longtext")), None)
        if text_field is None:
            continue
        refused = f"CANARY-REFUSED-{section.key.upper()}-{tag}"
        planted.append(refused)
        bad = {**form, text_field.name: f"{refused} {'x' * text_field.max_length}"}
        response = add(client, section.slug, bad)
        assert response.status_code == 422
        if section.limit > 1:  # a full section shows no form (see test_profile_pages)
            assert refused in response.get_data(as_text=True)
    for kind in measures.kinds_for(user(app), date.today()):
        response = post(client, f"/profil/mesures/{kind.slug}", {
            **MEASURE_FORMS[kind.key], **_day(), "time": "5:43"})
        assert response.status_code == 303, kind.key
    # Change and delete go through the same seal.
    with app.app_context():
        entry_id = db.session.scalars(select(ProfileEntry.id).where(
            ProfileEntry.section == "lifestyle")).one()
    changed = f"CANARY-CHANGED-{tag}"
    planted.append(changed)
    assert post(client, f"/profil/mode-de-vie/{entry_id}/modifier",
                {"topic": "sleep", "description": changed}).status_code == 303
    assert changed in text(client.get("/profil/mode-de-vie").get_data(as_text=True))
    assert len(planted) >= 30
    stored = _database_bytes(app)
    for canary in planted:
        assert canary.encode() not in stored, canary
        assert canary not in caplog.text, canary
    assert tag.encode() not in stored
    assert b'"systolic": 120' not in stored and b'"time": "05:43"' not in stored
