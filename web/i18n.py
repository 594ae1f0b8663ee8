"""Language: French first; English on request; the choice is remembered in a cookie."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

import flask_babel
from babel import Locale, dates, numbers
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from jinja2 import pass_context, pass_eval_context
from markupsafe import Markup

LANG_COOKIE = "carnet_lang"
CHOSEN = "carnet_language_chosen"  # app.extensions: (Accept-Language, languages) -> one
CHOSEN_LIMIT = 1_000  # headers remembered (cleared when full: anyone can send any header)
CHOSEN_HEADER_MAX = 200  # characters: browsers send a few dozen
CATALOGUES = "carnet_catalogues"  # app.extensions: language code -> Flask-Babel's catalogue


def select_locale() -> str:
    """The cookie's language, else the browser's best match, else French. Parsing the
    browser's header costs more than the rest of choosing, and browsers send few
    different ones: the choice is kept per header."""
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    header = request.headers.get("Accept-Language", "")
    known, key = current_app.extensions[CHOSEN], (header, tuple(languages))
    chosen = known.get(key)
    if chosen is None:
        chosen = request.accept_languages.best_match(languages) or languages[0]
        if len(header) <= CHOSEN_HEADER_MAX:  # a browser's; a longer one is not kept
            if len(known) >= CHOSEN_LIMIT:
                known.clear()
            known[key] = chosen
    return chosen


def _chosen_language() -> tuple[str, object]:
    """The request's language and its catalogue, looked up once per request rather than
    once per string (Flask-Babel's get_locale() is four context lookups), the catalogue
    asked of Flask-Babel once per language and process (the app has one translation
    domain, read at start-up). A page asks for it once per string, number and date (a
    list of twenty documents, seventy times): `g` is read through the object behind
    Flask's proxy, which costs about a sixth of reading an attribute through the proxy
    (0.2 µs instead of 1.4)."""
    state = g._get_current_object()
    cached = state.get("carnet_translations")
    if cached is None:
        catalogues, code = current_app.extensions[CATALOGUES], _language_code(state)
        catalogue = catalogues.get(code)
        if catalogue is None:
            catalogue = catalogues[code] = get_translations()
        cached = state.carnet_translations = (code, catalogue)
    return cached


def _language_code(state) -> str:
    """The code Flask-Babel's get_locale() would give, without the Locale it builds from
    it (parsing the code, four context lookups: about 10 µs, on every page): the language
    forced by force_locale() (web.outgoing.in_language) or already chosen in this request,
    else select_locale()'s in a request, else Flask-Babel's own. `state`: the application
    context's `g`."""
    chosen = getattr(state.get("_flask_babel"), "babel_locale", None)
    if chosen is not None:
        return str(chosen)
    return select_locale() if has_request_context() else str(get_locale())


def _translations():
    """The request's catalogue (see above)."""
    return _chosen_language()[1]


def language() -> str:
    """The request's language code ("fr", "en"), for keys and attributes; in an
    application context (web.outgoing.in_language's forced one, there)."""
    return _chosen_language()[0]


def template_words():
    """The (language, catalogue) a template loaded in this request is compiled for
    (web/templating.py); None outside a request, where it is compiled as written."""
    if not has_request_context():
        return None
    return _chosen_language()


def gettext(string: str, **variables) -> str:
    """flask_babel.gettext through the request's catalogue (the same words, without its
    three context lookups per call); untranslated outside an application context."""
    text = _translations().ugettext(string) if has_app_context() else string
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """flask_babel.ngettext through the request's catalogue (`num` is always among the
    values, as there)."""
    variables.setdefault("num", num)
    if has_app_context():
        text = _translations().ungettext(singular, plural, num)
    else:
        text = singular if num == 1 else plural
    return text % variables


# Flask-Babel's formatting functions look up their request state three to six times per
# call (a growth chart's page formats a hundred values). These are the same functions,
# with the request's language (a forced one included) and time zone in one lookup each; a
# named format ("short"…) or no format goes to Flask-Babel.
NAMED_FORMATS = frozenset({None, "short", "medium", "long", "full"})


# Language code -> its Locale, one per process (see _locale).
_LOCALES: dict[str, Locale] = {}


def _locale() -> Locale | None:
    """The Locale of the request's language (a forced one included): one instance per
    language and process. The formats below are cached by locale, and Flask-Babel makes a
    new Locale for each request, which the cache then hashes and compares field by field
    on each lookup (a growth chart's page formats some sixty numbers and dates)."""
    if not has_app_context():
        return get_locale()
    code = _chosen_language()[0]
    found = _LOCALES.get(code)
    if found is None:
        found = _LOCALES[code] = Locale.parse(code)
    return found


def _zone():
    """The time zone Flask-Babel chose for this request (a forced one included), in one
    lookup once chosen; else Flask-Babel's own."""
    chosen = (getattr(g._get_current_object().get("_flask_babel"), "babel_tzinfo", None)
              if has_app_context() else None)
    return chosen or flask_babel.get_timezone()


def _in_user_zone(moment: datetime) -> datetime:
    """flask_babel.to_user_timezone: a naive moment is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = _zone()
    return zone.normalize(moment.astimezone(zone))


def format_decimal(number, format=None) -> str:  # noqa: A002 - Flask-Babel's signature
    return _decimal_text(number, format, _locale())


@lru_cache(maxsize=4096)
def _decimal_text(number, format, locale) -> str:  # noqa: A002
    """Babel's format_decimal parses the locale's pattern and rounds through Decimal on each
    call (about 15 µs): a measures page and its chart print the same few values and ticks
    again and again. Equal numbers of any type print alike, so the cache is keyed by value."""
    return numbers.format_decimal(number, format=format, locale=locale)


def format_date(date=None, format=None, rebase=True) -> str:  # noqa: A002
    if format in NAMED_FORMATS:
        return flask_babel.format_date(date, format, rebase)
    if rebase and isinstance(date, datetime):
        date = _in_user_zone(date)
    if date is None:  # today, as Babel has it
        return dates.format_date(None, format, locale=_locale())
    # Babel prints a moment's day: the day is the key (after the move to the user's zone).
    return _date_text(date.date() if isinstance(date, datetime) else date, format,
                      _locale())


@lru_cache(maxsize=4096)
def _date_text(day, format, locale) -> str:  # noqa: A002
    """Babel reads the locale's names and applies the pattern on each call: an agenda or a
    list prints the same days again and again."""
    return dates.format_date(day, format, locale=locale)


def format_datetime(datetime=None, format=None, rebase=True) -> str:  # noqa: A002
    if format in NAMED_FORMATS:
        return flask_babel.format_datetime(datetime, format, rebase)
    zone = {"tzinfo": _zone()} if rebase else {}
    return dates.format_datetime(datetime, format, locale=_locale(), **zone)


def format_time(time=None, format=None, rebase=True) -> str:  # noqa: A002
    if format in NAMED_FORMATS:
        return flask_babel.format_time(time, format, rebase)
    zone = {"tzinfo": _zone()} if rebase else {}
    return dates.format_time(time, format, locale=_locale(), **zone)


def lazy_gettext(string: str, **variables) -> LazyString:
    """flask_babel.lazy_gettext, translated when shown through gettext() above (menus and
    labels defined at import time are shown on every page)."""
    return LazyString(gettext, string, **variables)


# Jinja hands a function that asks for the whole context (pass_context) a context of its
# own, made anew on every call inside a loop or a block that sets variables (a profile page
# made sixteen); these ask only for the evaluation context, which says whether the template
# escapes, and that costs nothing.

def _template_gettext_for(translations):
    """What Jinja's newstyle gettext returns, through one catalogue: the translation, as
    markup when the template escapes (translations are the project's own text; the values
    are escaped by `%`), then formatted. Without values, `%` is applied only if the text
    has one: {% trans %} doubles a literal one, which formatting turns back into one."""
    ugettext = translations.ugettext

    @pass_eval_context
    def template_gettext(eval_ctx, string: str, **variables) -> str:
        text = ugettext(string)
        if eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - the catalogue's own text, as Jinja does
        return text % variables if variables or "%" in text else text

    return template_gettext


def _template_ngettext_for(translations):
    """Jinja's newstyle ngettext ({% trans count=… %}…{% pluralize %}), through one
    catalogue: `num` is among the values, and the text is always formatted, as there."""
    ungettext = translations.ungettext

    @pass_eval_context
    def template_ngettext(eval_ctx, singular: str, plural: str, num: int,
                          **variables) -> str:
        variables.setdefault("num", num)
        text = ungettext(singular, plural, num)
        if eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - the catalogue's own text, as Jinja does
        return text % variables

    return template_ngettext


@pass_eval_context
def _template_gettext(eval_ctx, string: str, **variables) -> str:
    """The same, through the request's catalogue, for a template rendered without
    render_template's context (its own is given per render, below)."""
    return _template_gettext_for(_translations())(eval_ctx, string, **variables)


@pass_eval_context
def _template_ngettext(eval_ctx, singular: str, plural: str, num: int, **variables) -> str:
    return _template_ngettext_for(_translations())(eval_ctx, singular, plural, num,
                                                   **variables)


def _gettext_context() -> dict:
    """Per render: `_`, {% trans %} and its plural forms bound to the request's catalogue
    (one lookup per page instead of one per string)."""
    translations = _translations()
    bound = _template_gettext_for(translations)
    return {"_": bound, "gettext": bound, "ngettext": _template_ngettext_for(translations)}


def _fresh_language() -> None:
    """Each request chooses its language anew. A request made inside an application
    context that is already there (a CLI command rendering an e-mail, a test) shares its
    `g`: without this, the previous request's language would stay cached, for numbers
    ("1,000" in a French page) if not for words."""
    g.pop("carnet_translations", None)
    cached = g.get("_flask_babel")
    if cached is not None:
        for name in ("babel_locale", "babel_translations", "babel_tzinfo"):
            cached.__dict__.pop(name, None)


def in_request_language(function):
    """`function` as a Jinja filter that is never run at compile time. Jinja folds a filter
    applied to constants (`1000|number`) into the compiled template, which is kept for the
    life of the process: the number would stay in the language of whichever request first
    compiled the page ("1,000" in every French page after an English visitor). A filter
    asking for the template's context is never folded; this one ignores it."""

    @pass_context
    def language_bound(_context, value, *args, **kwargs):
        return function(value, *args, **kwargs)

    return language_bound


def init_app(app: Flask) -> None:
    app.extensions[CHOSEN] = {}
    app.extensions[CATALOGUES] = {}
    app.before_request(_fresh_language)
    # Same behaviour as Flask-Babel's callables (newstyle: Jinja escapes and formats),
    # without its per-call context lookups, which cost half of a page's rendering.
    app.jinja_env.install_gettext_callables(
        lambda string: _translations().ugettext(string),
        lambda singular, plural, n: _translations().ungettext(singular, plural, n),
        newstyle=True,
    )
    # `_()` and {% trans %} are the most frequent calls of a page (fifty on the help
    # page): one function instead of Jinja's two nested context calls, same result. The
    # call above stays for newstyle, which changes how {% trans %} is compiled; its
    # gettext and ngettext are the ones replaced here.
    app.jinja_env.globals.update(gettext=_template_gettext, _=_template_gettext,
                                 ngettext=_template_ngettext)
    app.context_processor(_gettext_context)
    app.jinja_env.words_for = template_words
    app.jinja_env.filters.update(
        number=in_request_language(format_decimal),  # 5 000 in French, 5,000 in English
        dateformat=in_request_language(format_date),
        datetimeformat=in_request_language(format_datetime),
        timeformat=in_request_language(format_time))
