"""The template environment: Flask's, with template globals whose keys are a set, and
pages compiled once per language with their fixed words already in.

The help page says 39 `_("…")` and `{% trans %}`, the layout 32 more, each a function
call at every render that looks the same words up in the same catalogue. A template loaded
in a request is compiled for the request's language instead: a call whose words are a
constant becomes the translation itself (with its values put in by `%`, as the call
would), which Jinja then joins to the text around it. The compiled template is kept per
language; one loaded outside a request (a command's e-mail) is compiled as it is written,
and calls the catalogue as it renders. `from_string` templates, which code may keep and
render in another language, are never compiled with words in.
"""

from __future__ import annotations

import weakref
from collections import ChainMap
from collections.abc import Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from flask.templating import Environment as FlaskEnvironment
from jinja2 import Template as JinjaTemplate
from jinja2 import nodes
from jinja2.runtime import Context, missing
from jinja2.visitor import NodeTransformer

# The functions a template says its words with (web/i18n.py installs them).
GETTEXT = frozenset({"_", "gettext"})
# Templates (173) × kept versions (each language, and as written): Jinja's 400 would
# already be short with a third language, and a page missing from it is compiled again.
CACHE_SIZE = 2_000
# The catalogue of the template being compiled (set only while the loader compiles it).
_COMPILING_WITH: ContextVar = ContextVar("carnet_compiling_with", default=None)


class TemplateGlobals(ChainMap):
    """A template's globals as Jinja makes them (its own over the environment's), except
    that keys() is a set. On every `{% from … import … %}` Jinja takes the imported
    template's keys away from the page's (Template._get_default_module); against a
    ChainMap's key view that runs in Python, one key at a time (9 µs an import with the
    project's 21 globals, and a page has two to five imports); against a set, 0.5 µs."""

    def keys(self) -> set:  # type: ignore[override]
        return set().union(*self.maps)

    def __iter__(self):
        # Every context a page makes takes a set of these keys (Context.globals_keys);
        # ChainMap's own iteration builds a dict of them in Python first.
        return iter(self.keys())

    def flat(self) -> dict:
        """A dict of the globals, the template's own over the environment's, made in C."""
        flat: dict = {}
        for scope in reversed(self.maps):
            flat.update(scope)
        return flat


class TemplateCache(dict):
    """The compiled templates, by key: a dict emptied when full. Jinja's LRU cache moves a
    key to the end of a queue on every use, which scans the queue from its other end: with
    the site's 340 templates and languages kept, 16 µs a template, and a page asks for three
    to six (itself, its layout, the components it imports). The site's templates are far
    fewer than CACHE_SIZE: nothing is dropped in practice, and a template dropped is only
    compiled again."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def __setitem__(self, key, value) -> None:
        if len(self) >= self.capacity and key not in self:
            self.clear()
        super().__setitem__(key, value)


class Template(JinjaTemplate):
    """Jinja's, with the globals copied into a new context in C. Jinja's new_context copies
    them with dict(globals), which reads a ChainMap one key at a time in Python (14 µs for
    the project's 21 globals, half of each render's start, and a page renders two or three
    templates); the values and their precedence are the same: the template's own globals
    over the environment's, the values given over both, then the caller's locals."""

    def new_context(self, vars: dict | None = None, shared: bool = False,  # noqa: A002
                    locals: MutableMapping[str, Any] | None = None) -> Context:  # noqa: A002
        if shared or type(self.globals) is not TemplateGlobals:
            return super().new_context(vars, shared, locals)
        parent = self.globals.flat()
        if vars:
            parent.update(vars)
        if locals:
            for key, value in locals.items():
                if value is not missing:
                    parent[key] = value
        return self.environment.context_class(self.environment, parent, self.name,
                                              self.blocks, globals=self.globals)


class WordsIn(NodeTransformer):
    """`_("…")` / `gettext("…")` / `{% trans %}…{% endtrans %}` with constant words →
    their translation in `catalogue`, as web/i18n.py's template gettext gives it at render
    time: markup where the template escapes, then `%` with the values given (which Markup
    escapes). Without values, a text holding `%` is left to the call (it formats it)."""

    def __init__(self, catalogue):
        self.ugettext = catalogue.ugettext

    def visit_Call(self, node: nodes.Call) -> nodes.Node:  # noqa: N802 - Jinja's visitor
        node = self.generic_visit(node)
        if not (isinstance(node.node, nodes.Name) and node.node.name in GETTEXT
                and len(node.args) == 1 and isinstance(node.args[0], nodes.Const)
                and isinstance(node.args[0].value, str)
                and node.dyn_args is None and node.dyn_kwargs is None):
            return node
        text = self.ugettext(node.args[0].value)
        words = nodes.MarkSafeIfAutoescape(nodes.Const(text, lineno=node.lineno),
                                           lineno=node.lineno)
        if node.kwargs:
            values = nodes.Dict([nodes.Pair(nodes.Const(keyword.key), keyword.value,
                                            lineno=node.lineno)
                                 for keyword in node.kwargs], lineno=node.lineno)
            return nodes.Mod(words, values, lineno=node.lineno)
        return node if "%" in text else words


class Environment(FlaskEnvironment):
    template_class = Template
    # Set by web/i18n.py: the (language, catalogue) a template loaded now is compiled
    # for, or None (compiled as written).
    words_for: Callable[[], tuple[str, Any] | None] = staticmethod(lambda: None)

    def __init__(self, app, **options):
        options.setdefault("cache_size", CACHE_SIZE)
        super().__init__(app, **options)
        if self.cache is not None:
            self.cache = TemplateCache(CACHE_SIZE)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> TemplateGlobals:
        return TemplateGlobals({} if d is None else d, self.globals)

    def _load_template(self, name: str, globals: MutableMapping[str, Any] | None):  # noqa: A002
        """Jinja's, with the language in the cache's key and the catalogue given to the
        compilation (_parse below)."""
        words = self.words_for()
        if words is None or self.loader is None:
            return super()._load_template(name, globals)
        language, catalogue = words
        key = (weakref.ref(self.loader), name, language)
        template = self.cache.get(key) if self.cache is not None else None
        if template is not None and (not self.auto_reload or template.is_up_to_date):
            if globals:
                template.globals.update(globals)
            return template
        compiling = _COMPILING_WITH.set(catalogue)
        try:
            template = self.loader.load(self, name, self.make_globals(globals))
        finally:
            _COMPILING_WITH.reset(compiling)
        if self.cache is not None:
            self.cache[key] = template
        return template

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        catalogue = _COMPILING_WITH.get()
        return tree if catalogue is None else WordsIn(catalogue).visit(tree)
