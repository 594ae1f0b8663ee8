"""Words of the medical profile in the UI language: sections, fields, choices, bundled
lists, measures, and the messages for each problem a form can have."""

from __future__ import annotations

from domain.forms import Problem
from web import form_messages
from web.i18n import format_decimal, ngettext
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l

SECTION_TITLES = {
    "conditions": _l("Maladies et sujets de santé"),
    "treatments": _l("Traitements"),
    "hospitalisations": _l("Hospitalisations"),
    "disabilities": _l("Handicaps"),
    "blood_group": _l("Groupe sanguin"),
    "allergies": _l("Allergies"),
    "family_history": _l("Antécédents familiaux"),
    "lifestyle": _l("Mode de vie"),
    "vaccinations": _l("Vaccinations"),
    "emergency_contacts": _l("Contacts en cas d’urgence"),
    "trusted_person": _l("Personne de confiance"),
    "directives": _l("Directives anticipées"),
}
SECTION_HINTS = {
    "conditions": _l("Les maladies que vous avez ou avez eues, et vos sujets de santé."),
    "treatments": _l("Les médicaments et traitements que vous prenez ou avez pris."),
    "hospitalisations": _l("Vos séjours à l’hôpital ou en clinique."),
    "disabilities": _l("Un handicap reconnu ou non, son taux et l’aide humaine dont vous "
                       "avez besoin."),
    "blood_group": _l("Il figure sur votre carte de groupe sanguin."),
    "allergies": _l("Médicaments, aliments ou autres substances auxquels vous réagissez."),
    "family_history": _l("Les maladies de vos parents, frères, sœurs ou enfants qui peuvent "
                         "compter pour votre santé."),
    "lifestyle": _l("Alimentation, activité physique, sommeil, écrans, alcool, tabac."),
    "vaccinations": _l("Les vaccins que vous avez reçus."),
    "emergency_contacts": _l("Jusqu’à 3 personnes à prévenir en cas d’urgence."),
    "trusted_person": _l("La personne qui vous accompagne et peut être consultée si vous ne "
                         "pouvez pas exprimer votre volonté."),
    "directives": _l("Vos volontés sur la fin de vie, si un jour vous ne pouvez plus les "
                     "exprimer."),
}
ADD_LABELS = {
    "conditions": _l("Ajouter une maladie ou un sujet de santé"),
    "treatments": _l("Ajouter un traitement"),
    "hospitalisations": _l("Ajouter une hospitalisation"),
    "disabilities": _l("Ajouter un handicap"),
    "blood_group": _l("Indiquer mon groupe sanguin"),
    "allergies": _l("Ajouter une allergie"),
    "family_history": _l("Ajouter un antécédent familial"),
    "lifestyle": _l("Ajouter une information sur mon mode de vie"),
    "vaccinations": _l("Ajouter une vaccination"),
    "emergency_contacts": _l("Ajouter un contact en cas d’urgence"),
    "trusted_person": _l("Désigner ma personne de confiance"),
    "directives": _l("Rédiger mes directives anticipées"),
}
FIELD_LABELS = {
    "condition": _l("Maladie ou sujet de santé"),
    "condition_other": _l("Autre maladie ou sujet de santé"),
    "since": _l("Depuis"),
    "until": _l("Jusqu’à"),
    "note": _l("Précisions"),
    "name": _l("Nom"),
    "dose": _l("Dose"),
    "reason": _l("Motif"),
    "place": _l("Lieu"),
    "start": _l("Date d’entrée"),
    "end": _l("Date de sortie"),
    "type": _l("Type de handicap"),
    "rate": _l("Taux d’incapacité (en %)"),
    "human_help": _l("Avez-vous besoin d’une aide humaine ?"),
    "group": _l("Groupe sanguin"),
    "substance": _l("Substance"),
    "substance_other": _l("Autre substance"),
    "reaction": _l("Réaction"),
    "severity": _l("Gravité"),
    "relative": _l("Membre de la famille"),
    "topic": _l("Sujet"),
    "description": _l("Description"),
    "vaccine": _l("Vaccin"),
    "given_on": _l("Date de la vaccination"),
    "lot": _l("Numéro de lot"),
    "vaccinator": _l("Vacciné par"),
    "relation": _l("Lien avec vous"),
    "phone": _l("Téléphone"),
    "consent_on": _l("Date de son accord"),
    "resuscitation": _l("En cas d’arrêt cardiaque, souhaitez-vous être réanimé ?"),
    "life_support": _l("Traitements qui maintiennent en vie (respiration artificielle, "
                       "alimentation par sonde…)"),
    "pain_relief": _l("Soulagement de la douleur et sédation"),
    "other": _l("Autres volontés"),
    "written_on": _l("Date de rédaction"),
    "value": _l("Valeur"),
    "systolic": _l("Tension systolique (le chiffre du haut)"),
    "diastolic": _l("Tension diastolique (le chiffre du bas)"),
    "measured_on": _l("Date de la mesure"),
    "time": _l("Heure"),
}
# Section-specific wording of the same field name.
SECTION_FIELD_LABELS = {
    ("treatments", "name"): _l("Nom du traitement"),
    ("treatments", "since"): _l("Début du traitement"),
    ("treatments", "until"): _l("Fin du traitement"),
    ("family_history", "condition"): _l("Maladie"),
    ("emergency_contacts", "name"): _l("Nom et prénom"),
    ("trusted_person", "name"): _l("Nom et prénom"),
    ("directives", "place"): _l("Où souhaitez-vous finir votre vie ?"),
    ("vaccinations", "dose"): _l("Numéro de la dose"),
    ("weight", "value"): _l("Poids en kg"),
    ("height", "value"): _l("Taille en cm"),
    ("waist", "value"): _l("Tour de taille en cm"),
    ("temperature", "value"): _l("Température en °C"),
    ("glucose", "value"): _l("Glycémie en g/L"),
    ("heart_rate", "value"): _l("Fréquence cardiaque en battements par minute"),
    ("pain", "value"): _l("Douleur, de 0 (aucune) à 10 (la pire possible)"),
    ("head_circumference", "value"): _l("Périmètre crânien en cm"),
    ("blood_pressure", "systolic"): _l("Tension systolique (le chiffre du haut) en mmHg"),
    ("blood_pressure", "diastolic"): _l("Tension diastolique (le chiffre du bas) en mmHg"),
}
# A professional reads the patient's profile: the patient-facing words, reworded.
PRO_FIELD_LABELS = {
    "relation": _l("Lien avec le patient"),
}
# An empty required field: what to type or choose, with an example; by (section, field)
# first, then by field.
REQUIRED = {
    "condition": _l("Maladie ou sujet de santé : choisissez-le dans la liste, ou choisissez "
                    "« Autre » pour l’écrire vous-même."),
    ("family_history", "condition"): _l("Maladie : choisissez-la dans la liste, ou "
                                        "choisissez « Autre » pour l’écrire vous-même."),
    "condition_other": _l("Autre maladie ou sujet de santé : écrivez-le, par exemple "
                          "Rhinite allergique."),
    ("treatments", "name"): _l("Nom du traitement : écrivez le nom du médicament ou du soin, "
                               "par exemple Doliprane 1000 mg."),
    "name": _l("Nom et prénom : écrivez le nom et le prénom de la personne, par exemple "
               "Paul Martin."),
    "reason": _l("Motif : écrivez pourquoi vous avez été hospitalisé, par exemple "
                 "Appendicite."),
    "start": _l("Date d’entrée : indiquez au moins l’année, par exemple 2019."),
    "type": _l("Type de handicap : choisissez une des réponses, par exemple Auditif."),
    "human_help": _l("Aide humaine : répondez Oui ou Non."),
    "group": _l("Groupe sanguin : choisissez-le dans la liste, par exemple O+. Il figure "
                "sur votre carte de groupe sanguin."),
    "substance": _l("Substance : choisissez-la dans la liste, ou choisissez « Autre » pour "
                    "l’écrire vous-même."),
    "substance_other": _l("Autre substance : écrivez-la, par exemple Pollen de bouleau."),
    "severity": _l("Gravité : choisissez une des réponses, ou « Je ne sais pas »."),
    "relative": _l("Membre de la famille : choisissez qui est concerné, par exemple Mère."),
    "topic": _l("Sujet : choisissez une des réponses, par exemple Activité physique."),
    "description": _l("Description : écrivez quelques mots, par exemple Marche 30 minutes "
                      "par jour."),
    "vaccine": _l("Vaccin : choisissez-le dans la liste, par exemple Grippe saisonnière."),
    "given_on": _l("Date de la vaccination : saisissez le jour, le mois et l’année, par "
                   "exemple 14 3 2024."),
    "phone": _l("Téléphone : saisissez un numéro, par exemple 06 12 34 56 78 ou "
                "+32 470 12 34 56."),
    "consent_on": _l("Date de son accord : saisissez le jour, le mois et l’année, par "
                     "exemple 14 3 2024."),
    "resuscitation": _l("Réanimation en cas d’arrêt cardiaque : choisissez une des "
                        "réponses, ou « Je ne me prononce pas »."),
    "written_on": _l("Date de rédaction : saisissez le jour, le mois et l’année, par exemple "
                     "14 3 2024."),
    "measured_on": _l("Date de la mesure : saisissez le jour, le mois et l’année, par "
                      "exemple 14 3 2024."),
    "systolic": _l("Tension systolique : saisissez le chiffre du haut en mmHg, par exemple "
                   "120."),
    "diastolic": _l("Tension diastolique : saisissez le chiffre du bas en mmHg, par exemple "
                    "80."),
}
FIELD_HINTS = {
    "since": _l("L’année suffit, par exemple 2015."),
    "until": _l("Laissez vide si le traitement continue."),
    "start": _l("L’année suffit, par exemple 2019."),
    "end": _l("Laissez vide si vous ne savez plus."),
    ("treatments", "dose"): _l("Par exemple : 1 comprimé le matin"),
    ("vaccinations", "dose"): _l("1 pour la première injection, 2 pour la deuxième…"),
    "phone": _l("Par exemple : 06 12 34 56 78 ou +32 470 12 34 56"),
    "lot": _l("Il figure sur le carnet de vaccination ou l’étiquette du vaccin."),
    "time": _l("Par exemple : 8:30"),
    "rate": _l("Un nombre entre 0 et 100, si un taux a été reconnu."),
}
CHOICES = {
    "type": {"motor": _l("Moteur"), "visual": _l("Visuel"), "hearing": _l("Auditif"),
             "cognitive": _l("Cognitif"), "psychic": _l("Psychique"),
             "multiple": _l("Polyhandicap"), "other": _l("Autre")},
    "severity": {"mild": _l("Légère"), "moderate": _l("Modérée"), "severe": _l("Grave"),
                 "unknown": _l("Je ne sais pas")},
    "relative": {"mother": _l("Mère"), "father": _l("Père"), "sister": _l("Sœur"),
                 "brother": _l("Frère"), "grandparent": _l("Grand-parent"),
                 "child": _l("Enfant"), "other": _l("Autre membre de la famille")},
    "topic": {"food": _l("Alimentation"), "activity": _l("Activité physique"),
              "sleep": _l("Sommeil"), "screens": _l("Écrans"), "alcohol": _l("Alcool"),
              "tobacco": _l("Tabac")},
    "human_help": {"oui": _l("Oui"), "non": _l("Non")},
    "resuscitation": {"wanted": _l("Oui"), "not_wanted": _l("Non"),
                      "no_opinion": _l("Je ne me prononce pas")},
    "group": {group: group for group in ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")},
}
CODED = {
    "conditions": {
        "hypertension": _l("Hypertension artérielle"),
        "diabetes_type_1": _l("Diabète de type 1"),
        "diabetes_type_2": _l("Diabète de type 2"),
        "hypercholesterolaemia": _l("Cholestérol élevé"),
        "obesity": _l("Obésité"),
        "hypothyroidism": _l("Hypothyroïdie"),
        "asthma": _l("Asthme"),
        "copd": _l("Bronchopneumopathie chronique obstructive (BPCO)"),
        "atrial_fibrillation": _l("Fibrillation auriculaire"),
        "heart_failure": _l("Insuffisance cardiaque"),
        "coronary_disease": _l("Maladie coronarienne"),
        "stroke": _l("Accident vasculaire cérébral (AVC)"),
        "kidney_disease": _l("Maladie rénale chronique"),
        "depression": _l("Dépression"),
        "anxiety": _l("Troubles anxieux"),
        "epilepsy": _l("Épilepsie"),
        "migraine": _l("Migraine"),
        "multiple_sclerosis": _l("Sclérose en plaques"),
        "alzheimer": _l("Maladie d’Alzheimer"),
        "parkinson": _l("Maladie de Parkinson"),
        "osteoporosis": _l("Ostéoporose"),
        "rheumatoid_arthritis": _l("Polyarthrite rhumatoïde"),
        "crohn": _l("Maladie de Crohn"),
        "psoriasis": _l("Psoriasis"),
        "breast_cancer": _l("Cancer du sein"),
        "hiv": _l("Infection par le VIH"),
        "sickle_cell": _l("Drépanocytose"),
    },
    "allergens": {
        "penicillins": _l("Pénicillines"),
        "cephalosporins": _l("Céphalosporines"),
        "sulfonamides": _l("Sulfamides"),
        "aspirin": _l("Aspirine"),
        "nsaids": _l("Anti-inflammatoires (AINS)"),
        "codeine": _l("Codéine"),
        "iodinated_contrast": _l("Produits de contraste iodés"),
        "local_anaesthetics": _l("Anesthésiques locaux"),
        "peanut": _l("Arachide"),
        "tree_nuts": _l("Fruits à coque"),
        "milk": _l("Lait"),
        "egg": _l("Œuf"),
        "fish": _l("Poisson"),
        "shellfish": _l("Crustacés et coquillages"),
        "wheat": _l("Blé (gluten)"),
        "latex": _l("Latex"),
        "bee_wasp": _l("Piqûres d’abeille ou de guêpe"),
        "pollen": _l("Pollens"),
        "dust_mites": _l("Acariens"),
        "animal_dander": _l("Poils d’animaux"),
    },
}
VACCINES = {
    "hexavalent": _l("Hexavalent (diphtérie, tétanos, coqueluche, polio, Haemophilus, "
                     "hépatite B)"),
    "pneumococcal": _l("Pneumocoque"),
    "menc": _l("Méningocoque C"),
    "menacwy": _l("Méningocoques ACWY"),
    "menb": _l("Méningocoque B"),
    "mmr": _l("ROR (rougeole, oreillons, rubéole)"),
    "dtcap": _l("Diphtérie, tétanos, coqueluche, polio (rappel enfant)"),
    "dtp": _l("Diphtérie, tétanos, polio (rappel adulte)"),
    "hepatitis_b": _l("Hépatite B"),
    "hpv": _l("Papillomavirus (HPV)"),
    "influenza": _l("Grippe"),
    "zoster": _l("Zona"),
}
DISEASES = {
    "diphtheria": _l("diphtérie"), "tetanus": _l("tétanos"), "pertussis": _l("coqueluche"),
    "polio": _l("poliomyélite"), "hib": _l("Haemophilus influenzae b"),
    "hepatitis_b": _l("hépatite B"), "pneumococcus": _l("pneumocoque"),
    "meningococcus_a": _l("méningocoque A"), "meningococcus_b": _l("méningocoque B"),
    "meningococcus_c": _l("méningocoque C"), "meningococcus_w": _l("méningocoque W"),
    "meningococcus_y": _l("méningocoque Y"), "measles": _l("rougeole"),
    "mumps": _l("oreillons"), "rubella": _l("rubéole"), "hpv": _l("papillomavirus"),
    "influenza": _l("grippe"), "shingles": _l("zona"),
}
MEASURES = {
    "weight": _l("Poids"),
    "height": _l("Taille"),
    "waist": _l("Tour de taille"),
    "temperature": _l("Température"),
    "glucose": _l("Glycémie"),
    "blood_pressure": _l("Tension artérielle"),
    "heart_rate": _l("Fréquence cardiaque"),
    "pain": _l("Douleur (de 0 à 10)"),
    "head_circumference": _l("Périmètre crânien"),
}
UNITS = {"kg": _l("kg"), "cm": _l("cm"), "°C": "°C", "g/L": _l("g/L"), "mmHg": _l("mmHg"),
         "bpm": _l("battements par minute"), "/10": _l("sur 10"), "%": "%"}


def field_hint(section: str, name: str) -> str | None:
    hint = FIELD_HINTS.get((section, name)) or FIELD_HINTS.get(name)
    return str(hint) if hint else None


def field_label(section: str, name: str, *, professional: bool = False) -> str:
    """A field's name; for a professional reading the patient's profile, in his words."""
    if professional and name in PRO_FIELD_LABELS:
        return str(PRO_FIELD_LABELS[name])
    return str(SECTION_FIELD_LABELS.get((section, name)) or FIELD_LABELS[name])


def number(value: float | None) -> str:
    return "" if value is None else format_decimal(value)


def _required(section: str, name: str, label: str) -> str:
    """An empty required field: which one, and what to type or choose."""
    found = REQUIRED.get((section, name)) or REQUIRED.get(name)
    if found is not None:
        return str(found)
    if name == "value":
        return _("%(field)s : saisissez la valeur mesurée, en chiffres.", field=label)
    return str(form_messages.common(label, Problem(name, "required")))


def message(section: str, problem: Problem) -> str:
    """One plain sentence for a problem, naming the field so the error summary stands
    alone."""
    label = field_label(section, problem.field)
    params = problem.params
    if problem.reason == "required":
        return _required(section, problem.field, label)
    shared = form_messages.common(label, problem)
    if shared is not None:
        return shared
    if problem.reason == "date_incomplete":
        return _("%(field)s : indiquez au moins l’année, et le mois si vous indiquez le jour "
                 "(par exemple 3 2015).", field=label)
    if problem.reason == "date_invalid":
        return _("%(field)s : saisissez une date réelle, par exemple 14 3 2015 (jour, mois, "
                 "année sur 4 chiffres).", field=label)
    if problem.reason == "date_future":
        return _("%(field)s : la date ne peut pas être dans le futur.", field=label)
    if problem.reason == "date_before_birth":
        return _("%(field)s : la date ne peut pas être avant la date de naissance.",
                 field=label)
    if problem.reason == "date_order":
        return _("%(field)s : cette date doit être après « %(other)s ».", field=label,
                 other=field_label(section, params["other"]))
    if problem.reason == "number_invalid":
        return _("%(field)s : saisissez un nombre, par exemple 72,5.", field=label)
    if problem.reason == "number_decimals":
        if params["decimals"] == 0:
            return _("%(field)s : saisissez un nombre entier, sans virgule.", field=label)
        return ngettext("%(field)s : %(num)s chiffre après la virgule au plus.",
                        "%(field)s : %(num)s chiffres après la virgule au plus.",
                        params["decimals"], field=label)
    if problem.reason == "number_range":
        return _("%(field)s : vérifiez la valeur, elle doit être entre %(minimum)s et "
                 "%(maximum)s %(unit)s.", field=label, minimum=number(params["minimum"]),
                 maximum=number(params["maximum"]), unit=str(UNITS.get(params["unit"], "")))
    if problem.reason == "phone_invalid":
        return _("%(field)s : saisissez un numéro de téléphone, par exemple 06 12 34 56 78 ou "
                 "+32 470 12 34 56.", field=label)
    if problem.reason == "time_invalid":
        return _("%(field)s : saisissez une heure, par exemple 8:30.", field=label)
    if problem.reason == "pressure_order":
        return _("%(field)s : le chiffre du bas doit être plus petit que celui du haut, par "
                 "exemple 12/8 se note 120 et 80.", field=label)
    return _("%(field)s : vérifiez ce champ.", field=label)


def field_options(form, name: str) -> dict:
    """The choices of a form's field, by value: the vaccines, a bundled list for a coded
    field, or the field's own."""
    if name == "vaccine":
        return VACCINES
    coded = getattr(form, "coded", {})
    return CODED[coded[name]] if name in coded else CHOICES[name]
