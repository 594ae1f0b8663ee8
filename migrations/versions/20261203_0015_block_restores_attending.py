"""blocking the attending doctor remembers it, so that unblocking restores the designation

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('care_relations') as batch:
        batch.add_column(sa.Column('was_attending', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))


def downgrade():
    with op.batch_alter_table('care_relations') as batch:
        batch.drop_column('was_attending')
