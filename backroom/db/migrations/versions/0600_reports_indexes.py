"""reports: parcel label times, (branch, time) indexes the period aggregates range over

Revision ID: 0600
Revises: 0500
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base

revision = "0600"
down_revision = "0500"
branch_labels = None
depends_on = None

# (index, table, columns): each report source filters on branch IN (...) AND its time column.
INDEXES = (
    ("ix_orders_branch_placed", "orders", ["branch_id", "placed_at"]),
    ("ix_payments_branch_created", "payments", ["branch_id", "created_at"]),
    ("ix_parcels_branch_labelled", "parcels", ["branch_id", "labelled_at"]),
    ("ix_parcels_branch_voided", "parcels", ["branch_id", "voided_at"]),
    ("ix_carts_branch_created", "carts", ["branch_id", "created_at"]),
    ("ix_complaints_branch_created", "complaints", ["branch_id", "created_at"]),
    ("ix_complaints_branch_resolved", "complaints", ["branch_id", "resolved_at"]),
    ("ix_credit_entries_branch_at", "credit_entries", ["branch_id", "occurred_at"]),
    ("ix_credit_holds_branch_created", "credit_holds", ["branch_id", "created_at"]),
    ("ix_interactions_branch_at", "interactions", ["branch_id", "occurred_at"]),
    ("ix_followup_tasks_branch_due", "followup_tasks", ["branch_id", "due_at"]),
    ("ix_customers_branch_created", "customers", ["home_branch_id", "created_at"]),
    ("ix_audit_events_action_at", "audit_events", ["action", "at"]),
)


def upgrade() -> None:
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("labelled_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("voided_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True)
        )
    # Parcels labelled or voided before these columns existed: their last change is the best time known.
    op.execute("UPDATE parcels SET labelled_at = updated_at WHERE label_id IS NOT NULL")
    op.execute("UPDATE parcels SET voided_at = updated_at WHERE status = 'voided'")
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)
    # Lines of the orders in a period are found by order id; with the summed columns in the index
    # PostgreSQL answers from the index alone instead of scanning every line ever sold.
    op.create_index(
        "ix_order_lines_order_report",
        "order_lines",
        ["order_id"],
        postgresql_include=["product_id", "qty", "line_total_minor"],
    )


def downgrade() -> None:
    op.drop_index("ix_order_lines_order_report", table_name="order_lines")
    for name, table, _cols in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.drop_column("voided_at")
        batch_op.drop_column("labelled_at")
