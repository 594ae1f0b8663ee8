"""forgotten passwords: resets in progress (a code sent to the insurer's contact, kept as a
keyed hash), and when an import last changed an insured person's e-mail or phone

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 23:30:00
"""
from alembic import op
import sqlalchemy as sa

from domain.models.base import UTCDateTime


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'password_resets',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('user_id', sa.String(32), nullable=False),
        sa.Column('code_hash', sa.String(64), nullable=False),
        sa.Column('channel', sa.String(5), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('verified_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_password_resets_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_resets')),
    )
    op.create_index(op.f('ix_password_resets_user_id'), 'password_resets', ['user_id'])
    with op.batch_alter_table('insured_people') as batch:
        batch.add_column(sa.Column('contact_changed_at', UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade():
    with op.batch_alter_table('insured_people') as batch:
        batch.drop_column('contact_changed_at')
    op.drop_index(op.f('ix_password_resets_user_id'), table_name='password_resets')
    op.drop_table('password_resets')
