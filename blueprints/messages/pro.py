"""The professional's side of the secure messaging: their inbox, writing to a patient
whose space they may open, a conversation, a reply, closing it, an attachment."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_login import current_user

from blueprints.messages import bp, common
from domain import messaging
from domain.errors import NotAllowed
from domain.policy import Area, MessageAction
from extensions import db, keys
from web.access import allow
from web.care import open_or_404
from web.i18n import gettext as _
from web.render import render_page, see_other

pro = allow(Area.PRO_PORTAL)


@bp.get("/pro/messagerie")
@pro
def pro_inbox():
    return common.inbox("professional")


@bp.route("/pro/patients/<string:patient_id>/ecrire", methods=["GET", "POST"])
@pro
def pro_new(patient_id: str):
    """Write to a patient: an object, a message and up to three files."""
    opened = open_or_404(patient_id, refusal="message.started")
    patient = opened.patient
    typed = {"subject": "", "body": ""}
    errors: list[tuple[str, str]] = []
    if request.method == "POST":
        reading = messaging.validate(request.form, with_subject=True)
        typed = {"subject": reading.typed.get("subject", ""),
                 "body": reading.typed.get("body", "")}
        with common.checked_files(documents=False) as (cleaned, _chosen, file_errors):
            errors = common.errors_of(reading.problems) + file_errors
            if not errors:
                try:
                    # Audited "in an emergency" when only an emergency access lets them
                    # write, as every other action of theirs in the space.
                    conversation, message = messaging.start(
                        db.session, keys.ring, current_user, patient,
                        subject=reading.values["subject"], body=reading.values["body"],
                        actor=opened.actor)
                except NotAllowed:
                    db.session.commit()
                    abort(404)
                common.attach(message, patient, cleaned, [])
                common.notify(current_user, patient)
                db.session.commit()
        if not errors:
            flash(_("Message envoyé."), "success")
            return see_other(url_for("messages.pro_show", conversation_id=conversation.id))
    return render_page("messages/new.html", status=422 if errors else 200, patient=patient,
                       typed=typed, errors=errors, has_errors=bool(errors),
                       max_body=messaging.BODY.max_length,
                       max_files=messaging.MAX_ATTACHMENTS)


@bp.get("/pro/messagerie/<string:conversation_id>")
@pro
def pro_show(conversation_id: str):
    return common.show(conversation_id, endpoint="messages.pro_show")


@bp.post("/pro/messagerie/<string:conversation_id>")
@pro
def pro_reply(conversation_id: str):
    return common.send_reply(common.conversation_or_404(conversation_id, MessageAction.READ),
                             endpoint="messages.pro_show")


@bp.route("/pro/messagerie/<string:conversation_id>/clore", methods=["GET", "POST"])
@pro
def pro_close(conversation_id: str):
    """Close a conversation, after a confirmation: the patient can read it but no longer
    write in it."""
    opened = common.conversation_or_404(conversation_id, MessageAction.CLOSE)
    conversation = opened.conversation
    if conversation.closed_at is not None:
        db.session.commit()
        return see_other(url_for("messages.pro_show", conversation_id=conversation.id))
    if request.method == "POST":
        messaging.close(db.session, keys.ring, current_user, conversation, opened.actor,
                        gathered=opened.parties)
        db.session.commit()
        flash(_("La conversation est close. Le patient peut la lire mais plus y répondre."),
              "success")
        return see_other(url_for("messages.pro_show", conversation_id=conversation.id))
    summary = messaging.view(db.session, keys.ring, current_user, conversation, opened.parties)
    db.session.commit()
    return render_page("messages/close.html", summary=summary)


@bp.get("/pro/messagerie/<string:conversation_id>/pieces/<string:attachment_id>")
@pro
def pro_attachment(conversation_id: str, attachment_id: str):
    return common.download(common.conversation_or_404(conversation_id, MessageAction.READ),
                           attachment_id)
