"""The patient's side of the secure messaging: the inbox, a conversation, a reply, an
attachment downloaded or kept in the vault. A patient never starts a conversation."""

from __future__ import annotations

from flask import abort, flash, url_for

from blueprints.messages import bp, common
from domain import messaging
from domain.policy import Area, MessageAction
from extensions import blobs, db, keys
from web.access import allow
from web.i18n import gettext as _
from web.render import see_other
from web.space import owner as space_owner

patient = allow(Area.PATIENT_SPACE)


@bp.get("/messagerie")
@patient
def inbox():
    return common.inbox("patient")


@bp.get("/messagerie/<string:conversation_id>")
@patient
def show(conversation_id: str):
    return common.show(conversation_id, endpoint="messages.show")


@bp.post("/messagerie/<string:conversation_id>")
@patient
def reply(conversation_id: str):
    return common.send_reply(common.conversation_or_404(conversation_id, MessageAction.READ),
                             endpoint="messages.show")


@bp.get("/messagerie/<string:conversation_id>/pieces/<string:attachment_id>")
@patient
def attachment(conversation_id: str, attachment_id: str):
    return common.download(common.conversation_or_404(conversation_id, MessageAction.READ),
                           attachment_id)


@bp.post("/messagerie/<string:conversation_id>/pieces/<string:attachment_id>/enregistrer")
@patient
def attachment_save(conversation_id: str, attachment_id: str):
    """Keep a received attachment in my documents, in one action."""
    opened = common.conversation_or_404(conversation_id, MessageAction.READ)
    conversation = opened.conversation
    try:
        item = messaging.get_attachment(db.session, keys.ring, space_owner(), conversation,
                                        attachment_id, opened.actor,
                                        patient=opened.parties.patient)
    except messaging.ConversationNotFound:
        db.session.commit()
        abort(404)
    document = messaging.save_to_vault(db.session, keys.ring, blobs.store, space_owner(),
                                       conversation, item, common.workdir(), opened.actor)
    db.session.commit()
    flash(_("« %(name)s » est enregistré dans vos documents, rubrique « Autres documents ».",
            name=item.file_name), "success")
    return see_other(url_for("documents.document_show", document_id=document.id))
