"""summary pdfs: the profile's PDF summary built off the request, sealed, kept until the
profile, the day or the language changes

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 05:00:00
"""
from alembic import op
import sqlalchemy as sa

from domain.models.base import UTCDateTime


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'summary_pdfs',
        sa.Column('patient_id', sa.String(32), nullable=False),
        sa.Column('fingerprint', sa.String(64), nullable=False),
        sa.Column('state', sa.String(10), nullable=False),
        sa.Column('language', sa.String(10), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('requested_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('ready_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('content_sealed', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['patient_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('patient_id'),
    )


def downgrade():
    op.drop_table('summary_pdfs')
