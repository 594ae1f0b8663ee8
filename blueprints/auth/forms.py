from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST already, for forms and htmx alike


class LoginForm(_Form):
    login = StringField(validators=[
        DataRequired(_l("Saisissez votre identifiant, par exemple camille.martin")),
        Length(max=64, message=_l("L’identifiant fait au plus 64 caractères"))])
    password = PasswordField(validators=[
        DataRequired(_l("Saisissez votre mot de passe")),
        Length(max=256, message=_l("Le mot de passe fait au plus 256 caractères"))])


class SecondFactorForm(_Form):
    code = StringField(validators=[
        DataRequired(_l("Saisissez le code à 6 chiffres, par exemple 123456")),
        Regexp(r"^\s*\d{3}\s?\d{3}\s*$",
               message=_l("Le code contient 6 chiffres, sans lettres, par exemple 123456"))])
