"""The sentences every form shares for the same problems (domain/forms.py reasons), each
naming its field so an error summary stands alone."""

from __future__ import annotations

from flask_babel import gettext as _

from domain.forms import Problem


def common(label: str, problem: Problem) -> str | None:
    """The sentence for a problem any field can have, or None for the caller's own."""
    if problem.reason == "required":
        return _("%(field)s : ce champ est obligatoire.", field=label)
    if problem.reason == "too_long":
        return _("%(field)s : %(maximum)s caractères au plus (vous en avez saisi "
                 "%(length)s).", field=label, maximum=problem.params["maximum"],
                 length=problem.params["length"])
    if problem.reason == "choice":
        return _("%(field)s : choisissez une des réponses proposées.", field=label)
    return None
