"""Coupons' registrations: the discount source carts and orders price with, and the order
lifecycle handlers that reserve, confirm, release and give back uses. Each handler runs in
the transaction that records the order's status (once per event), after the audit chain
lock that transaction already holds."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.carts.discounts import Basket, Offer, discount_source
from backroom.carts.pricing import AppliedDiscount, DiscountLine
from backroom.customers.links import (
    TimelineItem,
    register_erase_handler,
    register_link,
    register_merge_handler,
    register_timeline,
)
from backroom.money import format_money
from backroom.orders.events import OrderChange, on_order
from backroom.promotions import service
from backroom.promotions.models import Redemption
from backroom.text import words

# Uses and issued codes follow a merged customer (per-customer limits keep counting).
register_link("promotion_redemptions", "customer_id")
register_link("promotion_codes", "customer_id")


@register_merge_handler
async def _merge_uses(session: AsyncSession, *, actor: Actor, loser_id: int, survivor_id: int) -> None:
    """Per-customer limits keep counting the merged customer's uses as the survivor's."""
    await session.execute(
        update(Redemption)
        .where(Redemption.customer_key == f"c{loser_id}")
        .values(customer_key=f"c{survivor_id}")
        .execution_options(synchronize_session=False)
    )


@register_erase_handler
async def _erase_keys(session: AsyncSession, *, customer_id: int, **_) -> None:
    """A use keyed by the shopper's e-mail counts as the customer's from now on."""
    await session.execute(
        update(Redemption)
        .where(Redemption.customer_id == customer_id, Redemption.customer_key != f"c{customer_id}")
        .values(customer_key=f"c{customer_id}")
        .execution_options(synchronize_session=False)
    )


@register_timeline
async def _uses(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.scalars(
        select(Redemption)
        .where(Redemption.customer_id == customer_id)
        .order_by(Redemption.reserved_at.desc())
        .limit(limit)
    )
    return [
        TimelineItem(
            r.reserved_at,
            "coupon",
            f"Code {r.code} on order #{r.order_id}: "
            f"-{format_money(r.discount_minor + r.shipping_discount_minor, r.currency)}",
            words(r.status),
            f"/promotions/{r.promotion_id}",
        )
        for r in rows
    ]


@discount_source("coupons", order=10)
async def _coupons(session: AsyncSession, basket: Basket, earlier: list[DiscountLine]) -> Offer:
    return await service.offer(session, basket, earlier)


@on_order("placed")
async def _reserve(session: AsyncSession, event: OrderChange) -> None:
    applied = [AppliedDiscount.model_validate(d) for d in event.data.get("discounts", ())]
    await service.reserve(session, actor=event.actor, order=event.order, applied=applied)


@on_order("shipped")
async def _confirm(session: AsyncSession, event: OrderChange) -> None:
    # "shipped" is when the order workflow captures the payment (workflows/orders.py).
    await service.confirm(session, actor=event.actor, order_id=event.order.id)


@on_order("cancelled", "payment_failed")
async def _release(session: AsyncSession, event: OrderChange) -> None:
    await service.release(session, actor=event.actor, order_id=event.order.id)


@on_order("refunded")
async def _give_back(session: AsyncSession, event: OrderChange) -> None:
    # "refunded" is the whole order; "partially_refunded" keeps the use.
    await service.give_back(session, actor=event.actor, order_id=event.order.id)
