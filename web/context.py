"""What every template may use: site settings, the language links, the menu for the role."""

from __future__ import annotations

from types import MappingProxyType

from flask import Flask, current_app, g, request, session
from flask_login import current_user

from domain import emergency, representation, vault
from domain.models import Role
from domain.models.base import utcnow
from domain.policy import Area, needs_sign_in
from extensions import db, login_manager
from web import assist, i18n, space
from web.i18n import lazy_gettext as _l
from web.labels import desk as desk_labels
from web.links import link

LANGUAGE_NAMES = {"fr": "Français", "en": "English"}

NAV = {
    Role.PATIENT: (
        ("space.dashboard", _l("Accueil")),
        ("documents.document_list", _l("Documents")),
        ("profile.overview", _l("Profil")),
        ("agenda.index", _l("Agenda")),
        ("messages.inbox", _l("Messagerie")),
        ("catalogue.index", _l("Catalogue")),
        ("access.overview", _l("Accès")),
    ),
    Role.PROFESSIONAL: (("pro.home", _l("Accueil professionnel")),
                        ("messages.pro_inbox", _l("Messagerie"))),
    Role.ADVISER: (("adviser.home", _l("Accueil conseiller")),),
    Role.OPERATOR: (("account.sessions_list", _l("Mes sessions")),),
}
PUBLIC_NAV = (
    ("pages.home", _l("Accueil")),
    ("auth.login", _l("Se connecter")),
    ("pages.help", _l("Aide")),
)
# Notices a redirect may ask for with ?avis=<key>, for visitors who have no session: a
# flash() message would have to be stored server-side, and a flood of such redirects would
# grow the sessions table (issue 13). Only these fixed sentences can be shown.
NOTICES = {
    "recommencer": ("info", _l("Pour votre sécurité, recommencez la connexion depuis le "
                               "début.")),
    "code-d-abord": ("info", _l("Commencez par saisir votre code d’activation.")),
}
NOTICE_PARAM = "avis"

TIMEOUTS = "carnet_session_timeouts"  # app.extensions: a signed-in page's idle warning
TIMEOUTS_LIMIT = 4096

HOME_ENDPOINT = {
    Role.PATIENT: "space.dashboard",
    Role.PROFESSIONAL: "pro.home",
    Role.ADVISER: "adviser.home",
    Role.OPERATOR: "account.sessions_list",
}


def home_endpoint(user=None) -> str:
    user = current_user if user is None else user
    return HOME_ENDPOINT[user.role] if user.is_authenticated else "pages.home"


