"""audit events: inserted unsealed without a chain lock, linked into the hash chain later by the
sealer (chain position `seq`, prev_hash and hash set once, from NULL); ids from the database

Revision ID: 0920
Revises: 0987
"""

import sqlalchemy as sa
from alembic import op

from backroom.audit import triggers

revision = "0920"
down_revision = "0987"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for stmt in triggers.DROP[dialect]:
        op.execute(stmt)
    if dialect == "sqlite":
        # The id becomes an INTEGER PRIMARY KEY (the rowid): SQLite numbers new events itself,
        # under the one write lock, so commit order is id order there.
        with op.batch_alter_table("audit_events", recreate="always") as batch:
            batch.alter_column("id", existing_type=sa.BigInteger(), type_=sa.Integer(), autoincrement=True)
            batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=True)
            batch.alter_column("hash", existing_type=sa.String(64), nullable=True)
            batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    else:
        op.alter_column("audit_events", "prev_hash", existing_type=sa.String(64), nullable=True)
        op.alter_column("audit_events", "hash", existing_type=sa.String(64), nullable=True)
        op.add_column("audit_events", sa.Column("seq", sa.BigInteger(), nullable=True))
        # CACHE 1 (the default) matters: the sealer reads last_value as "every id drawn so far".
        op.execute("CREATE SEQUENCE audit_events_id_seq CACHE 1 OWNED BY audit_events.id")
        op.execute(
            "SELECT setval('audit_events_id_seq', COALESCE((SELECT max(id) FROM audit_events), 0) + 1, false)"
        )
    # Events chained so far were numbered 1, 2, 3... by position; their hashes stay valid.
    op.execute("UPDATE audit_events SET seq = id")
    op.create_index("uq_audit_events_seq", "audit_events", ["seq"], unique=True)
    op.create_index(
        "ix_audit_events_unsealed",
        "audit_events",
        ["id"],
        postgresql_where=sa.text("hash IS NULL"),
        sqlite_where=sa.text("hash IS NULL"),
    )
    for stmt in triggers.sealed_trail(dialect):
        op.execute(stmt)


def downgrade() -> None:
    # Run `backroom audit seal` first: the old schema has no place for an unsealed event.
    dialect = op.get_bind().dialect.name
    for stmt in triggers.drop_sealed_trail(dialect):
        op.execute(stmt)
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    op.drop_index("uq_audit_events_seq", table_name="audit_events")
    if dialect == "sqlite":
        with op.batch_alter_table("audit_events", recreate="always") as batch:
            batch.drop_column("seq")
            batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
            batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
            batch.alter_column("id", existing_type=sa.Integer(), type_=sa.BigInteger(), autoincrement=False)
    else:
        op.drop_column("audit_events", "seq")
        op.execute("DROP SEQUENCE IF EXISTS audit_events_id_seq")
        op.alter_column("audit_events", "hash", existing_type=sa.String(64), nullable=False)
        op.alter_column("audit_events", "prev_hash", existing_type=sa.String(64), nullable=False)
    for stmt in triggers.create_statements(dialect):
        op.execute(stmt)
