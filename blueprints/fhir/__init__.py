"""The FHIR R4 API (/fhir) for connected apps: bearer tokens only, JSON, OperationOutcome
for every error; domain/app_api.py decides and audits each call."""

from flask import Blueprint

bp = Blueprint("fhir", __name__, url_prefix="/fhir")

from blueprints.fhir import views  # noqa: E402,F401
