"""Each request chooses its language anew, even inside an application context that is
already there (a CLI command rendering an e-mail, a test): words and numbers agree."""

from __future__ import annotations

from flask import g, render_template_string

TEMPLATE = "{{ _('Aide') }} {{ 1000|number }}"


def test_a_request_never_inherits_the_previous_requests_language(app):
    with app.app_context():
        with app.test_request_context("/", headers={"Cookie": "carnet_lang=en"}):
            app.preprocess_request()
            assert render_template_string(TEMPLATE) == "Help 1,000"
        with app.test_request_context("/"):
            app.preprocess_request()
            assert render_template_string(TEMPLATE) == "Aide 1\u202f000"


def test_a_compiled_template_says_constants_in_each_requests_language(app):
    """Jinja folds a filter applied to constants into the compiled template, which the
    application keeps: a page first compiled for an English visitor said "1,000" in French
    afterwards (CI saw it on the agenda's form). Compiled once, in English, rendered in
    both languages."""
    from datetime import date

    source = ("{{ 1000|number }}|{{ 2500000|human_size }}|{{ 'doctor'|profession_name }}|"
              "{{ day|dateformat('d MMMM') }}|{{ 1234.5|number }}")
    with app.test_request_context("/", headers={"Cookie": "carnet_lang=en"}):
        app.preprocess_request()
        template = app.jinja_env.from_string(source)
        assert template.render(day=date(2026, 5, 1)) == "1,000|2.5 MB|Doctor|1 May|1,234.5"
    with app.test_request_context("/", headers={"Cookie": "carnet_lang=fr"}):
        app.preprocess_request()
        assert template.render(day=date(2026, 5, 1)) == (
            "1\u202f000|2,5 Mo|Médecin|1 mai|1\u202f234,5")


def test_template_words_are_what_jinja_newstyle_gettext_gives(app):
    """web/i18n.py's one-call `_` and {% trans %}: escaped values, literal percent signs,
    plain text, plural forms, in both languages."""
    cases = {
        "{{ _('Aide') }}": ("Aide", "Help"),
        "{{ _('Espace de %(name)s', name='<b>Léo</b>') }}":
            ("Espace de &lt;b&gt;Léo&lt;/b&gt;", "&lt;b&gt;Léo&lt;/b&gt;'s space"),
        "{% trans %}100 % remboursé{% endtrans %}": ("100 % remboursé", "100 % remboursé"),
        "{% trans n=3 %}{{ n }} % de {{ n }}{% endtrans %}": ("3 % de 3", "3 % de 3"),
        # Plural forms, and words inside a loop and a block that sets a variable (where
        # Jinja would give a function asking for the context one made for it).
        "{% for count in (1, 2) %}{% trans %}{{ count }} message non lu{% pluralize %}"
        "{{ count }} messages non lus{% endtrans %};{% endfor %}":
            ("1 message non lu;2 messages non lus;", "1 unread message;2 unread messages;"),
        "{% for name in ('<i>Léa</i>',) %}{% set shown = name %}"
        "{{ _('Espace de %(name)s', name=shown) }}{% endfor %}":
            ("Espace de &lt;i&gt;Léa&lt;/i&gt;", "&lt;i&gt;Léa&lt;/i&gt;'s space"),
    }
    for language, column in (("fr", 0), ("en", 1)):
        with app.test_request_context("/", headers={"Cookie": f"carnet_lang={language}"}):
            app.preprocess_request()
            for source, expected in cases.items():
                assert render_template_string(source) == expected[column], source


def test_the_browsers_language_is_chosen_once_per_header_and_still_per_request(app):
    from web import i18n

    kept = app.extensions[i18n.CHOSEN]
    kept.clear()
    cases = [("en-GB,en;q=0.9,fr;q=0.5", "Help"), ("fr-FR,fr;q=0.9,en;q=0.8", "Aide"),
             ("de-DE,de;q=0.9", "Aide"), ("", "Aide"), ("en-GB,en;q=0.9,fr;q=0.5", "Help"),
             ("de-DE,de;q=0.9,en;q=0.1", "Help")]
    for header, word in cases * 2:
        with app.test_request_context("/", headers={"Accept-Language": header}):
            app.preprocess_request()
            assert render_template_string("{{ _('Aide') }}") == word, header
    assert len(kept) == 5
    # The cookie still wins over a remembered header.
    with app.test_request_context("/", headers={"Accept-Language": "en-GB",
                                                "Cookie": "carnet_lang=fr"}):
        app.preprocess_request()
        assert render_template_string("{{ _('Aide') }}") == "Aide"
    # Anyone may send any header: what is remembered stays bounded.
    for number in range(i18n.CHOSEN_LIMIT + 5):
        with app.test_request_context("/", headers={"Accept-Language": f"x-{number}"}):
            assert i18n.select_locale() == "fr"
    assert len(kept) <= i18n.CHOSEN_LIMIT
    long_header = "en;q=0.9," + ",".join(f"x-{number}" for number in range(100))
    with app.test_request_context("/", headers={"Accept-Language": long_header}):
        assert i18n.select_locale() == "en"
    assert not any(key[0] == long_header for key in kept)  # chosen, not kept


