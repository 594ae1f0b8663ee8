"""The agenda's pages: upcoming and past lists (the default view, best for screen readers),
the month as a table, one item with its change and delete pages, the add form, and the
vaccinations to plan. Plain links and forms, post-redirect-get; htmx only swaps the month
when moving between months."""

from __future__ import annotations

import re

from babel.dates import get_day_names
from flask import abort, flash, request, url_for
from flask_babel import get_locale

from blueprints.agenda import bp
from blueprints.agenda.labels import FIELDS, HINTS, KIND_HINTS, KINDS, clock, message
from domain import agenda
from domain.forms import Problem
from domain.policy import Area
from extensions import db, keys
from web.access import actor, allow
from web.i18n import gettext as _
from web.labels.profile import VACCINES
from web.render import render_page, see_other
from web.space import owner as space_owner

patient = allow(Area.PATIENT_SPACE)
MONTH_RE = re.compile(r"(\d{4})-(\d{2})")
EMPTY_FORM = {"kind": "", "title": "", "date": {"day": "", "month": "", "year": ""},
              "time": "", "place": "", "professional": "", "note": ""}
BLANK_KINDS = ("", "appointment", "reminder")  # ?type= values the empty add form is kept for
FIELD_IDS = {"kind": "kind"}  # a radio group's errors lead to its first radio


def helpers() -> dict:
    return {"kinds": KINDS, "kind_hints": KIND_HINTS, "labels": FIELDS, "hints": HINTS,
            "clock": clock, "day_limit": agenda.DAY_LIMIT}


def _page_number() -> int:
    raw = request.args.get("page", "1")
    # isdigit() alone lets "²" through, which int() refuses.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


def _errors(problems: list[Problem]) -> list[tuple[str, str]]:
    seen, errors = set(), []
    for problem in problems:
        if problem.field not in seen:  # one message a field, the first found
            seen.add(problem.field)
            errors.append((FIELD_IDS.get(problem.field, problem.field), message(problem)))
    return errors


def _item(item_id: str, action: str) -> agenda.ItemView:
    try:
        return agenda.get(db.session, keys.ring, space_owner(), item_id, action, actor())
    except agenda.ItemNotFound:
        db.session.commit()  # the refusal stays in the audit trail
        abort(404)


def _list(when: str):
    on = agenda.today()
    listing = agenda.listing(db.session, keys.ring, space_owner(), when, on, _page_number(),
                             actor())
    suggestions = (agenda.suggestions(db.session, keys.ring, space_owner(), on)
                   if when == "upcoming" and listing.page == 1 else None)
    db.session.commit()
    return render_page("agenda/list.html", when=when, listing=listing,
                       suggestions=suggestions, today=on, **helpers())


@bp.get("")
@patient
def index():
    """Upcoming appointments and reminders, soonest first, and the vaccinations to plan."""
    return _list("upcoming")


@bp.get("/passes")
@patient
def past_list():
    return _list("past")


def _month(year: int, month: int):
    on = agenda.today()
    if not agenda.month_in_range(year, month, on):
        abort(404)
    grid = agenda.month_grid(db.session, keys.ring, space_owner(), year, month, on, actor())
    db.session.commit()
    locale = get_locale()
    short, wide = get_day_names("abbreviated", locale=locale), get_day_names("wide",
                                                                             locale=locale)
    weekdays = [(short[day], wide[day]) for day in range(7)]  # Babel: 0 is Monday
    return render_page("agenda/month.html", fragment="agenda/_month.html",
                       target="month-content", grid=grid, today=on, weekdays=weekdays,
                       **helpers())


@bp.get("/mois")
@patient
def month_current():
    on = agenda.today()
    return _month(on.year, on.month)


@bp.get("/mois/<string:month>")
@patient
def month_show(month: str):
    """A month as a table, Monday first; "2026-03" in the address."""
    match = MONTH_RE.fullmatch(month)
    if not match:
        abort(404)
    return _month(int(match.group(1)), int(match.group(2)))


