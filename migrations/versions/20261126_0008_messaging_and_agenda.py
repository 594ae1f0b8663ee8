"""messaging and agenda

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 08:07:32.851329
"""
from alembic import op
import sqlalchemy as sa
import domain.models.base


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agenda_items',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.Enum('appointment', 'reminder', name='agenda_item_kind', native_enum=False, length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', sa.Time(), nullable=True),
    sa.Column('payload_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('reminded_at', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_agenda_items_patient_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_items'))
    )
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.create_index('ix_agenda_items_day_reminded', ['day', 'reminded_at'], unique=False)
        batch_op.create_index('ix_agenda_items_patient_day', ['patient_id', 'day', 'at'], unique=False)

    op.create_table('calendar_feeds',
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_calendar_feeds_patient_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    op.create_table('conversations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('professional_id', sa.String(length=32), nullable=False),
    sa.Column('professional_sector', sa.String(length=20), nullable=False),
    sa.Column('subject_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('patient_unread', sa.Integer(), nullable=False),
    sa.Column('professional_unread', sa.Integer(), nullable=False),
    sa.Column('patient_read_at', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('professional_read_at', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("professional_sector = 'care'", name=op.f('ck_conversations_care_only')),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_conversations_patient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['professional_id', 'professional_sector'], ['users.id', 'users.sector'], name='fk_conversations_professional_sector_users', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_patient_last', ['patient_id', 'last_message_at'], unique=False)
        batch_op.create_index('ix_conversations_professional_last', ['professional_id', 'last_message_at'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('sender_id', sa.String(length=32), nullable=True),
    sa.Column('sender_kind', sa.Enum('patient', 'professional', name='author_kind', native_enum=False, length=20), nullable=False),
    sa.Column('body_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('sent_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sender_id'], ['users.id'], name=op.f('fk_messages_sender_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_conversation_id', ['conversation_id', 'id'], unique=False)

    op.create_table('message_attachments',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('file_name_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('mimetype', sa.String(length=60), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('blob_key', sa.String(length=40), nullable=False),
    sa.Column('blob_size', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('scheme', sa.Integer(), nullable=False),
    sa.Column('saved_document_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_attachments_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_message_attachments_patient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['saved_document_id'], ['documents.id'], name=op.f('fk_message_attachments_saved_document_id_documents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_attachments')),
    sa.UniqueConstraint('blob_key', name=op.f('uq_message_attachments_blob_key'))
    )
    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_attachments_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_attachments_patient_id'), ['patient_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_attachments_patient_id'))
        batch_op.drop_index(batch_op.f('ix_message_attachments_message_id'))

    op.drop_table('message_attachments')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_conversation_id')

    op.drop_table('messages')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_professional_last')
        batch_op.drop_index('ix_conversations_patient_last')

    op.drop_table('conversations')
    op.drop_table('calendar_feeds')
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.drop_index('ix_agenda_items_patient_day')
        batch_op.drop_index('ix_agenda_items_day_reminded')

    op.drop_table('agenda_items')
