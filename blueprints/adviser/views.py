from flask import render_template

from blueprints.adviser import bp
from domain.policy import Area
from web.access import allow


@bp.get("/conseiller")
@allow(Area.ADVISER_DESK)
def home():
    return render_template("adviser/home.html")
