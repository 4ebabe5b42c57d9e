"""Notifications' plug-ins to the customer registries: messages follow a merged customer, and
an erased customer's messages lose their address and text (unsent ones are cancelled)."""

from __future__ import annotations

from sqlalchemy import func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.customers.links import register_erase_handler, register_link
from backroom.notifications.models import ERASED_BODY, Notification

register_link("notifications", "to_customer_id")


@register_erase_handler
async def _erase_messages(session: AsyncSession, *, actor: Actor, customer_id: int, needles=()) -> None:
    addresses = [n.lower() for n in needles if "@" in n]
    mine = or_(Notification.to_customer_id == customer_id, func.lower(Notification.to_address).in_(addresses))
    await session.execute(
        update(Notification)
        .where(mine, Notification.status == "pending")
        .values(status="failed", last_error="customer erased")
    )
    await session.execute(
        update(Notification).where(mine).values(to_address=None, subject="(erased)", body=ERASED_BODY)
    )
