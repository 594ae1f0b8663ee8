"""Getting the PDF summary as a person does: ask, wait while it is made, ask again."""

from __future__ import annotations

import time

PDF = "/profil/resume.pdf"
STATUS = "/profil/resume/etat"
HTMX = {"HX-Request": "true", "HX-Target": "summary-status"}


def wait_until_made(client, status: str = STATUS, timeout: float = 60) -> None:
    """Ask for the status as the waiting page's htmx does until it is final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(status, headers=HTMX)
        if response.status_code != 204:
            assert response.status_code == 286, response.status_code
            return
        time.sleep(0.1)
    raise AssertionError("the PDF summary was not made in time")


def fetch_pdf(client, path: str = PDF, status: str = STATUS):
    """The PDF as a person gets it: ask, wait for it to be made, ask again."""
    response = client.get(path)
    if response.mimetype == "application/pdf":
        return response
    assert response.status_code == 200 and 'id="summary-status"' in response.get_data(
        as_text=True)
    wait_until_made(client, status)
    response = client.get(path)
    assert response.mimetype == "application/pdf", response.get_data(as_text=True)[:300]
    return response
