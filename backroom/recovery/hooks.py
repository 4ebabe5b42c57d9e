"""Recovery's registrations: a placed order recovers its abandoned cart; recovered carts and
reminders follow a merged customer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.carts.models import Cart
from backroom.customers.links import TimelineItem, register_link, register_timeline
from backroom.orders.events import OrderChange, on_order
from backroom.recovery import service
from backroom.recovery.models import CartReminder

register_link("cart_recoveries", "customer_id")


@on_order("placed")
async def _recovered(session: AsyncSession, event: OrderChange) -> None:
    await service.mark_recovered(session, actor=event.actor, order=event.order)


@register_timeline
async def _reminders(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.scalars(
        select(CartReminder)
        .join(Cart, Cart.id == CartReminder.cart_id)
        .where(Cart.customer_id == customer_id, CartReminder.sent.is_(True))
        .order_by(CartReminder.at.desc())
        .limit(limit)
    )
    return [
        TimelineItem(
            r.at,
            "cart",
            "Cart reminder sent by hand" if r.manual else f"Cart reminder {r.step} sent",
            f"with code {r.code}" if r.code else None,
            "/abandoned-carts",
        )
        for r in rows
    ]
