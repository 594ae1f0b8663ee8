"""The agenda in a calendar application: a downloaded .ics file, and a private subscription
address (regenerated or stopped by the patient) that calendar services poll without a
session. What each one carries is decided in domain/agenda_export.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, make_response, request, url_for

from blueprints.agenda import bp
from blueprints.agenda.labels import wording
from domain import agenda, agenda_export, audit
from domain.policy import Area
from extensions import db, keys, limiter
from web.access import actor, allow, public
from web.i18n import gettext as _
from web.outgoing import absolute_url
from web.render import render_page, see_other
from web.space import owner as space_owner

patient = allow(Area.PATIENT_SPACE)
ICS_SUFFIX = ".ics"


def _uid_domain() -> str:
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "carnet-sante.invalid"


def _calendar_response(body: bytes, disposition: str):
    response = make_response(body)
    response.mimetype = "text/calendar"
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/exporter")
@patient
def export_show():
    """The download link and the subscription address, with what each one shares."""
    token = agenda_export.feed_token(db.session, keys.ring, space_owner())
    feed_url = absolute_url("agenda.feed_read", filename=token + ICS_SUFFIX) if token else None
    return render_page("agenda/export.html", feed_url=feed_url)


@bp.get("/exporter/mon-agenda.ics")
@patient
def export_download():
    body = agenda_export.export(db.session, keys.ring, space_owner(), wording(), _uid_domain(),
                                actor())
    db.session.commit()
    return _calendar_response(body, 'attachment; filename="mon-agenda.ics"')


@bp.post("/exporter/abonnement")
@patient
def feed_regenerate():
    """Create the subscription address, or replace it: the old one stops working."""
    replaced = agenda_export.feed_token(db.session, keys.ring, space_owner()) is not None
    agenda_export.regenerate(db.session, keys.ring, space_owner(), actor())
    db.session.commit()
    flash(_("Nouvelle adresse créée : l’ancienne ne fonctionne plus. Mettez-la à jour dans "
            "votre application de calendrier.") if replaced else
          _("Votre adresse d’abonnement est créée."), "success")
    return see_other(url_for("agenda.export_show", _anchor="abonnement"))


@bp.post("/exporter/abonnement/arreter")
@patient
def feed_revoke():
    if agenda_export.revoke(db.session, keys.ring, space_owner(), actor()):
        db.session.commit()
        flash(_("L’abonnement est arrêté : l’adresse ne fonctionne plus."), "success")
    return see_other(url_for("agenda.export_show", _anchor="abonnement"))


@bp.get("/abonnement/<string:filename>")
@public
@limiter.limit("60 per minute")
def feed_read(filename: str):
    """The subscription file, for a calendar service: no session, no cookie, the token in
    the address. An unknown or revoked token answers 404 (and is audited)."""
    token = filename.removesuffix(ICS_SUFFIX) if filename.endswith(ICS_SUFFIX) else ""
    try:
        body = agenda_export.feed(db.session, keys.ring, token, wording(), _uid_domain(),
                                  agenda.today(), audit.Actor(ip=request.remote_addr))
    except agenda_export.FeedNotFound:
        db.session.commit()
        abort(404)
    db.session.commit()
    return _calendar_response(body, 'inline; filename="agenda.ics"')
