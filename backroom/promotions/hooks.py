"""Coupons' registrations: the discount source carts and orders price with, and the order
lifecycle handlers that reserve, confirm, release and give back uses. Each handler runs in
the transaction that records the order's status (once per event), after the audit chain
lock that transaction already holds."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.carts.discounts import Basket, Offer, discount_source
from backroom.carts.pricing import AppliedDiscount, DiscountLine
from backroom.customers.links import register_link
from backroom.orders.events import OrderChange, on_order
from backroom.promotions import service

# Uses and issued codes follow a merged customer (per-customer limits keep counting).
register_link("promotion_redemptions", "customer_id")
register_link("promotion_codes", "customer_id")


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
