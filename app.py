"""Application factory: config -> extensions -> web glue -> blueprints -> errors -> CLI."""

from __future__ import annotations

from pathlib import Path

from jinja2 import StrictUndefined

from config import load_config
from extensions import babel, blobs, csrf, db, htmx, keys, limiter, login_manager
from web import (
    access,
    assets,
    catalogue,
    cli,
    context,
    errors,
    i18n,
    labels,
    links,
    logs,
    oauth,
    outgoing,
    page_cache,
    proxy,
    security,
    sessions,
    space,
    summary_jobs,
)
from web.application import Application
from web.i18n import select_locale


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Application:
    """Build the app. `test_config` overrides settings read from the environment."""
    root = Path(__file__).parent
    app = Application(__name__, instance_path=instance_path or str(root / "instance"),
                      static_folder=None)
    app.config.update(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)
    logs.configure(app)
    proxy.init_app(app)

    db.init_app(app)
    keys.init_app(app)
    blobs.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_timezone="Europe/Paris")
    htmx.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    i18n.init_app(app)
    sessions.init_app(app)
    security.init_app(app)
    page_cache.init_app(app)
    summary_jobs.init_app(app)
    access.init_app(app)
    space.init_app(app)
    assets.init_app(app)
    context.init_app(app)
    labels.init_app(app)
    outgoing.init_app(app)
    catalogue.init_app(app)  # a faulty catalogue file stops the start, named
    oauth.init_app(app)

    from blueprints.access import bp as access_bp
    from blueprints.account import bp as account_bp
    from blueprints.activation import bp as activation_bp
    from blueprints.adviser import bp as adviser_bp
    from blueprints.agenda import bp as agenda_bp
    from blueprints.apps import bp as apps_bp
    from blueprints.auth import bp as auth_bp
    from blueprints.catalogue import bp as catalogue_bp
    from blueprints.documents import bp as documents_bp
    from blueprints.fhir import bp as fhir_bp
    from blueprints.health import bp as health_bp
    from blueprints.messages import bp as messages_bp
    from blueprints.pages import bp as pages_bp
    from blueprints.pro import bp as pro_bp
    from blueprints.profile import bp as profile_bp
    from blueprints.space import bp as space_bp

    for blueprint in (pages_bp, auth_bp, activation_bp, account_bp, space_bp, documents_bp,
                      profile_bp, access_bp, pro_bp, adviser_bp, messages_bp, agenda_bp,
                      health_bp, apps_bp, fhir_bp, catalogue_bp):
        app.register_blueprint(blueprint)
    space.add_space_rules(app)
    links.init_app(app)  # after the blueprints: it checks their url_defaults

    errors.init_app(app)
    cli.register(app)
    return app
