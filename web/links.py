"""Links and the layout's fixed parts, built once rather than on every page.

`url_for(endpoint)` without arguments, in templates, is built once per endpoint, not on
every call (a page's layout asks for about thirty).

What such a link depends on, and so its key: the endpoint (with the request's blueprint
when it is relative, ".name"), the root the site is served under, and the represented
space the request is in (web/space.py adds its id to the links of the space's areas, the
only url_defaults of the app). A call with any argument, or outside a request, is built as
Flask builds it. Links are addresses, the same for everyone with the same key: nothing of
a person is kept.

`{% call layout_part(name, *key) %}…{% endcall %}` in a template renders its body once per
key and then reuses it: for the parts of the layout that are the same on many pages (the
main menu, the footer). The key is the name, the values given, the language, the root and
the represented space; the body must use nothing else that varies (no person's data, no
form token): it is the template's word that it does not.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import get_locale

# Bounded: endpoints x represented spaces seen by this process; cleared when full.
LIMIT = 4096
EXTENSION = "carnet_links"
PARTS = "carnet_layout_parts"


def cached_url_for(endpoint: str, **values) -> str:
    if values or not has_request_context():
        return url_for(endpoint, **values)
    blueprint = request.blueprint if endpoint.startswith(".") else None
    key = (endpoint, blueprint, request.script_root, g.get("space_id"))
    links = current_app.extensions[EXTENSION]
    built = links.get(key)
    if built is None:
        built = url_for(endpoint)
        if len(links) >= LIMIT:
            links.clear()
        links[key] = built
    return built


def layout_part(name: str, *key, caller) -> str:
    full = (name, *key, str(get_locale()), request.script_root, g.get("space_id"))
    parts = current_app.extensions[PARTS]
    made = parts.get(full)
    if made is None:
        made = caller()  # Markup: the body was escaped as it was rendered
        if len(parts) >= LIMIT:
            parts.clear()
        parts[full] = made
    return made


def init_app(app: Flask) -> None:
    """Call after every blueprint is registered: a url_defaults function other than
    web/space.py's would make a link depend on something the key does not hold."""
    if (set(app.url_default_functions) - {None}
            or len(app.url_default_functions.get(None, ())) != 1):
        raise RuntimeError("web.links: a new url_defaults function must join the key")
    app.extensions[EXTENSION] = {}
    app.extensions[PARTS] = {}
    app.jinja_env.globals["url_for"] = cached_url_for
    app.jinja_env.globals["layout_part"] = layout_part
