"""Join the online-orders and customer-operations branches of the schema.

Revision ID: 0400
Revises: 0100, 0300
"""

revision = "0400"
down_revision = ("0100", "0300")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
