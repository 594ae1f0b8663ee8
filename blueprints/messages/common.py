"""What the patient's and the professional's messaging pages share: reading the form and
its files, sending, and showing a conversation (whole page, or the htmx fragment of a
sent message)."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

from flask import (
    abort,
    flash,
    request,
    url_for,
)
from sqlalchemy import BigInteger

from domain import intake, messaging, uploads, vault
from domain.errors import NotAllowed
from domain.forms import Problem, clean_text
from domain.models import Message, Role, User
from domain.policy import DocumentAction, MessageAction
from extensions import blobs, db, keys
from web.access import actor
from web.files import stream_file
from web.i18n import format_decimal
from web.i18n import gettext as _
from web.i18n import lazy_gettext as _l
from web.labels.access import PROFESSION_NAMES
from web.labels.documents import human_size
from web.outgoing import notify_new_message_to_patient, notify_new_message_to_professional
from web.render import render_page, render_swap, see_other, wants_fragment
from web.space import owner as space_owner
from web.space import represented
from web.uploads import incoming, limits, upload_message, workdir

# The largest `avant` the database can compare with messages.id (32 bits on PostgreSQL).
MESSAGE_ID_MAX = 2**63 - 1 if isinstance(Message.__table__.c.id.type, BigInteger) else 2**31 - 1
LIST = "message-list"  # where a sent reply goes, with htmx
MESSAGES = {
    ("subject", "required"): _l("Donnez un objet à votre message."),
    ("subject", "too_long"): _l("L’objet doit faire au plus %(maximum)s caractères "
                                "(il en fait %(length)s)."),
    ("body", "required"): _l("Écrivez votre message."),
    ("body", "too_long"): _l("Le message doit faire au plus %(maximum)s caractères "
                             "(il en fait %(length)s). Raccourcissez-le ou envoyez-le en "
                             "deux fois."),
}


def errors_of(problems: list[Problem]) -> list[tuple[str, str]]:
    """Messages for the form's problems; numbers written as in the hint ("5 000")."""
    return [(problem.field, str(MESSAGES[(problem.field, problem.reason)]) % {
                 name: format_decimal(value) if isinstance(value, int) else value
                 for name, value in problem.params.items()}
             if problem.params else str(MESSAGES[(problem.field, problem.reason)]))
            for problem in problems]


def profession_of(user: User | None) -> str:
    if user is None or user.profession is None:
        return ""
    return str(PROFESSION_NAMES[user.profession])


@contextmanager
def checked_files(*, documents: bool):
    """The files sent with the form, spooled and cleaned (domain/intake.py), and the vault
    documents chosen (the patient's own, through the document policy). Yields (files,
    chosen documents, errors); nothing is stored yet."""
    errors: list[tuple[str, str]] = []
    uploads_sent = [upload for upload in request.files.getlist("files") if upload.filename]
    chosen = []
    if documents:
        for document_id in dict.fromkeys(request.form.getlist("documents")):
            if not document_id:
                continue
            try:
                _owner, document = vault.get_document(db.session, keys.ring, space_owner(),
                                                      document_id[:64], DocumentAction.READ,
                                                      actor())
            except vault.DocumentNotFound:
                errors.append(("documents", _("Ce document n’est plus dans votre espace. "
                                              "Choisissez-en un autre.")))
            else:
                chosen.append(document)
    if len(uploads_sent) + len(chosen) > messaging.MAX_ATTACHMENTS:
        errors.append(("files", _("Joignez au plus %(count)s fichiers à un message.",
                                  count=messaging.MAX_ATTACHMENTS)))
    with ExitStack() as stack:
        cleaned = []
        for upload in uploads_sent if not errors else ():
            try:
                cleaned.append(stack.enter_context(intake.checked(
                    incoming(upload), limits(), workdir())))
            except uploads.UploadRejected as problem:
                errors.append(("files", _("« %(name)s » : %(message)s",
                                          name=clean_text(upload.filename)[:80],
                                          message=upload_message(problem))))
        yield cleaned, chosen, errors


def attach(message, patient: User, cleaned, chosen) -> None:
    for item in cleaned:
        messaging.attach_file(db.session, keys.ring, blobs.store, message, patient,
                              path=item.path, size=item.size, kind=item.kind,
                              mimetype=item.mimetype, file_name=item.display_name)
    for document in chosen:
        messaging.attach_document(db.session, keys.ring, blobs.store, message, patient,
                                  document, workdir())


def notify(sender: User, recipient: User) -> None:
    """E-mail the other side: that a message arrived, never what it says."""
    if recipient.role == Role.PROFESSIONAL:
        notify_new_message_to_professional(recipient)
    else:
        notify_new_message_to_patient(recipient, profession_of(sender))


def inbox(side: str):
    """The person's conversations, a page at a time (`?page=`)."""
    page = messaging.inbox(db.session, keys.ring, space_owner(), actor(),
                           request.args.get("page", 1, type=int))
    db.session.commit()
    return render_page("messages/inbox.html", inbox=page, side=side,
                       profession_of=profession_of)


def conversation_or_404(conversation_id: str, action: MessageAction) -> messaging.Opened:
    """The conversation opened for `action`, with its parties and who acts
    (messaging.get()); a 404 if the policy refuses it (the refusal is audited)."""
    try:
        return messaging.get(db.session, keys.ring, space_owner(), conversation_id, action,
                             actor())
    except messaging.ConversationNotFound:
        db.session.commit()  # the refusal stays in the audit trail
        abort(404)


