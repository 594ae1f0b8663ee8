"""The catalogue's pages: the list of referenced services with its category filter, and each
service's page. Anyone in the patient area reads them; nothing here is health data."""

from __future__ import annotations

from flask import abort, request

from blueprints.catalogue import bp
from domain.policy import Area
from web import catalogue
from web.access import allow
from web.render import render_page

patient = allow(Area.PATIENT_SPACE)
RESULTS = "catalogue-results"  # the list htmx swaps when the filter is sent


@bp.get("")
@patient
def index():
    """Every referenced service, or those of one category (`?categorie=`, a plain GET form;
    htmx swaps the results). A category with no service, or any other value, shows them
    all."""
    known = catalogue.current()
    in_use = known.categories_in_use()
    chosen = request.args.get("categorie", "")
    category = chosen if chosen in in_use else None
    return render_page("catalogue/index.html", fragment="catalogue/_results.html",
                       target=RESULTS, category=category, total=len(known),
                       entries=known.in_category(category) if category else known.apps,
                       categories=[(code, len(known.in_category(code))) for code in in_use])


@bp.get("/<string:slug>")
@patient
def detail(slug: str):
    """One service: its publisher, what it does, each kind of data it asks for and why,
    its privacy policy and accessibility statement."""
    entry = catalogue.current().get(slug)
    if entry is None:
        abort(404)
    return render_page("catalogue/detail.html", entry=entry)
