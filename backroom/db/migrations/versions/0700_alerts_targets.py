"""exception alerts and analytics targets

Revision ID: 0700
Revises: 0610
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base

revision = "0700"
down_revision = "0610"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, backroom.db.base.UTCDateTime(timezone=True), nullable=nullable)


def _user_fk(table: str, col: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([col], ["users.id"], name=op.f(f"fk_{table}_{col}_users"))


def upgrade() -> None:
    op.create_table(
        "exception_alerts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("module", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("link", sa.String(length=300), nullable=True),
        _utc("raised_at"),
        _utc("last_seen_at"),
        sa.Column("raised_by", sa.String(length=200), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        _utc("acknowledged_at", True),
        sa.Column("acknowledged_by_id", ID, nullable=True),
        sa.Column("assignee_id", ID, nullable=True),
        _utc("resolved_at", True),
        sa.Column("resolved_by_id", ID, nullable=True),
        sa.Column("resolution", sa.String(length=10), nullable=True),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_exception_alerts_branch_id_branches")
        ),
        _user_fk("exception_alerts", "acknowledged_by_id"),
        _user_fk("exception_alerts", "assignee_id"),
        _user_fk("exception_alerts", "resolved_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exception_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_exception_alerts_key")),
    )
    op.create_index("ix_exception_alerts_branch_status", "exception_alerts", ["branch_id", "status"])
    op.create_index(op.f("ix_exception_alerts_kind"), "exception_alerts", ["kind"])
    op.create_index(op.f("ix_exception_alerts_raised_at"), "exception_alerts", ["raised_at"])
    op.create_table(
        "analytics_targets",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("function", sa.String(length=40), nullable=False),
        sa.Column("measure", sa.String(length=60), nullable=False),
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("edition", sa.String(length=10), nullable=False),
        sa.Column("period_label", sa.String(length=20), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("pending_value", sa.Float(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("set_by_id", ID, nullable=True),
        sa.Column("approved_by_id", ID, nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_analytics_targets_branch_id_branches")
        ),
        _user_fk("analytics_targets", "set_by_id"),
        _user_fk("analytics_targets", "approved_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_targets")),
        sa.UniqueConstraint(
            "function", "measure", "branch_id", "edition", "period_label", name="uq_analytics_targets_key"
        ),
    )
    op.create_index(op.f("ix_analytics_targets_branch_id"), "analytics_targets", ["branch_id"])
    # Parcels shipped per branch and time (the "Parcels shipped" KPI card and its report measure):
    # without it every dashboard load scans all parcels. Belongs on Parcel.__table_args__ too.
    op.create_index("ix_parcels_branch_shipped", "parcels", ["branch_id", "shipped_at"])


def downgrade() -> None:
    op.drop_index("ix_parcels_branch_shipped", table_name="parcels")
    op.drop_table("analytics_targets")
    op.drop_index("ix_exception_alerts_branch_status", table_name="exception_alerts")
    op.drop_table("exception_alerts")
