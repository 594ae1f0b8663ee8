from flask import render_template
from flask_babel import lazy_gettext as _l

from blueprints.access import bp
from blueprints.documents.labels import CATEGORY_LABELS
from blueprints.profile.labels import SECTION_TITLES
from domain import access_matrix
from domain.models import Profession
from domain.policy import Area
from web.access import allow

PROFESSION_LABELS = {
    Profession.DOCTOR: _l("Médecins"),
    Profession.PHARMACIST: _l("Pharmaciens"),
    Profession.NURSE: _l("Infirmiers"),
    Profession.MIDWIFE: _l("Sages-femmes"),
    Profession.BIOLOGIST: _l("Biologistes (laboratoires d’analyses)"),
    Profession.PHYSIOTHERAPIST: _l("Masseurs-kinésithérapeutes"),
    Profession.DENTIST: _l("Chirurgiens-dentistes"),
}
PROFILE_LABELS = {**SECTION_TITLES, "measures": _l("Mesures")}


@bp.get("/qui-voit-quoi")
@allow(Area.PATIENT_SPACE)
def matrix_show():
    """The authorisation matrix in plain words, one profession at a time."""
    rows = [{
        "profession": PROFESSION_LABELS[profession],
        "read": [CATEGORY_LABELS[c] for c in CATEGORY_LABELS
                 if c in access_matrix.document_rights(profession, "read")],
        "deposit": [CATEGORY_LABELS[c] for c in CATEGORY_LABELS
                    if c in access_matrix.document_rights(profession, "deposit")],
        "profile": [PROFILE_LABELS[key] for key in PROFILE_LABELS
                    if key in access_matrix.profile_sections(profession)],
        "vaccinations": access_matrix.may_add_vaccination(profession),
    } for profession in Profession]
    return render_template("access/matrix.html", rows=rows)
