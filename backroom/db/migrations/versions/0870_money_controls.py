"""four-eyes requests (gated_actions); complaints: order foreign key and where the compensation
stands; parcels: the box measured from the products packed

Revision ID: 0870
Revises: 0840
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base

revision = "0870"
down_revision = "0860"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gated_actions",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("requested_by_name", sa.String(length=120), nullable=True),
        sa.Column("decided_by_id", ID, nullable=True),
        sa.Column("decided_by_name", sa.String(length=120), nullable=True),
        sa.Column("decision_reason", sa.String(length=1000), nullable=True),
        sa.Column("decided_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=500), nullable=True),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("shift_id", ID, nullable=True),
        sa.Column("created_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_gated_actions_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_gated_actions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_gated_actions_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_gated_actions_shift_id_shifts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gated_actions")),
    )
    with op.batch_alter_table("gated_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gated_actions_branch_id"), ["branch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gated_actions_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_gated_actions_status"), ["status"], unique=False)

    # Complaints logged against an order number that never existed lose the dangling number.
    op.execute("UPDATE complaints SET order_id = NULL WHERE order_id NOT IN (SELECT id FROM orders)")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("compensation_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("settled_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("settled_ref", sa.String(length=120), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_complaints_order_id_orders"), "orders", ["order_id"], ["id"]
        )

    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("length_mm", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("width_mm", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("height_mm", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.drop_column("height_mm")
        batch_op.drop_column("width_mm")
        batch_op.drop_column("length_mm")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_complaints_order_id_orders"), type_="foreignkey")
        batch_op.drop_column("settled_ref")
        batch_op.drop_column("settled_minor")
        batch_op.drop_column("compensation_status")
    with op.batch_alter_table("gated_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gated_actions_status"))
        batch_op.drop_index(batch_op.f("ix_gated_actions_kind"))
        batch_op.drop_index(batch_op.f("ix_gated_actions_branch_id"))
    op.drop_table("gated_actions")
