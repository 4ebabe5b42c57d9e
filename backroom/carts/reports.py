"""The carts report set: carts opened in the period and what became of them (checked out or
abandoned), their value, and what was in them by product category."""

from __future__ import annotations

from backroom.carts.models import Cart, CartLine
from backroom.catalog.models import Product
from backroom.reports import rollups
from backroom.reports.catalog import ExceptionList, Field, FunctionReport, Measure, Source, Unit, register

_FIELDS = (
    Field("Cart", Cart.id, "number"),
    Field("Status", Cart.status, "code"),
    Field("Items", Cart.item_count, "number"),
    Field("Total", Cart.total_minor, "money"),
    Field("Last activity", Cart.last_activity_at, "datetime"),
)

CARTS = Source(
    key="carts",
    record="cart",
    table=Cart.__table__,
    id=Cart.id,
    at=Cart.created_at,
    branch=Cart.branch_id,
    user=Cart.created_by_id,
    shift=Cart.shift_id,
    currency=Cart.currency,
    fields=_FIELDS,
    link=("/customers/{}", Cart.customer_id),
)

LINES = Source(
    key="cart_lines",
    record="cart line",
    table=CartLine.__table__.join(Cart, Cart.id == CartLine.cart_id).join(
        Product, Product.id == CartLine.product_id
    ),
    id=CartLine.id,
    at=Cart.created_at,
    branch=Cart.branch_id,
    user=Cart.created_by_id,
    shift=Cart.shift_id,
    currency=Cart.currency,
    category=Product.category,
    fields=(
        Field("Cart", Cart.id, "number"),
        Field("Status", Cart.status, "code"),
        Field("SKU", CartLine.sku),
        Field("Item", CartLine.name),
        Field("Quantity", CartLine.qty, "number"),
        Field("Line total", CartLine.line_total_minor, "money"),
    ),
    link=("/customers/{}", Cart.customer_id),
)

ABANDONED = Cart.status == "abandoned"
CHECKED_OUT = Cart.status == "checked_out"

REPORT = register(
    FunctionReport(
        key="carts",
        label="Carts",
        order=40,
        main="checked_out_value",
        measures=[
            Measure("opened", "Carts opened", Unit.COUNT, CARTS),
            Measure("checked_out", "Checked out", Unit.COUNT, CARTS, where=CHECKED_OUT),
            Measure("abandoned", "Abandoned", Unit.COUNT, CARTS, where=ABANDONED),
            Measure("conversion", "Checkout rate", Unit.RATIO, ratio=("checked_out", "opened")),
            Measure(
                "checked_out_value",
                "Value checked out",
                Unit.MONEY,
                CARTS,
                value=Cart.total_minor,
                where=CHECKED_OUT,
            ),
            Measure(
                "abandoned_value",
                "Value abandoned",
                Unit.MONEY,
                CARTS,
                value=Cart.total_minor,
                where=ABANDONED,
            ),
            Measure("items_added", "Items in carts", Unit.COUNT, LINES, value=CartLine.qty),
            Measure(
                "abandoned_line_value",
                "Line value abandoned",
                Unit.MONEY,
                LINES,
                value=CartLine.line_total_minor,
                where=ABANDONED,
            ),
        ],
        exceptions=[
            ExceptionList(
                "cart_abandoned",
                "Abandoned carts with items",
                CARTS,
                ABANDONED & (Cart.item_count > 0),
                lambda f: (
                    f"Cart {f['Cart']}: {f['Items']} items, {f['Total']}, last active {f['Last activity']}"
                ),
            )
        ],
    )
)

# Daily rollups (backroom/reports/rollups.py): a cart's day is when it was opened; checking out or
# abandoning it later marks that day.
rollups.register(
    CARTS,
    [
        REPORT.measure(n)
        for n in ("opened", "checked_out", "abandoned", "checked_out_value", "abandoned_value")
    ],
    [rollups.Track(Cart)],
)
