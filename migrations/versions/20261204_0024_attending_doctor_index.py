"""index on users.attending_doctor_id: deleting an account (the nightly purge) sets it to
NULL in its patients' rows, which without an index reads the whole users table (194 ms a
deleted account at a million people, benchmarks/million.py)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 05:30:00
"""
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_attending_doctor_id'),
                              ['attending_doctor_id'], unique=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_attending_doctor_id'))
