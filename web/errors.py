"""Generic error pages: the same layout, a plain explanation, nothing internal."""

from __future__ import annotations

from flask import Flask, Response, g
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from extensions import db
from web.i18n import lazy_gettext as _l
from web.render import render_page

MESSAGES = {
    400: (_l("La demande n’a pas pu être traitée"),
          _l("Le formulaire a expiré ou a été envoyé deux fois. Revenez à la page "
             "précédente, rechargez-la, puis recommencez.")),
    403: (_l("Accès refusé"),
          _l("Vous n’avez pas le droit de voir cette page avec ce compte.")),
    404: (_l("Page introuvable"),
          _l("Cette page n’existe pas ou n’existe plus. Vérifiez l’adresse, ou repartez "
             "de l’accueil.")),
    405: (_l("Action non autorisée"),
          _l("Cette adresse ne peut pas être utilisée de cette façon.")),
    413: (_l("Fichier trop volumineux"),
          _l("Le fichier envoyé dépasse la taille autorisée. Réduisez-le puis réessayez.")),
    429: (_l("Trop de tentatives"),
          _l("Vous avez fait trop d’essais en peu de temps. Attendez quelques minutes, "
             "puis réessayez.")),
    500: (_l("Une erreur est survenue"),
          _l("Le service a rencontré un problème. Réessayez dans quelques minutes. "
             "Si le problème continue, contactez l’assistance.")),
}


def render_error(code: int) -> Response:
    """The error page; a server error gives the request id as a reference, so the
    assistance can find the log lines and audit rows of what went wrong."""
    title, message = MESSAGES.get(code, MESSAGES[500])
    reference = g.get("request_id") if code >= 500 else None
    return render_page("errors/error.html", status=code, code=code, title=title,
                       message=message, reference=reference)


def _http_error(error: HTTPException):
    code = error.code or 500
    response = render_error(code if code in MESSAGES else 500)
    retry = getattr(error, "retry_after", None) if code == 429 else None
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


def _server_error(_error: InternalServerError):
    db.session.rollback()
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, lambda _e: render_error(400))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
