"""stock_levels: the shelf or bin where a branch keeps a product (shown on pick lists)

Revision ID: 0994
Revises: 0993
"""

import sqlalchemy as sa
from alembic import op

revision = "0994"
down_revision = "0993"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stock_levels") as batch:
        batch.add_column(sa.Column("bin", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stock_levels") as batch:
        batch.drop_column("bin")
