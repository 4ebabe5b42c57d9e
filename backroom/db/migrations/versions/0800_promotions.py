"""promotions (coupons): promotions, codes, redemptions; abandoned-cart recovery: reminder
settings per branch, cart recoveries, reminders sent

Revision ID: 0800
Revises: 0550, 0610
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base

revision = "0800"
# Merges the two heads found on this branch: 0550 (workflow signals) and 0610 (reports).
down_revision = ("0550", "0610")
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "promotions",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("percent_bp", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("buy_qty", sa.Integer(), nullable=False),
        sa.Column("get_qty", sa.Integer(), nullable=False),
        sa.Column("min_subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("min_quantity", sa.Integer(), nullable=False),
        sa.Column("starts_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("branch_ids", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("eligibility", sa.String(length=16), nullable=False),
        sa.Column("customer_ids", sa.JSON(), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("budget_minor", sa.BigInteger(), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("staff_only", sa.Boolean(), nullable=False),
        sa.Column("refund_returns_use", sa.Boolean(), nullable=False),
        sa.Column("code_mode", sa.String(length=10), nullable=False),
        sa.Column("code_valid_days", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("uses_count", sa.Integer(), nullable=False),
        sa.Column("confirmed_count", sa.Integer(), nullable=False),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("proposed", sa.JSON(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("approval_workflow_id", sa.String(length=200), nullable=True),
        sa.Column("approval_note", sa.String(length=1000), nullable=True),
        sa.Column("approved_by_id", ID, nullable=True),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("shift_id", ID, nullable=True),
        sa.Column("created_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_promotions_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_promotions_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_promotions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_promotions_shift_id_shifts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
    )
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promotions_branch_id"), ["branch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promotions_status"), ["status"], unique=False)

    op.create_table(
        "cart_recoveries",
        sa.Column("cart_id", ID, nullable=False),
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("abandoned_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=False),
        sa.Column("last_reminder_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("origin_cart_id", ID, nullable=True),
        sa.Column("recovered_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recovered_order_id", ID, nullable=True),
        sa.Column("recovered_step", sa.Integer(), nullable=True),
        sa.Column("recovered_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_cart_recoveries_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.id"], name=op.f("fk_cart_recoveries_cart_id_carts")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_cart_recoveries_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("cart_id", name=op.f("pk_cart_recoveries")),
    )
    with op.batch_alter_table("cart_recoveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cart_recoveries_branch_abandoned", ["branch_id", "abandoned_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cart_recoveries_branch_id"), ["branch_id"], unique=False)

    op.create_table(
        "cart_reminder_settings",
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("delays_hours", sa.JSON(), nullable=False),
        sa.Column("recovery_promotion_id", ID, nullable=True),
        sa.Column("created_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_cart_reminder_settings_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["recovery_promotion_id"],
            ["promotions.id"],
            name=op.f("fk_cart_reminder_settings_recovery_promotion_id_promotions"),
        ),
        sa.PrimaryKeyConstraint("branch_id", name=op.f("pk_cart_reminder_settings")),
    )
    op.create_table(
        "cart_reminders",
        sa.Column("cart_id", ID, nullable=False),
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("notification_id", ID, nullable=True),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_cart_reminders_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.id"], name=op.f("fk_cart_reminders_cart_id_carts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_reminders")),
        sa.UniqueConstraint("key", name=op.f("uq_cart_reminders_key")),
    )
    with op.batch_alter_table("cart_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cart_reminders_cart_id"), ["cart_id"], unique=False)

    op.create_table(
        "promotion_codes",
        sa.Column("promotion_id", ID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("cart_id", ID, nullable=True),
        sa.Column("expires_at", backroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("order_id", ID, nullable=True),
        sa.Column("created_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_promotion_codes_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"], ["promotions.id"], name=op.f("fk_promotion_codes_promotion_id_promotions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_promotion_codes_code")),
    )
    with op.batch_alter_table("promotion_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promotion_codes_cart_id"), ["cart_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promotion_codes_promotion_id"), ["promotion_id"], unique=False)

    op.create_table(
        "promotion_redemptions",
        sa.Column("promotion_id", ID, nullable=False),
        sa.Column("code_id", ID, nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("customer_key", sa.String(length=254), nullable=False),
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("shipping_discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("order_total_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reserved_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("created_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_promotion_redemptions_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["code_id"], ["promotion_codes.id"], name=op.f("fk_promotion_redemptions_code_id_promotion_codes")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_promotion_redemptions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_promotion_redemptions_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"], ["promotions.id"], name=op.f("fk_promotion_redemptions_promotion_id_promotions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_redemptions")),
        sa.UniqueConstraint("promotion_id", "order_id", name="uq_promotion_redemptions_promotion_order"),
    )
    with op.batch_alter_table("promotion_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_promotion_redemptions_branch_reserved", ["branch_id", "reserved_at"], unique=False
        )
        batch_op.create_index(
            "ix_promotion_redemptions_customer", ["promotion_id", "customer_key", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_promotion_redemptions_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("promotion_redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotion_redemptions_order_id"))
        batch_op.drop_index("ix_promotion_redemptions_customer")
        batch_op.drop_index("ix_promotion_redemptions_branch_reserved")

    op.drop_table("promotion_redemptions")
    with op.batch_alter_table("promotion_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotion_codes_promotion_id"))
        batch_op.drop_index(batch_op.f("ix_promotion_codes_cart_id"))

    op.drop_table("promotion_codes")
    with op.batch_alter_table("cart_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cart_reminders_cart_id"))

    op.drop_table("cart_reminders")
    op.drop_table("cart_reminder_settings")
    with op.batch_alter_table("cart_recoveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cart_recoveries_branch_id"))
        batch_op.drop_index("ix_cart_recoveries_branch_abandoned")

    op.drop_table("cart_recoveries")
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotions_status"))
        batch_op.drop_index(batch_op.f("ix_promotions_branch_id"))

    op.drop_table("promotions")
