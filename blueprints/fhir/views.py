"""FHIR R4 endpoints: the capability statement and SMART configuration (open to all), then
read, search and create with a bearer token. No session, no cookie, no CSRF: each call
proves itself with its token, and is limited per app (the catalogue entry's rate)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import Response, current_app, g, request, stream_with_context, url_for

from blueprints.fhir import bp
from domain import app_api, apps, intake
from domain.catalogue import SUPPORTED_SCOPES
from domain.fhir import FHIR_VERSION, InvalidResource, operation_outcome
from domain.models.base import utcnow
from domain.uploads import UploadRejected
from extensions import blobs, csrf, db, keys, limiter
from web import catalogue
from web.access import bearer_only
from web.labels.export import fhir_wording
from web.oauth import bearer_token
from web.uploads import limits as upload_limits
from web.uploads import upload_message
from web.uploads import workdir as upload_workdir

MEDIA_TYPE = "application/fhir+json"
JSON_TYPES = ("application/fhir+json", "application/json")
MAX_BODY = 64 * 1024  # an Observation is a few hundred bytes
OPEN_ENDPOINTS = {"fhir.metadata", "fhir.smart_configuration"}

csrf.exempt(bp)


def _json(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                        status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers or {})
    return response


def _outcome(status: int, code: str, text: str, headers: dict | None = None,
             expression=()) -> Response:
    return _json(operation_outcome("error", code, text, expression), status, headers)


def _unauthorised() -> Response:
    return _outcome(401, "login", "Un jeton d’accès valable est nécessaire (Authorization: "
                    "Bearer …). A valid access token is required.",
                    {"WWW-Authenticate": 'Bearer realm="fhir", error="invalid_token"'})


@bp.before_request
def _authenticate():
    """Every call but the two open documents needs a live grant; it is kept for the view
    and the per-app limit."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    token = bearer_token()
    grant = apps.authenticate(db.session, keys.ring, token) if token else None
    if grant is None or catalogue.current().get(grant.app_slug) is None:
        return _unauthorised()
    apps.touch(db.session, grant)
    g.grant = grant
    return None


def _app_rate() -> str:
    entry = catalogue.current().get(g.grant.app_slug)
    return f"{entry.requests_per_minute} per minute"


def _app_key() -> str:
    return f"fhir:{g.grant.app_slug}:{g.grant.space.id}"


def _call() -> app_api.Call:
    return app_api.Call(g.grant, fhir_wording(), request.remote_addr)


def _base() -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + "/fhir"


FORBIDDEN = (403, "forbidden", "Vous n’avez pas accordé ce droit à ce service. "
             "The person did not grant this scope.")
NOT_FOUND = (404, "not-found", "Ressource introuvable. Resource not found.")
BAD_SEARCH = (400, "not-supported", "Paramètre de recherche non pris en charge ou mal "
              "écrit. Unsupported or malformed search parameter.")
PENDING = (429, "throttled", "Trop de fichiers attendent d’être classés : envoyez leurs "
           "DocumentReference d’abord. Too many files wait to be filed.")
REFUSED = (app_api.OutOfScope, app_api.ResourceNotFound, app_api.BadSearch,
           app_api.TooManyPending, InvalidResource, UploadRejected)


def _refusal(error: Exception) -> Response:
    """A use case's refusal as an OperationOutcome, after committing what it audited."""
    db.session.commit()
    if isinstance(error, InvalidResource):
        return _json(error.outcome(), 422)
    if isinstance(error, UploadRejected):
        return _outcome(422, "invalid", upload_message(error))
    if isinstance(error, app_api.BadSearch):
        return _outcome(*BAD_SEARCH, expression=(error.parameter,)
                        if error.parameter.isidentifier() else ())
    if isinstance(error, app_api.TooManyPending):
        return _outcome(*PENDING, {"Retry-After": "60"})
    return _outcome(*(FORBIDDEN if isinstance(error, app_api.OutOfScope) else NOT_FOUND))


