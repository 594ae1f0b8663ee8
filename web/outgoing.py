"""E-mails, SMS and PDF letters rendered from templates, in French then English.

Nothing here talks to a mail server: messages join the outbox table in the request's
transaction (domain/outbox.py). The worker (`flask outbox work`) sends them; in development
and tests (OUTBOX_SEND_AFTER_COMMIT) they are sent as soon as the transaction commits, so
codes still appear under instance/outbox/ at once.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app, g, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import event

from domain import outbox
from domain.notify import Mailer, Outbox, build_email
from domain.people import notification_addresses
from domain.sms import SmsGateway, SmsSettings
from extensions import db, keys
from web.i18n import gettext as _

SEPARATOR = "\n\n----------------------------------------\n\n"
log = logging.getLogger(__name__)


def transports(config) -> outbox.Transports:
    """The real transports when SMTP_URL / SMS_URL are set, else files in OUTBOX_DIR."""
    mailer = Mailer(config["SMTP_URL"], config["OUTBOX_DIR"])
    if config["SMS_URL"]:
        gateway = SmsGateway(SmsSettings(
            url=config["SMS_URL"], token=config["SMS_TOKEN"], user=config["SMS_USER"],
            password=config["SMS_PASSWORD"], sender=config["SMS_SENDER"]))
        return outbox.Transports(email=mailer.deliver, sms=gateway.send)
    return outbox.Transports(email=mailer.deliver,
                             sms=Outbox(config["OUTBOX_DIR"]).send_sms)


def queue_sms(phone: str, text: str) -> None:
    """Queue an SMS already worded (the sign-in code) in this request's transaction."""
    outbox.queue_sms(db.session, keys.ring, phone, text)


def in_language(locale: str, render):
    """`render()` in this language (an e-mail, a letter), whatever the page's language."""
    g.pop("carnet_translations", None)  # the per-request catalogue cache (web.i18n)
    try:
        with force_locale(locale):
            return render()
    finally:
        g.pop("carnet_translations", None)  # the page's own language again, even on error


def bilingual(template: str, **context) -> str:
    """The same message in French, then in English, in one plain-text body."""
    context.setdefault("fraud_url", absolute_url("pages.fraud"))
    context.setdefault("site_name", current_app.config["SITE_NAME"])
    context.setdefault("official_phone", current_app.config["OFFICIAL_PHONE"])
    return SEPARATOR.join(
        in_language(locale, lambda: render_template(template, **context)).strip()
        for locale in ("fr", "en"))


def bilingual_subject(french_then_english) -> str:
    return " / ".join(in_language(locale, french_then_english) for locale in ("fr", "en"))


def send_email(to: str, subject_source, template: str, attachments=(), **context) -> None:
    """Queue a bilingual e-mail in this request's transaction."""
    message = build_email(current_app.config["MAIL_FROM"], to,
                          bilingual_subject(subject_source), bilingual(template, **context),
                          tuple(attachments))
    outbox.queue_email(db.session, keys.ring, bytes(message))


def send_sms(phone: str, text_source) -> None:
    """Queue an SMS, worded in French, in this request's transaction."""
    queue_sms(phone, in_language("fr", text_source))


def absolute_url(endpoint: str, **values) -> str:
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return base + url_for(endpoint, **values)


def render_pdf(template: str, **context) -> bytes:
    """An accessible, tagged PDF (PDF/UA-1) with its language and title."""
    from weasyprint import CSS, HTML  # slow to import: only when a PDF is made

    context.setdefault("site_name", current_app.config["SITE_NAME"])
    context.setdefault("official_phone", current_app.config["OFFICIAL_PHONE"])
    html = render_template(template, **context)
    stylesheet = CSS(filename=str(Path(current_app.root_path) / "static/css/pdf.css"))
    return HTML(string=html, base_url=current_app.root_path).write_pdf(
        stylesheets=[stylesheet], pdf_variant="pdf/ua-1")



def _addresses(patient) -> list[str]:
    return notification_addresses(db.session, patient)


def space_url(endpoint: str, patient) -> str:
    """A page of the patient's space for the e-mail about it: their own address, or, when
    the e-mail goes to their representatives, the page in the represented space."""
    return absolute_url(endpoint, space_id=None if patient.email else patient.id)


