"""A form declared once (its fields, domain/forms.py, and the sentences it says instead of
the shared ones), read from the request by every view that shows it.

    SEARCH_FORM = Form(
        Field("nir", "nir", required=True),
        Field("born", "past_date", required=True),
        messages={("born", "required"): _l("Saisissez la date de naissance du patient…")})

    filled = SEARCH_FORM.read()          # request.form (and request.files), today's date
    if filled.ok: use filled.values["nir"], filled.values["born"] (a date)
    else: render with errors=filled.errors (field id, message) and typed=filled.typed

On a GET, `typed=SEARCH_FORM.blank()` gives the empty form the template shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from flask import request
from werkzeug.datastructures import FileStorage

from domain import clock
from domain.forms import Field, Problem, echo, read
from web import form_messages
from web.i18n import lazy_gettext as _l


@dataclass
class Filled:
    """A form as submitted: clean values (files as FileStorage), what was typed (to show it
    again), the problems, and the (field id, message) errors for the error summary, in the
    order of the fields."""

    values: dict
    typed: dict
    problems: list[Problem]
    errors: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, name: str) -> Problem | None:
        return next((problem for problem in self.problems if problem.field == name), None)

    def error(self, name: str) -> tuple[str, str] | None:
        """The (field id, message) error of one field, if it has one."""
        return next((error for error in self.errors if error[0] == name), None)


class Form:
    """Fields read together, and the sentences the form says instead of the shared ones:
    `messages` maps (name, reason), or a name for any of its reasons, to a sentence (a
    string, lazy or not, or a function of the Problem when it has parameters); `labels`
    name fields in the shared sentences ("Titre : ce champ est obligatoire.")."""

    def __init__(self, *fields: Field, messages: Mapping | None = None,
                 labels: Mapping[str, object] | None = None):
        self.fields = fields
        self.messages = dict(messages or {})
        self.labels = dict(labels or {})
        self._kinds = {spec.name: spec.kind for spec in fields}

    def only(self, *names: str) -> Form:
        """The same form reduced to some of its fields (those a step still asks for)."""
        return Form(*(spec for spec in self.fields if spec.name in names),
                    messages=self.messages, labels=self.labels)

    def blank(self, **values) -> dict:
        """What the template shows before anything was typed (or to change stored values)."""
        return echo(self.fields, values)

    def read(self, data: Mapping | None = None, *, today: date | None = None,
             personal: tuple[str, ...] = (), born: date | None = None,
             coded_keys: Mapping[str, tuple[str, ...]] | None = None) -> Filled:
        """Read the fields from `data` (by default the request's form and files)."""
        files: dict[str, FileStorage] = {}
        if data is None:
            data = request.form
            for spec in self.fields:
                upload = request.files.get(spec.name) if spec.kind == "file" else None
                if upload is not None and upload.filename:
                    files[spec.name] = upload
            if files:
                data = _WithFiles(request.form, {name: upload.filename
                                                 for name, upload in files.items()})
        reading = read(self.fields, data, today or clock.today(), coded_keys=coded_keys,
                       born=born, personal=personal)
        values = {**reading.values, **{name: upload for name, upload in files.items()
                                       if name in reading.values}}
        return Filled(values, reading.typed, reading.problems,
                      [(problem.field, self.message(problem)) for problem in reading.problems])

    def message(self, problem: Problem) -> str:
        """The sentence for one problem: the form's own, else the one its kind shares."""
        for key in ((problem.field, problem.reason), problem.field):
            if key in self.messages:
                found = self.messages[key]
                return found(problem) if callable(found) else str(found)
        label = self.labels.get(problem.field)
        return form_messages.sentence(self._kinds.get(problem.field, ""), problem,
                                      str(label) if label is not None else None)


class _WithFiles(Mapping):
    """The form's inputs, with each chosen file's name where the file input is."""

    def __init__(self, form: Mapping, names: dict[str, str]):
        self._form, self._names = form, names

    def __getitem__(self, key):
        return self._names[key] if key in self._names else self._form[key]

    def get(self, key, default=None):
        return self._names.get(key, self._form.get(key, default))

    def __iter__(self):
        return iter({**dict.fromkeys(self._form), **self._names})

    def __len__(self):
        return len({**dict.fromkeys(self._form), **self._names})


BIRTH_MISSING = _l("Saisissez votre date de naissance, par exemple 14 3 1988.")

# Who someone is, with the carte Vitale: a provisional code, an opposition without a code, a
# forgotten password.
IDENTITY_CARD = Form(Field("nir", "nir", required=True),
                     Field("vitale", "vitale", required=True, related="nir"),
                     Field("birth", "past_date", required=True),
                     messages={("birth", "required"): BIRTH_MISSING})
