"""The patient's access history (two tabs, filters, pages by sequence number with htmx
and plain links, CSV) and the emergency settings."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response, flash, request, stream_with_context, url_for
from flask_login import current_user

from blueprints.access import bp
from domain import emergency, history
from domain.forms import Field
from domain.policy import Area
from domain.spreadsheet import safe_row
from extensions import db, htmx, keys
from web import catalogue
from web.access import actor, allow
from web.forms import Form
from web.i18n import format_datetime
from web.i18n import gettext as _
from web.labels.access import (
    MODE_LABELS,
    OUTCOME_LABELS,
    PROFESSION_NAMES,
    action_label,
)
from web.render import redirect_to, render_page
from web.space import owner as space_owner
from web.space import owner_account

patient = allow(Area.PATIENT_SPACE)
EMERGENCY_FORM = Form(Field("samu", "yes"), Field("others", "yes"), Field("hidden", "yes"))


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters() -> history.Filters:
    tab = history.MINE if request.args.get("onglet") == "moi" else history.PROFESSIONALS
    person = (request.args.get("personne") or "")[:32] or None
    return history.Filters(tab=tab, since=_day(request.args.get("du")),
                           until=_day(request.args.get("au")), person_id=person)


def _query_args(filters: history.Filters, **extra) -> dict:
    args = {"onglet": "moi" if filters.tab == history.MINE else "pros",
            "du": filters.since.isoformat() if filters.since else None,
            "au": filters.until.isoformat() if filters.until else None,
            "personne": filters.person_id}
    return {key: value for key, value in {**args, **extra}.items() if value}


def _who(row: history.Row) -> str:
    if row.mode == "application":
        slug = row.details.get("app", "")
        entry = catalogue.current().get(slug)
        return _("Application « %(name)s »", name=entry.name if entry else slug)
    if row.actor is None:
        return _("Le service")
    if row.actor.id == current_user.id:  # the person signed in, in any space
        return _("Vous")
    return row.actor.display_name


def _profession(row: history.Row) -> str:
    if row.actor is None or row.actor.profession is None:
        return ""
    return str(PROFESSION_NAMES[row.actor.profession])


@bp.get("/historique")
@patient
def history_show():
    filters = _filters()
    before = history.cursor(request.args.get("avant"))
    # The filter's people on the first page only (a later page adds rows to it).
    rows, next_before, people = history.page(db.session, space_owner(), filters, before,
                                             with_people=before is None)
    reasons = emergency.reasons(db.session, keys.ring, space_owner(), {
        row.event.target_id for row in rows
        if row.event.action == "care.emergency_started" and row.event.target_id})
    return render_page(
        "access/history.html", fragment="access/_history_rows.html", target="history-more",
        rows=rows, filters=filters, people=people, next_before=next_before,
        first_page=before is None, query_args=_query_args, who=_who,
        profession=_profession, action_label=action_label, modes=MODE_LABELS,
        outcomes=OUTCOME_LABELS, announce=bool(htmx), reasons=reasons)


@bp.get("/historique.csv")
@patient
def history_csv():
    """The filtered history as CSV (UTF-8 with a BOM so spreadsheet programs read accents)."""
    filters = _filters()
    user = space_owner()

    labels: dict[str, str] = {}  # each label translated once per export, not once per row

    def label(action: str) -> str:
        if action not in labels:
            labels[action] = action_label(action)
        return labels[action]

    outcomes = {key: str(value) for key, value in OUTCOME_LABELS.items()}
    modes = {key: str(value) for key, value in MODE_LABELS.items()}

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([_("Date"), _("Qui"), _("Profession"), _("Action"), _("Résultat"),
                         _("Mode")])
        yield "\ufeff" + buffer.getvalue()
        for row in history.every(db.session, user, filters):
            buffer.seek(0)
            buffer.truncate()
            # Names come from other people: a cell a spreadsheet would run as a formula
            # is written as text.
            writer.writerow(safe_row([
                format_datetime(row.event.occurred_at, "yyyy-MM-dd HH:mm"), _who(row),
                _profession(row), label(row.event.action),
                outcomes.get(row.event.outcome, row.event.outcome), modes[row.mode]]))
            yield buffer.getvalue()

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="historique.csv"'
    return response


@bp.route("/urgence", methods=["GET", "POST"])
@patient
def emergency_settings():
    if request.method == "POST":
        answers = EMERGENCY_FORM.read().values
        emergency.update_settings(db.session, keys.ring, owner_account(), samu=answers["samu"],
                                  others=answers["others"], hidden=answers["hidden"],
                                  actor=actor())
        db.session.commit()
        flash(_("Vos paramètres d’urgence sont enregistrés."), "success")
        return redirect_to(url_for("access.emergency_settings"))
    return render_page("access/emergency.html", settings=space_owner())
