"""app connections: consents for catalogue apps, their authorisation codes and tokens, and
the files apps send before filing them

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 01:00:00
"""
from alembic import op
import sqlalchemy as sa

from domain.models.base import UTCDateTime


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'app_connections',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('app_slug', sa.String(60), nullable=False),
        sa.Column('space_id', sa.String(32), nullable=False),
        sa.Column('granted_by_id', sa.String(32), nullable=True),
        sa.Column('scopes', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['space_id'], ['users.id'],
                                name=op.f('fk_app_connections_space_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'],
                                name=op.f('fk_app_connections_granted_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_app_connections')),
    )
    op.create_index(op.f('ix_app_connections_space_id'), 'app_connections', ['space_id'])
    op.create_table(
        'app_authorization_codes',
        sa.Column('code_hash', sa.String(64), nullable=False),
        sa.Column('connection_id', sa.String(32), nullable=False),
        sa.Column('redirect_uri', sa.Text(), nullable=False),
        sa.Column('scopes', sa.Text(), nullable=False),
        sa.Column('code_challenge', sa.String(128), nullable=False),
        sa.Column('code_challenge_method', sa.String(10), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['connection_id'], ['app_connections.id'],
                                name=op.f('fk_app_authorization_codes_connection_id_app_connections'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_app_authorization_codes')),
    )
    op.create_index(op.f('ix_app_authorization_codes_connection_id'),
                    'app_authorization_codes', ['connection_id'])
    op.create_table(
        'app_tokens',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('connection_id', sa.String(32), nullable=False),
        sa.Column('family_id', sa.String(32), nullable=False),
        sa.Column('code_hash', sa.String(64), nullable=True),
        sa.Column('access_hash', sa.String(64), nullable=False),
        sa.Column('refresh_hash', sa.String(64), nullable=True),
        sa.Column('scopes', sa.Text(), nullable=False),
        sa.Column('issued_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('access_expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('refresh_expires_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('refresh_used_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['connection_id'], ['app_connections.id'],
                                name=op.f('fk_app_tokens_connection_id_app_connections'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_app_tokens')),
        sa.UniqueConstraint('access_hash', name=op.f('uq_app_tokens_access_hash')),
        sa.UniqueConstraint('refresh_hash', name=op.f('uq_app_tokens_refresh_hash')),
    )
    op.create_index(op.f('ix_app_tokens_connection_id'), 'app_tokens', ['connection_id'])
    op.create_index(op.f('ix_app_tokens_family_id'), 'app_tokens', ['family_id'])
    op.create_index(op.f('ix_app_tokens_code_hash'), 'app_tokens', ['code_hash'])
    op.create_table(
        'app_uploads',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('connection_id', sa.String(32), nullable=False),
        sa.Column('file_name_sealed', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('mimetype', sa.String(60), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('blob_key', sa.String(40), nullable=False),
        sa.Column('blob_size', sa.Integer(), nullable=False),
        sa.Column('checksum', sa.String(64), nullable=False),
        sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
        sa.Column('scheme', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['app_connections.id'],
                                name=op.f('fk_app_uploads_connection_id_app_connections'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_app_uploads')),
        sa.UniqueConstraint('blob_key', name=op.f('uq_app_uploads_blob_key')),
    )
    op.create_index(op.f('ix_app_uploads_connection_id'), 'app_uploads', ['connection_id'])
    op.create_index(op.f('ix_app_uploads_expires_at'), 'app_uploads', ['expires_at'])


def downgrade():
    op.drop_table('app_uploads')
    op.drop_table('app_tokens')
    op.drop_table('app_authorization_codes')
    op.drop_table('app_connections')
