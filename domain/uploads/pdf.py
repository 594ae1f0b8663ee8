"""PDF cleaning with pikepdf (qpdf): JavaScript, automatic and launching actions, embedded
files and XFA forms are removed wherever they are, the document is saved as a rewritten copy
and looked at again; what is still active makes it refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pikepdf

from domain.uploads.kinds import UploadRejected

# PDF: actions that run code, open other files or programs, or send data somewhere.
_PDF_DANGEROUS_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToE",
        "/GoToR",
        "/Rendition",
        "/RichMediaExecute",
        "/Movie",
        "/Sound",
    }
)
_PDF_REMOVED_ANNOTATIONS = frozenset(
    {
        "/FileAttachment",
        "/RichMedia",
        "/Screen",
        "/Movie",
        "/Sound",
        "/3D",
    }
)


def clean_pdf(source: Path, target: Path) -> tuple[str, ...]:
    """Open with pikepdf (qpdf), remove JavaScript, automatic and launching actions,
    embedded files and XFA forms wherever they are, and save a rewritten copy (which also
    drops unreferenced objects and anything after the last %%EOF). An OpenAction that only
    shows a page (a destination or a GoTo action) is kept. Encrypted PDFs are refused as
    unreadable; a saved copy in which a second look still finds active content is refused
    as "pdf_unsafe". Streams are copied as they are, never decompressed."""
    try:
        with pikepdf.open(source) as pdf:
            if pdf.is_encrypted:
                raise UploadRejected("unreadable", {"detected": "pdf", "encrypted": True})
            if len(pdf.pages) == 0:
                raise UploadRejected("unreadable", {"detected": "pdf"})
            removed = _sweep_pdf(pdf)
            if "EmbeddedFiles" in removed and "/Collection" in pdf.Root:
                del pdf.Root["/Collection"]
            pdf.save(target, stream_decode_level=pikepdf.StreamDecodeLevel.none)
        with pikepdf.open(target) as saved:
            remaining = _sweep_pdf(saved)  # changes discarded: only looking
    except pikepdf.PasswordError as exc:
        raise UploadRejected("unreadable", {"detected": "pdf", "encrypted": True}) from exc
    except UploadRejected:
        raise
    except (
        pikepdf.PdfError,
        pikepdf.ForeignObjectError,
        OSError,
        ValueError,
        RuntimeError,
        KeyError,
        TypeError,
    ) as exc:
        raise UploadRejected("unreadable", {"detected": "pdf"}) from exc
    if remaining:
        raise UploadRejected("pdf_unsafe", {"remaining": sorted(remaining)})
    return tuple(sorted(removed))


def _sweep_pdf(pdf: pikepdf.Pdf) -> set[str]:
    """Strip every object of the document in place; return what was found."""
    removed: set[str] = set()
    for obj in pdf.objects:
        _strip_pdf_object(obj, removed)
    _strip_pdf_object(pdf.trailer, removed)
    return removed


def _action_kind(value: Any) -> str | None:
    """The action's type when it is dangerous ("JavaScript", "Launch"…), else None."""
    if not isinstance(value, pikepdf.Dictionary):
        return None
    action = value.get("/S")
    if isinstance(action, pikepdf.Name) and str(action) in _PDF_DANGEROUS_ACTIONS:
        return str(action)[1:]
    if "/JS" in value:
        return "JavaScript"
    uri = value.get("/URI")
    if isinstance(uri, pikepdf.String) and str(uri).strip().lower().startswith(
        ("javascript:", "file:", "data:")
    ):
        return "JavaScript" if str(uri).strip().lower().startswith("javascript:") else "URI"
    return None


def _actions_inside(value: Any) -> set[str]:
    """Dangerous action types in an /AA dictionary or an /OpenAction, for the report."""
    kinds = set()
    candidates = list(value.values()) if isinstance(value, pikepdf.Dictionary) else []
    for candidate in [value, *candidates]:
        kind = _action_kind(candidate)
        if kind:
            kinds.add(kind)
    return kinds


