"""Words of the growth charts in the UI language: the centile lines' labels and, for each band
code of domain/growth.centile_band, where a measure falls in a whole phrase (no phrase is
built from pieces: each band is its own string)."""

from __future__ import annotations

from web.i18n import lazy_gettext as _l

# The label at the right end of each WHO centile line.
CENTILE_LABELS = {3: _l("3e"), 15: _l("15e"), 50: _l("50e"), 85: _l("85e"), 97: _l("97e")}

BANDS = {
    ("below", 3): _l("au-dessous du 3e centile"),
    ("on", 3): _l("sur le 3e centile"),
    ("between", 3, 15): _l("entre le 3e et le 15e centile"),
    ("on", 15): _l("sur le 15e centile"),
    ("between", 15, 50): _l("entre le 15e et le 50e centile"),
    ("on", 50): _l("sur le 50e centile"),
    ("between", 50, 85): _l("entre le 50e et le 85e centile"),
    ("on", 85): _l("sur le 85e centile"),
    ("between", 85, 97): _l("entre le 85e et le 97e centile"),
    ("on", 97): _l("sur le 97e centile"),
    ("above", 97): _l("au-dessus du 97e centile"),
}
OUTSIDE = _l("hors des standards de l’OMS à cet âge")
SOURCE = _l("Courbes : standards de croissance de l’OMS (2006, 0–5 ans ; 2007, 5–19 ans)")
SEX_UNKNOWN = _l("Le sexe de l’enfant n’est pas connu : les courbes de l’OMS, qui diffèrent "
                 "pour les filles et les garçons, ne peuvent pas être tracées.")
LINES_DESCRIPTION = {
    "male": _l("Les lignes fines, sans points, sont les 3e, 15e, 50e, 85e et 97e centiles des "
               "standards de croissance de l’OMS pour les garçons."),
    "female": _l("Les lignes fines, sans points, sont les 3e, 15e, 50e, 85e et 97e centiles des "
                 "standards de croissance de l’OMS pour les filles."),
}


def centile_label(centile: float) -> str:
    """"50e" for the 50th centile line."""
    return str(CENTILE_LABELS[int(centile)])


def band_text(band: tuple | None) -> str:
    """Where a measure falls, as a phrase ("entre le 50e et le 85e centile"); None (no
    assessment: the reference stops before this age) says so."""
    return str(OUTSIDE if band is None else BANDS[tuple(band)])
