"""Links and the layout's fixed parts, built once rather than on every page.

`url_for(endpoint)` without arguments, in templates, is built once per endpoint, not on
every call (a page's layout asks for about thirty). A call with arguments is built once per
endpoint and set of argument names, as a pattern, and then filled in with the values: in
the query string, any text or number, written as werkzeug writes it; in the path, plain
words only (letters, digits, `-`, `_`: ids), which the path's converters write unchanged.
Any other value (or one an `any(…)` argument does not take), or an endpoint whose address
could depend on a value in another way (another converter, a rule with defaults), is built
as Flask builds it.

What such a link depends on, and so its key: the endpoint (with the request's blueprint
when it is relative, ".name"), the names of the arguments given and which of them are
None (Flask leaves those out), the values of `any(…)` arguments (one of a few words), the
root the site is served under, and the represented space the request is in (web/space.py
adds its id to the links of the space's areas, the only url_defaults of the app). Outside
a request, a link is built as Flask builds it.
Links and patterns are addresses, the same for everyone with the same key: no argument's
value is kept.

Templates get a `url_for` made once per request that already holds what the request's
links depend on (four lookups in Flask's context objects fewer per link).

`{% call layout_part(name, *key) %}…{% endcall %}` in a template renders its body once per
key and then reuses it: the layout around a page's content (base.html: the head, the
header, the main menu, the footer), the same for every page of a role, endpoint, language
and space. The key is the name, the values given, the language, the root and the
represented space; the body must use nothing else that varies (no person's data, no form
token): it is the template's word that it does not. What does vary per request (the form
token, the address to come back to, the title, the banners, the page's own content) goes
in `holes`: the body writes `carnet-hole-<name>` where a value goes, and each reuse puts
the request's values there in one pass (a value put in is never read for a mark), escaped
unless it is markup already (a block the template rendered).

The parts kept are bounded in number and in size (a represented space has its own: its
links hold its id); when either bound is reached they are all dropped and made again.
"""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from flask import Flask, current_app, g, has_request_context, request, url_for
from markupsafe import Markup, escape
from werkzeug.routing import AnyConverter, PathConverter, UnicodeConverter

from web.i18n import language

# Bounded: endpoints x argument names x represented spaces seen by this process; cleared
# when full.
LIMIT = 4096
# The layout parts' text, in characters (a whole layout is about 6,000; French text is
# stored two bytes a character): at most about 8 MB a process.
PARTS_CHARACTERS = 4_000_000
EXTENSION = "carnet_links"
PARTS = "carnet_layout_parts"
BUILDER = "carnet_link_builder"
# A value every converter used here writes in a path as it is.
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
QUERY_SAFE = "!$'()*,/:;?@"  # what werkzeug leaves as it is in a query string
_SLOT = "zq{}slotqz"  # stands for the n-th value while a pattern is built
_BY_FLASK = "flask"  # a key whose links Flask builds every time
# Where a layout part takes a value of the request's (its `holes`).
HOLE = re.compile(r"carnet-hole-([A-Za-z0-9_-]+)")


def _choices(endpoint: str) -> dict | None:
    """Per argument, the values it may take when a rule says (any(…)); None when an
    address of the endpoint could depend on a value in another way."""
    rules = current_app.url_map._rules_by_endpoint.get(endpoint, ())
    if not rules or any(rule.defaults for rule in rules):
        return None
    choices = {}
    for rule in rules:
        for name, converter in rule._converters.items():
            if type(converter) is AnyConverter:
                choices[name] = choices.get(name, converter.items) & converter.items
            elif type(converter) not in (UnicodeConverter, PathConverter):
                return None
    return choices


def _shape(endpoint: str, names: tuple, present: tuple):
    """Which arguments are one of a fixed few (`any(…)`: they join the key, with the
    values they may take), or _BY_FLASK when the endpoint's links are never patterns."""
    choices = _choices(endpoint)
    if choices is None or any(name.startswith("_") for name in names):
        return _BY_FLASK
    return tuple((index, choices[name]) for index, name in enumerate(names)
                 if present[index] and name in choices)


def _pattern(endpoint: str, names: tuple, given: tuple, fixed: frozenset) -> tuple | str:
    """The link with a stand-in for each value given (but the fixed ones), split where
    the values go."""
    slots = {}
    for index, (name, value) in enumerate(zip(names, given, strict=True)):
        slots[name] = value if value is None or index in fixed else _SLOT.format(index)
    built = url_for(endpoint, **slots)
    places = []
    for index, value in enumerate(given):
        if value is not None and index not in fixed:
            slot = _SLOT.format(index)
            if built.count(slot) != 1:
                return _BY_FLASK
            places.append((built.index(slot), index, len(slot)))
    places.sort()
    query = built.find("?")
    pieces, order, start = [], [], 0
    for place, index, length in places:
        pieces.append(built[start:place])
        order.append((index, 0 <= query < place))
        start = place + length
    pieces.append(built[start:])
    return tuple(pieces), tuple(order)