def _timeout(config, user, assistance, area) -> dict | None:
    """The idle warning and end of this page: an assisted session's (5 minutes, to the
    accompaniment's end page), a signed-in person's on a private page, or none."""
    warning = config["SESSION_WARNING_SECONDS"]
    if assistance is not None:
        idle = config["SESSION_ASSISTED_IDLE_MINUTES"]
        return {"idle_minutes": idle, "idle_seconds": idle * 60,
                "warning_seconds": min(warning, idle * 60 // 2),
                "extend_url": link("adviser.extend"),
                "expired_url": link("adviser.ended", accompaniment_id=assistance.id,
                                    raison="inactivite"),
                "end_url": link("adviser.finish"), "assisted": True}
    if user.is_authenticated and area is not None and needs_sign_in(Area(area)):
        # The same for every signed-in page under a root and in a space: made once.
        idle = config["SESSION_IDLE_MINUTES"]
        kept = current_app.extensions[TIMEOUTS]
        key = (request.script_root, g.get("space_id"), idle, warning)
        made = kept.get(key)
        if made is None:
            if len(kept) >= TIMEOUTS_LIMIT:
                kept.clear()
            made = kept[key] = MappingProxyType({
                "idle_minutes": idle, "idle_seconds": idle * 60, "warning_seconds": warning,
                "extend_url": link("auth.session_extend"),
                "expired_url": link("auth.login", raison="expiree"),
                "end_url": link("auth.logout"), "assisted": False})
        return made
    return None


def _assisted_title(assistance, area) -> str | None:
    """In an assisted session, a private page's title is one of a fixed list."""
    if assistance is None or area is None or not needs_sign_in(Area(area)):
        return None
    return str(desk_labels.ASSISTED_TITLES.get(request.blueprint,
                                               desk_labels.ASSISTED_DEFAULT_TITLE))


def _remember(value: str | None, off: str | None = "off") -> str | None:
    """An autocomplete value, or `off` in an assisted session: the shared tablet's browser
    must not offer the person's login, codes or details to the next one."""
    return off if assist.assisted() else value


def _template_context() -> dict:
    # The request's objects are looked up once here: each use of Flask's and Flask-Login's
    # proxies is a lookup of its own (about fifty on a page, before this).
    config = current_app.config
    user = current_user._get_current_object()
    in_request = bool(request)
    lang = i18n.language()
    signed_in = user.is_authenticated
    area = g.get("area")
    assistance = assist.banner() if in_request else None
    links = _language_links(config, lang) if in_request else []
    return {
        "site_name": config["SITE_NAME"],
        "official_phone": config["OFFICIAL_PHONE"],
        "current_lang": lang,
        "language_links": links,
        "language_holes": {f"lang-{code}": href for code, _label, href in links},
        "nav_items": _nav(user) if signed_in else PUBLIC_NAV,
        "home_endpoint": home_endpoint(user),
        "session_timeout": _timeout(config, user, assistance, area),
        "assistance": assistance,
        "remember": _remember,
        "previewable": vault.PREVIEWABLE,  # shown inline, never saved, at the desk
        "assisted_title": _assisted_title(assistance, area),
        "idle_minutes": config["SESSION_IDLE_MINUTES"],
        "lock_minutes": config["ACCOUNT_LOCK_MINUTES"],
        "running_emergencies": _running_emergencies,
        "switchable_spaces": switchable_spaces,
        "notice": NOTICES.get(request.args.get(NOTICE_PARAM, "")) if in_request else None,
    }


def _language_links(config, lang: str) -> list[tuple[str, str, str]]:
    """The other languages: code, name, and the address that switches to it and comes
    back to this page (none outside a request: an e-mail or a document has no header)."""
    back = request.full_path.rstrip("?")
    return [(code, LANGUAGE_NAMES[code], link("pages.language", code=code, suivant=back))
            for code in config["LANGUAGES"] if code != lang]


def _nav(user) -> tuple:
    """The menu of the signed-in person's role; in a represented space, only the areas
    served there (every link stays in that space)."""
    items = NAV[user.role]
    if g.get("space") is None:
        return items
    served = current_app.extensions.get(space.ENDPOINTS, ())
    return tuple(item for item in items if item[0] in served)


def switchable_spaces() -> list[representation.Space]:
    """The represented spaces a patient may switch to (header and dashboard), read once
    per request."""
    user = current_user._get_current_object()
    if not user.is_authenticated or user.role != Role.PATIENT:
        return []
    spaces = g.get("carnet_spaces")
    if spaces is None:
        rows, today = space.held(), representation.today_in_france()
        spaces = g.carnet_spaces = (
            representation.spaces_among(rows, today) if rows is not None
            else representation.spaces_for(db.session, user, today))
    return spaces


def _running_emergencies() -> list:
    """A professional's running emergency accesses, for the banner on every page (called
    by the layout only, so e-mails and PDFs never query it)."""
    if not current_user.is_authenticated or current_user.role != Role.PROFESSIONAL:
        return []
    if not getattr(getattr(session, "record", None), "in_emergency", True):
        return []  # the session's query found none running
    return emergency.running_for(db.session, current_user.id, utcnow())


def init_app(app: Flask) -> None:
    app.extensions[TIMEOUTS] = {}
    app.context_processor(_template_context)

    @login_manager.user_loader
    def _load_user(user_id: str):
        # The account came with the session's row, read-only (domain/sessions.py); a use
        # case that changes it takes the ORM row (web.access.account()).
        record = getattr(session, "record", None)
        user = record.account if record is not None else None
        if user is None or user.id != user_id:
            return None
        return user if user.login and user.enabled else None

    login_manager.session_protection = None
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Connectez-vous pour accéder à cette page.")
    login_manager.login_message_category = "info"
