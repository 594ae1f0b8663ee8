"""The activation, opposition and provisional-code forms, each declared once (web/forms.py):
their fields, and the sentences they say instead of the shared ones."""

from __future__ import annotations

from blueprints.activation.flow import CODE_MESSAGES
from domain.forms import Field
from web.forms import BIRTH_MISSING, IDENTITY_CARD, Form  # noqa: F401 - IDENTITY_CARD: here too
from web.i18n import lazy_gettext as _l

# Step 1, and opposition with the code. The domain says whether a code exists
# (activation.find_code): an empty one is as unknown as a wrong one.
CODE = Form(Field("code", "activation_code", required=True),
            messages={("code", "required"): CODE_MESSAGES["unknown"]})

# Step 2: the NIR and the birth date the code was sent for.
IDENTITY = Form(Field("nir", "nir", required=True),
                Field("birth", "past_date", required=True),
                messages={("birth", "required"): BIRTH_MISSING})

# Step 3.
TERMS = Form(Field("accept", "yes", required=True), messages={
    "accept": _l("Cochez la case pour accepter les conditions d’utilisation, ou refusez la "
                 "création de votre espace.")})

# Step 4: at least one of the two, each confirmed by a code.
CONTACTS = Form(Field("email", "email", required_unless="phone"),
                Field("phone", "french_phone"),
                messages={("email", "required"): _l("Saisissez au moins une adresse e-mail ou "
                                                    "un numéro de téléphone.")})
CONTACT_CODE_MISSING = _l("Saisissez le code à 6 chiffres reçu, par exemple 123456.")
CONTACT_CODES = Form(Field("email_code", "one_time_code", required=True),
                     Field("phone_code", "one_time_code", required=True),
                     messages={("email_code", "required"): CONTACT_CODE_MISSING,
                               ("phone_code", "required"): CONTACT_CODE_MISSING})

# Step 5: the person's names come with the reading (`personal`).
CREDENTIALS = Form(Field("login", "login", required=True),
                   Field("password", "new_password", related="login"),
                   Field("password_confirm", "password_confirm", related="password"))

# Step 6: the button pressed is "action" (confirm, or send an SMS code).
FACTOR = Form(Field("method", "choice", required=True, choices=("totp", "sms")),
              Field("action", "choice", choices=("confirm", "send-sms")),
              Field("code", "one_time_code", required=True),
              messages={"method": _l("Choisissez une application de codes ou le SMS.")})

# After the identity, for a space handed over at 18: closing it instead of taking it over.
CLOSE_INSTEAD = Form(
    Field("retention", "choice", required=True, choices=("archive", "delete")),
    Field("understood", "yes", required=True),
    messages={"retention": _l("Choisissez ce que deviennent vos données."),
              "understood": _l("Cochez la case pour confirmer que vous avez compris.")})
