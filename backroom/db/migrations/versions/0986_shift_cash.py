"""cashier shifts: cash movements, expected cash and variance at close, one open shift per cashier

Revision ID: 0986
Revises: 0985
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base

revision = "0986"
down_revision = "0985"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cash_movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shift_id", sa.BigInteger(), nullable=False),
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"]),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_cash_movements_shift_id", "cash_movements", ["shift_id"])
    op.create_index("ix_cash_movements_branch_id", "cash_movements", ["branch_id"])
    with op.batch_alter_table("shifts") as batch:
        batch.add_column(sa.Column("expected_cash_minor", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("variance_minor", sa.BigInteger(), nullable=True))
    op.drop_index("uq_shifts_open_per_user", table_name="shifts")
    op.create_index(
        "uq_shifts_open_per_cashier",
        "shifts",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("uq_shifts_open_per_cashier", table_name="shifts")
    op.create_index(
        "uq_shifts_open_per_user",
        "shifts",
        ["branch_id", "user_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    with op.batch_alter_table("shifts") as batch:
        batch.drop_column("variance_minor")
        batch.drop_column("expected_cash_minor")
    op.drop_index("ix_cash_movements_branch_id", table_name="cash_movements")
    op.drop_index("ix_cash_movements_shift_id", table_name="cash_movements")
    op.drop_table("cash_movements")
