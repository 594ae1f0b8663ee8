from flask_login import current_user

from blueprints.space import bp
from domain import news
from domain.models.base import utcnow
from domain.policy import Area
from extensions import db, keys
from web.access import allow
from web.context import switchable_spaces
from web.i18n import lazy_gettext as _l
from web.render import render_page
from web.space import represented

patient = allow(Area.PATIENT_SPACE)

# The sections of the space as the dashboard presents them.
SECTIONS = {
    "documents": (_l("Documents"), _l("Le coffre-fort de vos documents de santé : "
                                     "ordonnances, résultats d’analyses, comptes rendus, "
                                     "imagerie.")),
    "profile": (_l("Profil médical"), _l("Vos maladies, traitements, allergies, mesures, "
                                         "vaccinations et vos volontés.")),
    "agenda": (_l("Agenda"), _l("Vos rendez-vous médicaux, rappels et vaccinations à faire.")),
    "messages": (_l("Messagerie"), _l("Les messages sécurisés échangés avec vos professionnels "
                                      "de santé.")),
    "catalogue": (_l("Catalogue de services"), _l("Des services et applications de santé "
                                                   "référencés, que vous pouvez relier à votre "
                                                   "espace si vous le souhaitez.")),
    "access": (_l("Accès et historique"), _l("Qui peut voir votre espace, les professionnels "
                                              "bloqués et l’historique de chaque accès.")),
}


@bp.get("/mon-espace")
@patient
def dashboard():
    """One's own home, with the spaces one manages; in a represented space, that person's
    home (the areas a representative uses there)."""
    if represented() is not None:
        return render_page("space/represented.html", sections=SECTIONS)
    found = news.whats_new(db.session, keys.ring, current_user._get_current_object(), utcnow())
    return render_page("space/dashboard.html",
                       represented=[(space.person, space.kind.value)
                                    for space in switchable_spaces()],
                       sections=SECTIONS, news=found, unread=found.unread)
