"""accompaniments at an adviser's desk: the accompaniment, the parked desk session, the
desk PIN

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 20:00:00
"""
from alembic import op
import sqlalchemy as sa

from domain.models.base import UTCDateTime


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'accompaniments',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('adviser_id', sa.String(32),
                  sa.ForeignKey('users.id', ondelete='CASCADE',
                                name=op.f('fk_accompaniments_adviser_id_users')), nullable=False),
        sa.Column('structure', sa.String(200)),
        sa.Column('purpose', sa.String(20), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('parked_session_id', sa.String(32)),
        sa.Column('ended_at', UTCDateTime(timezone=True)),
        sa.Column('ended_reason', sa.String(20)),
        sa.Column('resumed_at', UTCDateTime(timezone=True)),
        sa.Column('pin_failures', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('outcome', sa.String(20)),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_accompaniments')),
    )
    op.create_index(op.f('ix_accompaniments_adviser_id'), 'accompaniments', ['adviser_id'])
    op.create_index(op.f('ix_accompaniments_started_at'), 'accompaniments', ['started_at'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('desk_pin_hash', sa.String(200)))
    with op.batch_alter_table('web_sessions') as batch:
        batch.add_column(sa.Column('parked_at', UTCDateTime(timezone=True)))


def downgrade():
    with op.batch_alter_table('web_sessions') as batch:
        batch.drop_column('parked_at')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('desk_pin_hash')
    op.drop_index('ix_accompaniments_started_at', 'accompaniments')
    op.drop_index('ix_accompaniments_adviser_id', 'accompaniments')
    op.drop_table('accompaniments')
