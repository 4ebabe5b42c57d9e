"""customers' phone search column holds the national significant digits (phone_national), so
"+1 212 555 0102", "(212) 555-0102" and "2125550102" find each other; it replaces phone_digits

Revision ID: 0960
Revises: 0950
"""

import sqlalchemy as sa
from alembic import op

revision = "0960"
down_revision = "0950"
branch_labels = None
depends_on = None
BATCH = 5000


def _backfill(column: str, normalize) -> None:
    """Fill `column` of every customer with a phone, a batch of rows at a time."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, phone FROM customers WHERE phone IS NOT NULL AND id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).fetchall()
        if not rows:
            return
        bind.execute(
            sa.text(f"UPDATE customers SET {column} = :v WHERE id = :id"),
            [{"v": normalize(phone), "id": cid} for cid, phone in rows],
        )
        last = rows[-1][0]


def _replace(old: str, new: str, normalize) -> None:
    """Add `new`, fill it, move the phone prefix index onto it and drop `old`."""
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column(new, sa.String(length=32), nullable=True))
    _backfill(new, normalize)
    op.drop_index("ix_customers_phone_prefix", table_name="customers")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column(old)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_customers_phone_prefix ON customers ({new} text_pattern_ops)")
    else:
        op.create_index("ix_customers_phone_prefix", "customers", [new])


def upgrade() -> None:
    from backroom.customers.normalize import national_digits

    _replace("phone_digits", "phone_national", national_digits)


def downgrade() -> None:
    from backroom.customers.normalize import digits

    _replace("phone_national", "phone_digits", digits)
