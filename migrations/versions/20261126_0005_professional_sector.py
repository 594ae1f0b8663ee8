"""professional sector

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 05:04:09.620289
"""
from alembic import op
import sqlalchemy as sa
import domain.models.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sector', sa.Enum('care', 'health_insurer', 'insurer', 'occupational_health', 'employer', name='sector', native_enum=False, length=20), nullable=True))
    # Accounts made before sectors existed were all health professionals (RPPS holders).
    op.execute("UPDATE users SET sector = 'care' WHERE role = 'professional'")


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('sector')

