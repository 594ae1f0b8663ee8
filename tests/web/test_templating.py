"""web/templating.py: template globals whose keys are a set, with Jinja's import rules
kept (an imported template's module is made once, unless the page brings globals of its
own, which the import then sees); pages compiled once per language with their words in."""

from __future__ import annotations

from jinja2 import ChoiceLoader, DictLoader
from jinja2 import Template as JinjaTemplate

from web.templating import Environment, Template, TemplateCache, TemplateGlobals


def test_the_apps_templates_get_globals_whose_keys_are_a_set(app):
    globals_ = app.jinja_env.get_template("base.html").globals
    assert isinstance(app.jinja_env, Environment) and isinstance(globals_, TemplateGlobals)
    assert globals_.keys() == set(app.jinja_env.globals) and "url_for" in globals_.keys()
    assert dict(globals_)["url_for"] is app.jinja_env.globals["url_for"]


def test_imports_follow_jinjas_rules(app):
    environment = Environment(app, loader=DictLoader({
        "macros.html": "{% macro hello() %}{{ greeting|default('bonjour') }}{% endmacro %}",
        "page.html": '{% from "macros.html" import hello %}{{ hello() }}',
    }))
    macros = environment.get_template("macros.html")
    assert environment.get_template("page.html").render() == "bonjour"
    module = macros._get_default_module()
    assert environment.get_template("page.html").render() == "bonjour"
    assert macros._get_default_module() is module  # made once, not on every render
    # A page with globals of its own: its imports see them (a module made for it).
    environment.cache.clear()
    page = environment.get_template("page.html", globals={"greeting": "salut"})
    assert page.render() == "salut"
    assert page.globals.keys() == {"greeting", *environment.globals}
    assert page.globals["greeting"] == "salut" and "greeting" not in environment.globals


WORDS = ("<p>{{ _('Aller au contenu') }}</p>{% trans %}Mes sessions{% endtrans %}|"
         "{{ _('Espace de %(name)s', name=who) }}|{% trans name=who %}Espace de {{ name }}"
         "{% endtrans %}|{% trans %}100 % remboursé{% endtrans %}")
SAID = {
    ("fr", "html"): "<p>Aller au contenu</p>Mes sessions|Espace de &lt;b&gt;Léo&lt;/b&gt;|"
                    "Espace de &lt;b&gt;Léo&lt;/b&gt;|100 % remboursé",
    ("en", "html"): "<p>Skip to content</p>My sessions|&lt;b&gt;Léo&lt;/b&gt;'s space|"
                    "&lt;b&gt;Léo&lt;/b&gt;'s space|100 % remboursé",
    ("fr", "txt"): "<p>Aller au contenu</p>Mes sessions|Espace de <b>Léo</b>|"
                   "Espace de <b>Léo</b>|100 % remboursé",
    ("en", "txt"): "<p>Skip to content</p>My sessions|<b>Léo</b>'s space|"
                   "<b>Léo</b>'s space|100 % remboursé",
}


def test_a_page_is_compiled_once_per_language_with_its_words_in(app, monkeypatch):
    """Its words are looked up once, when it is compiled for a language: rendering it
    again asks the catalogue only for a text left to the call (one with a `%`). What it
    says is what the calls said: the language of each request, values escaped in HTML
    and not in text, an e-mail in its own language in the middle of a page's request."""
    from web import i18n
    from web.outgoing import in_language

    original = app.jinja_env.loader
    monkeypatch.setattr(app.jinja_env, "loader", ChoiceLoader([
        DictLoader({"words.html": WORDS, "words.txt": WORDS}), original]))
    asked = []

    def counted(catalogue):
        ugettext = catalogue.ugettext
        monkeypatch.setattr(catalogue, "ugettext",
                            lambda text: asked.append(text) or ugettext(text))

    def render(name: str) -> str:
        return app.jinja_env.get_template(name).render(who="<b>Léo</b>")

    for language in ("fr", "en"):
        with app.test_request_context("/", headers={"Cookie": f"carnet_lang={language}"}):
            app.preprocess_request()
            counted(i18n.template_words()[1])
    for language in ("fr", "en", "fr", "en"):
        other = {"fr": "en", "en": "fr"}[language]
        with app.test_request_context("/", headers={"Cookie": f"carnet_lang={language}"}):
            app.preprocess_request()
            for kind in ("html", "txt"):
                asked.clear()
                assert render(f"words.{kind}") == SAID[(language, kind)]
                if len(asked) > 1:  # compiled now: every word was looked up
                    asked.clear()
                    assert render(f"words.{kind}") == SAID[(language, kind)]
                assert asked == ["100 %% remboursé"]
                assert in_language(other, lambda kind=kind: render(
                    f"words.{kind}")) == SAID[(other, kind)]
    # Outside a request (a command's e-mail): compiled as written, in the language asked.
    with app.app_context():
        for language in ("en", "fr"):
            assert in_language(language, lambda: render("words.html")) == SAID[
                (language, "html")]
    cached = {key[1:] for key in app.jinja_env.cache.keys()
              if key[0]() is app.jinja_env.loader and key[1] == "words.html"}
    assert cached == {("words.html",), ("words.html", "en"), ("words.html", "fr")}


def test_a_new_context_holds_what_jinjas_would(app):
    """Template.new_context copies the globals in C: the same values and precedence as
    Jinja's (the template's own globals over the environment's, the values given over
    both, then the locals), and the same keys of globals for imports."""
    environment = Environment(app, loader=DictLoader({"page.html": "{{ a }}"}))
    environment.globals.update(a="environment", b="environment", c="environment")
    page = environment.get_template("page.html", globals={"b": "template", "c": "template"})
    assert type(page) is Template
    given = {"c": "given", "d": "given"}
    ours = page.new_context(dict(given), locals={"l_0_x": "local"})
    jinjas = JinjaTemplate.new_context(page, dict(given), locals={"l_0_x": "local"})
    assert ours.parent == jinjas.parent
    assert (ours.parent["a"], ours.parent["b"], ours.parent["c"]) == (
        "environment", "template", "given")
    assert ours.globals_keys == jinjas.globals_keys == set(page.globals)
    shared = {"only": 1}
    assert page.new_context(shared, shared=True).parent is shared  # as Jinja does
    assert page.render(a="given") == "given"


def test_compiled_templates_are_kept_in_a_bounded_dict(app):
    environment = Environment(app, loader=DictLoader(
        {f"t{number}.html": str(number) for number in range(5)}))
    assert isinstance(environment.cache, TemplateCache)
    first = environment.get_template("t0.html")
    assert environment.get_template("t0.html") is first  # kept, not compiled again
    environment.cache.capacity = 3
    for number in range(5):
        assert environment.get_template(f"t{number}.html").render() == str(number)
        assert len(environment.cache) <= 3
    assert environment.get_template("t4.html") is environment.get_template("t4.html")
