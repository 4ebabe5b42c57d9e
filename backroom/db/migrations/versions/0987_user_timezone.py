"""users: the time zone a user chose to see times in (none: their branch's)

Revision ID: 0987
Revises: 0940
"""

import sqlalchemy as sa
from alembic import op

revision = "0987"
down_revision = "0940"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("timezone")
