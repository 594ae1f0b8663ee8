"""a one-time set-up password (professionals' first sign-in, a second factor reset by the
operator) expires: the account must choose its own password and second factor before then

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 22:00:00
"""
from alembic import op
import sqlalchemy as sa

from domain.models.base import UTCDateTime


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('setup_expires_at', UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('setup_expires_at')
