"""Words shown for the vault's categories, file types and sizes, in the UI language."""

from __future__ import annotations

from domain.models import SYSTEM_CATEGORIES, Category
from web.i18n import format_decimal
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l

CATEGORY_LABELS = {
    Category.SUMMARY: _l("Ma santé en résumé"),
    Category.PRESCRIPTIONS: _l("Ordonnances et soins"),
    Category.IMAGING: _l("Radiologie et imagerie"),
    Category.LAB_RESULTS: _l("Résultats de biologie"),
    Category.REPORTS: _l("Comptes rendus"),
    Category.PREVENTION: _l("Prévention et dépistages"),
    Category.CERTIFICATES: _l("Certificats médicaux"),
    Category.ADMINISTRATIVE: _l("Pièces administratives"),
    Category.OTHER: _l("Autres documents"),
    Category.ADVANCE_DIRECTIVES: _l("Directives anticipées"),
}
# What a person may pick when adding or filing a document themselves.
CHOOSABLE = {category: label for category, label in CATEGORY_LABELS.items()
             if category not in SYSTEM_CATEGORIES}
KIND_LABELS = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG", "tiff": "TIFF", "txt": _l("texte")}


def human_size(size: int) -> str:
    if size < 1000 * 1000:
        return _("%(size)s Ko", size=format_decimal(max(1, round(size / 1000))))
    return _("%(size)s Mo", size=format_decimal(round(size / 1000 / 1000, 1)))


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind.upper()))
