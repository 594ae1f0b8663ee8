"""The desk: start an accompaniment and hand the tablet over, today's figures (counts and
outcomes, never a person), the outcome after the hand-back, the desk PIN, the monthly CSV
and the printable help sheets."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response, abort, current_app, flash, request, session, url_for
from flask_login import current_user

from blueprints.adviser import bp
from domain import assist
from domain.errors import NotAllowed
from domain.forms import Field
from domain.insured import paris_day
from domain.models.base import utcnow
from domain.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from domain.policy import Area
from extensions import db, keys, limiter
from web.access import actor, allow
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.labels import desk as labels
from web.reauth import password_error
from web.render import redirect_to, render_page
from web.sessions import ACCOMPANIMENT, ASSISTED_BY
from web.space import account

desk = allow(Area.ADVISER_DESK)

START = Form(Field("purpose", "choice", required=True, choices=assist.PURPOSES),
             messages={"purpose": _l("Choisissez pourquoi la personne est venue.")})
OUTCOME = Form(Field("outcome", "choice", required=True, choices=assist.OUTCOMES),
               messages={"outcome": _l("Choisissez le résultat de l’accompagnement.")})
PIN = Form(Field("pin", "password", required=True, max_length=20),
           Field("password", "password", required=True, max_length=PASSWORD_MAX_LENGTH),
           messages={("pin", "required"): _l("Choisissez un code de 6 chiffres."),
                     ("password", "required"): _l("Saisissez votre mot de passe.")})
PIN_MESSAGES = {
    "format": _l("Le code du guichet a exactement 6 chiffres, par exemple 402817."),
    "weak": _l("Ce code est trop facile à deviner : évitez un même chiffre répété et les "
               "suites comme 123456."),
}


def _desk_page(errors=(), status=200, typed=None):
    figures = assist.day_figures(db.session, current_user, paris_day(utcnow()))
    db.session.commit()
    return render_page(
        "adviser/home.html", status=status, errors=list(errors), has_errors=bool(errors),
        figures=figures, typed=typed or START.blank(),
        purposes=labels.PURPOSES, outcomes=labels.OUTCOMES, end_reasons=labels.END_REASONS,
        sheets=labels.SHEETS, has_pin=current_user.desk_pin_hash is not None)


@bp.get("/conseiller")
@desk
def home():
    return _desk_page()


@bp.post("/conseiller/accompagnement")
@desk
def start():
    """Start an accompaniment and hand the tablet over: the desk session is parked on the
    server and the browser gets a new session, for the person only. No person is chosen
    here: they authenticate themselves."""
    filled = START.read()
    if not filled.ok:
        return _desk_page(filled.errors, 422, filled.typed)
    running = assist.start(db.session, keys.ring, account(),
                           session.record, filled.values["purpose"], actor())
    db.session.commit()
    session.hand_over({ASSISTED_BY: current_user.id, ACCOMPANIMENT: running.id})
    return redirect_to(url_for("adviser.welcome"))


@bp.post("/conseiller/accompagnement/<string:accompaniment_id>/resultat")
@desk
def outcome(accompaniment_id: str):
    filled = OUTCOME.read()
    if not filled.ok:
        return _desk_page(filled.errors, 422)
    try:
        assist.record_outcome(db.session, keys.ring, account(),
                              accompaniment_id, filled.values["outcome"], actor())
    except NotAllowed:
        abort(404)
    db.session.commit()
    flash(_("Le résultat est noté."), "success")
    return redirect_to(url_for("adviser.home"))


@bp.route("/conseiller/code-guichet", methods=["GET", "POST"])
@desk
@limiter.limit("10 per 15 minutes", methods=["POST"])
def desk_pin():
    """Choose the 6-digit desk PIN, confirmed with the password."""
    errors = []
    if request.method == "POST":
        filled = PIN.read()
        errors = list(filled.errors)
        if "password" in filled.values:
            problem = password_error(account(),
                                     filled.values["password"], "desk_pin")
            if problem is not None:
                errors.append(problem)
        if not errors:
            try:
                assist.set_pin(db.session, keys.ring, account(),
                               filled.values["pin"], actor(),
                               current_app.config["PASSWORD_HASH_PROFILE"])
            except assist.PinRefused as refused:
                errors.append(("pin", str(PIN_MESSAGES[refused.reason])))
            else:
                db.session.commit()
                flash(_("Le code du guichet est enregistré."), "success")
                return redirect_to(url_for("adviser.home"))
        db.session.commit()
    return render_page("adviser/pin.html", status=422 if errors else 200, errors=errors,
                       has_errors=bool(errors))


@bp.get("/conseiller/bilan.csv")
@desk
def month_csv():
    """The structure's accompaniments of a month, for its reporting: no person in it."""
    try:
        month = date.fromisoformat(request.args.get("mois", "") + "-01")
        if not 2000 <= month.year <= 9000:
            raise ValueError(month)
    except ValueError:
        month = paris_day(utcnow())
    rows = assist.month_rows(db.session, current_user, month)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([_("Jour"), _("Motif"), _("Résultat"), _("Fin"), _("Durée (minutes)")])
    for row in rows:
        writer.writerow([row["day"], labels.PURPOSES[row["purpose"]],
                         labels.OUTCOMES[row["outcome"] or "none"],
                         labels.END_REASONS.get(row["ended"], ""), row["minutes"]])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="accompagnements-{month:%Y-%m}.csv"')
    return response


@bp.get("/conseiller/fiches/<string:slug>")
@desk
def sheet(slug: str):
    """A help sheet to print and give: plain French, easy to read."""
    titles = dict(labels.SHEETS)
    if slug not in titles:
        abort(404)
    return render_page(f"adviser/sheets/{slug}.html", title=titles[slug])
