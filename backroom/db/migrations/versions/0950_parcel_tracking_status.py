"""the carrier's tracking status on each parcel (Shippo: PRE_TRANSIT ... FAILURE), its text and scan times

Revision ID: 0950
Revises: 0970
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base

revision = "0950"
down_revision = "0970"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracking_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("tracking_detail", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("tracking_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("scanned_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.drop_column("scanned_at")
        batch_op.drop_column("tracking_at")
        batch_op.drop_column("tracking_detail")
        batch_op.drop_column("tracking_status")
