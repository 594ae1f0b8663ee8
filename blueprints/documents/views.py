from __future__ import annotations

from datetime import date

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from blueprints.documents import bp
from domain import uploads, vault
from domain.models import SYSTEM_CATEGORIES, Category
from domain.policy import Area, DocumentAction
from extensions import blobs, db, htmx, keys
from web.access import actor, allow
from web.files import stream_document
from web.form_reading import read_date
from web.labels.access import PROFESSION_NAMES
from web.labels.documents import CATEGORY_LABELS, CHOOSABLE, human_size, kind_label
from web.render import render_page
from web.uploads import store_upload, upload_message

patient = allow(Area.PATIENT_SPACE)

TITLE_MESSAGES = {
    "title_missing": _l("Donnez un titre au document, par exemple « Ordonnance du Dr "
                        "Bernard »."),
    "title_too_long": _l("Le titre doit faire au plus 200 caractères."),
    "date_future": _l("La date du document ne peut pas être dans le futur."),
    "category": _l("Choisissez une catégorie."),
}
REASON_FIELDS = {"date_future": "date", "category": "category"}


def _category(value: str | None, choosable: bool = False) -> Category | None:
    try:
        category = Category(value) if value else None
    except ValueError:
        return None
    return None if choosable and category in SYSTEM_CATEGORIES else category


def _owned(document_id: str, action: DocumentAction):
    try:
        return vault.get_document(db.session, keys.ring, current_user, document_id, action,
                                  actor())
    except vault.DocumentNotFound:
        db.session.commit()  # the refusal stays in the audit trail
        abort(404)


def _vanished():
    """The document was deleted by another request (another tab, another device) since
    this one loaded it: the same answer as for a document that never existed."""
    db.session.commit()  # the access decision stays in the audit trail
    abort(404)


def _context(**extra) -> dict:
    return {"category_labels": CATEGORY_LABELS, "choosable": CHOOSABLE,
            "professions": PROFESSION_NAMES, "human_size": human_size,
            "kind_label": kind_label, **extra}


@bp.get("")
@patient
def document_list():
    """The vault: filter by category, search titles, pages of 20 (htmx swaps the list)."""
    category = _category(request.args.get("categorie"))
    query = (request.args.get("q") or "").strip()[:100]
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_number = 1
    page = vault.documents_page(db.session, keys.ring, current_user, category=category,
                                query=query, page=page_number)
    return render_page("documents/list.html", fragment="documents/_list.html",
                       target="document-list",
                       **_context(page=page, category=category, query=query,
                                  announce=bool(htmx), authors=vault.authors(
                                      db.session, [item.document for item in page.items])))


@bp.route("/ajouter", methods=["GET", "POST"])
@patient
def document_add():
    """Add a document: file, title, date, category, visibility. Works as a plain form; with
    JavaScript a progress bar shows the upload."""
    errors: list[tuple[str, str]] = []
    today = date.today()
    form = {"title": "", "category": "", "hidden": "",
            "date": {"day": str(today.day), "month": str(today.month), "year": str(today.year)}}
    if request.method == "POST":
        form["title"] = (request.form.get("title") or "")[:300]
        form["category"] = request.form.get("category") or ""
        form["hidden"] = request.form.get("visibility") or ""
        document_date, form["date"], date_errors = read_date(request.form, "date", _(
            "Saisissez la date du document, par exemple 3 3 2026."),
            not_past=_("La date du document ne peut pas être dans le futur, par exemple "
                       "3 3 2026."))
        try:
            vault.clean_title(form["title"])
        except vault.InvalidDocument as problem:
            errors.append(("title", str(TITLE_MESSAGES[problem.reason])))
        errors += date_errors
        category = _category(form["category"], choosable=True)
        if category is None:
            errors.append(("category", _("Choisissez une catégorie, par exemple « Ordonnances "
                                         "et soins ».")))
        if form["hidden"] not in ("visible", "hidden"):
            errors.append(("visibility", _("Choisissez qui peut voir ce document.")))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors.insert(0, ("file", _("Choisissez un fichier sur votre appareil.")))
        if not errors:
            try:
                document = store_upload(upload, patient=current_user, title=form["title"],
                                        category=category, document_date=document_date,
                                        hidden=form["hidden"] == "hidden")
            except uploads.UploadRejected as problem:
                errors.append(("file", upload_message(problem)))
            except vault.InvalidDocument as problem:
                errors.append((REASON_FIELDS.get(problem.reason, "title"),
                               str(TITLE_MESSAGES[problem.reason])))
            else:
                flash(_("Le document a été ajouté."), "success")
                target = url_for("documents.document_show", document_id=document.id)
                if htmx:  # a full page load on the new document, as without JavaScript
                    response = make_response("", 200)
                    response.headers["HX-Redirect"] = target
                    return response
                return redirect(target, 303)
    return render_page("documents/add.html", status=422 if errors else 200,
                       **_context(errors=errors, has_errors=bool(errors), form=form))


