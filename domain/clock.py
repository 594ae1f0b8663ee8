"""The site's day: people in France date their records in Paris time, whatever the
server's clock says (it runs in UTC). Every "today" a rule or a form checks comes from here
or from representation.today_in_france(), which agree."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.models.base import utcnow

SITE_ZONE = ZoneInfo("Europe/Paris")


def today(now: datetime | None = None) -> date:
    """The day it is in Europe/Paris at `now` (the current time by default)."""
    return (now or utcnow()).astimezone(SITE_ZONE).date()