def _answer(run) -> Response:
    """Run a use case; commit what it audited; its refusals as OperationOutcome."""
    try:
        body, status = run()
    except REFUSED as error:
        return _refusal(error)
    db.session.commit()
    return _json(body, status)


@bp.errorhandler(429)
def _too_many(_error):
    return _outcome(429, "throttled", "Trop de requêtes pour ce service : attendez une "
                    "minute. Too many requests for this app: wait a minute.",
                    {"Retry-After": "60"})


@bp.get("/metadata")
@bearer_only
def metadata():
    """The CapabilityStatement: what this server does (open to all, as FHIR asks)."""
    resources = [{
        "type": name,
        "interaction": [{"code": "read"}, {"code": "search-type"}]
        + ([{"code": "create"}] if name in ("Observation", "DocumentReference") else []),
        **({"searchParam": [{"name": "code", "type": "token"},
                            {"name": "date", "type": "date"}]}
           if name == "Observation" else {}),
    } for name in app_api.RESOURCE_TYPES] + [
        {"type": "Binary", "interaction": [{"code": "read"}, {"code": "create"}]}]
    statement = {
        "resourceType": "CapabilityStatement", "status": "active",
        "date": utcnow().date().isoformat(), "kind": "instance",
        "software": {"name": current_app.config["SITE_NAME"]},
        "implementation": {"description": current_app.config["SITE_NAME"], "url": _base()},
        "fhirVersion": FHIR_VERSION, "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR"}]}],
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/"
                           "oauth-uris",
                    "extension": [
                        {"url": "authorize", "valueUri": _public(url_for("apps.authorize"))},
                        {"url": "token", "valueUri": _public(url_for("apps.token"))},
                        {"url": "revoke", "valueUri": _public(url_for("apps.revoke"))}]}]},
            "resource": resources,
        }],
    }
    return _json(statement)


def _public(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


@bp.get("/.well-known/smart-configuration")
@bearer_only
def smart_configuration():
    """SMART App Launch discovery: where to authorise and get tokens, what is supported."""
    return _json({
        "authorization_endpoint": _public(url_for("apps.authorize")),
        "token_endpoint": _public(url_for("apps.token")),
        "revocation_endpoint": _public(url_for("apps.revoke")),
        "token_endpoint_auth_methods_supported": ["none"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": sorted(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "capabilities": ["launch-standalone", "client-public", "permission-patient",
                         "permission-v2"],
    }, headers={"Content-Type": "application/json"})


def _searchset(resource: str, found: list[dict], params: dict) -> dict:
    """A searchset Bundle of one page of what was found, with `next` and `previous`
    links (FHIR paging through `_count` and `_getpagesoffset`)."""
    offset, count = app_api.page_of(params)
    page = found[offset:offset + count]

    def link(relation: str, start: int) -> dict:
        query = {**{name: values[-1] for name, values in params.items()},
                 "_count": str(count), "_getpagesoffset": str(start)}
        return {"relation": relation, "url": f"{_base()}/{resource}?{urlencode(query)}"}

    links = [link("self", offset)]
    if offset + count < len(found):
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    return {"resourceType": "Bundle", "type": "searchset", "total": len(found),
            "link": links,
            "entry": [{"fullUrl": f"{_base()}/{item['resourceType']}/{item['id']}",
                       "resource": item, "search": {"mode": "match"}} for item in page]}


@bp.get("/<string:resource>")
@bearer_only
@limiter.limit(_app_rate, key_func=_app_key)
def search(resource: str):
    """FHIR search on one resource type of the space."""
    if resource not in app_api.RESOURCE_TYPES:
        return _outcome(404, "not-supported", "Type de ressource non servi. "
                        "Resource type not supported.")
    params = {name: request.args.getlist(name) for name in request.args}
    return _answer(lambda: (_searchset(resource, app_api.search(
        db.session, keys.ring, _call(), resource, params), params), 200))


@bp.get("/<string:resource>/<string:resource_id>")
@bearer_only
@limiter.limit(_app_rate, key_func=_app_key)
def read(resource: str, resource_id: str):
    """FHIR read of one resource of the space."""
    if resource not in app_api.RESOURCE_TYPES:
        return _outcome(404, "not-supported", "Type de ressource non servi. "
                        "Resource type not supported.")
    return _answer(lambda: (app_api.read(db.session, keys.ring, _call(), resource,
                                         resource_id), 200))


@bp.get("/Binary/<string:document_id>")
@bearer_only
@limiter.limit(_app_rate, key_func=_app_key)
def binary(document_id: str):
    """A document's content, streamed (the same rule as its DocumentReference)."""
    try:
        download = app_api.binary(db.session, keys.ring, blobs.store, _call(), document_id)
    except REFUSED as error:
        return _refusal(error)
    db.session.commit()
    response = Response(stream_with_context(download.chunks), mimetype=download.mimetype)
    response.headers["Content-Length"] = str(download.size)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = "attachment"
    return response


def _json_body():
    """The request's JSON body, or the OperationOutcome refusing it."""
    if request.mimetype not in JSON_TYPES:
        return None, _outcome(415, "structure", "Envoyez du JSON (application/fhir+json). "
                              "Send JSON (application/fhir+json).")
    if (request.content_length or 0) > MAX_BODY:
        return None, _outcome(413, "too-costly", "Le corps est trop grand. Body too large.")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return None, _outcome(413, "too-costly", "Le corps est trop grand. Body too large.")
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError):
        return None, _outcome(400, "structure", "Le corps n’est pas du JSON valable. "
                              "The body is not valid JSON.")


