"""indexes in the order a person's lists are read: documents (by date, by category and
date, by deposit time), measures (day, then entry time), and the sign-ins alone (a partial
index). Without them a space's documents page, its dashboard and a professional's patient
page sorted every document of the person, and the dashboard read every event of theirs
back to their previous sign-in, on each request: 3 to 10 ms more a page at 5,000 documents and
weights, growing with each one (benchmarks/growth.py)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 22:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

SIGN_IN_ONLY = "action = 'auth.login'"


def upgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_patient_date')
        batch_op.create_index('ix_documents_patient_listed',
                              ['patient_id', 'document_date', 'deposited_at'], unique=False)
        batch_op.create_index('ix_documents_patient_category_listed',
                              ['patient_id', 'category', 'document_date', 'deposited_at'],
                              unique=False)
        batch_op.create_index('ix_documents_patient_deposited',
                              ['patient_id', 'deposited_at'], unique=False)
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.drop_index('ix_measures_patient_kind_day')
        batch_op.create_index('ix_measures_patient_kind_listed',
                              ['patient_id', 'kind', 'measured_on', 'created_at'],
                              unique=False)
    op.create_index('ix_audit_events_sign_ins', 'audit_events',
                    ['actor_id', 'subject_id', 'seq'], unique=False,
                    sqlite_where=sa.text(SIGN_IN_ONLY), postgresql_where=sa.text(SIGN_IN_ONLY))


def downgrade():
    op.drop_index('ix_audit_events_sign_ins', table_name='audit_events')
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.drop_index('ix_measures_patient_kind_listed')
        batch_op.create_index('ix_measures_patient_kind_day',
                              ['patient_id', 'kind', 'measured_on'], unique=False)
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_patient_deposited')
        batch_op.drop_index('ix_documents_patient_category_listed')
        batch_op.drop_index('ix_documents_patient_listed')
        batch_op.create_index('ix_documents_patient_date', ['patient_id', 'document_date'],
                              unique=False)