def _strip_pdf_object(obj: Any, removed: set[str]) -> None:
    """Clean one object and its direct children (indirect ones are visited on their own)."""
    if isinstance(obj, pikepdf.Array):
        for item in obj:
            if isinstance(item, pikepdf.Dictionary | pikepdf.Array) and not item.is_indirect:
                _strip_pdf_object(item, removed)
        return
    if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        return
    for key in list(obj.keys()):
        _strip_entry(obj, key, obj[key], removed)
    _empty_dangerous_action(obj, removed)
    for key in list(obj.keys()):
        child = obj[key]
        if isinstance(child, pikepdf.Dictionary | pikepdf.Array) and not child.is_indirect:
            _strip_pdf_object(child, removed)


def _strip_entry(obj: Any, key: str, value: Any, removed: set[str]) -> None:
    """Delete or clean the entry `key` of a dictionary or stream when it can run code, open
    something or carry files."""
    if key == "/AA":
        removed.add("AA")
        removed.update(_actions_inside(value))
        del obj[key]
    elif key == "/OpenAction":
        _strip_open_action(obj, key, value, removed)
    elif key in ("/A", "/PA", "/Next"):
        _strip_action_entry(obj, key, value, removed)
    elif key == "/JS":
        removed.add("JavaScript")
        del obj[key]
    elif key == "/JavaScript" and isinstance(value, pikepdf.Dictionary):
        removed.add("JavaScript")  # the document-level name tree in /Names
        del obj[key]
    elif key in ("/EmbeddedFiles", "/EF", "/AF"):
        removed.add("EmbeddedFiles")
        del obj[key]
    elif key == "/XFA":
        removed.add("XFA")
        del obj[key]
    elif key == "/Annots" and isinstance(value, pikepdf.Array):
        _strip_annotations(obj, key, value, removed)


def _strip_open_action(obj: Any, key: str, value: Any, removed: set[str]) -> None:
    """Keep an /OpenAction that only shows a page (a destination or a GoTo action)."""
    shows_a_page = isinstance(value, pikepdf.Array) or (
        isinstance(value, pikepdf.Dictionary) and value.get("/S") == pikepdf.Name.GoTo
    )
    if not shows_a_page:
        removed.add("OpenAction")
        removed.update(_actions_inside(value))
        del obj[key]


def _strip_action_entry(obj: Any, key: str, value: Any, removed: set[str]) -> None:
    """An /A, /PA or /Next entry: one action, or an array of them; dangerous ones go."""
    if isinstance(value, pikepdf.Array):
        keep = [item for item in value if not _action_kind(item)]
        removed.update(kind for item in value if (kind := _action_kind(item)))
        if len(keep) != len(value):
            obj[key] = pikepdf.Array(keep)
    elif kind := _action_kind(value):
        removed.add(kind)
        del obj[key]


def _strip_annotations(obj: Any, key: str, value: Any, removed: set[str]) -> None:
    """Drop the annotations that embed files, media or 3D content from /Annots."""
    keep = []
    for annotation in value:
        subtype = annotation.get("/Subtype") if isinstance(annotation, pikepdf.Dictionary) else None
        if isinstance(subtype, pikepdf.Name) and str(subtype) in _PDF_REMOVED_ANNOTATIONS:
            removed.add(str(subtype)[1:])
        else:
            keep.append(annotation)
    if len(keep) != len(value):
        obj[key] = pikepdf.Array(keep)


def _empty_dangerous_action(obj: Any, removed: set[str]) -> None:
    """A dangerous action still reachable some other way is emptied in place."""
    kind = _action_kind(obj) if isinstance(obj, pikepdf.Dictionary) else None
    if kind:
        removed.add(kind)
        for key in list(obj.keys()):
            if key != "/Type":
                del obj[key]
