"""audit shards: the single chain becomes one of SHARDS chains, each with its own head

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 04:00:00

The existing chain (1) keeps its rows, MACs and head, and goes on as shard 1. The other
shards' heads are created here, numbered from that chain's last sequence number on
(`first_seq`), so that every event written after the change has a higher number than every
event before it: a person's history, read newest first by number, stays in order although
their new events may go to another chain. Nothing is rewritten, so no key is needed and
every older row stays verifiable as it was.
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

SHARDS = 64  # domain/audit.py SHARDS when this migration was written

heads = sa.table('audit_head', sa.column('id', sa.Integer), sa.column('seq', sa.Integer),
                 sa.column('first_seq', sa.Integer), sa.column('last_mac', sa.String),
                 sa.column('head_mac', sa.String))
events = sa.table('audit_events', sa.column('chain', sa.Integer))


def upgrade():
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_seq', sa.Integer(), nullable=False,
                                      server_default='0'))
    bind = op.get_bind()
    existing = {row.id: row.seq for row in bind.execute(sa.select(heads.c.id, heads.c.seq))}
    start = max(existing.values(), default=0)
    missing = [chain for chain in range(1, SHARDS + 1) if chain not in existing]
    if missing:
        op.bulk_insert(heads, [{"id": chain, "seq": start, "first_seq": start,
                                "last_mac": "0" * 64, "head_mac": None}
                               for chain in missing])


def downgrade():
    bind = op.get_bind()
    used = bind.execute(sa.select(sa.func.count()).select_from(events)
                        .where(events.c.chain != 1)).scalar()
    if used:
        raise RuntimeError("the audit trail already has events in chains other than 1: "
                           "they cannot go back into one chain. Nothing was changed.")
    bind.execute(heads.delete().where(heads.c.id != 1))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('first_seq')
