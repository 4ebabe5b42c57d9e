"""Recovery's registrations: a placed order recovers its abandoned cart; recovered carts and
reminders follow a merged customer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.customers.links import register_link
from backroom.orders.events import OrderChange, on_order
from backroom.recovery import service

register_link("cart_recoveries", "customer_id")


@on_order("placed")
async def _recovered(session: AsyncSession, event: OrderChange) -> None:
    await service.mark_recovered(session, actor=event.actor, order=event.order)
