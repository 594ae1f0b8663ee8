"""AGPL-3.0 §13: every user can get the source code this installation runs, from a link on
every page; the legal notice names the publisher and the host from the settings."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

from domain import source
from tests.html_checks import check_page

ROOT = Path(__file__).resolve().parents[3]
# SHA-256 of https://www.gnu.org/licenses/agpl-3.0.txt, the FSF's published text.
FSF_AGPL_SHA256 = "8486a10c4393cee1c25392769ddd3b2d6c242d6ec7928e1414efff7dfb2f07ef"


def test_the_licence_file_is_the_fsf_text_verbatim():
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == FSF_AGPL_SHA256


def test_every_page_links_to_the_source_code(client):
    for path in ("/", "/aide", "/connexion", "/page-qui-n-existe-pas"):
        assert 'href="/code-source"' in client.get(path).get_data(as_text=True), path


def test_the_source_page_passes_the_checks_and_offers_the_download(client):
    response = client.get("/code-source")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and check_page(html) == []
    assert 'href="/code-source/carnet-sante.tgz"' in html
    assert "AGPL-3.0-or-later" in html and 'href="/code-source/licence"' in html


def test_the_licence_text_is_served(client):
    response = client.get("/code-source/licence")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True).lstrip().startswith(
        "GNU AFFERO GENERAL PUBLIC LICENSE")


def test_the_archive_is_the_running_code_and_nothing_private(app, client):
    response = client.get("/code-source/carnet-sante.tgz", buffered=False)
    assert response.status_code == 200 and response.mimetype == "application/gzip"
    assert response.is_streamed and "Content-Length" not in response.headers
    body = b"".join(response.response)
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        names = archive.getnames()
        assert all(name.startswith("carnet-sante/") for name in names)
        for expected in ("app.py", "LICENSE", "domain/crypto.py", "templates/base.html",
                         "translations/fr/LC_MESSAGES/messages.po", "migrations/env.py"):
            assert f"carnet-sante/{expected}" in names, expected
        app_py = archive.extractfile("carnet-sante/app.py").read()
        assert app_py == (ROOT / "app.py").read_bytes()
        assert all(member.uid == 0 and member.uname == "" for member in archive.getmembers())
    for forbidden in ("instance", "keys.json", "secret_key", ".venv", "node_modules",
                      "__pycache__", ".git/"):
        assert not any(forbidden in name for name in names), forbidden
    key_file = Path(app.config["CARNET_KEY_FILE"]).read_bytes()
    assert key_file not in body and app.config["SECRET_KEY"].encode() not in body


def test_private_files_are_left_out_even_inside_published_folders(tmp_path):
    root = tmp_path / "site"
    (root / "domain").mkdir(parents=True)
    (root / "app.py").write_text("print('ok')\n")
    (root / "domain" / "rules.py").write_text("RULE = 1\n")
    (root / "domain" / "keys.json").write_text('{"kek": "secret"}')
    (root / "domain" / "secret_key").write_text("secret")
    (root / "domain" / "server.pem").write_text("-----BEGIN PRIVATE KEY-----")
    (root / "domain" / "__pycache__").mkdir()
    (root / "domain" / "__pycache__" / "rules.cpython-311.pyc").write_bytes(b"\0")
    (root / "domain" / "configured-outbox").mkdir()
    (root / "domain" / "configured-outbox" / "code.eml.txt").write_text("Votre code")
    os.symlink("/etc/passwd", root / "domain" / "passwd.py")
    (root / "instance").mkdir()
    (root / "instance" / "carnet.db").write_text("data")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "leak.py").write_text("secret")
    os.symlink(outside, root / "domain" / "linked")
    files = source.members(root, excluded=[root / "domain" / "configured-outbox"])
    assert [path.as_posix() for path in files] == ["app.py", "domain/rules.py"]
    with tarfile.open(fileobj=io.BytesIO(b"".join(source.archive(root, files))),
                      mode="r:gz") as archive:
        assert archive.getnames() == ["carnet-sante/app.py", "carnet-sante/domain/rules.py"]


def test_data_the_settings_place_inside_published_folders_is_left_out(tmp_path):
    """A SQLite database, its WAL, local blobs or checkpoints and environment files put
    inside a published folder by an operator never reach the archive."""
    root = tmp_path / "site"
    data = root / "static" / "data"
    (data / "blobs" / "ab").mkdir(parents=True)
    (root / "deploy").mkdir()
    (root / "app.py").write_text("print('ok')\n")
    for name in ("carnet.db", "carnet.db-wal", "carnet.db-shm", "other.sqlite3",
                 "other.sqlite3-journal"):
        (data / name).write_bytes(b"pages of the database")
    (data / "blobs" / "ab" / "abcdef").write_bytes(b"ciphertext")
    (data / "checkpoints").mkdir()
    (data / "checkpoints" / "20261203.json").write_text("{}")
    (root / "deploy" / ".env.production").write_text("SECRET_KEY=x")
    (root / "deploy" / "prod.env").write_text("SECRET_KEY=x")
    (root / "deploy" / "carnet.env.example").write_text("SECRET_KEY=change-me")
    config = {"DATABASE_URL": f"sqlite:///{data / 'carnet.db'}",
              "BLOB_STORE": (data / "blobs").as_uri(),
              "AUDIT_CHECKPOINTS": (data / "checkpoints").as_uri(),
              "CARNET_KEY_FILE": str(tmp_path / "keys.json"), "OUTBOX_DIR": ""}
    files = source.members(root, excluded=source.private_paths(str(tmp_path / "i"), config))
    assert [path.as_posix() for path in files] == ["app.py", "deploy/carnet.env.example"]


def test_the_legal_notice_names_the_operator_from_the_settings(app, client):
    saved = {name: app.config[name] for name in ("PUBLISHER_NAME", "HOST_NAME",
                                                 "PUBLICATION_DIRECTOR")}
    try:
        html = client.get("/mentions-legales").get_data(as_text=True)
        assert "n’a pas d’éditeur déclaré" in html.replace("&#39;", "’")
        app.config.update({"PUBLISHER_NAME": "Association <script>x()</script>",
                           "HOST_NAME": "Hébergeur HDS Exemple",
                           "PUBLICATION_DIRECTOR": "Claire Dubois"})
        # Settings change with a restart, which empties the visitors' page cache.
        app.extensions["carnet_page_cache"].clear()
        response = client.get("/mentions-legales")
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and check_page(html) == []
        assert "Association &lt;script&gt;x()&lt;/script&gt;" in html
        assert "Hébergeur HDS Exemple" in html and "Claire Dubois" in html
        assert "<script>x()" not in html
    finally:
        app.config.update(saved)
