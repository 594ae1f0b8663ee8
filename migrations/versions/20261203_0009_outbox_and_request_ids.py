"""outbox table; request id, chain and row format on audit events; authenticated head

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import domain.models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.Enum('email', 'sms', name='outbox_channel', native_enum=False, length=20), nullable=False),
    sa.Column('payload_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('failed_at', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['failed_at', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('chain', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('fmt', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('head_mac', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('head_mac')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('fmt')
        batch_op.drop_column('chain')
        batch_op.drop_column('request_id')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