def _before() -> int | None:
    """`?avant=`: the message whose earlier ones are shown. Anything that is no message
    number the database can hold (text, zero, negative, too large) shows the newest
    messages."""
    before = request.args.get("avant", type=int)
    return before if before is not None and 1 <= before <= MESSAGE_ID_MAX else None


def show(conversation_id: str, *, endpoint: str):
    """The conversation page, if the person may read it (the read is audited; its newest
    messages are marked read); a 404 otherwise."""
    before = _before()
    try:
        opened = messaging.open_to_read(db.session, keys.ring, space_owner(), conversation_id,
                                        actor(), before=before,
                                        representative=represented() is not None)
    except messaging.ConversationNotFound:
        db.session.commit()  # the refusal stays in the audit trail
        abort(404)
    db.session.commit()
    return _page(opened, before=before, endpoint=endpoint)


def _shown_again(opened: messaging.Opened, *, endpoint: str, typed: str, errors,
                 reply_only: bool):
    """After a reply refused or with errors: the conversation page (opened by the form's
    POST), or with htmx the reply form alone, retargeted to replace the form, with what was
    typed."""
    before = _before()
    shown = messaging.page(db.session, keys.ring, space_owner(), opened.conversation,
                           opened.parties, before=before,
                           representative=represented() is not None)
    db.session.commit()
    return _page(shown, before=before, endpoint=endpoint, typed=typed, errors=errors,
                 status=422, reply_only=reply_only)


def _page(opened: messaging.ConversationPage, *, before: int | None, endpoint: str,
          typed: str = "", errors=(), status: int = 200, reply_only: bool = False):
    context = dict(summary=opened.summary, items=opened.items, older=opened.older,
                   before=before, may_reply=opened.may_reply, documents=opened.documents,
                   typed=typed, errors=list(errors), has_errors=bool(errors),
                   endpoint=endpoint, profession_of=profession_of, human_size=human_size,
                   max_body=messaging.BODY.max_length, max_files=messaging.MAX_ATTACHMENTS)
    if reply_only:
        return render_swap("messages/_reply.html", target="#reply-form", status=status,
                           **context)
    return render_page("messages/conversation.html", status=status, **context)


def send_reply(opened: messaging.Opened, *, endpoint: str):
    """Post a reply: with htmx, the new message for the end of the list (the form is
    emptied on the page and keeps the focus); without, post-redirect-get. Decided and
    recorded on what get() gathered for this request, not read again."""
    conversation, gathered, sender = opened.conversation, opened.parties, space_owner()
    reading = messaging.validate(request.form, with_subject=False)
    typed = reading.typed.get("body", "")
    if not messaging.decide(sender, conversation, MessageAction.REPLY, gathered):
        # Closed (or the other side blocked) since the page was shown: say so, and give
        # the text back so nothing typed is lost.
        messaging.record_refused_reply(db.session, keys.ring, conversation, opened.actor)
        why = (_("Cette conversation est close : votre message n’a pas été envoyé. Le voici, "
                 "pour le garder si vous le souhaitez.") if conversation.closed_at else
               _("Vous avez bloqué ce professionnel : votre message n’a pas été envoyé. Le "
                 "voici, pour le garder si vous le souhaitez."))
        return _shown_again(opened, endpoint=endpoint, typed=typed,
                            reply_only=wants_fragment(LIST), errors=[("reply-closed", why)])
    patient = gathered.patient
    with checked_files(documents=sender.id == patient.id) as (
            cleaned, chosen, file_errors):
        errors = errors_of(reading.problems) + file_errors
        if not errors:
            try:
                message = messaging.reply(db.session, keys.ring, sender, conversation,
                                          body=reading.values["body"], actor=opened.actor,
                                          gathered=gathered)
            except NotAllowed:
                db.session.commit()
                abort(404)
            attach(message, patient, cleaned, chosen)
            # queued with the message, or neither is
            notify(sender, gathered.professional if sender.id == patient.id else patient)
            db.session.commit()
    if errors:
        return _shown_again(opened, endpoint=endpoint, typed=typed, errors=errors,
                            reply_only=wants_fragment(LIST))
    if wants_fragment(LIST):
        item = messaging.message_view(db.session, keys.ring, sender, conversation, message,
                                      known=(gathered.patient, gathered.professional))
        db.session.commit()
        return render_page("messages/_sent.html", item=item, endpoint=endpoint,
                           summary=messaging.view(db.session, keys.ring, sender,
                                                  conversation, gathered),
                           profession_of=profession_of, human_size=human_size)
    flash(_("Message envoyé."), "success")
    return see_other(url_for(endpoint, conversation_id=conversation.id,
                             _anchor=f"message-{message.id}"))


def download(opened: messaging.Opened, attachment_id: str):
    conversation, patient = opened.conversation, opened.parties.patient
    try:
        item = messaging.get_attachment(db.session, keys.ring, space_owner(), conversation,
                                        attachment_id, opened.actor, patient=patient)
    except messaging.ConversationNotFound:
        db.session.commit()
        abort(404)
    db.session.commit()
    attachment = item.attachment
    return stream_file(messaging.open_attachment(keys.ring, blobs.store, patient, attachment),
                       mimetype=attachment.mimetype, size=attachment.size,
                       file_name=item.file_name, inline=False)
