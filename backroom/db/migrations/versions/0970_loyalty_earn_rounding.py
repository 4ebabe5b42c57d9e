"""loyalty programs: the rounding rule that turns spend into whole currency units

Revision ID: 0970
Revises: 0910
"""

import sqlalchemy as sa
from alembic import op

revision = "0970"
down_revision = "0910"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loyalty_programs") as batch:
        batch.add_column(
            sa.Column("earn_rounding", sa.String(length=8), server_default="down", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("loyalty_programs") as batch:
        batch.drop_column("earn_rounding")
