"""One code path for the full page and the htmx fragment (STYLE.md "Habits")."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, flash, make_response, redirect, render_template, request

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


def load_page(location: str) -> Response:
    """After a successful POST that leads to another page: 303 for browsers, and for htmx
    a full page load (HX-Redirect), exactly as without JavaScript."""
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def render_swap(template: str, *, target: str, swap: str = "outerHTML", status: int = 200,
                **context) -> Response:
    """An htmx fragment sent somewhere else than the request aimed at (a failed form sent
    back in place of the form it came from)."""
    response = make_response(render_template(template, is_fragment=True, **context), status)
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    response.vary.add("HX-Request")
    return response


def swap_or_see_other(swap: Callable[[], Response], location: str, message: str,
                      category: str = "success") -> Response:
    """After a successful POST made in place with htmx (an inline add, change or delete):
    `swap()` answers with the updated part of the page, which announces the change in the
    live region itself. Without JavaScript: `message` as a banner on `location`, after a
    303."""
    if htmx:
        return swap()
    flash(message, category)
    return see_other(location)


def redirect_to(location: str, code: int = 303) -> Response:
    """A 303 whoever asks: a browser, or htmx for a boosted form (hx-boost), which follows
    it itself and swaps in the page it lands on; also a GET sending the visitor elsewhere."""
    return redirect(location, code=code)


def render_landing(template: str, **kwargs) -> Response:
    """render_page for a page a boosted form lands on after its redirect: htmx followed the
    redirect without telling the browser, so the address bar is given the page's address."""
    response = render_page(template, **kwargs)
    if htmx and request.method == "GET":
        response.headers["HX-Push-Url"] = request.path
    return response
