"""Structural validation of FHIR bodies with the closest models `fhir.resources` ships (its
R4B package: it has no R4), the domain error for a body that is refused, and the
OperationOutcome that tells why.

`fhir.resources` is slow to import: it is imported here, on the first validation, never
when the module loads. Its models check the structure (elements, types, cardinalities,
formats), not the code systems or the narrative: the callers check what they rely on.
"""

from __future__ import annotations

import re

# The R4 IssueType value set (hl7.org/fhir/R4/valueset-issue-type.html, 31 codes).
ISSUE_TYPES = frozenset((
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown",
    "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate",
    "multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension",
    "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store",
    "exception", "timeout", "incomplete", "throttled", "informational"))
SEVERITIES = frozenset(("fatal", "error", "warning", "information"))
RESOURCE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")
# An element name or an index: what a FHIRPath in a message may repeat of a refused body.
PATH_PART = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


class InvalidResource(ValueError):
    """A FHIR body that is refused: `reason` (a stable code, for tests and logs), `code`
    (the OperationOutcome issue type), a plain `message` in French that never repeats what
    was sent, and `expression`, where in the body (FHIRPath), when known."""

    def __init__(self, reason: str, code: str, message: str,
                 expression: tuple[str, ...] = ()):
        super().__init__(reason)
        self.reason, self.code, self.message, self.expression = (reason, code, message,
                                                                  expression)

    def outcome(self) -> dict:
        """This refusal as an OperationOutcome."""
        return operation_outcome("error", self.code, self.message, self.expression)


def operation_outcome(severity: str, code: str, text: str,
                      expression: tuple[str, ...] | list[str] = ()) -> dict:
    """An OperationOutcome with one issue: `severity` (fatal, error, warning,
    information), `code` (an R4 IssueType code), `text` (diagnostics, in plain words) and
    optionally `expression` (FHIRPath of the elements concerned). Codes outside the value
    sets are a programming error (ValueError)."""
    if severity not in SEVERITIES or code not in ISSUE_TYPES:
        raise ValueError(f"not an issue severity and type: {severity!r}, {code!r}")
    issue = {"severity": severity, "code": code, "diagnostics": text}
    if expression:
        issue["expression"] = list(expression)
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def _model(name: str):
    """The R4B model class of a resource type, or None when `name` is no resource type
    (datatypes such as Quantity have models too). Only names that exist reach
    get_fhir_model_class, whose unbounded cache would otherwise grow with every name
    sent; nothing here caches what a request names."""
    from fhir.resources.R4B import fhirtypes, get_fhir_model_class
    from fhir.resources.R4B.resource import Resource

    if not hasattr(fhirtypes, f"{name}Type"):
        return None
    model = get_fhir_model_class(name)
    return model if issubclass(model, Resource) else None


def _where(location: tuple) -> str:
    parts = []
    for part in location:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        elif isinstance(part, str) and PATH_PART.fullmatch(part):
            parts.append(part)
        else:
            parts.append("?")  # a name the sender made up: not repeated
    return ".".join(parts)


def _null(resource: dict) -> str | None:
    """The path of the first property whose value is JSON null, which FHIR's JSON format
    forbids (the models would take it for an absent element, a required one included);
    walked without recursion, however deep the body."""
    stack: list[tuple[str, object]] = [("", resource)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for name, value in node.items():
                step = name if isinstance(name, str) and PATH_PART.fullmatch(name) else "?"
                where = f"{path}.{step}" if path else step
                if value is None:
                    return where
                stack.append((where, value))
        elif isinstance(node, list):
            stack.extend((f"{path}[{index}]", value) for index, value in enumerate(node))
    return None


def validate(resource: dict):
    """Parse `resource` (a JSON object as a dict) with the R4B model of its resourceType
    and return the parsed model; InvalidResource when it is not an object, names no
    resource type, has a property set to null, or does not fit the model (the message
    names the first element at fault, never its value)."""
    if not isinstance(resource, dict):
        raise InvalidResource("not_object", "structure",
                              "Le corps de la requête doit être un objet JSON : une "
                              "ressource FHIR.")
    name = resource.get("resourceType")
    model = _model(name) if isinstance(name, str) and RESOURCE_NAME.fullmatch(name) else None
    if model is None:
        raise InvalidResource("resource_type", "structure",
                              "L’élément resourceType doit nommer une ressource FHIR R4.",
                              ("resourceType",))
    null = _null(resource)
    if null:
        raise InvalidResource("structure", "structure",
                              f"Une propriété ne peut pas valoir null en FHIR (élément : {null}).",
                              (f"{name}.{null}",))
    try:
        return model.model_validate(resource)
    except (ValueError, TypeError, RecursionError) as error:  # pydantic's ValidationError
        errors = error.errors() if hasattr(error, "errors") else []
        where = _where(tuple(errors[0].get("loc", ()))) if errors else ""
        raise InvalidResource(
            "structure", "structure",
            f"La ressource ne respecte pas la structure FHIR R4 (élément : {where})."
            if where else "La ressource ne respecte pas la structure FHIR R4.",
            (f"{name}.{where}",) if where else ()) from None
