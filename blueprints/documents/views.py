from __future__ import annotations

from flask import (
    abort,
    flash,
    request,
    url_for,
)

from blueprints.documents import bp
from domain import uploads, vault
from domain.forms import Problem
from domain.models import SYSTEM_CATEGORIES, Category
from domain.policy import Area, DocumentAction
from domain.representation import today_in_france
from extensions import blobs, db, htmx, keys
from web.access import actor, allow
from web.document_form import DOCUMENT, DOCUMENT_CHANGE, SETTINGS, VISIBILITY
from web.files import send_download
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.labels.access import PROFESSION_NAMES
from web.labels.documents import CATEGORY_LABELS, CHOOSABLE, human_size, kind_label
from web.render import load_page, render_page, see_other
from web.space import owner as space_owner
from web.space import owner_account, represented
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
        return vault.get_document(db.session, keys.ring, space_owner(), document_id, action,
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
            "choosable_options": [(category.value, label)
                                  for category, label in CHOOSABLE.items()],
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
    page = vault.documents_page(db.session, keys.ring, space_owner(), category=category,
                                representative=represented() is not None,
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
    today = today_in_france()
    if request.method == "GET":
        # The empty form: the same for everyone on this day with this choice of who sees
        # new documents, kept once made (templates/documents/add.html).
        blank = f"add {today.isoformat()} {bool(space_owner().hide_new_documents)}"
        return render_page("documents/add.html", **_context(
            errors=[], has_errors=False, form=DOCUMENT.blank(date=today), blank=blank))
    filled = DOCUMENT.read()
    errors = filled.errors
    if filled.ok:
        values = filled.values
        try:
            document = store_upload(values["file"], patient=space_owner(),
                                    title=values["title"], category=Category(values["category"]),
                                    document_date=values["date"],
                                    hidden=values["visibility"] == "hidden")
        except uploads.UploadRejected as problem:
            errors.append(("file", upload_message(problem)))
        except vault.InvalidDocument as problem:
            errors.append((REASON_FIELDS.get(problem.reason, "title"),
                           str(TITLE_MESSAGES[problem.reason])))
        else:
            flash(_("Le document a été ajouté."), "success")
            return load_page(url_for("documents.document_show", document_id=document.id))
    return render_page("documents/add.html", status=422,
                       **_context(errors=errors, has_errors=True, form=filled.typed))


@bp.get("/<string:document_id>")
@patient
def document_show(document_id: str):
    owner, document = _owned(document_id, DocumentAction.READ)
    item = vault.view(keys.ring, owner, document)
    authors = vault.authors(db.session, [document])
    db.session.commit()
    return render_page("documents/detail.html",
                       **_context(item=item, mine=document.author_id == space_owner().id,
                                  author=authors.get(document.author_id)))


def _send(document_id: str, inline: bool):
    try:
        download = vault.download(db.session, keys.ring, blobs.store, space_owner(),
                                  document_id, actor(), preview=inline)
    except vault.NotPreviewable:
        abort(404)  # nothing of the attempt is kept
    except vault.DocumentNotFound:
        _vanished()  # the refusal stays in the audit trail
    db.session.commit()
    return send_download(download, inline)


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
    form = DOCUMENT_CHANGE.blank(title=item.title, category=document.category.value,
                                 date=document.document_date)
    if request.method == "POST":
        filled = DOCUMENT_CHANGE.read()
        form, errors = filled.typed, filled.errors
        category = _category(filled.values.get("category"),
                             choosable=document.category not in SYSTEM_CATEGORIES)
        if "category" in filled.values and (category is None or (
                document.category in SYSTEM_CATEGORIES and category != document.category)):
            errors.append(("category", DOCUMENT_CHANGE.message(Problem("category", "choice"))))
        if not errors:
            try:
                vault.update_document(db.session, keys.ring, owner, document,
                                      title=filled.values["title"], category=category,
                                      document_date=filled.values["date"], actor=actor())
            except vault.InvalidDocument as problem:
                errors.append((REASON_FIELDS.get(problem.reason, "title"),
                               str(TITLE_MESSAGES[problem.reason])))
            except vault.DocumentNotFound:
                _vanished()
            else:
                db.session.commit()
                flash(_("Les informations du document ont été modifiées."), "success")
                return see_other(url_for("documents.document_show", document_id=document.id))
    db.session.commit()
    return render_page("documents/edit.html", status=422 if errors else 200,
                       **_context(errors=errors, has_errors=bool(errors), form=form, item=item))


@bp.post("/<string:document_id>/visibilite")
@patient
def document_visibility(document_id: str):
    _owner, document = _owned(document_id, DocumentAction.HIDE)
    hidden = VISIBILITY.read().values.get("hidden") == "1"
    try:
        vault.set_hidden(db.session, keys.ring, document, hidden, actor())
    except vault.DocumentNotFound:
        _vanished()
    db.session.commit()
    flash(_("Le document est maintenant masqué aux professionnels.") if hidden else
          _("Le document est de nouveau visible par les professionnels autorisés."), "success")
    return see_other(url_for("documents.document_show", document_id=document.id))


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
        return see_other(url_for("documents.document_list"))
    item = vault.view(keys.ring, owner, document)
    db.session.commit()
    return render_page("documents/delete.html", **_context(item=item))


@bp.route("/parametres", methods=["GET", "POST"])
@patient
def settings():
    if request.method == "POST":
        vault.set_default_hidden(owner_account(), bool(SETTINGS.read().values.get("hide_new")))
        db.session.commit()
        flash(_("Votre choix est enregistré."), "success")
        return see_other(url_for("documents.settings"))
    return render_page("documents/settings.html")
