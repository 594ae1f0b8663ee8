"""Files of this request into the domain's deposit (vault.deposit, domain/intake.py) with
the service's limits, and the sentence for each reason a file is refused. Shared by the
vault's own form, the professional's deposit, the advance directives and messages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from domain import audit, intake, uploads, vault
from domain.files import private_dir
from domain.models import Category, Document, User
from extensions import blobs, db, keys
from web.access import actor
from web.i18n import gettext as _


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


def limits() -> intake.Limits:
    return intake.Limits(current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
                         current_app.config["MAX_IMAGE_PIXELS"])


def workdir() -> Path:
    """Where files are checked before they are sealed (private, under the instance)."""
    return private_dir(Path(current_app.instance_path) / "tmp")


def incoming(upload: FileStorage) -> intake.Incoming:
    return intake.Incoming(upload.stream, upload.filename or "")


def deposit(upload: FileStorage, *, patient: User, title: str, category: Category,
            document_date: date, hidden: bool | None, author: User | None = None,
            source: str = "upload", acting: audit.Actor | None = None,
            secret_from_representatives: bool = False) -> Document:
    """vault.deposit for a file of this request, with the service's limits; in the
    request's transaction (the caller commits). Raises uploads.UploadRejected,
    vault.InvalidDocument or NotAllowed."""
    return vault.deposit(
        db.session, keys.ring, blobs.store, incoming=incoming(upload), limits=limits(),
        workdir=workdir(), patient=patient, author=author or patient, title=title,
        category=category, document_date=document_date, hidden=hidden, source=source,
        actor=acting or actor(), secret_from_representatives=secret_from_representatives)


def store_upload(upload: FileStorage, *, patient: User, title: str, category: Category,
                 document_date: date, hidden: bool | None) -> Document:
    """A person's own file into their vault, committed."""
    document = deposit(upload, patient=patient, title=title, category=category,
                       document_date=document_date, hidden=hidden)
    db.session.commit()
    return document


def store_directives(upload: FileStorage, *, patient: User, title: str,
                     document_date: date) -> Document:
    """vault.deposit_directives for a file of this request, committed."""
    return vault.deposit_directives(
        db.session, keys.ring, blobs.store, incoming=incoming(upload), limits=limits(),
        workdir=workdir(), patient=patient, title=title, document_date=document_date,
        actor=actor())
