from blueprints.adviser import bp
from domain.policy import Area
from web.access import allow
from web.render import render_page


@bp.get("/conseiller")
@allow(Area.ADVISER_DESK)
def home():
    return render_page("adviser/home.html")
