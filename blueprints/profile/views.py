"""The medical profile's sections: overview, one section with its entries, add, change and
delete (inline with htmx, a plain page behind each action), and "Non concerné"."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, request, url_for

from blueprints.profile import bp
from domain import profile, vaccination
from domain.forms import echo
from domain.policy import Area, ProfileAction
from domain.representation import today_in_france
from extensions import db, keys
from web.access import actor, allow
from web.i18n import gettext as _
from web.labels.profile import message
from web.render import render_page, see_other, swap_or_see_other
from web.space import owner as space_owner

patient = allow(Area.PATIENT_SPACE)
OVERVIEW_FIRST = 10  # entries shown per section on the overview, newest first


def _section(slug: str) -> profile.Section:
    section = profile.BY_SLUG.get(slug)
    if section is None or (section.adults_only and profile.is_minor(space_owner(),
                                                                     today_in_france())):
        abort(404)
    return section


def _entry(section: profile.Section, entry_id: str, action: ProfileAction):
    try:
        return profile.get_entry(db.session, keys.ring, space_owner(), space_owner(), section,
                                 entry_id, action, actor())
    except profile.EntryNotFound:
        db.session.commit()  # the refusal stays in the audit trail
        abort(404)


def _errors(section: profile.Section, problems) -> list[tuple[str, str]]:
    return [(problem.field, message(section.key, problem)) for problem in problems]


def _due(section: profile.Section, view) -> dict:
    """The vaccinations still to do, for the vaccinations page: with its list and after
    every in-place change to it (the fragments carry it out of band)."""
    if section.key != "vaccinations" or not space_owner().birth_date:
        return {}
    doses = [vaccination.Dose(item.values["vaccine"], date.fromisoformat(
        item.values["given_on"])) for item in view.entries]
    return {"due": vaccination.due(space_owner().birth_date, doses, today_in_france())}


def _section_page(section: profile.Section, *, form=None, errors=(), status=200,
                  focus_id: str | None = None, announce: str | None = None):
    view = profile.load(db.session, keys.ring, space_owner(), (section,))[section.key]
    extra = _due(section, view)
    db.session.commit()
    return render_page("profile/section.html", fragment="profile/_section_content.html",
                       target="section-content", status=status, view=view,
                       typed=form or echo(section.fields, {}), errors=list(errors),
                       blank=None if form else "section",
                       has_errors=bool(errors),
                       focus_id=focus_id, announce=announce, section=section, **extra)


@bp.get("")
@patient
def overview():
    """Every health section: a heading, a count, the last change and the entries."""
    views = profile.load(db.session, keys.ring, space_owner(), profile.HEALTH_SECTIONS,
                         first=OVERVIEW_FIRST)
    db.session.commit()
    return render_page("profile/overview.html", views=views.values())


@bp.get("/<string:slug>")
@patient
def section_show(slug: str):
    return _section_page(_section(slug))


@bp.post("/<string:slug>")
@patient
def entry_add(slug: str):
    section = _section(slug)
    reading = profile.validate(section, request.form, today_in_france(),
                               space_owner().birth_date)
    if reading.ok:
        try:
            entry = profile.add_entry(db.session, keys.ring, space_owner(), section,
                                      reading.values, author=space_owner(), actor=actor())
        except profile.SectionFull:
            reading.problems.append(profile.Problem(section.fields[0].name, "limit"))
        else:
            db.session.commit()
            return swap_or_see_other(
                lambda: _section_page(section, focus_id=entry.id, announce=_("Ajouté.")),
                url_for("profile.section_show", slug=slug, _anchor=f"entry-{entry.id}"),
                _("C’est enregistré."))
    errors = _errors(section, reading.problems)
    if any(problem.reason == "limit" for problem in reading.problems):
        errors = [(section.fields[0].name, _("Cette rubrique est complète : modifiez ou "
                                             "supprimez une entrée avant d’en ajouter une."))]
    return _section_page(section, form=reading.typed, errors=errors, status=422)


@bp.get("/<string:slug>/<string:entry_id>")
@patient
def entry_show(slug: str, entry_id: str):
    """One entry: the page behind the inline "Annuler" of an edit."""
    section = _section(slug)
    item = _entry(section, entry_id, ProfileAction.READ)
    db.session.commit()
    return render_page("profile/entry.html", fragment="profile/_entry.html",
                       target=f"entry-{entry_id}", item=item, section=section)


def _entry_page(section: profile.Section, entry_id: str, announce: str):
    """The entry just changed, read again: in place of its form for htmx, or on a page."""
    item = _entry(section, entry_id, ProfileAction.READ)
    extra = _due(section, profile.load(db.session, keys.ring, space_owner(),
                                       (section,))[section.key])
    db.session.commit()
    return render_page("profile/entry.html", fragment="profile/_entry.html",
                       target=f"entry-{entry_id}", item=item, section=section, focus=True,
                       announce=announce, **extra)


@bp.route("/<string:slug>/<string:entry_id>/modifier", methods=["GET", "POST"])
@patient
def entry_edit(slug: str, entry_id: str):
    section = _section(slug)
    item = _entry(section, entry_id, ProfileAction.EDIT)
    typed, errors = echo(section.fields, item.values), []
    if request.method == "POST":
        reading = profile.validate(section, request.form, today_in_france(),
                               space_owner().birth_date)
        if reading.ok:
            profile.update_entry(db.session, keys.ring, space_owner(), item, reading.values,
                                 actor())
            db.session.commit()
            return swap_or_see_other(
                lambda: _entry_page(section, entry_id, announce=_("Modifié.")),
                url_for("profile.section_show", slug=slug, _anchor=f"entry-{entry_id}"),
                _("C’est modifié."))
        typed, errors = reading.typed, _errors(section, reading.problems)
    db.session.commit()
    return render_page("profile/edit.html", fragment="profile/_entry_form.html",
                       target=f"entry-{entry_id}", status=422 if errors else 200,
                       item=item, typed=typed, errors=errors, has_errors=bool(errors),
                       section=section)


@bp.route("/<string:slug>/<string:entry_id>/supprimer", methods=["GET", "POST"])
@patient
def entry_delete(slug: str, entry_id: str):
    section = _section(slug)
    item = _entry(section, entry_id, ProfileAction.DELETE)
    if request.method == "POST":
        profile.delete_entry(db.session, keys.ring, space_owner(), item, actor())
        db.session.commit()
        return swap_or_see_other(
            lambda: _section_page(section, focus_id="list", announce=_("Supprimé.")),
            url_for("profile.section_show", slug=slug), _("C’est supprimé."))
    db.session.commit()
    return render_page("profile/delete.html", fragment="profile/_delete_confirm.html",
                       target=f"entry-{entry_id}", item=item, section=section)


@bp.post("/<string:slug>/non-concerne")
@patient
def section_not_concerned(slug: str):
    section = _section(slug)
    value = request.form.get("non_concerne") == "oui"
    try:
        profile.set_not_concerned(db.session, keys.ring, space_owner(), section, value,
                                  actor())
    except profile.SectionFull:
        flash(_("Supprimez d’abord les entrées de cette rubrique."), "error")
    else:
        db.session.commit()
        flash(_("Vous avez indiqué ne pas être concerné.") if value else
              _("La mention « Non concerné » est retirée."), "success")
    return see_other(url_for("profile.section_show", slug=slug))
