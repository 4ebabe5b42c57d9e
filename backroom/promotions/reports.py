"""The promotions report set: uses, discount given, revenue of the orders that used a
promotion (by branch, day, category of what was bought, promotion), budget left, refused-and-released
uses; the records behind each number name the promotion and the order."""

from __future__ import annotations

from backroom.catalog.models import Product
from backroom.orders.models import Order, OrderLine
from backroom.promotions.models import Promotion, Redemption
from backroom.reports.catalog import (
    Dimension,
    ExceptionList,
    Field,
    FunctionReport,
    Keyed,
    Measure,
    Source,
    Unit,
    register,
)

LIVE = Redemption.status.in_(("reserved", "confirmed"))


def by_promotion(column) -> dict[Dimension, Keyed]:
    """Records broken down (and filtered) by the promotion in `column`, shown by its name."""
    return {Dimension.PROMOTION: Keyed(column, Promotion.id, Promotion.name, Promotion.branch_id)}


USES = Source(
    key="promotion_uses",
    record="use of a promotion",
    table=Redemption.__table__.join(Promotion, Promotion.id == Redemption.promotion_id).join(
        Order, Order.id == Redemption.order_id
    ),
    id=Redemption.id,
    at=Redemption.reserved_at,
    branch=Redemption.branch_id,
    user=Order.created_by_id,
    shift=Order.shift_id,
    currency=Redemption.currency,
    records=by_promotion(Redemption.promotion_id),
    in_category=lambda c: Redemption.order_id.in_(
        OrderLine.__table__.join(Product, Product.id == OrderLine.product_id)
        .select()
        .with_only_columns(OrderLine.order_id)
        .where(Product.category == c)
    ),
    fields=(
        Field("Promotion", Promotion.name),
        Field("Code", Redemption.code),
        Field("Order", Redemption.order_id, "number"),
        Field("Status", Redemption.status, "code"),
        Field("Discount", Redemption.discount_minor + Redemption.shipping_discount_minor, "money"),
        Field("Order total", Redemption.order_total_minor, "money"),
    ),
    link=("/orders/{}", Redemption.order_id),
)

LINES = Source(
    key="promotion_lines",
    record="order line bought with a promotion",
    table=Redemption.__table__.join(OrderLine, OrderLine.order_id == Redemption.order_id)
    .join(Product, Product.id == OrderLine.product_id)
    .join(Promotion, Promotion.id == Redemption.promotion_id),
    id=OrderLine.id,
    at=Redemption.reserved_at,
    branch=Redemption.branch_id,
    currency=Redemption.currency,
    category=Product.category,
    records=by_promotion(Redemption.promotion_id),
    where=LIVE,
    fields=(
        Field("Promotion", Promotion.name),
        Field("Order", Redemption.order_id, "number"),
        Field("Item", OrderLine.name),
        Field("Line total", OrderLine.line_total_minor, "money"),
    ),
    link=("/orders/{}", Redemption.order_id),
)

PROMOTIONS = Source(
    key="promotions",
    record="promotion",
    table=Promotion.__table__,
    id=Promotion.id,
    at=Promotion.created_at,
    branch=Promotion.branch_id,
    user=Promotion.created_by_id,
    currency=Promotion.currency,
    records=by_promotion(Promotion.id),
    fields=(
        Field("Promotion", Promotion.name),
        Field("Status", Promotion.status, "code"),
        Field("Uses", Promotion.uses_count, "number"),
        Field("Budget", Promotion.budget_minor, "money"),
        Field("Spent", Promotion.spent_minor, "money"),
    ),
    link=("/promotions/{}", Promotion.id),
)

register(
    FunctionReport(
        key="promotions",
        label="Promotions",
        order=45,
        permission="coupons",
        main="discount_given",
        measures=[
            Measure("uses", "Uses", Unit.COUNT, USES, where=LIVE),
            Measure(
                "paid_uses", "Uses paid (captured)", Unit.COUNT, USES, where=Redemption.status == "confirmed"
            ),
            Measure(
                "discount_given",
                "Discount given",
                Unit.MONEY,
                USES,
                value=Redemption.discount_minor + Redemption.shipping_discount_minor,
                where=LIVE,
            ),
            Measure(
                "revenue",
                "Revenue influenced",
                Unit.MONEY,
                USES,
                value=Redemption.order_total_minor,
                where=LIVE,
            ),
            Measure("avg_order", "Average order with a promotion", Unit.MONEY, ratio=("revenue", "uses")),
            Measure(
                "line_revenue",
                "Revenue influenced, by item",
                Unit.MONEY,
                LINES,
                value=OrderLine.line_total_minor,
            ),
            Measure(
                "released",
                "Uses given back (cancelled, failed, refunded)",
                Unit.COUNT,
                USES,
                where=Redemption.status.in_(("released", "returned")),
            ),
            Measure(
                "budget_left",
                "Budget left (promotions created in the period, today)",
                Unit.MONEY,
                PROMOTIONS,
                value=Promotion.budget_minor - Promotion.spent_minor,
                where=Promotion.budget_minor.is_not(None) & (Promotion.status == "active"),
            ),
        ],
        exceptions=[
            ExceptionList(
                "budget_nearly_spent",
                "Live promotions with less than a tenth of their budget left",
                PROMOTIONS,
                (Promotion.status == "active")
                & Promotion.budget_minor.is_not(None)
                & ((Promotion.budget_minor - Promotion.spent_minor) * 10 < Promotion.budget_minor),
                lambda f: f"{f['Promotion']}: {f['Spent']} of {f['Budget']} spent",
            )
        ],
    )
)
