"""Demo promotions: two live ones (a shared 15 % code, free shipping on a budget), one
waiting for a manager's approval (half price), and the recovery promotion whose single-use
codes the last cart reminder carries. Idempotent (by name)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from backroom.audit.context import Actor
from backroom.catalog.models import Product
from backroom.db.base import utcnow
from backroom.orders import service as orders
from backroom.orders.samples import place_sample
from backroom.promotions import service as promotions
from backroom.promotions.models import Promotion, Redemption
from backroom.promotions.schemas import PromotionCreate

ACTOR = Actor.system("seed")
DEMO = (
    PromotionCreate(
        name="Winter 15",
        kind="percentage",
        percent_bp=1500,
        min_subtotal_minor=3000,
        usage_limit=500,
        per_customer_limit=1,
        code="WINTER15",
        description="15 % off orders from 30.00, once per customer.",
    ),
    PromotionCreate(
        name="Free shipping weekend",
        kind="free_shipping",
        budget_minor=20000,
        code="SHIPFREE",
        description="Shipping on us until 200.00 of shipping is spent.",
    ),
    PromotionCreate(
        name="Half price lighting",
        kind="percentage",
        percent_bp=5000,
        target="category",
        category="Lighting",
        usage_limit=50,
        code="LIGHT50",
        description="Above 30 %: waits for a manager's approval.",
    ),
    PromotionCreate(
        name="Come back: 10 % off",
        kind="percentage",
        percent_bp=1000,
        usage_limit=1000,
        code_mode="recovery",
        code_valid_days=7,
        description="Single-use codes for the last abandoned-cart reminder.",
    ),
)


async def seed(session, context) -> None:
    branch = context["branches"][0]
    fresh = not await session.scalar(select(Promotion.id).where(Promotion.name == DEMO[0].name))
    for data in DEMO:
        if await session.scalar(select(Promotion.id).where(Promotion.name == data.name)):
            continue
        promo = await promotions.create_promotion(
            session, actor=ACTOR, data=data, branch_id=branch.id, currency=branch.currency
        )
        # The half-price one opens a real approval request (its workflow starts from the outbox).
        await promotions.submit(session, actor=ACTOR, promotion_id=promo.id)
    if fresh:
        await _history(session, branch)


async def _history(session, branch) -> None:
    """Three orders used WINTER15 about three weeks ago (paid and delivered), so the promotion
    page and the report have numbers."""
    product = await session.scalar(select(Product).where(Product.sku == "LAMP-DESK"))
    if product is None:
        return
    for n in range(3):
        order = await place_sample(
            session,
            actor=ACTOR,
            branch=branch,
            items=[(product.id, 1)],
            key=f"demo-winter15-{n}",
            email=f"winter{n}@demo.customer",
            name=f"Winter buyer {n + 1}",
            street="3 Frost Lane",
            codes=["WINTER15"],
        )
        for status in ("shipped", "completed"):
            await orders.set_status(
                session,
                actor=ACTOR,
                order_id=order.id,
                status=status,
                message=status.title(),
                key=f"demo-{order.id}-{status}",
            )
        when = utcnow() - timedelta(days=19 + 2 * n)
        order.placed_at = when
        await session.execute(
            update(Redemption).where(Redemption.order_id == order.id).values(reserved_at=when)
        )
    await session.flush()
