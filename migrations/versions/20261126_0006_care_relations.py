"""care relations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 05:11:37.054859
"""
from alembic import op
import sqlalchemy as sa
import domain.models.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The unique (id, sector) must exist before care_relations refers to it.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attending_doctor_id', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint('uq_users_id_sector', ['id', 'sector'])
        batch_op.create_foreign_key(batch_op.f('fk_users_attending_doctor_id_users'), 'users', ['attending_doctor_id'], ['id'], ondelete='SET NULL')

    op.create_table('care_relations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('professional_id', sa.String(length=32), nullable=False),
    sa.Column('professional_sector', sa.String(length=20), nullable=False),
    sa.Column('declared_at', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('blocked', sa.Boolean(), nullable=False),
    sa.Column('blocked_at', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("professional_sector = 'care'", name=op.f('ck_care_relations_care_only')),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_care_relations_patient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['professional_id', 'professional_sector'], ['users.id', 'users.sector'], name='fk_care_relations_professional_sector_users', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_relations')),
    sa.UniqueConstraint('patient_id', 'professional_id', name=op.f('uq_care_relations_patient_id'))
    )
    with op.batch_alter_table('care_relations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_relations_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_relations_professional_id'), ['professional_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_attending_doctor_id_users'), type_='foreignkey')
        batch_op.drop_constraint('uq_users_id_sector', type_='unique')
        batch_op.drop_column('attending_doctor_id')

    with op.batch_alter_table('care_relations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_relations_professional_id'))
        batch_op.drop_index(batch_op.f('ix_care_relations_patient_id'))

    op.drop_table('care_relations')
