"""The menu page: on a small screen, the header shows the site's name and a « Menu » link
to this page (a real page, so it works without JavaScript); it lists what the wide header
shows: the role's menu, the spaces a patient may switch to, help and the account tools."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_login import current_user

from blueprints.pages import bp
from web import space
from web.access import public
from web.context import NAV, PUBLIC_NAV, switchable_spaces
from web.page_cache import for_visitors
from web.render import render_page

SPACE_PARAM = "espace"


def _menu_items(represented) -> list[tuple[str, str, str]]:
    """(href, label, endpoint) of the role's menu; inside a represented space, the areas
    served there, each link in that space."""
    if not current_user.is_authenticated:
        return [(url_for(endpoint), label, endpoint) for endpoint, label in PUBLIC_NAV]
    items = NAV[current_user.role]
    if represented is None:
        return [(url_for(endpoint), label, endpoint) for endpoint, label in items]
    served = current_app.extensions.get(space.ENDPOINTS, ())
    return [(url_for(endpoint, space_id=represented.person.id), label, endpoint)
            for endpoint, label in items if endpoint in served]


@bp.get("/menu")
@public
@for_visitors
def menu():
    """?espace=<id> (from the header inside a represented space): the menu of that space,
    if it is one the signed-in person may switch to today (the pages check again)."""
    spaces = switchable_spaces()
    wanted = request.args.get(SPACE_PARAM)
    represented = next((item for item in spaces if item.person.id == wanted), None)
    return render_page("pages/menu.html", menu_items=_menu_items(represented),
                       spaces=spaces, menu_space=represented)
