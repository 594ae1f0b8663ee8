"""Blocking and unblocking say so in words that fit anyone (issue 17, item 9): no "il",
no agreement on a gender the page does not know."""

from __future__ import annotations

from tests.blueprints.access.test_who_can_access import _id, _post


def test_block_and_unblock_messages_are_gender_neutral(signed_in, app):
    camille = signed_in("camille.martin")
    pharmacist = _id(app, "pharma.petit")
    blocked = _post(camille, "/acces/bloquer", {"professional": pharmacist, "confirm": "oui"})
    assert blocked.status_code == 303
    page = camille.get(blocked.headers["Location"]).get_data(as_text=True)
    assert "Accès bloqué pour Sophie Petit : cette personne ne voit plus rien de votre " \
           "espace." in page
    assert " est bloqué" not in page and ": il " not in page
    unblocked = _post(camille, "/acces/bloquer", {"professional": pharmacist, "blocked": "non"})
    page = camille.get(unblocked.headers["Location"]).get_data(as_text=True)
    assert "Accès débloqué pour Sophie Petit." in page
    assert "n’est plus bloqué" not in page
