"""Entourage and wishes: emergency contacts, the trusted person, advance directives (a
document that replaces the previous one, or a guided form; not offered to minors) and
what the law says about organ donation."""

from __future__ import annotations

from flask import abort, flash, request, url_for

from blueprints.profile import bp
from domain import profile, uploads, vault
from domain.forms import Field
from domain.models import Category
from domain.policy import Area
from domain.representation import today_in_france
from extensions import db, keys
from web.access import allow
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.labels.profile_display import helpers
from web.render import redirect_to, render_page
from web.space import owner as space_owner
from web.uploads import store_directives, upload_message

patient = allow(Area.PATIENT_SPACE)
REFUSAL_REGISTER = "https://www.registrenationaldesrefus.fr"
DIRECTIVES_FORM = Form(
    Field("file", "file", required=True),
    Field("date", "past_date", required=True),
    messages={
        ("file", "required"): _l("Choisissez le fichier de vos directives anticipées."),
        ("date", "required"): _l("Saisissez la date à laquelle vous avez écrit vos directives, "
                                 "par exemple 3 3 2026."),
    })


@bp.get("/entourage")
@patient
def entourage():
    minor = profile.is_minor(space_owner(), today_in_france())
    sections = tuple(section for section in profile.SECTIONS
                     if section.group == "entourage" and not (minor and section.adults_only))
    views = profile.load(db.session, keys.ring, space_owner(), sections)
    directives = [] if minor else vault.documents_page(
        db.session, keys.ring, space_owner(), category=Category.ADVANCE_DIRECTIVES,
        per_page=5).items
    db.session.commit()
    return render_page("profile/entourage.html", views=views, minor=minor,
                       directives=directives, register_url=REFUSAL_REGISTER, **helpers())


@bp.route("/entourage/document-directives", methods=["GET", "POST"])
@patient
def directives_document():
    """Attach advance directives as a document; it replaces the previous one."""
    if profile.is_minor(space_owner(), today_in_france()):
        abort(404)
    errors: list[tuple[str, str]] = []
    typed = DIRECTIVES_FORM.blank()["date"]
    if request.method == "POST":
        filled = DIRECTIVES_FORM.read()
        errors, typed = list(filled.errors), filled.typed["date"]
        if filled.ok:
            try:
                store_directives(filled.values["file"], patient=space_owner(),
                                 title=_("Directives anticipées"),
                                 document_date=filled.values["date"])
            except uploads.UploadRejected as problem:
                errors.append(("file", upload_message(problem)))
            else:
                flash(_("Vos directives anticipées sont enregistrées. Elles remplacent les "
                        "précédentes."), "success")
                return redirect_to(url_for("profile.entourage"))
    return render_page("profile/directives_document.html", status=422 if errors else 200,
                       errors=errors, has_errors=bool(errors), typed=typed)