@bp.get("/<string:document_id>")
@patient
def document_show(document_id: str):
    owner, document = _owned(document_id, DocumentAction.READ)
    item = vault.view(keys.ring, owner, document)
    authors = vault.authors(db.session, [document])
    db.session.commit()
    return render_page("documents/detail.html",
                       **_context(item=item, mine=document.author_id == current_user.id,
                                  author=authors.get(document.author_id)))


def _send(document_id: str, inline: bool):
    owner, document = _owned(document_id, DocumentAction.DOWNLOAD)
    if inline and document.kind not in ("pdf", "jpeg", "png"):
        abort(404)
    db.session.commit()
    return stream_document(owner, document, inline)


@bp.get("/<string:document_id>/fichier")
@patient
def document_download(document_id: str):
    return _send(document_id, inline=False)


@bp.get("/<string:document_id>/apercu")
@patient
def document_preview(document_id: str):
    return _send(document_id, inline=True)


@bp.route("/<string:document_id>/modifier", methods=["GET", "POST"])
@patient
def document_edit(document_id: str):
    owner, document = _owned(document_id, DocumentAction.EDIT)
    item = vault.view(keys.ring, owner, document)
    errors: list[tuple[str, str]] = []
    form = {"title": item.title, "category": document.category.value,
            "date": {"day": str(document.document_date.day),
                     "month": str(document.document_date.month),
                     "year": str(document.document_date.year)}}
    if request.method == "POST":
        form["title"] = (request.form.get("title") or "")[:300]
        form["category"] = request.form.get("category") or ""
        document_date, form["date"], errors = read_date(request.form, "date", _(
            "Saisissez la date du document, par exemple 3 3 2026."),
            not_past=_("La date du document ne peut pas être dans le futur, par exemple "
                       "3 3 2026."))
        category = _category(form["category"], choosable=document.category not in
                             SYSTEM_CATEGORIES)
        if category is None or (document.category in SYSTEM_CATEGORIES
                                and category != document.category):
            errors.append(("category", _("Choisissez une catégorie.")))
        if not errors:
            try:
                vault.update_document(db.session, keys.ring, owner, document,
                                      title=form["title"], category=category,
                                      document_date=document_date, actor=actor())
            except vault.InvalidDocument as problem:
                errors.append((REASON_FIELDS.get(problem.reason, "title"),
                               str(TITLE_MESSAGES[problem.reason])))
            except vault.DocumentNotFound:
                _vanished()
            else:
                db.session.commit()
                flash(_("Les informations du document ont été modifiées."), "success")
                return redirect(url_for("documents.document_show", document_id=document.id),
                                303)
    db.session.commit()
    return render_page("documents/edit.html", status=422 if errors else 200,
                       **_context(errors=errors, has_errors=bool(errors), form=form, item=item))


@bp.post("/<string:document_id>/visibilite")
@patient
def document_visibility(document_id: str):
    _owner, document = _owned(document_id, DocumentAction.HIDE)
    hidden = request.form.get("hidden") == "1"
    try:
        vault.set_hidden(db.session, keys.ring, document, hidden, actor())
    except vault.DocumentNotFound:
        _vanished()
    db.session.commit()
    flash(_("Le document est maintenant masqué aux professionnels.") if hidden else
          _("Le document est de nouveau visible par les professionnels autorisés."), "success")
    return redirect(url_for("documents.document_show", document_id=document.id), 303)


@bp.route("/<string:document_id>/supprimer", methods=["GET", "POST"])
@patient
def document_delete(document_id: str):
    owner, document = _owned(document_id, DocumentAction.DELETE)
    if request.method == "POST":
        try:
            vault.delete_document(db.session, keys.ring, blobs.store, document, actor())
        except vault.DocumentNotFound:
            _vanished()
        flash(_("Le document a été supprimé."), "success")
        return redirect(url_for("documents.document_list"), 303)
    item = vault.view(keys.ring, owner, document)
    db.session.commit()
    return render_page("documents/delete.html", **_context(item=item))


@bp.route("/parametres", methods=["GET", "POST"])
@patient
def settings():
    if request.method == "POST":
        current_user.hide_new_documents = request.form.get("hide_new") == "oui"
        db.session.commit()
        flash(_("Votre choix est enregistré."), "success")
        return redirect(url_for("documents.settings"), 303)
    return render_page("documents/settings.html")
