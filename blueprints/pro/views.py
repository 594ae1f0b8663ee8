from flask import render_template

from blueprints.pro import bp
from domain.policy import Area
from web.access import allow


@bp.get("/pro")
@allow(Area.PRO_PORTAL)
def home():
    return render_template("pro/home.html")
