"""loyalty awards: held (not spendable, not expiring) while the purchase behind them is disputed

Revision ID: 0985
Revises: 0960
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base

revision = "0985"
down_revision = "0960"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loyalty_entries") as batch:
        batch.add_column(sa.Column("held_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loyalty_entries") as batch:
        batch.drop_column("held_at")
