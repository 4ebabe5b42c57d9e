"""users.auth_version: bumped when a user's grants, activity or password change, so a cached
principal keyed on it is never used past such a change

Revision ID: 0940
Revises: 0986
"""

import sqlalchemy as sa
from alembic import op

revision = "0940"
down_revision = "0986"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("auth_version")
