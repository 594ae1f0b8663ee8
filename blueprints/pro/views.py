from blueprints.pro import bp
from domain.policy import Area
from web.access import allow
from web.render import render_page


@bp.get("/pro")
@allow(Area.PRO_PORTAL)
def home():
    return render_page("pro/home.html")
