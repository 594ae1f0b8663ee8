"""outbox table; request id, chain and row format on audit events; authenticated head

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00

Audit rows are keyed by (chain, seq): each chain numbers its own rows. The head of a chain
that already has events gets its MAC here, which needs the key file: run it through
`flask --app app db upgrade` (a bare `alembic upgrade` refuses then, changing nothing).
"""
from alembic import op
import sqlalchemy as sa
import domain.models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

heads = sa.table('audit_head', sa.column('id', sa.Integer), sa.column('seq', sa.Integer),
                 sa.column('last_mac', sa.String), sa.column('head_mac', sa.String))


def _keyring():
    """The app's keyring when a chain already has events (its head needs a MAC)."""
    bind = op.get_bind()
    if not bind.execute(sa.select(sa.func.count()).select_from(heads)
                        .where(heads.c.seq > 0)).scalar():
        return None
    from domain.crypto import CryptoError, process_keyring
    try:
        return process_keyring()
    except CryptoError:
        raise RuntimeError(
            "migration 0009 must authenticate the audit chain's head with the key file: run "
            "it with `flask --app app db upgrade` (or `carnet-sante db upgrade`), not a bare "
            "`alembic` command. Nothing was changed.") from None


def upgrade() -> None:
    keyring = _keyring()  # before any change: a refusal leaves the database as it was
    op.create_table('outbox',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.Enum('email', 'sms', name='outbox_channel', native_enum=False, length=20), nullable=False),
    sa.Column('payload_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', domain.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('failed_at', domain.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['failed_at', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('chain', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('fmt', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_constraint('pk_audit_events', type_='primary')
        batch_op.create_primary_key('pk_audit_events', ['chain', 'seq'])

    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('head_mac', sa.String(length=64), nullable=True))

    if keyring is not None:
        from domain.audit import head_mac
        bind = op.get_bind()
        for head in bind.execute(sa.select(heads.c.id, heads.c.seq, heads.c.last_mac)).all():
            bind.execute(heads.update().where(heads.c.id == head.id).values(
                head_mac=head_mac(keyring, head.id, head.seq, head.last_mac)))


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('head_mac')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint('pk_audit_events', type_='primary')
        batch_op.create_primary_key('pk_audit_events', ['seq'])
        batch_op.drop_column('fmt')
        batch_op.drop_column('chain')
        batch_op.drop_column('request_id')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
