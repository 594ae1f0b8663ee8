"""Storing an uploaded file in the vault: spooled to disk, checked and cleaned, then
encrypted. Shared by the vault's own form and the profile's advance directives."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from domain import uploads, vault
from domain.files import private_dir
from domain.models import Category, Document, User
from extensions import blobs, db, keys
from web.access import actor


def upload_message(problem: uploads.UploadRejected) -> str:
    details = problem.details
    messages = {
        "empty": _("Ce fichier est vide. Choisissez un autre fichier."),
        "too_large": _("Ce fichier dépasse %(limit)s Mo. Réduisez-le (par exemple en le "
                       "numérisant en noir et blanc) puis réessayez.",
                       limit=current_app.config["MAX_UPLOAD_MB"]),
        "extension_not_allowed": _("Ce type de fichier n’est pas accepté. Envoyez un PDF, une "
                                   "image JPEG, PNG ou TIFF, ou un fichier texte."),
        "type_mismatch": _("Le contenu de ce fichier ne correspond pas à son extension. "
                           "Enregistrez-le à nouveau dans son format d’origine puis réessayez."),
        "unreadable": _("Ce fichier est abîmé ou protégé par un mot de passe. Ouvrez-le, "
                        "enregistrez-le à nouveau, puis réessayez."),
        "image_too_large": _("Cette image est trop grande. Réduisez sa taille puis "
                             "réessayez."),
        "pdf_unsafe": _("Ce PDF contient des éléments actifs que nous ne pouvons pas retirer. "
                        "Imprimez-le en PDF puis réessayez."),
        "text_not_utf8": _("Ce fichier texte n’est pas lisible. Enregistrez-le en UTF-8 puis "
                           "réessayez."),
        "polyglot": _("Ce fichier mélange plusieurs formats. Enregistrez-le à nouveau dans un "
                      "seul format (PDF, JPEG, PNG, TIFF ou texte)."),
    }
    if problem.reason == "type_not_allowed" and details.get("detected"):
        return _("Ce fichier est un .%(kind)s. Enregistrez-le en PDF puis réessayez.",
                 kind=details["detected"])
    return messages.get(problem.reason, messages["extension_not_allowed"])


def store_upload(upload, *, patient: User, title: str, category: Category,
                 document_date: date, hidden: bool | None, author: User | None = None,
                 source: str = "upload",
                 on_saved: Callable[[Document], object] | None = None) -> Document:
    """Check, clean and encrypt one uploaded file into the patient's vault, committed.
    `on_saved` runs in the same transaction (the e-mail that tells the patient is queued
    with the document, or neither is). Raises uploads.UploadRejected or
    vault.InvalidDocument."""
    work = Path(current_app.instance_path) / "tmp"
    private_dir(work)  # a file being checked is in clear until it is sealed
    with tempfile.TemporaryDirectory(dir=work) as folder:
        spooled = Path(folder) / "upload"
        upload.save(spooled)
        clean = uploads.inspect_and_clean(
            spooled, upload.filename, current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
            Path(folder), max_pixels=current_app.config["MAX_IMAGE_PIXELS"])
        document = vault.add_document(
            db.session, keys.ring, blobs.store, patient=patient, author=author or patient,
            path=clean.path, size=clean.size, kind=clean.kind, mimetype=clean.mimetype,
            file_name=clean.display_name, title=title, category=category,
            document_date=document_date, hidden=hidden, source=source, actor=actor())
        if on_saved is not None:
            on_saved(document)
        db.session.commit()
        return document
