"""The document form, declared once: the person's own upload and changes to a document
(blueprints/documents), and a professional's deposit (blueprints/pro), each with its own
sentences."""

from __future__ import annotations

from domain.forms import Field
from domain.models import Category
from domain.vault import TITLE_MAX
from web.forms import Form
from web.i18n import lazy_gettext as _l
from web.labels.documents import CHOOSABLE

DATE_MISSING = _l("Saisissez la date du document, par exemple 3 3 2026.")
DATE_NOT_PAST = _l("La date du document ne peut pas être dans le futur, par exemple 3 3 2026.")
_DATE = {("date", "required"): DATE_MISSING, ("date", "date_future"): DATE_NOT_PAST,
         ("date", "date_too_early"): DATE_NOT_PAST}
_FILE = Field("file", "file", required=True)
_TITLE = Field("title", required=True, max_length=TITLE_MAX)
_WHEN = Field("date", "past_date", required=True)

# The person's own document: what it is, when, where it is filed, who may see it.
DOCUMENT = Form(
    _FILE, _TITLE, _WHEN,
    Field("category", "choice", required=True,
          choices=tuple(category.value for category in CHOOSABLE)),
    Field("visibility", "choice", required=True, choices=("visible", "hidden")),
    messages={
        **_DATE,
        ("file", "required"): _l("Choisissez un fichier sur votre appareil."),
        ("title", "required"): _l("Donnez un titre au document, par exemple « Ordonnance du "
                                  "Dr Bernard »."),
        ("title", "too_long"): _l("Le titre doit faire au plus 200 caractères."),
        "category": _l("Choisissez une catégorie, par exemple « Ordonnances et soins »."),
        "visibility": _l("Choisissez qui peut voir ce document."),
    })
# Changing it: title, date and category (a system category stays as it is).
DOCUMENT_CHANGE = Form(
    _TITLE, _WHEN,
    Field("category", "choice", required=True,
          choices=tuple(category.value for category in Category)),
    messages={**DOCUMENT.messages, "category": _l("Choisissez une catégorie.")})
# A professional's deposit: the category is then checked against their profession.
DEPOSIT = Form(
    _FILE, _TITLE, _WHEN,
    Field("category", "choice", required=True,
          choices=tuple(category.value for category in Category)),
    Field("secret", "yes"),  # for a minor: kept from the legal representatives
    messages={
        **_DATE,
        ("file", "required"): _l("Choisissez un fichier."),
        "title": _l("Donnez un titre au document (200 caractères au plus)."),
        "category": _l("Choisissez une catégorie que votre profession peut déposer."),
    })
# One button: hide the document from professionals ("1") or show it again ("0").
VISIBILITY = Form(Field("hidden", "choice", choices=("0", "1")))
# The vault's setting: new documents hidden from professionals by default.
SETTINGS = Form(Field("hide_new", "yes"))
