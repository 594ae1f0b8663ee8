"""/healthz: the process answers. /readyz: the database, Redis, the blob store and the key
file answer too. Plain text, one word, no detail: which part failed is in the log."""

from __future__ import annotations

from flask import Response, current_app

from blueprints.health import bp
from domain import health
from extensions import blobs, db
from web.access import public


def _plain(word: str, status: int) -> Response:
    response = Response(word + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@public
def alive():
    return _plain("ok", 200)


@bp.get("/readyz")
@public
def ready():
    config = current_app.config
    checks = {
        "database": lambda: health.database_ready(db.engine),
        "blob_store": lambda: blobs.store.reachable(),
        "key_file": lambda: health.key_file_ready(config["CARNET_KEY_FILE"]),
    }
    if config["REDIS_URL"]:
        checks["redis"] = lambda: health.redis_ready(config["REDIS_URL"])
    result = health.readiness(checks)
    if result.ready:
        return _plain("ready", 200)
    current_app.logger.warning("not ready", extra={"failed": list(result.failed)})
    return _plain("not ready", 503)
