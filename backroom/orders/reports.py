"""The orders (fulfilment) report set: orders placed, their value, basket, cancellations,
refunds, items by product category, and the fulfilment exceptions raised in the period."""

from __future__ import annotations

from sqlalchemy import and_, exists, select

from backroom.catalog.models import Product
from backroom.orders.models import Alert, Order, OrderLine, PaymentEntry
from backroom.reports import rollups
from backroom.reports.catalog import (
    Dimension,
    ExceptionList,
    Field,
    FunctionReport,
    Measure,
    Source,
    Unit,
    register,
)


def _order_in_category(category: str):
    return exists(
        select(OrderLine.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == Order.id, Product.category == category)
    )


ORDER_FIELDS = (
    Field("Order", Order.id, "number"),
    Field("Status", Order.status, "code"),
    Field("Customer", Order.ship_name, personal=True),
    Field("Total", Order.total_minor, "money"),
)

ORDERS = Source(
    key="orders",
    record="order",
    table=Order.__table__,
    id=Order.id,
    at=Order.placed_at,
    branch=Order.branch_id,
    user=Order.created_by_id,
    shift=Order.shift_id,
    currency=Order.currency,
    in_category=_order_in_category,
    fields=ORDER_FIELDS,
    link=("/orders/{}", Order.id),
)

LINES = Source(
    key="order_lines",
    record="order line",
    table=OrderLine.__table__.join(Order, Order.id == OrderLine.order_id).join(
        Product, Product.id == OrderLine.product_id
    ),
    id=OrderLine.id,
    at=Order.placed_at,
    branch=Order.branch_id,
    user=Order.created_by_id,
    shift=Order.shift_id,
    currency=Order.currency,
    category=Product.category,
    filter_only=frozenset({Dimension.USER, Dimension.SHIFT}),
    fields=(
        Field("Order", Order.id, "number"),
        Field("SKU", OrderLine.sku),
        Field("Item", OrderLine.name),
        Field("Quantity", OrderLine.qty, "number"),
        Field("Line total", OrderLine.line_total_minor, "money"),
    ),
    link=("/orders/{}", Order.id),
)

REFUNDS = Source(
    key="order_refunds",
    record="refund",
    table=PaymentEntry.__table__.join(Order, Order.id == PaymentEntry.order_id),
    id=PaymentEntry.id,
    at=PaymentEntry.created_at,
    branch=PaymentEntry.branch_id,
    where=and_(PaymentEntry.kind == "refund", PaymentEntry.status == "succeeded"),
    user=PaymentEntry.created_by_id,
    shift=PaymentEntry.shift_id,
    currency=PaymentEntry.currency,
    in_category=_order_in_category,
    fields=(
        Field("Order", Order.id, "number"),
        Field("Refunded", PaymentEntry.amount_minor, "money"),
        Field("Reason", PaymentEntry.message),
    ),
    link=("/orders/{}", Order.id),
)

ALERTS = Source(
    key="order_alerts",
    record="alert",
    table=Alert.__table__,
    id=Alert.id,
    at=Alert.created_at,
    branch=Alert.branch_id,
    where=Alert.subject_type == "order",
    fields=(
        Field("Kind", Alert.kind, "code"),
        Field("Severity", Alert.severity, "code"),
        Field("Message", Alert.message),
    ),
    link=("/orders/{}", Alert.subject_id),
)

REPORT = register(
    FunctionReport(
        key="orders",
        label="Orders and fulfilment",
        order=10,
        main="value",
        measures=[
            Measure("placed", "Orders placed", Unit.COUNT, ORDERS),
            Measure("value", "Order value", Unit.MONEY, ORDERS, value=Order.total_minor),
            Measure("average_basket", "Average basket", Unit.MONEY, ratio=("value", "placed")),
            Measure("cancelled", "Orders cancelled", Unit.COUNT, ORDERS, where=Order.status == "cancelled"),
            Measure(
                "payment_failed",
                "Orders with failed payment",
                Unit.COUNT,
                ORDERS,
                where=Order.status == "payment_failed",
            ),
            Measure("refunded", "Refunded value", Unit.MONEY, REFUNDS, value=PaymentEntry.amount_minor),
            Measure("items", "Items sold", Unit.COUNT, LINES, value=OrderLine.qty),
            Measure("line_value", "Line value", Unit.MONEY, LINES, value=OrderLine.line_total_minor),
        ],
        exceptions=[
            ExceptionList(
                "order_payment_failed",
                "Orders whose payment failed",
                ORDERS,
                Order.status == "payment_failed",
                lambda f: f"Order #{f['Order']} ({f['Customer']}, {f['Total']}): payment failed",
            ),
            ExceptionList(
                "order_alert",
                "Fulfilment alerts",
                ALERTS,
                Alert.kind.in_(("order_failed", "pick_timeout")),
                lambda f: f"{f['Kind'].replace('_', ' ')}: {f['Message']}",
            ),
        ],
    )
)

# Daily rollups (backroom/reports/rollups.py): every measure over orders, lines and refunds. An
# order's day and dimensions are its own columns, so writes to orders, their lines and payments
# mark the days they touch; a product moving to another category changes every day's breakdown
# by category, so it drops the lines' built days.
_ORDER_ROWS = rollups.Track(Order, at="placed_at")
rollups.register(
    ORDERS, [REPORT.measure(n) for n in ("placed", "value", "cancelled", "payment_failed")], [_ORDER_ROWS]
)
rollups.register(
    LINES,
    [REPORT.measure(n) for n in ("items", "line_value")],
    [
        _ORDER_ROWS,
        rollups.Track(OrderLine, via="order_id", parent=(Order.id, Order.branch_id, Order.placed_at)),
    ],
    invalidated_by=[Product.category],
)
rollups.register(REFUNDS, [REPORT.measure("refunded")], [rollups.Track(PaymentEntry)])
