"""Where a person is in the activation steps, kept in the server-side session and, for
resuming later, sealed on the code itself."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import flash, session, url_for

from domain import activation
from domain.insured import is_minor, paris_day
from domain.models import ActivationCode, InsuredPerson
from domain.models.base import utcnow
from extensions import db, keys
from web.access import actor
from web.i18n import lazy_gettext as _l
from web.render import redirect_to

STATE = "activation"
ADULT_STEPS = ("code", "identity", "terms", "contacts", "credentials", "factor", "summary",
               "done")
MINOR_STEPS = ("code", "identity", "terms", "summary", "done")
# A space kept by the parents until 18: after the identity, take it over or close it.
TAKEOVER_STEPS = ("code", "identity", "takeover", "terms", "contacts", "credentials",
                  "factor", "summary", "done")
ENDPOINTS = {"code": "activation.code", "identity": "activation.identity",
             "takeover": "activation.takeover",
             "terms": "activation.terms", "contacts": "activation.contacts",
             "credentials": "activation.credentials", "factor": "activation.factor",
             "summary": "activation.summary", "done": "activation.done"}

CODE_MESSAGES = {
    "unknown": _l("Ce code n’est pas reconnu. Vérifiez les 12 caractères, par exemple "
                  "ABCD-EFGH-JKLM. Un code ne contient jamais les lettres I et O ni les "
                  "chiffres 0 et 1."),
    "used": _l("Ce code a déjà été utilisé. Si vous n’avez rien fait, demandez un code "
               "provisoire."),
    "expired": _l("Ce code a expiré : il est valable 6 semaines après son envoi. Demandez un "
                  "code provisoire."),
    "blocked": _l("Ce code est bloqué après 5 essais incorrects. Demandez un code provisoire."),
}


@dataclass
class Flow:
    record: ActivationCode
    person: InsuredPerson
    data: dict
    identity_ok: bool
    handed_over: bool = False

    @property
    def minor(self) -> bool:
        return is_minor(self.person, paris_day(utcnow()))

    @property
    def steps(self) -> tuple[str, ...]:
        if self.minor:
            return MINOR_STEPS
        return TAKEOVER_STEPS if self.handed_over else ADULT_STEPS

    def number(self, step: str) -> int:
        return self.steps.index(step) + 1

    def next_step(self, after: str) -> str:
        return self.steps[self.steps.index(after) + 1]

    def completed(self, step: str) -> bool:
        return self.record.progress_step >= self.number(step)

    def resume_step(self) -> str:
        """The first step not done yet (never past the summary)."""
        index = min(self.record.progress_step, self.steps.index("summary"))
        return self.steps[max(index, 1)]

    def save(self, step: str) -> None:
        activation.save_step(db.session, keys.ring, self.record, step, self.number(step),
                             self.data, actor())
        db.session.commit()


def start(record: ActivationCode) -> None:
    """The code is right (step 1 done): identity comes next, then wherever they stopped."""
    session[STATE] = {"code_id": record.id, "identity_ok": False}
    record.progress_step = max(record.progress_step, 1)
    db.session.commit()


def current() -> Flow | None:
    state = session.get(STATE)
    if not state:
        return None
    record = db.session.get(ActivationCode, state["code_id"])
    if record is None:
        return None
    person = db.session.get(InsuredPerson, record.insured_id)
    return Flow(record, person, activation.load_progress(keys.ring, record),
                bool(state.get("identity_ok")), activation.handed_over(db.session, person))


def mark_identity_ok() -> None:
    state = dict(session[STATE])
    state["identity_ok"] = True
    session[STATE] = state


def remember(key: str, value) -> None:
    state = dict(session[STATE])
    state[key] = value
    session[STATE] = state


def recall(key: str, default=None):
    return (session.get(STATE) or {}).get(key, default)


def finish() -> None:
    session.pop(STATE, None)


def require(step: str):
    """The flow for this step, or a redirect to where the person should be."""
    flow = current()
    if flow is None:
        # A notice in the address, not flash(): no session row for a visitor with no flow.
        return None, redirect_to(url_for("activation.code", avis="code-d-abord"))
    try:
        activation.check_usable(flow.record, utcnow())
    except activation.CodeProblem as problem:
        finish()
        flash(str(CODE_MESSAGES[problem.reason]), "error")
        return None, redirect_to(url_for("activation.code"))
    if step not in flow.steps:
        return None, redirect_to(url_for(ENDPOINTS[flow.resume_step()]))
    if step != "identity" and not flow.identity_ok:
        return None, redirect_to(url_for("activation.identity"))
    if flow.number(step) > flow.record.progress_step + 1:
        return None, redirect_to(url_for(ENDPOINTS[flow.resume_step()]))
    return flow, None


def step(name: str):
    """The preamble of every step's view: the view gets the flow as its first argument
    when the person may be at this step; otherwise they are sent where they should be (no
    flow yet, a code no longer usable, a step not reached or not theirs)."""
    def decorate(view):
        @wraps(view)
        def step_view(*args, **kwargs):
            flow, redirection = require(name)
            if redirection is not None:
                return redirection
            return view(flow, *args, **kwargs)
        return step_view
    return decorate


def lookup_code(code: str) -> tuple[ActivationCode | None, list]:
    """The code read from a form (forms.CODE): the record, or an error if unusable."""
    try:
        return activation.find_code(db.session, keys.ring, code, utcnow()), []
    except activation.CodeProblem as problem:
        return None, [("code", str(CODE_MESSAGES[problem.reason]))]