def test_the_request_bound_formatting_gives_what_flask_babel_gives(app):
    """web/i18n.py's gettext, ngettext and formatting functions (and the dateformat,
    datetimeformat, timeformat and number filters) read the request's locale and time zone
    in one lookup: the same text as Flask-Babel's own, in both languages, under a forced
    locale, on the first call of a request and outside any application context."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    import flask_babel

    from web import i18n

    moment = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # Paris changes to summer time
    naive = datetime(2026, 10, 25, 0, 30)  # and back (taken as UTC)
    day = date(2026, 2, 28)
    pairs = [(i18n.gettext, flask_babel.gettext), (i18n.ngettext, flask_babel.ngettext),
             (i18n.format_decimal, flask_babel.format_decimal),
             (i18n.format_date, flask_babel.format_date),
             (i18n.format_datetime, flask_babel.format_datetime),
             (i18n.format_time, flask_babel.format_time)]
    calls = {
        0: [(("Aide",), {}), (("Espace de %(name)s",), {"name": "<b>Léo</b>"}),
            (("100 % sûr",), {})],
        1: [(("%(num)s mois", "%(num)s mois", 1), {}), (("%(num)s mois", "%(num)s mois", 7), {}),
            (("%(num)d document", "%(num)d documents", 2), {"extra": "x"})],
        # Equal numbers of other types (format_decimal keeps texts by value and locale).
        2: [((1234.5,), {}), ((Decimal("0.125"), "#,##0.0"), {}), ((-3,), {}), ((12.0,), {}),
            ((12,), {}), ((Decimal("12.0"),), {}), ((12.5, "#,##0.00"), {}),
            ((Decimal("12.50"), "#,##0.00"), {}), ((Decimal("0.125"),), {})],
        3: [((day, "d MMMM y"), {}), ((moment, "EEEE d MMMM y"), {}),
            ((moment, "d MMM y"), {"rebase": False}), ((naive, "LLLL y"), {}), ((day,), {}),
            ((day, "short"), {}), ((moment, "full"), {})],
        4: [((moment, "d MMMM y, HH:mm"), {}), ((naive, "HH:mm"), {}),
            ((moment, "HH:mm"), {"rebase": False}), ((moment, "medium"), {}), ((moment,), {})],
        5: [((moment, "HH:mm"), {}), ((naive, "HH:mm:ss"), {}), ((moment, "short"), {})],
    }

    def same() -> None:
        for index, (fast, slow) in enumerate(pairs):
            for args, kwargs in calls[index]:
                try:
                    expected = slow(*args, **kwargs)
                except RuntimeError:  # Flask-Babel's dates need an application; ours need it less
                    continue
                assert fast(*args, **kwargs) == expected, (fast, args, kwargs)

    for language, other in (("fr", "en"), ("en", "fr")):
        headers = {"Cookie": f"carnet_lang={language}"}
        for index, (fast, _slow) in enumerate(pairs):  # first call of a request: fast's
            for args, kwargs in calls[index]:
                with app.test_request_context("/", headers=headers):
                    app.preprocess_request()
                    first = fast(*args, **kwargs)
                with app.test_request_context("/", headers=headers):
                    app.preprocess_request()
                    assert first == _slow(*args, **kwargs), (fast, args)
        with app.test_request_context("/", headers=headers):
            app.preprocess_request()
            same()
            with flask_babel.force_locale(other):
                g.pop("carnet_translations", None)  # as web.outgoing.in_language does
                assert i18n.gettext("Aide") == {"fr": "Aide", "en": "Help"}[other]
                same()
            g.pop("carnet_translations", None)
            same()
            filters = render_template_string(
                "{{ d|dateformat('d MMMM y') }} {{ m|datetimeformat('d MMM y, HH:mm') }} "
                "{{ m|timeformat('HH:mm') }} {{ 1234.5|number }}", d=day, m=moment)
            assert filters == " ".join([
                flask_babel.format_date(day, "d MMMM y"),
                flask_babel.format_datetime(moment, "d MMM y, HH:mm"),
                flask_babel.format_time(moment, "HH:mm"), flask_babel.format_decimal(1234.5)])
    same()  # no application context: untranslated, Babel's defaults


def test_the_formats_locale_is_one_object_per_language_and_process(app):
    """The number and date texts are cached by locale: each request's Locale is the same
    object for its language (Flask-Babel makes a new one per request, which the caches
    would hash and compare field by field), and it is the one Flask-Babel chose."""
    import flask_babel

    from web import i18n

    seen = {}
    for language in ("fr", "en", "fr", "en"):
        with app.test_request_context("/", headers={"Cookie": f"carnet_lang={language}"}):
            app.preprocess_request()
            locale = i18n._locale()
            assert locale == flask_babel.get_locale()
            assert str(locale) == language
            assert seen.setdefault(language, locale) is locale
            with flask_babel.force_locale("en" if language == "fr" else "fr"):
                g.pop("carnet_translations", None)  # as web.outgoing.in_language does
                assert i18n._locale() == flask_babel.get_locale() != locale
            g.pop("carnet_translations", None)
            assert i18n._locale() is locale
    assert seen["fr"] is not seen["en"]
    assert i18n._locale() is None  # no application: Babel's defaults, as Flask-Babel


def test_a_text_in_another_language_leaves_the_page_in_its_own_even_on_error(app):
    import pytest

    from web import i18n
    from web.outgoing import in_language

    def fails():
        assert i18n.gettext("Aide") == "Help"
        raise ValueError("the e-mail could not be made")

    with app.test_request_context("/", headers={"Cookie": "carnet_lang=fr"}):
        app.preprocess_request()
        with pytest.raises(ValueError):
            in_language("en", fails)
        assert i18n.gettext("Aide") == "Aide"
