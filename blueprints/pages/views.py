from pathlib import Path

from flask import Response, abort, current_app, redirect, request, url_for

from blueprints.pages import bp
from domain import source
from extensions import limiter
from web.access import public, safe_next
from web.i18n import LANG_COOKIE
from web.labels import easy_read
from web.page_cache import for_visitors
from web.render import render_page

ONE_YEAR = 365 * 24 * 3600
# Who publishes and who hosts this installation (config.py; required in production).
OPERATOR_SETTINGS = ("PUBLISHER_NAME", "PUBLISHER_ADDRESS", "PUBLISHER_CONTACT",
                     "PUBLICATION_DIRECTOR", "HOST_NAME", "HOST_ADDRESS")


@bp.get("/")
@public
@for_visitors
def home():
    return render_page("pages/home.html")


@bp.get("/arnaques")
@public
@for_visitors
def fraud():
    return render_page("pages/fraud.html")


@bp.get("/aide")
@public
@for_visitors
def help():  # noqa: A001 - the endpoint name users see in the sitemap
    return render_page("pages/help.html")


@bp.get("/facile/<string:slug>")
@public
@for_visitors
def easy_read_page(slug: str):
    """A key page in easy-read French (FALC): short sentences, one idea each, examples."""
    if slug not in easy_read.PAGES:
        abort(404)
    title, full_page, full_name = easy_read.PAGES[slug]
    return render_page("pages/easy_read.html", slug=slug, title=title,
                       full_page=full_page, full_name=full_name)


@bp.get("/accessibilite")
@public
@for_visitors
def accessibility():
    return render_page("pages/accessibility.html")


@bp.get("/plan-du-site")
@public
@for_visitors
def sitemap():
    return render_page("pages/sitemap.html")


@bp.get("/mentions-legales")
@public
@for_visitors
def legal():
    config = current_app.config
    operator = {name.lower(): config[name] for name in OPERATOR_SETTINGS}
    return render_page("pages/legal.html", operator=operator)


@bp.get("/deconnecte")
@public
@for_visitors
def signed_out():
    return render_page("pages/signed_out.html")


@bp.get("/langue/<any(fr, en):code>")
@public
def language(code: str):
    """Remember the language in a cookie, then go back to the page the person was on.

    A preference cookie, not account data: changing it on GET changes no server state.
    """
    response = redirect(safe_next(request.args.get("suivant")) or url_for("pages.home"), 303)
    response.set_cookie(LANG_COOKIE, code, max_age=ONE_YEAR, path="/", httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.get("/espace-ferme")
@public
@for_visitors
def space_closed():
    return render_page("pages/space_closed.html")


@bp.get("/code-source")
@public
@for_visitors
def source_code():
    """Where to get the source code of this installation (AGPL-3.0 §13)."""
    return render_page("pages/source_code.html",
                       version=source.version(Path(current_app.root_path)),
                       source_url=current_app.config["SOURCE_URL"])


@bp.get("/code-source/carnet-sante.tgz")
@public
@limiter.limit("20 per hour")
def source_archive():
    """The code this installation runs, with the operator's changes, as a .tar.gz built
    on the fly from the project's own files (never the instance folder or a key)."""
    root = Path(current_app.root_path)
    config = current_app.config
    files = source.members(root, excluded=source.private_paths(current_app.instance_path,
                                                               config))
    response = Response(source.archive(root, files), mimetype="application/gzip")
    response.headers["Content-Disposition"] = (
        'attachment; filename="carnet-sante.tar.gz"; filename*=UTF-8\'\'carnet-sante.tar.gz')
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/code-source/licence")
@public
def licence():
    """The licence's text, as published by the Free Software Foundation."""
    text = (Path(current_app.root_path) / "LICENSE").read_text(encoding="utf-8")
    response = Response(text, mimetype="text/plain")
    response.headers["Content-Language"] = "en"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
