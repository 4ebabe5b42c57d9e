"""Orders' plug-ins to the customer registries: orders and carts follow a merged customer,
and a customer's timeline lists their orders."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.customers.links import TimelineItem, register_link, register_timeline
from backroom.money import format_money
from backroom.orders.models import Order

register_link("orders", "customer_id")
register_link("carts", "customer_id")


@register_timeline
async def _orders(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.execute(
        select(Order).where(Order.customer_id == customer_id).order_by(Order.placed_at.desc()).limit(limit)
    )
    return [
        TimelineItem(
            o.placed_at,
            "order",
            f"Order #{o.id}: {format_money(o.total_minor, o.currency)}",
            o.status,
            f"/orders/{o.id}",
        )
        for o in rows.scalars()
    ]
