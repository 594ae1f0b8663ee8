"""One code path for the full page and the htmx fragment (STYLE.md "Habits")."""

from __future__ import annotations

from flask import Response, make_response, redirect, render_template

from extensions import htmx


def wants_fragment(target: str) -> bool:
    """A fragment only for a plain htmx request aimed at the expected element."""
    return (bool(htmx) and not htmx.boosted and not htmx.history_restore_request
            and htmx.target == target)


def render_page(template: str, *, fragment: str | None = None, target: str | None = None,
                status: int = 200, **context) -> Response:
    """Render the whole page, or only its partial for an htmx swap of `target`."""
    partial = bool(fragment and target and wants_fragment(target))
    chosen = fragment if partial else template
    # A fragment may carry its own <title> (htmx puts it on the page: "Erreur :" after a
    # failed form); the whole page has it in <head>.
    response = make_response(render_template(chosen, is_fragment=partial, **context), status)
    response.vary.add("HX-Request")
    return response


def see_other(location: str) -> Response:
    """After a successful POST: 303 for browsers, HX-Location for htmx."""
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Location"] = location
        return response
    return redirect(location, code=303)
