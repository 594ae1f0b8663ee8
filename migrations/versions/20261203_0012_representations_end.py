"""representations end: a representation is ended (at the 18th birthday, or by the
operator from a court decision) rather than deleted

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 18:00:00
"""
from alembic import op
import sqlalchemy as sa

from domain.models.base import UTCDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('representations') as batch:
        batch.add_column(sa.Column('ended_at', UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('ended_reason', sa.String(length=30), nullable=True))


def downgrade():
    with op.batch_alter_table('representations') as batch:
        batch.drop_column('ended_reason')
        batch.drop_column('ended_at')
