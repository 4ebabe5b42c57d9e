"""form submissions: one-time keys of staff and shop forms

Revision ID: 0880
Revises: 0840
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base

revision = "0880"
down_revision = "0870"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("result_url", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_form_submissions")),
    )
    op.create_index(op.f("ix_form_submissions_claimed_at"), "form_submissions", ["claimed_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_form_submissions_claimed_at"), table_name="form_submissions")
    op.drop_table("form_submissions")
