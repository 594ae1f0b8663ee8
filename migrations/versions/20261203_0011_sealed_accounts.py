"""sealed accounts: names, birth date, e-mail and phone of `users` sealed; family-name prefixes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:00:00

Existing rows are sealed here, in the same migration that drops the clear columns, so no
release ever runs with some accounts in clear (no second step to forget, no code reading
two formats). Sealing needs the key file, which Alembic alone does not load: run this
through `flask --app app db upgrade` (the Makefile, the compose `migrate` service and
`carnet-sante db upgrade` all do), which gives the migration the app's keyring. A bare
`alembic upgrade` refuses before changing anything when `users` has rows; on an empty
table it needs no key. On PostgreSQL the whole migration is one transaction: it seals
every row or changes nothing. Downgrading opens the values again, with the same key file.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

FIELDS = ('given_name', 'family_name', 'birth_date', 'email', 'phone')
BATCH = 1000

users = sa.table('users', sa.column('id', sa.String), sa.column('role', sa.String),
                 *(sa.column(name, sa.String) for name in FIELDS),
                 *(sa.column(f'{name}_sealed', sa.LargeBinary) for name in FIELDS))
prefixes = sa.table('family_name_prefixes', sa.column('digest', sa.String),
                    sa.column('user_id', sa.String))


def _keyring(direction: str):
    """The app's keyring when `users` has rows to seal or open; None when it is empty."""
    if not op.get_bind().execute(sa.select(sa.func.count()).select_from(users)).scalar():
        return None
    from domain.crypto import CryptoError, process_keyring
    try:
        return process_keyring()
    except CryptoError:
        raise RuntimeError(
            f"migration 0011 must {direction} the accounts in `users` with the key file: run "
            "it with `flask --app app db upgrade` (or `carnet-sante db upgrade`), not a bare "
            "`alembic` command. Nothing was changed.") from None


def _rows(columns):
    """Every row of `users`, a batch at a time, in id order (ids never change here)."""
    bind, last = op.get_bind(), ''
    while True:
        batch = bind.execute(sa.select(users.c.id, *columns).where(users.c.id > last)
                             .order_by(users.c.id).limit(BATCH)).all()
        if not batch:
            return
        yield batch
        last = batch[-1].id


def _clear(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()  # a date on PostgreSQL


def upgrade() -> None:
    keyring = _keyring('seal')
    op.create_table('family_name_prefixes',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_family_name_prefixes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('digest', 'user_id', name=op.f('pk_family_name_prefixes'))
    )
    with op.batch_alter_table('family_name_prefixes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_name_prefixes_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        for name in FIELDS:
            batch_op.add_column(sa.Column(f'{name}_sealed', sa.LargeBinary(), nullable=True))

    if keyring is not None:
        from domain.models.name_prefix import prefix_digests
        bind = op.get_bind()
        for batch in _rows([users.c.role, *(users.c[name] for name in FIELDS)]):
            sealed, found_by = [], []
            for row in batch:
                values = {name: _clear(getattr(row, name)) for name in FIELDS}
                sealed.append({'row_id': row.id, **{
                    f'new_{name}': None if value is None else keyring.seal_server(
                        value.encode(), f'users.{name}.{row.id}')
                    for name, value in values.items()}})
                if row.role == 'professional' and values['family_name']:
                    found_by += [{'digest': digest, 'user_id': row.id} for digest
                                 in set(prefix_digests(keyring, values['family_name']))]
            bind.execute(users.update().where(users.c.id == sa.bindparam('row_id')).values(
                {f'{name}_sealed': sa.bindparam(f'new_{name}') for name in FIELDS}), sealed)
            if found_by:
                bind.execute(prefixes.insert(), found_by)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('given_name_sealed', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column('family_name_sealed', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('given_name')
        batch_op.drop_column('family_name')
        batch_op.drop_column('birth_date')
        batch_op.drop_column('email')
        batch_op.drop_column('phone')


def downgrade() -> None:
    keyring = _keyring('open')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('family_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))

    if keyring is not None:
        from datetime import date
        bind = op.get_bind()
        clear = sa.table('users', sa.column('id', sa.String), sa.column('birth_date', sa.Date),
                         *(sa.column(name, sa.String) for name in FIELDS if name != 'birth_date'))
        for batch in _rows([users.c[f'{name}_sealed'] for name in FIELDS]):
            opened = []
            for row in batch:
                values = {name: None if getattr(row, f'{name}_sealed') is None else
                          keyring.open_server(getattr(row, f'{name}_sealed'),
                                              f'users.{name}.{row.id}').decode()
                          for name in FIELDS}
                if values['birth_date'] is not None:
                    values['birth_date'] = date.fromisoformat(values['birth_date'])
                opened.append({'row_id': row.id, **{f'clear_{name}': value
                                                    for name, value in values.items()}})
            bind.execute(clear.update().where(clear.c.id == sa.bindparam('row_id')).values(
                {name: sa.bindparam(f'clear_{name}') for name in FIELDS}), opened)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('given_name', existing_type=sa.String(length=100), nullable=False)
        batch_op.alter_column('family_name', existing_type=sa.String(length=100), nullable=False)
        for name in FIELDS:
            batch_op.drop_column(f'{name}_sealed')

    with op.batch_alter_table('family_name_prefixes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_name_prefixes_user_id'))

    op.drop_table('family_name_prefixes')
