"""The space export carries every conversation in clear for its owner, and the demo
conversation is seeded once."""

from __future__ import annotations

import io
import json
import zipfile

from domain.demo import messages as demo_messages
from extensions import db, keys


def test_export_holds_the_conversations(app, signed_in, demo_users):
    with app.app_context():
        assert demo_messages.seed_messages(db.session, keys.ring, "camille.martin", "dr.bernard")
        db.session.commit()
    client = signed_in("camille.martin")
    archive = client.get("/mon-compte/export.zip")
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        data = json.loads(zipped.read("mon-espace/messages.json"))
    assert len(data) == 1
    conversation = data[0]
    assert conversation["subject"] == "Résultats de votre prise de sang"
    assert conversation["professional"].endswith("Bernard")
    assert [item["from"] for item in conversation["messages"]] == [
        "professional", "patient", "professional"]
    assert [item["text"] for item in conversation["messages"]] == [
        body for _side, body in demo_messages.THREAD]


def test_demo_conversation_is_seeded_once(app, demo_users):
    with app.app_context():
        assert demo_messages.seed_messages(db.session, keys.ring, "camille.martin", "dr.bernard")
        assert not demo_messages.seed_messages(db.session, keys.ring, "camille.martin",
                                               "dr.bernard")
        assert not demo_messages.seed_messages(db.session, keys.ring, "nobody", "dr.bernard")
