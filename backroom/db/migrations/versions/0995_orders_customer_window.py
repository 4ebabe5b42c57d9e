"""orders: covering index for a customer's spend and order count in a window (segments)

Revision ID: 0995
Revises: 0992
"""

from alembic import op

revision = "0995"
down_revision = "0992"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_orders_customer_window",
        "orders",
        ["customer_id", "placed_at"],
        postgresql_include=["total_minor", "currency", "status"],
    )


def downgrade() -> None:
    op.drop_index("ix_orders_customer_window", table_name="orders")