def tell_patient(patient, subject_source, template: str, **context) -> bool:
    """One e-mail to the patient, or to each of a child's representatives; False when
    nobody has an address."""
    addresses = _addresses(patient)
    for address in addresses:
        send_email(address, subject_source, template, **context)
    return bool(addresses)


def notify_new_document(patient, document) -> bool:
    """Tell a patient (or a child's representatives) that someone else added `document`:
    never its title or content. A document kept secret from the representatives is told
    to the minor's own address only, if they have one. Called by every path that deposits
    into another person's vault."""
    if document.secret_from_representatives and not patient.email:
        return False
    return tell_patient(patient, lambda: _("Un nouveau document dans votre espace santé"),
                        "email/new_document.txt",
                        documents_url=space_url("documents.document_list", patient))


def notify_professional_access(patient, profession_label) -> bool:
    """Tell a patient that a professional opened their space (the profession, never what
    they read). Called at most once a day per professional."""
    return tell_patient(patient, lambda: _("Un professionnel de santé a accédé à votre espace"),
                        "email/professional_access.txt", profession=profession_label,
                        access_url=space_url("access.history_show", patient))


def notify_emergency(patient, professional, profession_label, ends_at) -> int:
    """Tell the patient, and their attending doctor, at once: an emergency access began.
    Never the reason (it is health content): the patient reads it in their history."""
    sent = 0
    for address in _addresses(patient):
        send_email(address, lambda: _("Accès en urgence à votre espace santé"),
                   "email/emergency_access.txt", profession=profession_label,
                   name=professional.display_name, ends_at=ends_at,
                   access_url=space_url("access.history_show", patient))
        sent += 1
    doctor = patient.attending_doctor
    if doctor is not None and doctor.email and doctor.id != professional.id:
        send_email(doctor.email, lambda: _("Accès en urgence à l’espace d’un de vos patients"),
                   "email/emergency_access_doctor.txt", patient_name=patient.display_name,
                   name=professional.display_name, ends_at=ends_at)
        sent += 1
    return sent



def notify_new_message_to_patient(patient, profession_label) -> bool:
    """Tell a patient (or a child's representatives) that a message arrived and from which
    kind of professional: never its subject or content."""
    return tell_patient(patient, lambda: _("Un nouveau message dans votre espace santé"),
                        "email/new_message.txt", profession=profession_label,
                        inbox_url=space_url("messages.inbox", patient))


def notify_representation_ended(former, person) -> bool:
    """Tell a former representative that the person came of age and that the space is now
    theirs alone (their first name, nothing of the space)."""
    if not former.email:
        return False
    send_email(former.email, lambda: _("Fin de votre accès à un espace santé"),
               "email/representation_ended.txt", person_name=person.given_name)
    return True


def notify_new_message_to_professional(professional) -> bool:
    """Tell a professional that a patient replied: not who, not what."""
    if not professional.email:
        return False
    send_email(professional.email, lambda: _("Un patient vous a répondu"),
               "email/new_message_pro.txt", inbox_url=absolute_url("messages.pro_inbox"))
    return True


def notify_agenda_reminder(patient, day, items) -> bool:
    """The e-mail of the day before: how many appointments and reminders tomorrow, and at
    what time; never their title, place, professional or note. Sent to the patient, or to a
    child's representatives (then the e-mail names whose agenda it is)."""
    entries = [(item.kind.value, item.at.strftime("%H:%M") if item.at else None)
               for item in items]
    return tell_patient(patient, lambda: _("Rappel : demain dans votre agenda santé"),
                        "email/agenda_reminder.txt", day=day, entries=entries,
                        child_name=None if patient.email else patient.given_name,
                        agenda_url=space_url("agenda.index", patient))


def drain(app: Flask) -> outbox.Run:
    """Send every due message now, in a session of its own (development, tests)."""
    session = app.extensions["carnet_db"][1]()
    try:
        with app.app_context():
            ring = keys.ring
        return outbox.deliver_due(session, ring, transports(app.config))
    finally:
        session.close()


