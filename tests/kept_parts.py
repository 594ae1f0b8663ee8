"""What the tests of kept forms and pages share (web/links.py's layout_part): the form a
page shows, with its token masked, the parts kept under a name, and whether a kept form
follows the day it says."""

from __future__ import annotations

import re
from datetime import date

from web import links

TOKEN_RE = re.compile(r'(name="csrf_token" value=")[^"]+')
ANOTHER_DAY = date(2031, 2, 17)


def form_in(html: str, action: str) -> str:
    """The first POST form whose address starts with `action`, its token masked (each
    request's own)."""
    found = re.search(rf'<form method="post" action="{re.escape(action)}[^"]*".*?</form>',
                      html, re.S)
    return TOKEN_RE.sub(r"\1-", found[0])


def kept(app, name: str) -> list[str]:
    """The texts kept under a part's name."""
    return [text for key, text in app.extensions[links.PARTS].items() if key[0] == name]


def nothing_kept_holds(app, text: str) -> bool:
    return all(text not in part for part in app.extensions[links.PARTS].values())


def says_another_day(client, monkeypatch, views, path: str, action: str) -> bool:
    """After the form was made today, the form made on ANOTHER_DAY (the views' today moved)
    says that day: the day is in the kept form's key."""
    client.get(path)
    monkeypatch.setattr(views, "today_in_france", lambda: ANOTHER_DAY)
    form = form_in(client.get(path).get_data(as_text=True), action)
    return 'value="2031"' in form and 'value="17"' in form
