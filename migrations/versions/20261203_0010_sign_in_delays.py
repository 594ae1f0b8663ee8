"""sign-in delays: growing waits per (account, address) and per account, not a hard lock

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00
"""
from alembic import op
import sqlalchemy as sa
import domain.models.base


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_delays',
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('step', sa.Enum('password', 'second_factor', name='sign_in_step', native_enum=False, length=20), nullable=False),
    sa.Column('address_key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('wait_until', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_delays_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'step', 'address_key', name=op.f('pk_sign_in_delays'))
    )


def downgrade() -> None:
    op.drop_table('sign_in_delays')
