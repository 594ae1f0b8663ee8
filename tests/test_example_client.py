"""The README's example client (examples/weight_client.py) run for real: a process of its
own against this app served over HTTP on loopback; the test plays the person's browser
(signed in, the consent page answered, the redirect followed to the script's loopback
address). The script gets a token, posts a weight and reads the weights back."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

from sqlalchemy import select
from werkzeug.serving import make_server

from domain.models import AuditEvent
from extensions import db
from tests.conftest import csrf_from

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r"^(http://\S+/oauth/autoriser\?\S+)$", re.M)


def test_the_example_client_connects_and_posts_a_weight(app, signed_in):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    script = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "weight_client.py"), "--server", base,
         "--weight", "72.3"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not (found := URL.search("".join(lines))):
            line = script.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        authorize = found.group(1)
        browser = signed_in("camille.martin")
        path = authorize.removeprefix(base)
        page = browser.get(path).get_data(as_text=True)
        answer = browser.post(path, data={
            "csrf_token": csrf_from(page), "decision": "autoriser", "espace": "moi",
            "donnees": ["patient/Observation.c", "patient/Observation.rs"]})
        assert answer.status_code == 302
        back = answer.headers["Location"]
        assert back.startswith("http://127.0.0.1:8765/retour?code=")
        with urllib.request.urlopen(back, timeout=10) as response:  # noqa: S310 - loopback
            assert response.status == 200
        output, _ = script.communicate(timeout=30)
    finally:
        if script.poll() is None:
            script.kill()
        server.shutdown()
        server.server_close()
    assert script.returncode == 0, output
    assert "Weight sent: 72.3 kg" in output
    assert re.search(r"\d{4}-\d{2}-\d{2}  72\.3 kg", output), output
    with app.app_context():
        added = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "profile.measure_added",
            AuditEvent.acting_as == "application")).one()
        assert '"app": "exemple-balance"' in added.details or "exemple-balance" in added.details
    assert urllib.parse.urlsplit(back).query.count("state=") == 1