def _form_page(template_args: dict, typed: dict, errors: list, status: int = 200):
    return render_page("agenda/form.html", status=status, typed=typed, errors=errors,
                       has_errors=bool(errors), **template_args, **helpers())


def _saved_message(view_day, on) -> str:
    if view_day < on:
        return _("C’est enregistré. Cette date est passée : vous le retrouverez dans « Passés ».")
    return _("C’est enregistré dans votre agenda.")


@bp.route("/ajouter", methods=["GET", "POST"])
@patient
def item_add():
    """The add form: an appointment (with a time) or a reminder (time optional)."""
    on = agenda.today()
    typed, errors = dict(EMPTY_FORM, kind=request.args.get("type", "")[:20]), []
    if request.method == "POST":
        reading = agenda.validate(request.form, on, space_owner().birth_date)
        if reading.ok:
            try:
                item = agenda.add(db.session, keys.ring, space_owner(), reading.values, actor())
            except agenda.DayFull:
                reading.problems.append(Problem("date", "day_full"))
            else:
                db.session.commit()
                flash(_saved_message(item.day, on), "success")
                return see_other(url_for("agenda.item_show", item_id=item.id))
        typed, errors = reading.typed, _errors(reading.problems)
    # Shown empty (a GET, the kind at most chosen by the link that led here): the same form
    # for everyone, kept once made (templates/agenda/form.html).
    blank = (f"add {typed['kind']}" if request.method == "GET" and typed["kind"] in BLANK_KINDS
             else None)
    return _form_page({"item": None, "blank": blank}, typed, errors, 422 if errors else 200)


@bp.get("/<string:item_id>")
@patient
def item_show(item_id: str):
    view = _item(item_id, "read")
    db.session.commit()
    return render_page("agenda/item.html", view=view, today=agenda.today(), **helpers())


@bp.route("/<string:item_id>/modifier", methods=["GET", "POST"])
@patient
def item_edit(item_id: str):
    view = _item(item_id, "edit")
    typed, errors = agenda.echo(view), []
    if request.method == "POST":
        on = agenda.today()
        reading = agenda.validate(request.form, on, space_owner().birth_date)
        if reading.ok:
            try:
                agenda.update(db.session, keys.ring, space_owner(), view, reading.values,
                              actor())
            except agenda.DayFull:
                reading.problems.append(Problem("date", "day_full"))
            else:
                db.session.commit()
                flash(_saved_message(view.day, on), "success")
                return see_other(url_for("agenda.item_show", item_id=item_id))
        typed, errors = reading.typed, _errors(reading.problems)
    db.session.commit()
    return _form_page({"item": view}, typed, errors, 422 if errors else 200)


@bp.route("/<string:item_id>/supprimer", methods=["GET", "POST"])
@patient
def item_delete(item_id: str):
    """A confirmation page, then the deletion (POST)."""
    view = _item(item_id, "delete")
    if request.method == "POST":
        agenda.delete(db.session, keys.ring, space_owner(), view, actor())
        db.session.commit()
        flash(_("C’est supprimé de votre agenda."), "success")
        return see_other(url_for("agenda.index"))
    db.session.commit()
    return render_page("agenda/delete.html", view=view, **helpers())


@bp.post("/a-prevoir")
@patient
def suggestion_add():
    """Put a due vaccination in the agenda as a reminder (the list's "Ajouter" button)."""
    rule = request.form.get("regle", "")[:64]
    try:
        item = agenda.add_suggestion(db.session, keys.ring, space_owner(), rule,
                                     agenda.today(), lambda code: str(VACCINES[code]),
                                     actor())
    except agenda.SuggestionGone:
        flash(_("Cette vaccination n’est plus à prévoir ou est déjà dans votre agenda."),
              "info")
        return see_other(url_for("agenda.index"))
    except agenda.DayFull:
        flash(message(Problem("date", "day_full")), "error")
        return see_other(url_for("agenda.index"))
    db.session.commit()
    flash(_("Le rappel est ajouté à votre agenda. Vous pouvez le modifier pour y mettre "
            "l’heure et le lieu du rendez-vous."), "success")
    return see_other(url_for("agenda.item_show", item_id=item.id))
