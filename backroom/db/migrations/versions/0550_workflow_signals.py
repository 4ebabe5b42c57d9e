"""workflow signals outbox; a start's task queue may be the default

Revision ID: 0550
Revises: 0500
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base

revision = "0550"
down_revision = "0500"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_signals",
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("signal", sa.String(length=100), nullable=False),
        sa.Column("args", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_signals")),
    )
    op.create_index(op.f("ix_workflow_signals_workflow_id"), "workflow_signals", ["workflow_id"])
    op.create_index(op.f("ix_workflow_signals_status"), "workflow_signals", ["status"])
    with op.batch_alter_table("workflow_starts") as batch_op:
        batch_op.alter_column("task_queue", existing_type=sa.String(length=100), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("workflow_starts") as batch_op:
        batch_op.alter_column("task_queue", existing_type=sa.String(length=100), nullable=False)
    op.drop_index(op.f("ix_workflow_signals_status"), table_name="workflow_signals")
    op.drop_index(op.f("ix_workflow_signals_workflow_id"), table_name="workflow_signals")
    op.drop_table("workflow_signals")
