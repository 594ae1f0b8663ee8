"""FHIR R4 (fhirVersion 4.0.1) for the space: the project's records as resources
(resources.py), the International Patient Summary (ips.py), an incoming Observation read
into a measure (incoming.py), structural validation with fhir.resources' R4B models and
OperationOutcome (validation.py), the codes and their sources (codes.py), and the words the
web layer hands in (wording.py). Nothing here imports Flask, decides access or audits."""

from domain.fhir.codes import FHIR_VERSION
from domain.fhir.incoming import IncomingMeasure, observation_to_measure
from domain.fhir.resources import (
    ENTRY_RESOURCES,
    allergy_intolerance,
    appointment,
    condition,
    document_reference,
    entry_resource,
    immunization,
    medication_statement,
    observation,
    patient,
)
from domain.fhir.validation import InvalidResource, operation_outcome, validate
from domain.fhir.wording import Wording

__all__ = [
    "ENTRY_RESOURCES", "FHIR_VERSION", "IncomingMeasure", "InvalidResource", "Wording",
    "allergy_intolerance", "appointment", "condition", "document_reference",
    "entry_resource", "immunization", "medication_statement", "observation",
    "observation_to_measure", "operation_outcome", "patient", "validate",
]
