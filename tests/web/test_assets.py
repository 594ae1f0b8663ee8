from __future__ import annotations

import re

import brotli


def _asset_urls(client) -> list[str]:
    html = client.get("/").get_data(as_text=True)
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_pages_link_fingerprinted_assets(client):
    urls = _asset_urls(client)
    assert any(url.endswith(".css") for url in urls)
    assert any("htmx.min." in url for url in urls)
    for url in urls:
        assert re.search(r"\.[0-9a-f]{10}\.[a-z]+$", url), url


def test_fingerprinted_assets_are_compressed_and_cached_for_a_year(client):
    for url in _asset_urls(client):
        response = client.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert response.status_code == 200
        assert "immutable" in response.headers["Cache-Control"]
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert "Accept-Encoding" in response.headers["Vary"]
        if not url.endswith(".ico"):
            assert response.headers["Content-Encoding"] == "br"
            assert brotli.decompress(response.data)


def test_a_stale_fingerprint_is_not_found_and_etags_revalidate(client):
    css = next(url for url in _asset_urls(client) if url.endswith(".css"))
    stale = re.sub(r"\.[0-9a-f]{10}\.css$", ".0000000000.css", css)
    assert client.get(stale).status_code == 404
    etag = client.get(css).headers["ETag"]
    assert client.get(css, headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/static/../config.py").status_code == 404


def test_html_is_compressed_when_the_browser_accepts_it(client):
    response = client.get("/arnaques", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    response = client.get("/arnaques", headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "Content-Encoding" not in response.headers
