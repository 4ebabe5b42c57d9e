"""report rollups: daily sums per (source, branch, local day, user, shift, category, currency,
measure), the days built, the dirty marks writes append, and one lock row per source

Revision ID: 0992
Revises: 0994
"""

import sqlalchemy as sa
from alembic import op

revision = "0992"
down_revision = "0994"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "report_rollups",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("shift_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("measure", sa.String(40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_report_rollups_key", "report_rollups", ["source", "branch_id", "day"])
    op.create_table(
        "report_rollup_days",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("branch_id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "report_rollup_dirty",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_report_rollup_dirty_key", "report_rollup_dirty", ["source", "branch_id", "day"])
    op.create_table(
        "report_rollup_sources",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("invalidated_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("report_rollup_sources")
    op.drop_index("ix_report_rollup_dirty_key", table_name="report_rollup_dirty")
    op.drop_table("report_rollup_dirty")
    op.drop_table("report_rollup_days")
    op.drop_index("ix_report_rollups_key", table_name="report_rollups")
    op.drop_table("report_rollups")
