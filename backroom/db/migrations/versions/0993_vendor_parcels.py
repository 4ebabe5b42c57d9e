"""parcels: the marketplace vendor that packs and ships the parcel (none: the shop's own)

Revision ID: 0993
Revises: 0991
"""

import sqlalchemy as sa
from alembic import op

revision = "0993"
down_revision = "0991"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("parcels") as batch:
        batch.add_column(sa.Column("vendor_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_parcels_vendor_id"), ["vendor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("parcels") as batch:
        batch.drop_index(batch.f("ix_parcels_vendor_id"))
        batch.drop_column("vendor_id")