def _filled(pattern: tuple, values: tuple) -> str | None:
    """The link, or None when a value is not one the pattern can take as it is."""
    pieces, order = pattern
    out = [pieces[0]]
    for piece, (index, in_query) in zip(pieces[1:], order, strict=True):
        value = values[index]
        if type(value) is not str and type(value) is not int:
            return None
        value = str(value)
        if in_query:
            value = quote_plus(value, safe=QUERY_SAFE)  # as werkzeug writes a query
        elif WORD.fullmatch(value) is None:
            return None
        out.append(value)
        out.append(piece)
    return "".join(out)


def _keep(links: dict, key, value):
    if len(links) >= LIMIT:
        links.clear()
    links[key] = value
    return value


def builder():
    """`url_for` for this request's templates (see the module's docstring)."""
    links = current_app.extensions[EXTENSION]
    blueprint = request.blueprint
    root = request.script_root
    space_id = g.get("space_id")

    def build(endpoint: str, **values) -> str:
        relative = blueprint if endpoint.startswith(".") else None
        if not values:
            key = (endpoint, relative, root, space_id)
            built = links.get(key)
            return built if built is not None else _keep(links, key, url_for(endpoint))
        names = tuple(values)
        given = tuple(values.values())
        present = tuple(value is not None for value in given)
        full = endpoint if relative is None else relative + endpoint
        key = (endpoint, relative, root, space_id, names, present)
        shape = links.get(key)
        if shape is None:
            shape = _keep(links, key, _shape(full, names, present))
        if shape is _BY_FLASK:
            return url_for(endpoint, **values)
        chosen = tuple(given[index] for index, _allowed in shape)
        if any(value not in allowed
               for value, (_index, allowed) in zip(chosen, shape, strict=True)):
            return url_for(endpoint, **values)  # Flask says what is wrong
        key = (*key, chosen)
        pattern = links.get(key)
        if pattern is None:
            fixed = frozenset(index for index, _allowed in shape)
            pattern = _keep(links, key, _pattern(full, names, given, fixed))
        filled = None if pattern is _BY_FLASK else _filled(pattern, given)
        return url_for(endpoint, **values) if filled is None else filled

    return build


def link(endpoint: str, **values) -> str:
    """A link built as above, for Python code that runs on every page (and the
    templates' `url_for` where no request's one was given: a template rendered outside
    render_template)."""
    if not has_request_context():
        return url_for(endpoint, **values)
    return _request_builder()(endpoint, **values)


def _request_builder():
    """One builder per request, made when the first link is asked for (after the
    address has said which space the request is in)."""
    made = g.get(BUILDER)
    if made is None:
        made = g.carnet_link_builder = builder()
    return made



class _Parts(dict):
    """The layout parts made: key -> text, with their total length (approximate when two
    threads add one at the same moment; it only decides when to start again), and each
    part's text cut at its marks (`pieces`: text, hole's name, text, …), made on its first
    reuse with holes. Filling the pieces takes half the time of finding the marks anew in
    the whole page on each request (about 11 µs instead of 23 for the layout's 14 marks)."""

    characters = 0

    def __init__(self) -> None:
        super().__init__()
        self.pieces: dict[tuple, list[str]] = {}

    def clear(self) -> None:
        super().clear()
        self.pieces.clear()
        self.characters = 0


def layout_part(name: str, *key, holes: dict | None = None, caller) -> str:
    full = (name, *key, language(), request.script_root, g.get("space_id"))
    parts = current_app.extensions[PARTS]
    made = parts.get(full)
    if made is None:
        made = caller()  # Markup: the body was escaped as it was rendered
        if len(parts) >= LIMIT or parts.characters + len(made) > PARTS_CHARACTERS:
            parts.clear()
        parts[full] = made
        parts.characters += len(made)
    if not holes:
        return made
    pieces = parts.pieces.get(full)
    if pieces is None:
        pieces = HOLE.split(made)
        if parts.get(full) is made:  # still kept (not dropped by another thread meanwhile)
            parts.pieces[full] = pieces
    # In one pass: a value put in is never read again for a mark.
    filled = pieces.copy()
    for index in range(1, len(filled), 2):
        filled[index] = escape(holes[filled[index]])
    return Markup("".join(filled))  # noqa: S704


def init_app(app: Flask) -> None:
    """Call after every blueprint is registered: a url_defaults function other than
    web/space.py's would make a link depend on something the key does not hold."""
    if (set(app.url_default_functions) - {None}
            or len(app.url_default_functions.get(None, ())) != 1):
        raise RuntimeError("web.links: a new url_defaults function must join the key")
    app.extensions[EXTENSION] = {}
    app.extensions[PARTS] = _Parts()
    app.jinja_env.globals["url_for"] = link
    app.jinja_env.globals["layout_part"] = layout_part

    @app.before_request
    def _new_builder() -> None:
        # A request made inside an application context already there shares its `g`.
        g.pop(BUILDER, None)

    @app.context_processor
    def _links_context() -> dict:
        return {"url_for": _request_builder()} if has_request_context() else {}