def init_app(app: Flask) -> None:
    """With OUTBOX_SEND_AFTER_COMMIT, send queued messages as soon as their transaction
    commits. A failure is only logged: the message stays queued for the next try."""
    factory = app.extensions["carnet_db"][1]

    @event.listens_for(factory, "after_rollback")
    def _forget_after_rollback(session):
        outbox.take_flag(session)  # rolled back with the action: nothing to send

    @app.teardown_appcontext
    def _nothing_queued_is_left_behind(_exc):
        # Runs before the session is closed (teardown functions run in reverse order).
        session = g.get("db_session")
        if session is None or not session.holds_orm() or not outbox.has_queued(session):
            return
        outbox.take_flag(session)
        if _exc is not None:
            return  # the request failed: nothing of it was saved, nothing is sent
        log.error("outbox: messages were queued but never committed")
        if app.config["TESTING"]:
            g.pop("db_session", None)
            session.rollback()
            session.close()
            raise RuntimeError("messages were queued but the request never committed")

    @event.listens_for(factory, "after_commit")
    def _send_after_commit(session):
        if not outbox.take_flag(session) or not app.config["OUTBOX_SEND_AFTER_COMMIT"]:
            return
        try:
            drain(app)
        except Exception:  # noqa: BLE001 - the action is saved; sending waits for a retry
            log.exception("outbox: sending after commit failed")


def notify_second_factor_lockout(user) -> bool:
    """Tell an account holder that their right password was followed by too many wrong
    codes: someone may know it. Called once per wait; never the code, never the address."""
    if not user.email:
        return False
    send_email(user.email, lambda: _("Quelqu’un connaît peut-être votre mot de passe"),
               "email/second_factor_lockout.txt")
    return True


def notify_password_changed(user) -> bool:
    """Tell an account holder that their password was changed, with what to do if it was
    not them. Never the password, never the address."""
    if not user.email:
        return False
    send_email(user.email, lambda: _("Le mot de passe de votre compte a été changé"),
               "email/password_changed.txt")
    return True


def notify_recovery_code_used(user, left: int) -> bool:
    """Tell an account holder that a recovery code just signed in to their account, and how
    many are left. Never the code."""
    if not user.email:
        return False
    send_email(user.email, lambda: _("Un code de secours a servi à entrer dans votre compte"),
               "email/recovery_code_used.txt", left=left)
    return True


def notify_second_factor_changed(user) -> bool:
    """Tell an account holder that a new phone now gives their sign-in codes."""
    if not user.email:
        return False
    send_email(user.email, lambda: _("Un nouveau téléphone donne vos codes de connexion"),
               "email/second_factor_changed.txt")
    return True


def notify_contact_changed(user, kind: str, old: str | None) -> bool:
    """Tell the old e-mail address (or, for a phone, the old phone by SMS and the e-mail on
    file) that the account's contact changed; never the new value."""
    if not old:
        return False
    if kind == "phone":
        send_sms(old, lambda: _("Carnet santé : le numéro de téléphone de votre compte vient "
                                "d’être changé. Si ce n’était pas vous, appelez le "
                                "%(phone)s.", phone=current_app.config["OFFICIAL_PHONE"]))
    if kind == "email" or user.email:
        send_email(old if kind == "email" else user.email,
                   lambda: _("Les coordonnées de votre compte ont été changées"),
                   "email/contact_changed.txt", kind=kind)
    return True


def notify_factor_reset_requested(user, expires_at) -> bool:
    """Announce a letter asked for to change the phone: whoever asked knew the password, so
    the real person may cancel it from any signed-in session."""
    if not user.email:
        return False
    send_email(user.email, lambda: _("Un courrier pour changer de téléphone a été demandé"),
               "email/factor_reset_requested.txt", expires_at=expires_at,
               sessions_url=absolute_url("account.sessions_list"))
    return True


def notify_passkey_added(user) -> bool:
    """Tell an account holder that a passkey now signs in to their account."""
    if not user.email:
        return False
    send_email(user.email, lambda: _("Une clé d’accès a été ajoutée à votre compte"),
               "email/passkey_added.txt")
    return True


def notify_recovery_codes_renewed(user) -> bool:
    """Tell an account holder that new recovery codes were made (the old ones died)."""
    if not user.email:
        return False
    send_email(user.email, lambda: _("De nouveaux codes de secours ont été créés"),
               "email/recovery_codes_renewed.txt")
    return True


def notify_factor_reset_used(user) -> bool:
    """Tell an account holder that the letter's code just signed in instead of the phone."""
    if not user.email:
        return False
    send_email(user.email, lambda: _("Le code du courrier a servi à entrer dans votre compte"),
               "email/factor_reset_used.txt")
    return True
