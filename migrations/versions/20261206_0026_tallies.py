"""tallies: each person's count of documents per category (apart, those kept secret from
their representatives) and of measures per kind, kept as rows change (domain/tallies.py),
filled here from the rows. A documents page and a measure's history counted every row of
the person on each request: on PostgreSQL, 1.4× the page's time from 200 to 5,000
documents (benchmarks/growth.py)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 01:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'tallies',
        sa.Column('patient_id', sa.String(32), nullable=False),
        sa.Column('name', sa.String(60), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('patient_id', 'name'),
    )
    # The names domain.tallies gives: documents/<category>[/secret], measures/<kind>.
    op.execute(
        "INSERT INTO tallies (patient_id, name, total) "
        "SELECT patient_id, 'documents/' || category || CASE WHEN secret_from_representatives "
        "THEN '/secret' ELSE '' END, COUNT(*) FROM documents "
        "GROUP BY patient_id, category, secret_from_representatives")
    op.execute(
        "INSERT INTO tallies (patient_id, name, total) "
        "SELECT patient_id, 'measures/' || kind, COUNT(*) FROM measures "
        "GROUP BY patient_id, kind")


def downgrade():
    op.drop_table('tallies')
