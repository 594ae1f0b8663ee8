from flask import current_app, redirect, render_template, request, url_for

from blueprints.pages import bp
from web.access import public, safe_next
from web.i18n import LANG_COOKIE

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
@public
def home():
    return render_template("pages/home.html")


@bp.get("/arnaques")
@public
def fraud():
    return render_template("pages/fraud.html")


@bp.get("/aide")
@public
def help():  # noqa: A001 - the endpoint name users see in the sitemap
    return render_template("pages/help.html")


@bp.get("/accessibilite")
@public
def accessibility():
    return render_template("pages/accessibility.html")


@bp.get("/plan-du-site")
@public
def sitemap():
    return render_template("pages/sitemap.html")


@bp.get("/mentions-legales")
@public
def legal():
    return render_template("pages/legal.html")


@bp.get("/deconnecte")
@public
def signed_out():
    return render_template("pages/signed_out.html")


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
def space_closed():
    return render_template("pages/space_closed.html")
