from flask import abort, flash, request, url_for

from blueprints.access import bp
from domain import access_matrix, care
from domain.errors import NotAllowed
from domain.forms import Field, clean_text
from domain.models import Profession, Role, User
from domain.policy import Area
from extensions import db, keys
from web.access import actor, allow
from web.forms import Form
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.labels.access import PROFESSION_NAMES
from web.labels.documents import CATEGORY_LABELS
from web.labels.profile import SECTION_TITLES
from web.render import redirect_to, render_page
from web.space import owner as space_owner
from web.space import owner_account

patient = allow(Area.PATIENT_SPACE)
# The buttons of the overview: hidden inputs only, so nothing to tell a person; anything
# but a professional's id answers 404. "blocked=non" unblocks, "professional=aucun" removes
# the attending doctor.
PROFESSIONAL = Field("professional", required=True, max_length=32)
# A block is confirmed on a page of its own first ("confirm=oui" then does it).
BLOCK_FORM = Form(PROFESSIONAL, Field("blocked", "yesno"), Field("confirm", "yes"))
ATTENDING_FORM = Form(PROFESSIONAL)

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
@patient
def matrix_show():
    """The authorisation matrix in plain words, one profession at a time: the same page for
    everyone, which the template keeps once made (its rows are worked out only then)."""
    return render_page("access/matrix.html", rows=_matrix_rows)


def _matrix_rows() -> list[dict]:
    rows = []
    for profession in Profession:
        read = access_matrix.document_rights(profession, "read")
        deposit = access_matrix.document_rights(profession, "deposit")
        sections = access_matrix.profile_sections(profession)
        rows.append({
            "profession": PROFESSION_LABELS[profession],
            "read": [label for category, label in CATEGORY_LABELS.items() if category in read],
            "deposit": [label for category, label in CATEGORY_LABELS.items()
                        if category in deposit],
            "profile": [label for key, label in PROFILE_LABELS.items() if key in sections],
            "vaccinations": access_matrix.may_add_vaccination(profession),
        })
    return rows


def _professional(value: str | None) -> User | None:
    found = db.session.get(User, value) if value and len(value) <= 32 else None
    return found if found is not None and found.role == Role.PROFESSIONAL else None


@bp.get("")
@patient
def overview():
    """Who can access my space: my attending doctor, the professionals who did, the ones I
    blocked; block or unblock by name or RPPS number."""
    # No control character reaches the database (PostgreSQL refuses NUL in text).
    query = clean_text(request.args.get("q") or "")[:100]
    around = care.people_around(db.session, space_owner())
    found = care.search_professionals(db.session, query) if query else []
    return render_page("access/overview.html", active=around.active, blocked=around.blocked,
                       found=found, query=query, attending=around.attending,
                       blocked_ids={item.person.id for item in around.blocked},
                       professions=PROFESSION_NAMES)


@bp.post("/bloquer")
@patient
def professional_block():
    filled = BLOCK_FORM.read()
    professional = _professional(filled.values.get("professional"))
    if professional is None:
        abort(404)
    blocked = filled.values.get("blocked") != "non"
    if not care.blockable(professional):
        abort(404)
    if blocked and not filled.values.get("confirm"):
        # Nothing changes yet: the page says what the block will do, and asks.
        return render_page("access/block_confirm.html", professional=professional,
                           attending=space_owner().attending_doctor_id == professional.id,
                           professions=PROFESSION_NAMES)
    try:
        outcome = care.set_blocked(db.session, keys.ring, owner_account(), professional,
                                   blocked, actor())
    except NotAllowed:
        abort(404)
    db.session.commit()
    name = professional.display_name
    if blocked:
        message = _("Accès bloqué pour %(name)s : cette personne ne voit plus rien de votre "
                    "espace.", name=name)
        if outcome.attending:
            message += " " + _("Vous n’avez plus de médecin traitant déclaré ici ; si vous "
                               "débloquez %(name)s, il le redeviendra.", name=name)
    else:
        message = _("Accès débloqué pour %(name)s.", name=name)
        if outcome.restored:
            message += " " + _("%(name)s est de nouveau votre médecin traitant.", name=name)
        elif outcome.not_restored:
            message += " " + _("Vous avez déclaré un autre médecin traitant depuis : il le "
                               "reste.")
    flash(message, "success")
    return redirect_to(url_for("access.overview"))


@bp.post("/medecin-traitant")
@patient
def attending_set():
    professional = ATTENDING_FORM.read().values.get("professional")
    doctor = None
    if professional != "aucun":
        doctor = _professional(professional)
        if doctor is None:
            abort(404)
    try:
        care.set_attending(db.session, keys.ring, owner_account(), doctor, actor())
    except NotAllowed:
        flash(_("Seul un médecin que vous n’avez pas bloqué peut être votre médecin "
                "traitant."), "error")
        return redirect_to(url_for("access.overview"))
    db.session.commit()
    flash(_("%(name)s est votre médecin traitant.", name=doctor.display_name) if doctor
          else _("Vous n’avez plus de médecin traitant déclaré ici."), "success")
    return redirect_to(url_for("access.overview"))
