"""Each request chooses its language anew, even inside an application context that is
already there (a CLI command rendering an e-mail, a test): words and numbers agree."""

from __future__ import annotations

from flask import render_template_string

TEMPLATE = "{{ _('Aide') }} {{ 1000|number }}"


def test_a_request_never_inherits_the_previous_requests_language(app):
    with app.app_context():
        with app.test_request_context("/", headers={"Cookie": "carnet_lang=en"}):
            app.preprocess_request()
            assert render_template_string(TEMPLATE) == "Help 1,000"
        with app.test_request_context("/"):
            app.preprocess_request()
            assert render_template_string(TEMPLATE) == "Aide 1\u202f000"


def test_template_words_are_what_jinja_newstyle_gettext_gives(app):
    """web/i18n.py's one-call `_` and {% trans %}: escaped values, literal percent signs,
    plain text, in both languages."""
    cases = {
        "{{ _('Aide') }}": ("Aide", "Help"),
        "{{ _('Espace de %(name)s', name='<b>Léo</b>') }}":
            ("Espace de &lt;b&gt;Léo&lt;/b&gt;", "&lt;b&gt;Léo&lt;/b&gt;'s space"),
        "{% trans %}100 % remboursé{% endtrans %}": ("100 % remboursé", "100 % remboursé"),
        "{% trans n=3 %}{{ n }} % de {{ n }}{% endtrans %}": ("3 % de 3", "3 % de 3"),
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
