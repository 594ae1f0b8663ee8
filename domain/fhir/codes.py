"""The codes the FHIR resources carry, each with where it was taken from.

No LOINC table, SNOMED CT licence or HL7 validator is reachable here (issue 19): every
LOINC code and UCUM unit below was looked up in the published FHIR pages or implementation
guides named beside it, never written from memory. Conditions (ICD-10) and medicines (ATC)
come with their codes from data/profile_codes.json, through domain/profile.py.
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# The vault's own document categories (domain/models/document.py Category values): no
# standard code system says "Ordonnances et soins" as the real service groups documents.
DOCUMENT_CATEGORY = "urn:carnet-sante:categorie-document"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
LIST_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
FHIR_VERSION = "4.0.1"


@dataclass(frozen=True)
class MeasureCode:
    """How one measure kind (domain/measures.py KINDS) is coded: its LOINC code (with the
    LOINC display when the source page showed it), the UCUM code of its unit, and, for
    blood pressure, the codes of its two components."""

    loinc: str
    ucum: str
    display: str | None = None
    components: tuple[tuple[str, str], ...] = ()  # (measure field, LOINC code)


# Every measure kind of the project has a code; the vital-signs category is used for all
# of them, as the French "Mesures de santé" guide does for glucose, pain and waist too.
MEASURES: dict[str, MeasureCode] = {
    # FHIR R4 Body Weight profile (hl7.org/fhir/R4B/bodyweight.html, R4 page versions
    # alike): code 29463-7; display from the ValueSet observation-vitalsign-bodyweight
    # expansion (build.fhir.org). Unit: "kg", ValueSet ucum-vitals-common
    # (hl7.org/fhir/R4B/valueset-ucum-vitals-common.html).
    "weight": MeasureCode("29463-7", "kg", "Body weight"),
    # FHIR R4 Body Height profile (hl7.org/fhir/R4B/bodyheight.html): 8302-2; "cm" from
    # ucum-vitals-common.
    "height": MeasureCode("8302-2", "cm"),
    # No core vital-signs profile: LOINC 8280-0 "Waist Circumference at umbilicus by Tape
    # measure" in the ANS guide "Mesures de santé" (profile MesObservationWaistCircumference,
    # valueQuantity http://unitsofmeasure.org#cm) and in the HL7 Europe Discharge Report
    # example Observation 4ba395b7 (build.fhir.org/ig/hl7-eu/discharge-report).
    "waist": MeasureCode("8280-0", "cm", "Waist Circumference at umbilicus by Tape measure"),
    # FHIR R4 Body Temperature profile (hl7.org/fhir/R4/bodytemp.html): 8310-5; "Cel"
    # from ucum-vitals-common.
    "temperature": MeasureCode("8310-5", "Cel"),
    # No core vital-signs profile: LOINC 2339-0 "Glucose [Mass/volume] in Blood" in the US
    # Core example Observation blood-glucose (hl7.org/fhir/us/core/STU3.1). The project
    # records g/L (what French meters show), a valid UCUM code for the same property.
    "glucose": MeasureCode("2339-0", "g/L", "Glucose [Mass/volume] in Blood"),
    # FHIR R4 Blood Pressure profile (hl7.org/fhir/R4B/bp.html): panel 85354-9, components
    # 8480-6 (systolic) and 8462-4 (diastolic); "mm[Hg]" from ucum-vitals-common.
    "blood_pressure": MeasureCode("85354-9", "mm[Hg]", components=(
        ("systolic", "8480-6"), ("diastolic", "8462-4"))),
    # FHIR R4 Heart Rate profile (hl7.org/fhir/R4B/heartrate.html): 8867-4; "/min" from
    # ucum-vitals-common.
    "heart_rate": MeasureCode("8867-4", "/min"),
    # No core vital-signs profile: LOINC 72514-3 in the ANS guide "Mesures de santé"
    # (profile MesObservationPainSeverity: valueQuantity code "1", unit "Level").
    "pain": MeasureCode("72514-3", "1",
                        "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
    # FHIR R4 Head Circumference profile (hl7.org/fhir/R4/headcircum.html): 9843-4; display
    # from the example observation-example-head-circumference (build.fhir.org); "cm".
    "head_circumference": MeasureCode("9843-4", "cm", "Head Occipital-frontal circumference"),
}
BY_LOINC = {code.loinc: kind for kind, code in MEASURES.items()}

# The International Patient Summary, from the IPS implementation guide's own sources
# (github.com/HL7/fhir-ips, input/fsh/profiles/CompositionUvIps.fsh for the codes, and
# input/fsh/instances/bundle-no-info-required-sections.fsh for the displays; that example
# has no results section: its display is the one guides built on the IPS give with the
# same code, e.g. the Irish core's composition, "Relevant diagnostic tests/laboratory data
# Narrative").
IPS_DOCUMENT = ("60591-5", "Patient summary Document")
IPS_SECTIONS: dict[str, tuple[str, str]] = {
    "allergies": ("48765-2", "Allergies and adverse reactions Document"),
    "problems": ("11450-4", "Problem list - Reported"),
    "medications": ("10160-0", "History of Medication use Narrative"),
    "immunizations": ("11369-6", "History of Immunization Narrative"),
    "results": ("30954-2", "Relevant diagnostic tests/laboratory data Narrative"),
}
# Empty sections (same bundle example; the codes from the CodeSystem list-empty-reason,
# terminology.hl7.org): "nilknown" when the person said "Non concerné", "unavailable" when
# nothing was recorded.
EMPTY_NIL_KNOWN = ("nilknown", "Nil Known")
EMPTY_UNAVAILABLE = ("unavailable", "Unavailable")

# What kind of substance each bundled allergen is (AllergyIntolerance.category: food |
# medication | environment | biologic): the ones with an ATC code are medicines.
ALLERGEN_CATEGORIES = {
    "peanut": "food", "tree_nuts": "food", "milk": "food", "egg": "food", "fish": "food",
    "shellfish": "food", "wheat": "food", "latex": "environment", "pollen": "environment",
    "dust_mites": "environment", "animal_dander": "environment", "bee_wasp": "biologic",
}
# The person's own severity of an allergy, as AllergyIntolerance.criticality (low | high |
# unable-to-assess) and reaction.severity (mild | moderate | severe).
CRITICALITY = {"mild": "low", "moderate": "low", "severe": "high", "unknown": "unable-to-assess"}
REACTION_SEVERITY = {"mild": "mild", "moderate": "moderate", "severe": "severe"}
