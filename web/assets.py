"""Static files: fingerprinted names, pre-compressed (br, gzip), cached for a year.

Files are read once at start-up (they are small); in debug mode a changed file is
picked up on the next request.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, request

from domain.policy import Area
from web.access import allow
from web.security import ONCE_QUALITY, choose_encoding, compress

bp = Blueprint("assets", __name__)
FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<suffix>\.[a-z0-9]+)$")
YEAR = 365 * 24 * 3600


@dataclass
class Asset:
    path: Path
    mtime: float
    digest: str
    mimetype: str
    bodies: dict[str, bytes]

    @property
    def fingerprinted_name(self) -> str:
        return f"{self.path.stem}.{self.digest}{self.path.suffix}"


def _load(path: Path) -> Asset:
    raw = path.read_bytes()
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mimetype == "text/javascript":
        mimetype = "application/javascript"
    bodies = {"identity": raw}
    if mimetype.startswith("text/") or mimetype in ("application/javascript", "image/svg+xml"):
        bodies["br"] = compress(raw, "br", quality=ONCE_QUALITY)
        bodies["gzip"] = compress(raw, "gzip")
    return Asset(path, path.stat().st_mtime, hashlib.sha256(raw).hexdigest()[:10], mimetype,
                 bodies)


class Manifest:
    def __init__(self, root: Path, debug: bool):
        self.root = root
        self.debug = debug
        self.assets: dict[str, Asset] = {}
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                self.assets[path.relative_to(root).as_posix()] = _load(path)

    def get(self, name: str) -> Asset | None:
        asset = self.assets.get(name)
        if asset is not None and self.debug and asset.path.stat().st_mtime != asset.mtime:
            asset = self.assets[name] = _load(asset.path)
        return asset

    def url_name(self, name: str) -> str:
        asset = self.get(name)
        if asset is None:
            raise LookupError(f"static file {name!r} is missing (run `make assets`)")
        folder = name.rpartition("/")[0]
        return f"{folder}/{asset.fingerprinted_name}" if folder else asset.fingerprinted_name


def asset_url(name: str) -> str:
    manifest: Manifest = current_app.extensions["carnet_assets"]
    return f"/static/{manifest.url_name(name)}"


@bp.get("/static/<path:filename>")
@allow(Area.PUBLIC)
def static_file(filename: str):
    manifest: Manifest = current_app.extensions["carnet_assets"]
    folder, _, base = filename.rpartition("/")
    match = FINGERPRINTED.match(base)
    name = f"{folder}/{match['stem']}{match['suffix']}" if match and folder else (
        f"{match['stem']}{match['suffix']}" if match else filename)
    asset = manifest.get(name)
    if asset is None or (match and match["digest"] != asset.digest):
        abort(404)
    etag = asset.digest
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        encoding = choose_encoding(request.headers.get("Accept-Encoding", ""))
        encoding = encoding if encoding in asset.bodies else "identity"
        response = Response(asset.bodies[encoding], mimetype=asset.mimetype)
        if encoding != "identity":
            response.headers["Content-Encoding"] = encoding
    response.set_etag(etag)
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = (f"public, max-age={YEAR}, immutable" if match
                                         else "public, max-age=300")
    return response


def init_app(app: Flask) -> None:
    root = Path(app.root_path) / "static"
    app.extensions["carnet_assets"] = Manifest(root, app.debug)
    app.jinja_env.globals["asset_url"] = asset_url
    app.register_blueprint(bp)
