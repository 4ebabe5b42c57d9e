"""subject_keys: one data key per data subject (customer, storefront order); personal fields of
audit events are encrypted with it and erasure destroys it (crypto-shredding, docs/audit.md)

Revision ID: 0991
Revises: 0920
"""

import sqlalchemy as sa
from alembic import op

from backroom.db.base import UTCDateTime

revision = "0991"
down_revision = "0920"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_keys",
        sa.Column("subject", sa.String(length=64), primary_key=True),
        sa.Column("key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("destroyed_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("subject_keys")