@bp.post("/<string:resource>")
@bearer_only
@limiter.limit(_app_rate, key_func=_app_key)
def create(resource: str):
    """FHIR create: a measure (Observation), or a document (DocumentReference) filing a
    Binary sent before."""
    if resource not in ("Observation", "DocumentReference"):
        return _outcome(405, "not-supported", "Seules les mesures (Observation) et les "
                        "documents (DocumentReference) peuvent être ajoutés. Only Observation "
                        "and DocumentReference can be created.")
    body, refusal = _json_body()
    if refusal is not None:
        return refusal
    if resource == "Observation":
        response = _answer(lambda: (app_api.create_observation(
            db.session, keys.ring, _call(), body), 201))
    else:
        response = _answer(lambda: (app_api.create_document(
            db.session, keys.ring, blobs.store, _call(), body), 201))
    if response.status_code == 201:
        created = json.loads(response.get_data())
        response.headers["Location"] = f"{_base()}/{resource}/{created['id']}"
    return response


@bp.post("/Binary")
@bearer_only
@limiter.limit(_app_rate, key_func=_app_key)
def binary_create():
    """A file for a document to come (FHIR Binary): the raw body, streamed, checked and
    sealed like any upload; a DocumentReference files it within the hour."""
    content_type = request.mimetype
    disposition = request.headers.get("Content-Disposition", "")
    given = None
    if "filename=" in disposition:
        given = disposition.split("filename=", 1)[1].strip().strip('"')[:200] or None
    incoming = intake.Incoming(request.stream, app_api.file_name_for(content_type, given))
    try:
        staged = app_api.stage_binary(db.session, keys.ring, blobs.store, _call(), incoming,
                                      upload_limits(), upload_workdir())
    except REFUSED as error:
        return _refusal(error)
    db.session.commit()
    return _json(staged, 201, {"Location": f"{_base()}/Binary/{staged['id']}"})


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bearer_only
def unknown(anything: str):
    """Anything else under /fhir: an OperationOutcome, never an HTML page."""
    return _outcome(404, "not-supported", "Opération non prise en charge. "
                    "Operation not supported.")
