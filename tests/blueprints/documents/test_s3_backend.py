"""The whole vault on S3: the app configured with BLOB_STORE=s3://…, against moto's server
on loopback over real HTTP."""

from __future__ import annotations

import io

import pytest
from moto.server import ThreadedMotoServer

from domain.storage import make_blob_store
from tests.blueprints.documents.test_vault_pages import png, upload


@pytest.fixture
def s3_vault(app):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    store = make_blob_store("s3://carnet-test/documents", app.instance_path, {
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}", "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing"})
    store.ensure_bucket()
    previous = app.extensions["carnet_blobs"]
    app.extensions["carnet_blobs"] = store
    yield store
    app.extensions["carnet_blobs"] = previous
    server.stop()


def test_upload_and_download_through_s3(signed_in, app, s3_vault):
    client = signed_in("camille.martin")
    response = upload(client, png(), "scanner.png", title="Scanner")
    assert response.status_code == 303
    keys_in_bucket = list(s3_vault.keys())
    assert len(keys_in_bucket) == 1
    stored = b"".join(s3_vault.open(keys_in_bucket[0]))
    assert b"IHDR" not in stored  # only ciphertext reaches the bucket
    document_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Scanner" in document_page
    document_id = response.headers["Location"].rsplit("/", 1)[1]
    download = client.get(f"/documents/{document_id}/fichier")
    assert download.status_code == 200 and download.data.startswith(b"\x89PNG")
    result = app.test_cli_runner().invoke(args=["vault", "verify"])
    assert result.exit_code == 0 and "OK" in result.output
    assert io.BytesIO(download.data).read(8) == b"\x89PNG\r\n\x1a\n"
