"""minor's secret: a document a professional deposits for a minor can be kept from the
legal representatives

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('secret_from_representatives', sa.Boolean(),
                                   server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('documents') as batch:
        batch.drop_column('secret_from_representatives')
