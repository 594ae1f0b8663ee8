"""a lost phone without recovery codes: a code sent by post, cancellable until used

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 23:45:00
"""
from alembic import op
import sqlalchemy as sa

from domain.models.base import UTCDateTime


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'factor_resets',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('user_id', sa.String(32), nullable=False),
        sa.Column('code_hash', sa.String(64), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('cancelled_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_factor_resets_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_factor_resets')),
    )
    op.create_index(op.f('ix_factor_resets_user_id'), 'factor_resets', ['user_id'])


def downgrade():
    op.drop_index(op.f('ix_factor_resets_user_id'), table_name='factor_resets')
    op.drop_table('factor_resets')
