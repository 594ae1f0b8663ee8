"""emergency access and history index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 05:17:21.478422
"""
from alembic import op
import sqlalchemy as sa
import domain.models.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('emergency_accesses',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('professional_id', sa.String(length=32), nullable=False),
    sa.Column('professional_sector', sa.String(length=20), nullable=False),
    sa.Column('reason_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('started_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("professional_sector = 'care'", name=op.f('ck_emergency_accesses_care_only')),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_emergency_accesses_patient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['professional_id', 'professional_sector'], ['users.id', 'users.sector'], name='fk_emergency_accesses_professional_sector_users', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_accesses'))
    )
    with op.batch_alter_table('emergency_accesses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergency_accesses_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_accesses_professional_id'), ['professional_id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_subject_seq', ['subject_id', 'seq'], unique=False)
        batch_op.create_index('ix_audit_events_subject_actor_seq',
                              ['subject_id', 'actor_id', 'seq'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('samu', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('emergency_samu', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('emergency_others', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('emergency_hidden', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('emergency_hidden')
        batch_op.drop_column('emergency_others')
        batch_op.drop_column('emergency_samu')
        batch_op.drop_column('samu')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject_actor_seq')
        batch_op.drop_index('ix_audit_events_subject_seq')

    with op.batch_alter_table('emergency_accesses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergency_accesses_professional_id'))
        batch_op.drop_index(batch_op.f('ix_emergency_accesses_patient_id'))

    op.drop_table('emergency_accesses')
