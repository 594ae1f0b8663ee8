"""Probes for the load balancer and the service manager: /healthz and /readyz."""

from flask import Blueprint

bp = Blueprint("health", __name__)

from blueprints.health import views  # noqa: E402,F401
