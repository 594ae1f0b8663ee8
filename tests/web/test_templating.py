"""web/templating.py: template globals whose keys are a set, with Jinja's import rules
kept (an imported template's module is made once, unless the page brings globals of its
own, which the import then sees)."""

from __future__ import annotations

from jinja2 import DictLoader

from web.templating import Environment, TemplateGlobals


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
